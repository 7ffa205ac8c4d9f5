//! Load and validate stage support: errors that point at a key of a profile
//! file. The error type itself is the target layer's; locating a key in the
//! profile sources is the compile side's business, so it is done here.

use gen_target::error::Error;

use crate::source::{position, Located, SourceMap, Underline};

fn located_position(located: &Located) -> String {
    position(
        located.src.name(),
        located.src.inner(),
        located.span.offset(),
    )
}

/// A located profile error. The key path doubles as the label so the report
/// names the key even when the span is the whole table.
pub fn invalid(
    sources: &SourceMap,
    key: &str,
    underline: Underline,
    message: impl Into<String>,
    help: Option<String>,
) -> Error {
    let message = message.into();
    match sources.locate(key, underline) {
        Some(located) if located.quotable => Error::Invalid {
            key: key.to_string(),
            label: if key.is_empty() {
                "here".to_string()
            } else {
                format!("`{key}`")
            },
            message,
            src: located.src,
            span: located.span,
            help,
        },
        Some(located) => Error::InvalidRedacted {
            key: key.to_string(),
            message,
            location: located_position(&located),
            help,
        },
        None => Error::InvalidProject { message, help },
    }
}

/// Like [`Error::invalid`], but names the file, line and column without
/// printing the source line, which may hold a secret.
pub fn invalid_redacted(
    sources: &SourceMap,
    key: &str,
    message: impl Into<String>,
    help: Option<String>,
) -> Error {
    let message = message.into();
    match sources.locate(key, Underline::Key) {
        Some(located) => Error::InvalidRedacted {
            key: key.to_string(),
            message,
            location: located_position(&located),
            help,
        },
        None => Error::InvalidProject { message, help },
    }
}

/// A located profile error with a stable code of its own (`gen::error::<name>`).
pub fn coded(
    sources: &SourceMap,
    key: &str,
    code: gen_target::error_code::ErrorCode,
    message: impl Into<String>,
    help: Option<String>,
) -> Error {
    let located = sources.locate(key, Underline::Value);
    let (src, span, location) = match located {
        Some(l) if l.quotable => (Some(l.src), Some(l.span), None),
        Some(l) => (None, None, Some(located_position(&l))),
        None => (None, None, None),
    };
    Error::Coded(Box::new(gen_target::error_code::CodedError {
        code,
        key: key.to_string(),
        message: message.into(),
        src,
        span,
        location,
        help,
    }))
}
