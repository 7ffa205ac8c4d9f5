//! Fast, in-process syntax checks of generated files, and their *shape*: the
//! list of directives, settings, rules, jobs or keys a file holds, without the
//! values. A value that smuggled syntax into a file changes its shape; an
//! inert one does not.

use std::collections::BTreeSet;

/// The kind of file at `path` on the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Nginx,
    Postgresql,
    PgHba,
    Pgbouncer,
    Redis,
    Cron,
    Systemd,
    Yaml,
    Shell,
    Sql,
    EnvFile,
}

pub fn kind(path: &str) -> Kind {
    if path.starts_with("/etc/nginx/") {
        Kind::Nginx
    } else if path.ends_with("/postgresql.conf") {
        Kind::Postgresql
    } else if path.ends_with("/pg_hba.conf") {
        Kind::PgHba
    } else if path.ends_with("pgbouncer.ini") {
        Kind::Pgbouncer
    } else if path.ends_with("redis.conf") {
        Kind::Redis
    } else if path.starts_with("/etc/cron.d/") {
        Kind::Cron
    } else if path.starts_with("/etc/systemd/") {
        Kind::Systemd
    } else if path.ends_with(".yaml") || path.ends_with(".yml") {
        Kind::Yaml
    } else if path.ends_with(".sql") {
        Kind::Sql
    } else if path.starts_with("/usr/local/sbin/") {
        Kind::Shell
    } else if path.starts_with("/etc/default/") {
        Kind::EnvFile
    } else {
        panic!("no syntax check for {path}")
    }
}

/// Checks `text` as a file of its kind and returns its shape, or says what is wrong.
pub fn shape(path: &str, text: &str) -> Result<Vec<String>, String> {
    match kind(path) {
        Kind::Nginx => nginx(text),
        Kind::Postgresql => postgresql(text),
        Kind::PgHba => pg_hba(text),
        Kind::Pgbouncer => ini(text),
        Kind::Redis => words(text),
        Kind::Cron => cron(text),
        Kind::Systemd => systemd(text),
        Kind::Yaml => yaml_keys(text),
        Kind::Sql => sql(text),
        Kind::EnvFile => env_file(text),
        Kind::Shell => Ok(text
            .lines()
            .filter(|l| !l.trim_start().starts_with('#') && !l.trim().is_empty())
            .map(|l| l.split_whitespace().next().unwrap_or("").to_string())
            .collect()),
    }
}

/// psql input: quotes (`'…'`, `"…"`) close on their line. Shape: each
/// line's first word and every statement end (`;`) or meta-command outside
/// quotes, so a name that smuggled a statement changes it.
fn sql(text: &str) -> Result<Vec<String>, String> {
    let mut shape = Vec::new();
    for (number, line) in content_lines(text, '-') {
        let mut quote: Option<char> = None;
        let mut marks = String::new();
        for c in line.chars() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '\'' | '"') => quote = Some(c),
                (None, ';' | '\\') => marks.push(c),
                _ => {}
            }
        }
        if quote.is_some() {
            return Err(format!("line {number}: unterminated quote"));
        }
        let first = line.split_whitespace().next().unwrap_or("");
        shape.push(format!("{first} {marks}"));
    }
    Ok(shape)
}

fn content_lines(text: &str, comment: char) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(move |(_, l)| !l.is_empty() && !l.starts_with(comment))
}

/// nginx: statements end in `;`, blocks open with `{` and close with `}`,
/// outside quotes and comments. Shape: each statement's directive name.
fn nginx(text: &str) -> Result<Vec<String>, String> {
    let mut shape = Vec::new();
    let mut depth: i64 = 0;
    for (number, line) in text.lines().enumerate() {
        let mut words: Vec<String> = Vec::new();
        let mut word = String::new();
        let mut quote: Option<char> = None;
        let mut chars = line.chars();
        let mut finished_statement = false;
        while let Some(c) = chars.next() {
            match (quote, c) {
                (Some(_), '\\') => {
                    word.push(c);
                    if let Some(next) = chars.next() {
                        word.push(next);
                    }
                }
                (Some(q), c) if c == q => {
                    quote = None;
                    word.push(c);
                }
                (Some(_), c) => word.push(c),
                (None, '"' | '\'') => {
                    quote = Some(c);
                    word.push(c);
                }
                (None, '#') => break,
                (None, ';' | '{' | '}') => {
                    if !word.is_empty() {
                        words.push(std::mem::take(&mut word));
                    }
                    match c {
                        '{' => depth += 1,
                        '}' => depth -= 1,
                        _ => {}
                    }
                    if depth < 0 {
                        return Err(format!("line {}: `}}` closes nothing", number + 1));
                    }
                    shape.push(format!(
                        "{}{c}",
                        words.first().map(String::as_str).unwrap_or("")
                    ));
                    words.clear();
                    finished_statement = true;
                }
                (None, c) if c.is_whitespace() => {
                    if !word.is_empty() {
                        words.push(std::mem::take(&mut word));
                    }
                }
                (None, c) => word.push(c),
            }
        }
        if quote.is_some() {
            return Err(format!("line {}: unterminated quote", number + 1));
        }
        if !word.is_empty() {
            words.push(word);
        }
        if !words.is_empty() {
            return Err(format!(
                "line {}: `{}` does not end with `;`, `{{` or `}}`",
                number + 1,
                line.trim()
            ));
        }
        let _ = finished_statement;
    }
    if depth != 0 {
        return Err(format!("braces do not balance ({depth} open)"));
    }
    Ok(shape)
}

/// postgresql.conf: `name = value`, the value bare (no spaces, quotes or `#`)
/// or one single-quoted literal with `''` for a quote. Shape: the names.
fn postgresql(text: &str) -> Result<Vec<String>, String> {
    let mut names = Vec::new();
    for (number, line) in content_lines(text, '#') {
        let (name, value) = line
            .split_once(" = ")
            .ok_or_else(|| format!("line {number}: `{line}` is not `name = value`"))?;
        if !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.')
        {
            return Err(format!("line {number}: `{name}` is not a setting name"));
        }
        let ok = if let Some(inner) = value.strip_prefix('\'') {
            inner
                .strip_suffix('\'')
                .is_some_and(|body| !body.replace("''", "").contains('\''))
        } else {
            !value.is_empty()
                && !value
                    .chars()
                    .any(|c| c.is_whitespace() || matches!(c, '\'' | '"' | '#'))
        };
        if !ok {
            return Err(format!("line {number}: value `{value}` is not one literal"));
        }
        names.push(name.to_string());
    }
    Ok(names)
}

/// pg_hba.conf: every rule has 4 columns (local) or 5 (host, hostssl, …).
fn pg_hba(text: &str) -> Result<Vec<String>, String> {
    let mut rules = Vec::new();
    for (number, line) in content_lines(text, '#') {
        let columns: Vec<&str> = line.split_whitespace().collect();
        let expected = if columns[0] == "local" { 4 } else { 5 };
        if columns.len() != expected {
            return Err(format!(
                "line {number}: `{line}` has {} columns",
                columns.len()
            ));
        }
        rules.push(format!("{} {}", columns[0], columns.len()));
    }
    Ok(rules)
}

/// `[section]` and `key = value` lines. Shape: section and key names.
fn ini(text: &str) -> Result<Vec<String>, String> {
    let mut keys = Vec::new();
    for (number, line) in content_lines(text, '#').filter(|(_, l)| !l.starts_with(';')) {
        if line.starts_with('[') && line.ends_with(']') {
            keys.push(line.to_string());
        } else if let Some((key, _)) = line.split_once(" = ") {
            keys.push(key.to_string());
        } else {
            return Err(format!("line {number}: `{line}` is not `key = value`"));
        }
    }
    Ok(keys)
}

/// One directive per line (redis.conf). Shape: the directive names.
fn words(text: &str) -> Result<Vec<String>, String> {
    Ok(content_lines(text, '#')
        .map(|(_, l)| l.split_whitespace().next().unwrap_or("").to_string())
        .collect())
}

/// cron.d: `NAME=value` settings, and jobs of five time fields, a user and a
/// command. Shape: the setting names and one `job` per job.
fn cron(text: &str) -> Result<Vec<String>, String> {
    let mut shape = Vec::new();
    for (number, line) in content_lines(text, '#') {
        let first = line.split_whitespace().next().unwrap_or("");
        if let Some((name, _)) = first.split_once('=') {
            shape.push(format!("{name}="));
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 7 {
            return Err(format!("line {number}: `{line}` is not a job"));
        }
        for field in &fields[..5] {
            if !field
                .bytes()
                .all(|b| b.is_ascii_digit() || matches!(b, b'*' | b'/' | b',' | b'-'))
            {
                return Err(format!("line {number}: `{field}` is not a time field"));
            }
        }
        if line.contains('%') {
            return Err(format!("line {number}: `%` ends a cron command"));
        }
        shape.push(format!("job {}", fields[5]));
    }
    Ok(shape)
}

/// systemd: `[Section]` or `Key=Value`. Shape: sections and keys.
fn systemd(text: &str) -> Result<Vec<String>, String> {
    let mut shape = Vec::new();
    for (number, line) in content_lines(text, '#') {
        if line.starts_with('[') && line.ends_with(']') {
            shape.push(line.to_string());
        } else if let Some((key, _)) = line.split_once('=') {
            if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(format!("line {number}: `{key}` is not a key"));
            }
            shape.push(key.to_string());
        } else {
            return Err(format!("line {number}: `{line}` is not `Key=Value`"));
        }
    }
    Ok(shape)
}

/// YAML: it parses, and its shape is every mapping key path.
fn yaml_keys(text: &str) -> Result<Vec<String>, String> {
    let value: serde_norway::Value = serde_norway::from_str(text).map_err(|e| e.to_string())?;
    let mut paths = BTreeSet::new();
    collect_keys("", &value, &mut paths);
    Ok(paths.into_iter().collect())
}

fn collect_keys(prefix: &str, value: &serde_norway::Value, out: &mut BTreeSet<String>) {
    match value {
        serde_norway::Value::Mapping(map) => {
            for (key, value) in map {
                let key = match key {
                    serde_norway::Value::String(s) => s.clone(),
                    other => format!("{other:?}"),
                };
                let path = format!("{prefix}/{key}");
                out.insert(path.clone());
                collect_keys(&path, value, out);
            }
        }
        serde_norway::Value::Sequence(items) => {
            for (i, item) in items.iter().enumerate() {
                collect_keys(&format!("{prefix}[{i}]"), item, out);
            }
        }
        serde_norway::Value::Tagged(tagged) => {
            out.insert(format!("{prefix}!{}", tagged.tag));
        }
        _ => {}
    }
}

/// Every scalar string in a YAML document.
pub fn yaml_strings(text: &str) -> Vec<String> {
    fn walk(value: &serde_norway::Value, out: &mut Vec<String>) {
        match value {
            serde_norway::Value::String(s) => out.push(s.clone()),
            serde_norway::Value::Mapping(map) => {
                for (k, v) in map {
                    walk(k, out);
                    walk(v, out);
                }
            }
            serde_norway::Value::Sequence(items) => items.iter().for_each(|v| walk(v, out)),
            serde_norway::Value::Tagged(t) => walk(&t.value, out),
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Ok(value) = serde_norway::from_str::<serde_norway::Value>(text) {
        walk(&value, &mut out);
    }
    out
}

/// An environment file (`/etc/default/*`): `KEY="value"` lines, the value
/// in double quotes holding no quote, backslash or `$`. Shape: each key, and
/// each word of `ARGS` up to its `=` (the flags passed).
fn env_file(text: &str) -> Result<Vec<String>, String> {
    let mut shape = Vec::new();
    for (number, line) in content_lines(text, '#') {
        let (key, value) = line
            .split_once('=')
            .ok_or_else(|| format!("line {number}: not KEY=VALUE"))?;
        let inner = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .ok_or_else(|| format!("line {number}: value not in double quotes"))?;
        if inner.contains(['"', '\\', '$', '`']) {
            return Err(format!(
                "line {number}: quote, backslash or `$` inside the value"
            ));
        }
        shape.push(key.to_string());
        if key == "ARGS" {
            shape.extend(
                inner
                    .split_whitespace()
                    .map(|w| w.split('=').next().unwrap_or("").to_string()),
            );
        }
    }
    Ok(shape)
}
