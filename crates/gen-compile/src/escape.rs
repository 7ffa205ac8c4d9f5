//! Render stage: the quoting each file format needs. Validation has already
//! refused values no file could hold; rendering still quotes every value for
//! the file it lands in (defence in depth), so a quote, `%` or `$` can never
//! change what a directive means. Validation uses `postgres_value` too: it
//! renders each postgresql.conf override once, refusing what has no literal.

use crate::shapes::is_plain_text;

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

/// One word of a shell command line: single-quoted, so nothing in it is
/// expanded or split (`'` itself is closed, escaped and reopened).
pub fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', "'\\''"))
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

/// A SQL identifier, double-quoted: role and database names may hold `-`,
/// and quoting keeps any other name from reading as a keyword.
pub fn sql_ident(value: &str) -> String {
    format!("\"{}\"", value.replace('"', "\"\""))
}

/// A SQL string literal (standard-conforming strings: only `'` is special).
pub fn sql_literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::{postgres_quote, shell_quote, systemd_environment, systemd_quote};

    #[test]
    fn quoting_neutralises_every_special_character() {
        assert_eq!(postgres_quote("it's \\ fine"), "'it''s \\\\ fine'");
        assert_eq!(
            systemd_quote("50% of $HOME \"x\""),
            "\"50%% of $$HOME \\\"x\\\"\""
        );
        assert_eq!(systemd_environment("A", "b\"%"), "\"A=b\\\"%%\"");
        assert_eq!(shell_quote("it's $(id) `x`"), "'it'\\''s $(id) `x`'");
    }
}
