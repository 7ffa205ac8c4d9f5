//! The stable codes of profile errors that break an invariant gen names
//! (`gen::error::<name>`), beside `gen::profile::invalid` for shape problems
//! (types, ranges, syntax). Each code is one row here, so `docs/lints.md` can
//! list them and a test can hold every code to an example that fires it.

use std::fmt;
use std::sync::Arc;

use miette::{Diagnostic, LabeledSpan, NamedSource, SourceCode, SourceSpan};

/// A profile error with a stable code of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ErrorCode {
    /// Alert rules are rendered and nothing delivers them.
    AlertsUnreachable,
    /// A custom alert rule is malformed (name, expression, severity).
    AlertRule,
    /// A key needs a newer program than the platform ships.
    PlatformFeature,
}

impl ErrorCode {
    pub const ALL: &'static [ErrorCode] = &[
        ErrorCode::AlertsUnreachable,
        ErrorCode::AlertRule,
        ErrorCode::PlatformFeature,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::AlertsUnreachable => "alerts-unreachable",
            ErrorCode::AlertRule => "alert-rule",
            ErrorCode::PlatformFeature => "platform-feature",
        }
    }

    /// One line: when the error fires.
    pub fn summary(self) -> &'static str {
        match self {
            ErrorCode::AlertsUnreachable => {
                "alert rules are rendered but no Alertmanager receives them (no `[alerting]`, no `monitoring.alertmanagers`)"
            }
            ErrorCode::AlertRule => {
                "a custom alert rule has a bad name, a multi-line or invalid expression, or no valid severity"
            }
            ErrorCode::PlatformFeature => {
                "a key needs a newer program than the target platform ships (e.g. webhook `url_file` needs Alertmanager 0.26; Debian 12 has 0.25)"
            }
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "gen::error::{}", self.as_str())
    }
}

/// A located profile error carrying an [`ErrorCode`].
#[derive(Debug, thiserror::Error)]
#[error("{message}{}", location.as_ref().map(|l| format!("\n  at {l}")).unwrap_or_default())]
pub struct CodedError {
    pub code: ErrorCode,
    pub key: String,
    pub message: String,
    /// The profile source and the span of the key, when it can be quoted.
    pub src: Option<NamedSource<Arc<String>>>,
    pub span: Option<SourceSpan>,
    /// `file:line:column`, when the source line must not be quoted.
    pub location: Option<String>,
    pub help: Option<String>,
}

impl Diagnostic for CodedError {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.code))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h.clone()) as Box<dyn fmt::Display>)
    }

    fn url<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(format!("docs/lints.md#{}", self.code.as_str())))
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.src.as_ref().map(|s| s as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = self.span?;
        let label = if self.key.is_empty() {
            "here".to_string()
        } else {
            format!("`{}`", self.key)
        };
        Some(Box::new(std::iter::once(LabeledSpan::new_with_span(
            Some(label),
            span,
        ))))
    }
}
