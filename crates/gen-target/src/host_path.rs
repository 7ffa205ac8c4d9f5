//! Target vocabulary: the absolute paths a manifest names on the host, and
//! how any value is shown in a message. Both sides check paths with the same
//! rule: the compile side before it writes a manifest, the live side before it
//! trusts one.

/// An absolute path made only of characters that need no quoting in any of
/// the generated formats, with no `.`, `..` or empty components.
pub fn is_safe_path(value: &str) -> bool {
    value.len() <= 1024
        && value.starts_with('/')
        && (value == "/"
            || value[1..].split('/').all(|component| {
                !component.is_empty()
                    && component != "."
                    && component != ".."
                    && component.bytes().all(|b| {
                        b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@' | b'+')
                    })
            }))
}

/// A value as it may be shown in an error message: control characters escaped,
/// long values cut, so a hostile value cannot forge terminal output.
pub fn shown(value: &str) -> String {
    let mut out: String = value
        .chars()
        .take(80)
        .flat_map(char::escape_debug)
        .collect();
    if value.chars().count() > 80 {
        out.push('…');
    }
    out
}
