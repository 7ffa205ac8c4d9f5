//! Target vocabulary: the absolute paths a manifest names on the host, and
//! how any value is shown in a message. Both sides check paths with the same
//! rule: the compile side before it writes a manifest, the live side before it
//! trusts one.

use camino::{Utf8Path, Utf8PathBuf};

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

/// `host_path` placed below `dir`: the one place a host path becomes a path
/// on this machine (inside a target tree, a staging copy or the live root).
/// Manifests and profiles are checked with [`is_safe_path`] before any path
/// gets here; as a second line, empty, `.` and `..` components are dropped,
/// so the result can never leave `dir` whatever it is given.
pub fn join_under(dir: &Utf8Path, host_path: &str) -> Utf8PathBuf {
    let mut out = dir.to_path_buf();
    for component in host_path
        .split('/')
        .filter(|c| !matches!(*c, "" | "." | ".."))
    {
        out.push(component);
    }
    out
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
    use super::{is_safe_path, join_under, shown};
    use camino::Utf8Path;

    #[test]
    fn join_under_never_leaves_the_directory() {
        let dir = Utf8Path::new("/srv/tree/root");
        assert_eq!(
            join_under(dir, "/etc/nginx/nginx.conf"),
            "/srv/tree/root/etc/nginx/nginx.conf"
        );
        assert_eq!(join_under(dir, "/"), dir);
        for hostile in ["/../../etc/shadow", "../x", "//etc/./../x", "/etc/../../.."] {
            assert!(join_under(dir, hostile).starts_with(dir), "{hostile}");
            assert!(
                !join_under(dir, hostile).as_str().contains(".."),
                "{hostile}"
            );
        }
    }

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
