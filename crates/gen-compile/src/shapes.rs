//! Validate stage: the shapes a value may take before it may go into a
//! generated file: names, users, URL paths, host names, addresses, images,
//! repository URLs, free text. Each is a character set and a length that
//! every file a value can reach holds without quoting, so validation refuses
//! anything else and a newline, `;`, `{` or quote never reaches a template.
//! Paths are held to `gen_target::host_path::is_safe_path`, shared with the
//! live side.

/// 1 to `max` bytes: a lowercase ASCII letter, then lowercase letters, digits
/// and the bytes in `punctuation`. The form most of gen's names take; each
/// kind of name differs only in its length and punctuation.
pub fn is_identifier(value: &str, max: usize, punctuation: &[u8]) -> bool {
    let bytes = value.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= max
        && bytes[0].is_ascii_lowercase()
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || punctuation.contains(b))
}

/// `[a-z][a-z0-9-]{0,62}`, not ending in `-`: host, service, site and project names.
pub fn is_name(value: &str) -> bool {
    is_identifier(value, 63, b"-") && !value.ends_with('-')
}

/// A PostgreSQL database or role name gen writes unquoted into pg_hba.conf,
/// pgbouncer.ini and scripts: an [`is_name`] that may also hold `_`.
pub fn is_sql_name(value: &str) -> bool {
    is_name(&value.replace('_', "-"))
}

/// A unix user or group name as Debian's adduser accepts it.
pub fn is_unix_user(value: &str) -> bool {
    is_identifier(value, 32, b"_-")
}

/// `uid` or `uid:gid`, numeric.
pub fn is_container_user(value: &str) -> bool {
    let numeric = |s: &str| !s.is_empty() && s.len() <= 10 && s.bytes().all(|b| b.is_ascii_digit());
    match value.split_once(':') {
        Some((uid, gid)) => numeric(uid) && numeric(gid),
        None => numeric(value),
    }
}

/// A URL path for an nginx location or an HTTP probe.
pub fn is_url_path(value: &str) -> bool {
    value.len() <= 256
        && value.starts_with('/')
        && !value.contains("//")
        && !value.split('/').any(|c| c == "..")
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'.' | b'_' | b'~' | b'-'))
}

/// Free text (environment values, command arguments): any printable Unicode,
/// no control characters, bounded length.
pub fn is_plain_text(value: &str) -> bool {
    value.len() <= 4096 && !value.chars().any(char::is_control)
}

pub fn is_env_name(value: &str) -> bool {
    let bytes = value.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 128
        && !bytes[0].is_ascii_digit()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'_')
}

pub fn is_email(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && local.len() <= 64
        && local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-'))
        && is_dns_name(domain)
        && domain.contains('.')
}

/// A DNS host name, lowercase, optionally a wildcard (`*.example.com`).
pub fn is_dns_name(value: &str) -> bool {
    let name = value.strip_prefix("*.").unwrap_or(value);
    !name.is_empty()
        && value.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

/// `host:port` with a DNS name or IPv4 address.
pub fn is_host_port(value: &str) -> bool {
    match value.rsplit_once(':') {
        Some((host, port)) => {
            (is_dns_name(host) || host.parse::<std::net::Ipv4Addr>().is_ok())
                && port.parse::<u16>().is_ok_and(|p| p > 0)
        }
        None => false,
    }
}

/// An `https://` or `ssh://` repository URL without embedded credentials,
/// made of characters that need no quoting in a shell script.
pub fn is_repository_url(value: &str) -> bool {
    let (ssh, rest) = if let Some(rest) = value.strip_prefix("https://") {
        (false, rest)
    } else if let Some(rest) = value.strip_prefix("ssh://") {
        (true, rest)
    } else {
        return false;
    };
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (user, host_port) = match authority.rsplit_once('@') {
        Some((user, host_port)) => (Some(user), host_port),
        None => (None, authority),
    };
    // ssh may name a user (`git@`); neither scheme may carry a password.
    if let Some(user) = user {
        if !ssh || !is_unix_user(user) {
            return false;
        }
    }
    let (host, port) = match host_port.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (host_port, None),
    };
    if port.is_some_and(|p| p.parse::<u16>().map_or(true, |p| p == 0)) {
        return false;
    }
    value.len() <= 512
        && (is_dns_name(host) || host.parse::<std::net::Ipv4Addr>().is_ok())
        && !path.is_empty()
        && path.split('/').all(|c| c != ".." && c != ".")
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'/' | b'~'))
}

/// A git branch name as gen accepts it.
pub fn is_branch_name(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 128
        && !value.starts_with('-')
        && !value.contains("..")
        && !value.ends_with('/')
        && !value.ends_with(".lock")
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'.' | b'_' | b'-'))
}

/// A container image reference pinned to a tag other than `latest`, or to a
/// sha256 digest. The grammar is distribution/reference's (what `docker pull`
/// accepts); gen adds pinning and ASCII-only on top.
pub fn check_image(value: &str) -> Result<(), &'static str> {
    if value.is_empty() || !value.is_ascii() {
        return Err("is not an image reference");
    }
    let parts = reference_grammar()
        .captures(value)
        .ok_or_else(|| grammar_problem(value))?;
    let path = parts.name("path").map_or("", |m| m.as_str());
    if path.len() > REPOSITORY_PATH_MAX {
        return Err("has a repository path longer than 255 characters");
    }
    if let Some(digest) = parts.name("digest") {
        let hex = digest
            .as_str()
            .strip_prefix("sha256:")
            .ok_or("has a digest that is not `sha256:`")?;
        if hex.len() != 64 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err("has a malformed sha256 digest");
        }
        return Ok(());
    }
    match parts.name("tag").map(|m| m.as_str()) {
        None => Err("has no tag: it would float to `latest`"),
        Some("latest") => Err("uses the `latest` tag, which changes under you"),
        Some(_) => Ok(()),
    }
}

/// distribution/reference's `RepositoryNameTotalLengthMax`: the path after
/// the registry.
const REPOSITORY_PATH_MAX: usize = 255;

/// distribution/reference's `ReferenceRegexp` (regexp.go), anchored, with
/// the registry, path, tag and digest captured. Matched on bytes with ASCII
/// classes, as Go's regexp package defines `\w` and `[[:xdigit:]]`.
fn reference_grammar() -> &'static regex::Regex {
    const DOMAIN_COMPONENT: &str = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
    const IPV6: &str = r"\[(?:[a-fA-F0-9:]+)\]";
    const PORT: &str = "(?::[0-9]+)?";
    const SEPARATOR: &str = "(?:[._]|__|[-]+)";
    const ALPHANUMERIC: &str = "[a-z0-9]+";
    const TAG: &str = r"[\w][\w.-]{0,127}";
    const DIGEST: &str = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][[:xdigit:]]{32,}";
    static GRAMMAR: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    GRAMMAR.get_or_init(|| {
        let domain = format!("(?:{DOMAIN_COMPONENT}(?:\\.{DOMAIN_COMPONENT})*|{IPV6}){PORT}");
        let component = format!("{ALPHANUMERIC}(?:{SEPARATOR}{ALPHANUMERIC})*");
        let pattern = format!(
            "^(?:(?P<registry>{domain})/)?(?P<path>{component}(?:/{component})*)(?::(?P<tag>{TAG}))?(?:@(?P<digest>{DIGEST}))?$"
        );
        regex::RegexBuilder::new(&pattern)
            .unicode(false)
            .build()
            // A constant pattern: a test compiles it, so this cannot fail at run time.
            .unwrap_or_else(|e| unreachable!("the reference grammar compiles: {e}"))
    })
}

/// Which part of a reference the grammar refused, for the message.
fn grammar_problem(value: &str) -> &'static str {
    let (name, digest) = match value.split_once('@') {
        Some((name, digest)) => (name, Some(digest)),
        None => (value, None),
    };
    if let Some(digest) = digest {
        return match digest.split_once(':') {
            Some(("sha256", _)) => "has a malformed sha256 digest",
            _ => "has a digest that is not `sha256:`",
        };
    }
    let (path, tag) = match name.rsplit_once('/') {
        Some((registry_and_path, last)) => match last.split_once(':') {
            Some((repository, tag)) => (format!("{registry_and_path}/{repository}"), Some(tag)),
            None => (name.to_string(), None),
        },
        None => match name.split_once(':') {
            Some((repository, tag)) => (repository.to_string(), Some(tag)),
            None => (name.to_string(), None),
        },
    };
    // The registry (before the first `/`, when it has a `.` or `:` or is
    // localhost) may be any case; the repository path may not.
    let repository = match path.split_once('/') {
        Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => rest,
        _ => path.as_str(),
    };
    if repository.bytes().any(|b| b.is_ascii_uppercase()) {
        return "has upper-case letters in its repository path, which registries refuse";
    }
    match tag {
        Some(tag) if tag.is_empty() || tag.len() > 128 || tag.starts_with(['.', '-']) => {
            "has a malformed tag: it starts with a letter, digit or `_`, at most 128 characters"
        }
        _ => "is not an image reference: `[registry/]path[:tag][@sha256:digest]`, the path in lower case",
    }
}

#[cfg(test)]
mod tests {
    use super::{
        check_image, is_branch_name, is_name, is_repository_url, is_sql_name, is_unix_user,
    };

    #[test]
    fn names_refuse_anything_that_could_escape_a_file() {
        assert!(is_name("api-1"));
        for bad in [
            "",
            "Api",
            "1api",
            "api-",
            "a;b",
            "a b",
            "a\nb",
            "a/b",
            "a.b",
            &"a".repeat(64),
        ] {
            assert!(!is_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn unix_users_are_short_and_may_hold_underscores() {
        assert!(is_unix_user("www-data_2"));
        assert!(is_unix_user(&"a".repeat(32)));
        for bad in [
            "",
            "_www",
            "2www",
            "Www",
            "www.data",
            "www data",
            &"a".repeat(33),
        ] {
            assert!(!is_unix_user(bad), "{bad:?}");
        }
    }

    #[test]
    fn sql_names_allow_underscores_and_nothing_else_new() {
        assert!(is_sql_name("atlas_app"));
        assert!(is_sql_name("read-only"));
        for bad in [
            "", "_app", "app_", "App", "1app", "app;drop", "app name", "app'x",
        ] {
            assert!(!is_sql_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn images_must_be_pinned() {
        assert!(check_image("ghcr.io/acme/api:v1.2.1").is_ok());
        assert!(check_image("localhost:5000/api:1.0").is_ok());
        assert!(check_image(&format!("redis@sha256:{}", "a".repeat(64))).is_ok());
        assert!(check_image("postgres:latest").is_err());
        assert!(check_image("localhost:5000/api").is_err());
        assert!(check_image("api").is_err());
        assert!(check_image("api:1.0\nprivileged: true").is_err());
        assert!(check_image("api:1.0 ; rm").is_err());
    }

    #[test]
    fn images_follow_the_distribution_reference_grammar() {
        for good in [
            "redis:7.2-alpine",
            "docker.io/library/postgres:16.4",
            "Registry.Example.com:5000/team/api_v2:2024.11.29",
            "ghcr.io/atlas-dev/api__x/worker:v1",
            "ghcr.io/atlas-dev/api:_build",
            "[fd00::5]:5000/team/api:v1",
            "192.168.1.10:5000/api--x/worker.v2:1.0",
            &format!("api:v1@sha256:{}", "0a".repeat(32)),
            &format!("ghcr.io/atlas-dev/api@sha256:{}", "f".repeat(64)),
        ] {
            assert_eq!(check_image(good), Ok(()), "{good}");
        }
        let refused = |value: &str| check_image(value).expect_err(value);
        assert!(refused("ghcr.io/Atlas-Dev/api:v1").contains("upper-case"));
        assert!(refused("ghcr.io/atlas-dev/api:-bad").contains("malformed tag"));
        assert!(refused("ghcr.io/atlas-dev/api:.bad").contains("malformed tag"));
        assert!(refused(&format!("api:{}", "a".repeat(129))).contains("malformed tag"));
        assert!(refused("ghcr.io/atlas-dev/api:").contains("malformed tag"));
        for bad in [
            "ghcr.io/atlas-dev//api:v1",
            "ghcr.io/atlas-dev/api-:v1",
            "ghcr.io/atlas-dev/_api:v1",
            "-ghcr.io/api:v1",
            "ghcr.io/atlas-dev/api:v1:v2",
            "ghcr.io/atlas-dev/api:v\u{e9}",
            "api:v1 ",
        ] {
            assert!(check_image(bad).is_err(), "{bad}");
        }
        assert!(check_image(&format!("api@sha256:{}", "A".repeat(64))).is_err());
        assert!(check_image(&format!("api@sha256:{}", "a".repeat(63))).is_err());
        assert!(check_image(&format!("api@sha512:{}", "a".repeat(128))).is_err());
        assert!(refused(&format!("api:v1@sha256:{}", "a".repeat(65))).contains("malformed sha256"));
        assert!(refused("registry.example.com:5000/team/api").contains("no tag"));
        assert!(refused("api:latest").contains("`latest`"));
        // The limit is on the path after the registry, 255 characters.
        let long_path = format!("ghcr.io/team/{}:v1", "a".repeat(251));
        assert!(refused(&long_path).contains("longer than 255"));
        assert_eq!(
            check_image(&format!("ghcr.io/team/{}:v1", "a".repeat(250))),
            Ok(())
        );
        // Go's `\w` is ASCII: a tag is never a Unicode word.
        assert!(check_image("api:v\u{e9}1").is_err());
    }

    #[test]
    fn repository_urls_carry_no_credentials_or_shell_syntax() {
        assert!(is_repository_url("https://git.example.com/ops/deploy.git"));
        assert!(is_repository_url(
            "ssh://git@git.example.com:2222/ops/deploy.git"
        ));
        for bad in [
            "http://git.example.com/ops/deploy.git",
            "https://user:pw@git.example.com/ops/deploy.git",
            "https://git@git.example.com/ops/deploy.git",
            "ssh://git:pw@git.example.com/ops/deploy.git",
            "https://git.example.com/ops/deploy.git; rm -rf /",
            "https://git.example.com/../x",
            "https://git.example.com",
            "git@git.example.com:ops/deploy.git",
            "https://git.example.com/ops/$(id).git",
        ] {
            assert!(!is_repository_url(bad), "{bad:?}");
        }
        assert!(is_branch_name("release/2026-11"));
        for bad in ["", "-x", "a..b", "a b", "a;b", "x.lock", "a/"] {
            assert!(!is_branch_name(bad), "{bad:?}");
        }
    }
}
