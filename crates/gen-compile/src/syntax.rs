//! The shapes values may take before they are allowed into a generated file,
//! and the escaping each file format needs. Validation rejects what no file
//! could hold safely; rendering escapes what remains (defence in depth), so a
//! newline, `;`, `{` or quote can never start a new directive.

pub use gen_target::host_path::{is_safe_path, shown};

/// Settings gen writes from the topology; an override could only break it.
pub const GEN_OWNED_POSTGRES_SETTINGS: &[&str] = &[
    "data_directory",
    "hba_file",
    "ident_file",
    "external_pid_file",
    "port",
    "listen_addresses",
    "unix_socket_directories",
    "hot_standby",
    "primary_conninfo",
    "primary_slot_name",
    "synchronous_standby_names",
    "include",
    "include_dir",
    "include_if_exists",
    "ssl_cert_file",
    "ssl_key_file",
];

/// `[a-z][a-z0-9-]{0,62}`, not ending in `-`: host, service, site and project names.
pub fn is_name(value: &str) -> bool {
    let bytes = value.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes[0].is_ascii_lowercase()
        && !value.ends_with('-')
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
}

/// A PostgreSQL database or role name gen writes unquoted into pg_hba.conf,
/// pgbouncer.ini and scripts: an [`is_name`] that may also hold `_`.
pub fn is_sql_name(value: &str) -> bool {
    is_name(&value.replace('_', "-"))
}

/// A unix user or group name as Debian's adduser accepts it.
pub fn is_unix_user(value: &str) -> bool {
    let bytes = value.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 32
        && bytes[0].is_ascii_lowercase()
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_' || *b == b'-')
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

/// A compose secret name: it becomes `/run/secrets/<name>`.
pub fn is_secret_name(value: &str) -> bool {
    let bytes = value.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 64
        && bytes[0].is_ascii_lowercase()
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'_')
}

/// Environment entries that carry a credential by name or by shape.
pub fn looks_like_secret(name: &str, value: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    let by_name = [
        "PASSWORD",
        "PASSWD",
        "SECRET",
        "TOKEN",
        "API_KEY",
        "PRIVATE_KEY",
        "CREDENTIAL",
    ]
    .iter()
    .any(|word| upper.contains(word))
        && !upper.ends_with("_FILE");
    // scheme://user:password@host
    let by_value = value
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('@'))
        .is_some_and(|(userinfo, _)| userinfo.contains(':') && !userinfo.contains('/'));
    by_name || by_value
}

/// Whether a profile's text seems to hold a credential anywhere: an
/// assignment [`looks_like_secret`] would refuse (a path is a reference, not
/// a credential). Errors never quote such a file, not even as context lines
/// around an unrelated mistake.
pub fn text_holds_credential(text: &str) -> bool {
    text.lines().any(|line| {
        line.split([',', '{', '}']).any(|piece| {
            piece.split_once('=').is_some_and(|(name, value)| {
                let name = name.trim().trim_start_matches('#').trim().trim_matches('"');
                let value = value.trim().trim_matches(['"', '\'']);
                !value.is_empty() && !value.starts_with('/') && looks_like_secret(name, value)
            })
        })
    })
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

/// A container image reference pinned to a tag other than `latest`, or to a digest.
pub fn check_image(value: &str) -> Result<(), &'static str> {
    if value.is_empty() || value.len() > 255 {
        return Err("is not an image reference");
    }
    let allowed = |b: u8| {
        b.is_ascii_lowercase()
            || b.is_ascii_digit()
            || matches!(b, b'.' | b'_' | b'-' | b'/' | b':' | b'@')
    };
    let (name_and_tag, digest) = match value.split_once('@') {
        Some((name, digest)) => (name, Some(digest)),
        None => (value, None),
    };
    if !name_and_tag
        .bytes()
        .all(|b| allowed(b) || b.is_ascii_uppercase())
        || name_and_tag.contains('@')
    {
        return Err("is not an image reference");
    }
    if let Some(digest) = digest {
        let hex = digest
            .strip_prefix("sha256:")
            .ok_or("has a digest that is not `sha256:`")?;
        if hex.len() != 64
            || !hex
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        {
            return Err("has a malformed sha256 digest");
        }
        return Ok(());
    }
    // The tag follows the last `:` after the last `/` (a registry port is not a tag).
    let last_segment = name_and_tag.rsplit('/').next().unwrap_or(name_and_tag);
    let Some((repository, tag)) = last_segment.rsplit_once(':') else {
        return Err("has no tag: it would float to `latest`");
    };
    if repository.is_empty() || !repository.bytes().all(allowed) {
        return Err("is not an image reference");
    }
    if tag == "latest" {
        return Err("uses the `latest` tag, which changes under you");
    }
    if tag.is_empty()
        || tag.len() > 128
        || !tag
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return Err("has a malformed tag");
    }
    Ok(())
}

/// A PostgreSQL extension name (`uuid-ossp`, `pg_stat_statements`, `vector`).
pub fn is_extension_name(value: &str) -> bool {
    is_unix_user(value) && value.len() <= 63
}

pub fn is_postgres_setting(value: &str) -> bool {
    let bytes = value.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes[0].is_ascii_lowercase()
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.'))
}

/// Renders an override value for postgresql.conf: numbers and booleans bare,
/// strings single-quoted with quotes and backslashes escaped.
pub fn postgres_value(value: &toml::Value) -> Result<String, String> {
    match value {
        toml::Value::Integer(i) => Ok(i.to_string()),
        toml::Value::Float(f) if f.is_finite() => Ok(f.to_string()),
        toml::Value::Boolean(b) => Ok(if *b { "on" } else { "off" }.to_string()),
        toml::Value::String(s) if is_plain_text(s) && s.len() <= 1024 => Ok(postgres_quote(s)),
        toml::Value::String(_) => {
            Err("the string contains control characters or is too long".into())
        }
        other => Err(format!(
            "a {} cannot be a PostgreSQL setting",
            other.type_str()
        )),
    }
}

/// A postgresql.conf string literal.
pub fn postgres_quote(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "''"))
}

/// One argument of a systemd `ExecStart=` line, quoted so spaces, quotes,
/// `%` specifiers and `$` expansion cannot change its meaning.
pub fn systemd_quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '%' => out.push_str("%%"),
            '$' => out.push_str("$$"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A systemd `Environment=` assignment: the whole `KEY=value` quoted, `%` escaped
/// (systemd does not expand `$` there).
pub fn systemd_environment(name: &str, value: &str) -> String {
    let mut out = String::from("\"");
    for c in name
        .chars()
        .chain(std::iter::once('='))
        .chain(value.chars())
    {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '%' => out.push_str("%%"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A systemd `OnCalendar=` expression in the forms gen accepts: a shorthand
/// (`daily`, `weekly`, …) or `[weekdays] [year-month-day] hour:minute[:second]`,
/// every component `*`, a number in its range, a list (`,`), a range (`..`)
/// or a repetition (`/`). Anything `systemd-analyze calendar` would refuse is
/// refused here first; `gen check` still runs it.
pub fn check_calendar(value: &str) -> Result<(), String> {
    const SHORTHANDS: &[&str] = &[
        "minutely",
        "hourly",
        "daily",
        "weekly",
        "monthly",
        "yearly",
        "annually",
        "quarterly",
        "semiannually",
    ];
    const WEEKDAYS: &[&str] = &["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    if value.is_empty() || value.len() > 128 {
        return Err("it is empty or longer than 128 characters".into());
    }
    if SHORTHANDS.contains(&value) {
        return Ok(());
    }
    let mut parts: Vec<&str> = value.split(' ').collect();
    if parts.iter().any(|p| p.is_empty()) || parts.len() > 3 {
        return Err("it needs `[weekdays] [date] time`, separated by single spaces".into());
    }
    let weekday_ok = |spec: &str| {
        spec.split(',').all(|item| {
            let mut ends = item.split("..");
            let valid = |d: Option<&str>| d.is_some_and(|d| WEEKDAYS.contains(&d));
            match (ends.next(), ends.next(), ends.next()) {
                (a, None, None) => valid(a),
                (a, b, None) => valid(a) && valid(b),
                _ => false,
            }
        })
    };
    if parts
        .first()
        .is_some_and(|p| p.starts_with(|c: char| c.is_ascii_alphabetic()))
    {
        if !weekday_ok(parts[0]) {
            return Err(format!(
                "`{}` is not a list of weekdays like `Mon..Fri`",
                shown(parts[0])
            ));
        }
        parts.remove(0);
    }
    let Some(time) = parts.pop() else {
        return Err("it has no time of day (`03:00`)".into());
    };
    // Each component: `*`, or `,`-separated numbers, ranges `a..b` and repetitions `a/b`.
    let component = |spec: &str, what: &str, low: u32, high: u32| -> Result<(), String> {
        if spec == "*" {
            return Ok(());
        }
        for item in spec.split(',') {
            let (range, step) = match item.split_once('/') {
                Some((range, step)) => (range, Some(step)),
                None => (item, None),
            };
            if let Some(step) = step {
                let ok =
                    step.len() <= 4 && step.parse::<u32>().is_ok_and(|s| s > 0 && s <= high.max(1));
                if !ok {
                    return Err(format!(
                        "the {what} repetition `/{}` is not valid",
                        shown(step)
                    ));
                }
            }
            let number = |n: &str| -> Result<u32, String> {
                let parsed = if n.len() <= 4 {
                    n.parse::<u32>().ok()
                } else {
                    None
                };
                parsed
                    .filter(|v| (low..=high).contains(v))
                    .ok_or_else(|| format!("the {what} `{}` is outside {low}-{high}", shown(n)))
            };
            if range == "*" && step.is_some() {
                continue;
            }
            match range.split_once("..") {
                Some((a, b)) if number(a)? > number(b)? => {
                    return Err(format!("the {what} range `{range}` runs backwards"));
                }
                Some(_) => {}
                None => {
                    number(range)?;
                }
            }
        }
        Ok(())
    };
    let clock: Vec<&str> = time.split(':').collect();
    if !(2..=3).contains(&clock.len()) {
        return Err(format!(
            "`{}` is not a time like `03:00` or `*:0/15`",
            shown(time)
        ));
    }
    component(clock[0], "hour", 0, 23)?;
    component(clock[1], "minute", 0, 59)?;
    if let Some(second) = clock.get(2) {
        component(second, "second", 0, 59)?;
    }
    if let Some(date) = parts.pop() {
        let fields: Vec<&str> = date.split('-').collect();
        let (year, month, day) = match fields.as_slice() {
            [year, month, day] => (Some(*year), *month, *day),
            [month, day] => (None, *month, *day),
            _ => {
                return Err(format!(
                    "`{}` is not a date like `*-*-*` or `*-01-01`",
                    shown(date)
                ))
            }
        };
        if let Some(year) = year {
            component(year, "year", 1970, 2199)?;
        }
        component(month, "month", 1, 12)?;
        component(day, "day", 1, 31)?;
    }
    if !parts.is_empty() {
        return Err("it needs `[weekdays] [date] time`".into());
    }
    Ok(())
}

/// Checks a five-field cron schedule: every field a list of `*`, numbers,
/// ranges and steps within that field's bounds. Names and `@daily` shortcuts
/// are refused to keep one spelling.
pub fn check_cron_schedule(value: &str) -> Result<(), String> {
    const BOUNDS: [(&str, u32, u32); 5] = [
        ("minute", 0, 59),
        ("hour", 0, 23),
        ("day of month", 1, 31),
        ("month", 1, 12),
        ("day of week", 0, 7),
    ];
    let fields: Vec<&str> = value.split(' ').collect();
    if fields.len() != 5 || fields.iter().any(|f| f.is_empty()) {
        return Err("it needs exactly five fields separated by single spaces".into());
    }
    for (field, (what, low, high)) in fields.iter().zip(BOUNDS) {
        for item in field.split(',') {
            let (range, step) = match item.split_once('/') {
                Some((range, step)) => (range, Some(step)),
                None => (item, None),
            };
            if let Some(step) = step {
                let step: u32 = step
                    .parse()
                    .map_err(|_| format!("the {what} step `{}` is not a number", shown(step)))?;
                if step == 0 || step > high {
                    return Err(format!("the {what} step {step} is out of range"));
                }
            }
            if range == "*" {
                continue;
            }
            let number = |s: &str| -> Result<u32, String> {
                let n: u32 = s
                    .parse()
                    .map_err(|_| format!("the {what} `{}` is not a number", shown(s)))?;
                if n < low || n > high {
                    return Err(format!("the {what} {n} is outside {low}-{high}"));
                }
                Ok(n)
            };
            match range.split_once('-') {
                Some((a, b)) => {
                    if number(a)? > number(b)? {
                        return Err(format!("the {what} range `{range}` runs backwards"));
                    }
                }
                None => {
                    number(range)?;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn secrets_are_spotted_by_name_and_by_url_shape() {
        assert!(looks_like_secret("DB_PASSWORD", "x"));
        assert!(looks_like_secret(
            "DATABASE_URL",
            "postgres://app:hunter2@db/app"
        ));
        assert!(!looks_like_secret(
            "DATABASE_PASSWORD_FILE",
            "/run/secrets/db"
        ));
        assert!(!looks_like_secret("LOG_LEVEL", "info"));
        assert!(text_holds_credential(
            "environment = { A = 1, DB_PASSWORD = \"x\" }"
        ));
        assert!(text_holds_credential("URL = \"redis://u:pw@cache:6379\""));
        assert!(!text_holds_credential(
            "secrets = { api_key = \"/etc/shop/api_key\" }\npassword_file = \"/etc/redis/pw\""
        ));
        assert!(!looks_like_secret("API_URL", "https://api.example.com/v1"));
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

    #[test]
    fn calendar_expressions_are_checked_like_systemd_does() {
        for good in [
            "daily",
            "*-*-* 03:15:00",
            "Mon..Fri *-*-* 02:00",
            "Sat,Sun 04:30",
            "*:0/15",
            "*-01-01 00:00:00",
            "2026-*-1,15 12:00",
        ] {
            assert_eq!(check_calendar(good), Ok(()), "{good:?}");
        }
        for bad in [
            "",
            "*-*-* 25:00:00",
            "*-*-* 03:60",
            "*-13-* 03:00",
            "Funday 03:00",
            "*-*-* 03",
            "nightly",
            "*-*-*  03:00",
            "03:00;rm",
            "*-*-* 03:00 extra",
            "Mon..Fri..Sun 03:00",
            "*-*-* 03:00/0",
        ] {
            assert!(check_calendar(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn cron_fields_are_bounded() {
        assert!(check_cron_schedule("0 2 * * *").is_ok());
        assert!(check_cron_schedule("*/5 * * * 1-5").is_ok());
        assert!(check_cron_schedule("0,30 8-18 1 1,6 0").is_ok());
        for bad in [
            "0 2 * *",
            "60 * * * *",
            "* 24 * * *",
            "* * 0 * *",
            "*/0 * * * *",
            "0 2 * * * root",
            "@daily",
            "0  2 * * *",
            "5-1 * * * *",
            "0 2 * * *\n* * * * * root x",
        ] {
            assert!(check_cron_schedule(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn quoting_neutralises_every_special_character() {
        assert_eq!(postgres_quote("it's \\ fine"), "'it''s \\\\ fine'");
        assert_eq!(
            systemd_quote("50% of $HOME \"x\""),
            "\"50%% of $$HOME \\\"x\\\"\""
        );
        assert_eq!(systemd_environment("A", "b\"%"), "\"A=b\\\"%%\"");
    }

    #[test]
    fn shown_escapes_control_characters() {
        assert_eq!(shown("a\nb\u{1b}[31m"), "a\\nb\\u{1b}[31m");
        assert!(shown(&"x".repeat(200)).ends_with('…'));
    }
}
