//! Validate stage, lints: one warning as the user sees it. A [`Lint`] is a
//! miette diagnostic of severity warning, located like a profile error (the
//! file, line and column of the key, the source line quoted unless it may
//! hold a credential), and a JSON record for `--format json`.

use std::fmt;
use std::sync::Arc;

use miette::{Diagnostic, LabeledSpan, NamedSource, Severity, SourceCode, SourceSpan};
use serde::Serialize;

use super::registry::LintCode;
use super::Finding;
use crate::source::{line_column, SourceMap};

/// A lint that fired on a profile.
#[derive(Debug, Clone)]
pub struct Lint {
    pub code: LintCode,
    /// The profile it fired on.
    pub profile: String,
    /// The profile key to change (`sites.main.hsts`).
    pub key: String,
    /// What is wrong and why it matters.
    pub message: String,
    /// How to fix it.
    pub help: String,
    /// Where the key was written, when it was written at all.
    pub position: Option<Position>,
    /// The source excerpt, when it may be quoted.
    quoted: Option<Quoted>,
}

/// A file, line and column (from 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Position {
    pub file: String,
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

#[derive(Debug, Clone)]
struct Quoted {
    src: NamedSource<Arc<String>>,
    span: SourceSpan,
}

/// A lint as `--format json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct LintRecord<'a> {
    pub code: String,
    pub name: &'static str,
    pub severity: &'static str,
    pub profile: &'a str,
    pub key: &'a str,
    pub file: Option<&'a str>,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: &'a str,
    pub help: &'a str,
}

impl Lint {
    /// Locates a finding at its key in the profile's sources (or at the
    /// key's nearest written ancestor). A redacted finding names the
    /// position but never quotes the line: its value may be a credential.
    pub(crate) fn locate(
        sources: &SourceMap,
        profile: &str,
        code: LintCode,
        finding: Finding,
    ) -> Lint {
        let Finding {
            key,
            underline,
            redact,
            message,
            help,
        } = finding;
        let located = sources.locate(&key, underline);
        let position = located.as_ref().map(|located| {
            let (line, column) = line_column(located.src.inner(), located.span.offset());
            Position {
                file: located.src.name().to_string(),
                line,
                column,
            }
        });
        let quoted = located
            .filter(|located| located.quotable && !redact)
            .map(|located| Quoted {
                src: located.src,
                span: located.span,
            });
        Lint {
            code,
            profile: profile.to_string(),
            key,
            message,
            help,
            position,
            quoted,
        }
    }

    pub fn record(&self) -> LintRecord<'_> {
        LintRecord {
            code: self.code.code(),
            name: self.code.name(),
            severity: "warning",
            profile: &self.profile,
            key: &self.key,
            file: self.position.as_ref().map(|p| p.file.as_str()),
            line: self.position.as_ref().map(|p| p.line),
            column: self.position.as_ref().map(|p| p.column),
            message: &self.message,
            help: &self.help,
        }
    }
}

impl fmt::Display for Lint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        match (&self.quoted, &self.position) {
            // The excerpt's header names the position.
            (Some(_), _) | (None, None) => Ok(()),
            (None, Some(position)) => write!(f, "\n  at {position}"),
        }
    }
}

impl std::error::Error for Lint {}

impl Diagnostic for Lint {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.code.code()))
    }

    fn severity(&self) -> Option<Severity> {
        Some(Severity::Warning)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(&self.help))
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.quoted.as_ref().map(|q| &q.src as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let quoted = self.quoted.as_ref()?;
        Some(Box::new(std::iter::once(LabeledSpan::new_with_span(
            Some(format!("`{}`", self.key)),
            quoted.span,
        ))))
    }
}
