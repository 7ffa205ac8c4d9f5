//! Pure helpers of the PostgreSQL check: reading `postgresql.conf`,
//! `pgbouncer.ini` and `pg_hba.conf` lines, comparing a file's value with the
//! value the server reports, and putting `file:line` first in server messages.

use std::collections::BTreeMap;

/// One `name = value` line of `postgresql.conf`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    pub line: usize,
    pub name: String,
    /// Unquoted (`''` inside quotes becomes `'`).
    pub value: String,
}

pub fn parse_conf(text: &str) -> Vec<Setting> {
    text.lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                return None;
            }
            let (name, rest) = match line.split_once('=') {
                Some((n, r)) => (n.trim(), r.trim()),
                None => line
                    .split_once(char::is_whitespace)
                    .map(|(n, r)| (n, r.trim()))?,
            };
            Some(Setting {
                line: i + 1,
                name: name.to_string(),
                value: unquote(rest),
            })
        })
        .collect()
}

/// The value of a conf line: a quoted string, or a bare word up to a comment.
fn unquote(raw: &str) -> String {
    if let Some(body) = raw.strip_prefix('\'') {
        let mut out = String::new();
        let mut chars = body.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\'' if chars.peek() == Some(&'\'') => {
                    out.push('\'');
                    chars.next();
                }
                '\'' => break,
                '\\' => {
                    if let Some(n) = chars.next() {
                        out.push(n);
                    }
                }
                c => out.push(c),
            }
        }
        out
    } else {
        raw.split('#').next().unwrap_or_default().trim().to_string()
    }
}

pub fn is_on(value: &str) -> bool {
    matches!(
        value.to_ascii_lowercase().as_str(),
        "on" | "true" | "yes" | "1"
    )
}

fn boolean(value: &str) -> Option<bool> {
    match value.to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" | "1" => Some(true),
        "off" | "false" | "no" | "0" => Some(false),
        _ => None,
    }
}

/// A memory amount in kB (`4GB`, `20560kB`, `16MB`).
pub fn memory_kb(value: &str) -> Option<f64> {
    with_unit(value, "kB").map(|bytes| bytes / 1024.0)
}

/// `value` in the base of `unit` converted to bytes (memory) or ms (time).
fn with_unit(value: &str, unit: &str) -> Option<f64> {
    let value = value.trim();
    let split = value
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
        .unwrap_or(value.len());
    let (number, suffix) = value.split_at(split);
    let number: f64 = number.parse().ok()?;
    let scale = |s: &str| -> Option<f64> {
        Some(match s {
            "B" => 1.0,
            "kB" => 1024.0,
            "8kB" => 8192.0,
            "MB" => 1024.0 * 1024.0,
            "GB" => 1024.0 * 1024.0 * 1024.0,
            "TB" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
            "us" => 0.001,
            "ms" => 1.0,
            "s" => 1000.0,
            "min" => 60_000.0,
            "h" => 3_600_000.0,
            "d" => 86_400_000.0,
            _ => return None,
        })
    };
    let suffix = suffix.trim();
    if suffix.is_empty() {
        Some(number * scale(unit)?)
    } else {
        Some(number * scale(suffix)?)
    }
}

/// Whether the file's value and the server's (`current_setting`) mean the same.
pub fn equivalent(file: &str, actual: &str, unit: &str) -> bool {
    if file == actual || file.eq_ignore_ascii_case(actual) {
        return true;
    }
    if number_or_unit(file, actual, unit) {
        return true;
    }
    if let (Some(a), Some(b)) = (boolean(file), boolean(actual)) {
        return a == b;
    }
    let list = |v: &str| {
        v.split(',')
            .map(|p| p.trim().to_ascii_lowercase())
            .collect::<Vec<_>>()
    };
    list(file) == list(actual)
}

fn number_or_unit(file: &str, actual: &str, unit: &str) -> bool {
    if !unit.is_empty() {
        if let (Some(a), Some(b)) = (with_unit(file, unit), with_unit(actual, unit)) {
            return (a - b).abs() <= f64::EPSILON * a.abs().max(1.0);
        }
    }
    match (file.parse::<f64>(), actual.parse::<f64>()) {
        (Ok(a), Ok(b)) => (a - b).abs() < 1e-9,
        _ => false,
    }
}

/// Puts `FILE:LINE: ` in front of PostgreSQL and PgBouncer messages that name
/// a file and line in their own words.
pub fn located(message: &str) -> String {
    // `... in file "F" line N` and `... line N of configuration file "F"`
    let file_line = (|| {
        if let Some((_, rest)) = message.split_once("in file \"") {
            let (file, rest) = rest.split_once('"')?;
            let n = rest.trim_start().strip_prefix("line ")?;
            let n: String = n.chars().take_while(char::is_ascii_digit).collect();
            return Some((file.to_string(), n));
        }
        if let Some((before, rest)) = message.split_once(" of configuration file \"") {
            let file = rest.split_once('"')?.0;
            let n: String = before
                .rsplit_once("line ")?
                .1
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            return Some((file.to_string(), n));
        }
        // PgBouncer: `... (/path/pgbouncer.ini:12)`
        let (_, rest) = message.rsplit_once('(')?;
        let inner = rest.strip_suffix(')')?;
        let (file, n) = inner.rsplit_once(':')?;
        (file.starts_with('/') || file.starts_with("generated"))
            .then(|| (file.to_string(), n.to_string()))
    })();
    match file_line {
        Some((file, n)) if !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()) => {
            format!("{file}:{n}: {}", message.trim())
        }
        _ => message.trim().to_string(),
    }
}

/// A server log line without its `2026-01-01 00:00:00.000 GMT [123] ` prefix,
/// so messages are the same on every run.
pub fn strip_log_prefix(line: &str) -> &str {
    match line.split_once("] ") {
        Some((head, rest))
            if head.contains(" [") && head.starts_with(|c: char| c.is_ascii_digit()) =>
        {
            rest
        }
        _ => line,
    }
}

pub fn mem_available_kb() -> Option<f64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemAvailable:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// `pgbouncer.ini`: sections of `key = value`.
#[derive(Debug, Default)]
pub struct Ini {
    sections: BTreeMap<String, Vec<(String, String)>>,
}

/// One `[databases]` entry.
#[derive(Debug, Clone)]
pub struct Database {
    pub alias: String,
    pub dbname: String,
    pub host: Option<String>,
    pub port: Option<u16>,
}

pub fn parse_ini(text: &str) -> Ini {
    let mut ini = Ini::default();
    let mut section = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with(';') || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_string();
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            ini.sections
                .entry(section.clone())
                .or_default()
                .push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    ini
}

impl Ini {
    pub fn get(&self, section: &str, key: &str) -> Option<String> {
        self.sections
            .get(section)?
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    }

    pub fn databases(&self) -> Vec<Database> {
        let Some(entries) = self.sections.get("databases") else {
            return Vec::new();
        };
        entries
            .iter()
            .filter(|(alias, _)| alias != "*")
            .map(|(alias, conn)| {
                let field = |name: &str| {
                    conn.split_whitespace()
                        .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('=').map(str::to_string))
                };
                Database {
                    alias: alias.clone(),
                    dbname: field("dbname").unwrap_or_else(|| alias.clone()),
                    host: field("host"),
                    port: field("port").and_then(|p| p.parse().ok()),
                }
            })
            .collect()
    }

    /// The database servers the pooler connects to, and their port.
    pub fn backend(&self) -> (Vec<String>, Option<u16>) {
        let dbs = self.databases();
        let mut hosts: Vec<String> = dbs.iter().filter_map(|d| d.host.clone()).collect();
        hosts.sort();
        hosts.dedup();
        (hosts, dbs.iter().find_map(|d| d.port))
    }

    pub fn listen_addresses(&self) -> Vec<String> {
        self.get("pgbouncer", "listen_addr")
            .map(|v| {
                v.split(',')
                    .map(|a| a.trim().to_string())
                    .filter(|a| !a.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn admin_users(&self) -> Vec<String> {
        let mut users: Vec<String> = ["admin_users", "stats_users"]
            .iter()
            .filter_map(|k| self.get("pgbouncer", k))
            .flat_map(|v| {
                v.split(',')
                    .map(|u| u.trim().to_string())
                    .collect::<Vec<_>>()
            })
            .filter(|u| !u.is_empty())
            .collect();
        users.sort();
        users.dedup();
        users
    }
}

/// The first network login a `pg_hba.conf` admits with scram-sha-256 for a
/// named role: `(role, database)`.
pub fn hba_login(hba: &str) -> Option<(String, String)> {
    hba.lines().find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields.as_slice() {
            [kind, database, user, _address, method, ..]
                if kind.starts_with("host")
                    && *method == "scram-sha-256"
                    && *database != "replication"
                    && !["all", "replication"].contains(user)
                    && !user.starts_with('+')
                    && !user.starts_with('@') =>
            {
                Some((user.to_string(), database.to_string()))
            }
            _ => None,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares_values_as_postgres_reports_them() {
        assert!(equivalent("4GB", "4GB", "8kB"));
        assert!(equivalent("20560kB", "20560kB", "kB"));
        assert!(equivalent("1000", "1s", "ms"));
        assert!(equivalent("1d", "1d", "min"));
        assert!(equivalent("0", "0", "kB"));
        assert!(equivalent("on", "on", ""));
        assert!(equivalent("0.9", "0.9", ""));
        assert!(equivalent("localhost,10.0.0.1", "localhost, 10.0.0.1", ""));
        assert!(!equivalent("4GB", "128MB", "8kB"));
        assert!(!equivalent("replica", "logical", ""));
    }

    #[test]
    fn parses_conf_lines() {
        let s = parse_conf("# c\nwork_mem = 4MB # x\nlog_line_prefix = '%m [%p] '\nx = 'it''s'\n");
        assert_eq!(
            s[0],
            Setting {
                line: 2,
                name: "work_mem".into(),
                value: "4MB".into()
            }
        );
        assert_eq!(s[1].value, "%m [%p] ");
        assert_eq!(s[2].value, "it's");
    }

    #[test]
    fn locates_messages() {
        assert_eq!(
            located("LOG:  unrecognized configuration parameter \"x\" in file \"g/p.conf\" line 12"),
            "g/p.conf:12: LOG:  unrecognized configuration parameter \"x\" in file \"g/p.conf\" line 12"
        );
        assert_eq!(
            located("CONTEXT:  line 3 of configuration file \"g/pg_hba.conf\""),
            "g/pg_hba.conf:3: CONTEXT:  line 3 of configuration file \"g/pg_hba.conf\""
        );
    }

    #[test]
    fn reads_the_hba_login() {
        let hba = "local all postgres peer\nhost replication replicator 10.0.0.2/32 scram-sha-256\nhost atlas atlas_app 10.0.0.1/32 scram-sha-256\n";
        assert_eq!(hba_login(hba), Some(("atlas_app".into(), "atlas".into())));
    }
}
