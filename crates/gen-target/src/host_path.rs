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

#[cfg(test)]
mod tests {
    use super::{is_safe_path, shown};

    #[test]
    fn paths_are_absolute_and_plain() {
        assert!(is_safe_path(
            "/etc/letsencrypt/live/api.example.com/fullchain.pem"
        ));
        for bad in [
            "etc/x",
            "/etc/../x",
            "/etc/./x",
            "/etc//x",
            "/etc/x;",
            "/etc/x y",
            "/etc/x\n",
            "/etc/{x}",
            "/etc/'x'",
            "/etc/x\0",
        ] {
            assert!(!is_safe_path(bad), "{bad:?}");
        }
    }

    #[test]
    fn shown_escapes_control_characters() {
        assert_eq!(shown("a\nb\u{1b}[31m"), "a\\nb\\u{1b}[31m");
        assert!(shown(&"x".repeat(200)).ends_with('…'));
    }
}
