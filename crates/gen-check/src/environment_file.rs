//! Check stage: the `/etc/default/prometheus-<name>` files Debian's exporter
//! units read (`EnvironmentFile=`, then `ExecStart=/usr/bin/prometheus-<name>
//! $ARGS`). Each file is parsed with systemd's rules for environment files,
//! `$ARGS` is split into words as systemd splits an unbraced variable, and
//! every flag must be one the program lists in its `--help`: a misspelt flag
//! would stop the exporter at its next start.

use std::collections::BTreeSet;

use super::tool::{run, which};
use super::{FileReport, HostCheck};
use gen_target::error::Result;

pub fn check(host: &mut HostCheck, files: &mut [FileReport]) -> Result<()> {
    for file in files {
        let text = match std::fs::read_to_string(&file.generated) {
            Ok(text) => text,
            Err(e) => {
                file.fail(format!("cannot read the file: {e}"));
                continue;
            }
        };
        file.ran("systemd EnvironmentFile rules");
        let vars = match parse(&text) {
            Ok(vars) => vars,
            Err(why) => {
                file.fail(why);
                continue;
            }
        };
        let Some(args) = vars.iter().find(|(k, _)| k == "ARGS").map(|(_, v)| v) else {
            file.fail("sets no `ARGS`, which the unit passes to the program");
            continue;
        };
        let program = file.path.rsplit('/').next().unwrap_or_default().to_string();
        if !program.starts_with("prometheus-") {
            file.fail("is not a `/etc/default/prometheus-<name>` file");
            continue;
        }
        let Some(binary) = which(&program) else {
            file.note(format!(
                "`{program}` is not installed: its flags were not checked"
            ));
            continue;
        };
        file.ran(format!("{program} --help"));
        let out = run(host.command(&binary).arg("--help"));
        let known = flag_names(&format!("{}\n{}", out.stdout, out.stderr));
        for word in args.split_whitespace() {
            match flag_name(word) {
                Some(name) if known.contains(name) => {}
                Some(name) => file.fail(format!(
                    "`{program}` has no flag `--{name}` (not in its --help)"
                )),
                None => file.fail(format!("`{word}` in ARGS is not a `--flag=value`")),
            }
        }
    }
    Ok(())
}

/// The name of a `--name=value`, `--name` or `-name` word.
fn flag_name(word: &str) -> Option<&str> {
    let rest = word.strip_prefix("--").or_else(|| word.strip_prefix('-'))?;
    let name = rest.split('=').next()?;
    is_flag_char_run(name).then_some(name)
}

fn is_flag_char_run(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

/// Every `-name` or `--name` a help text mentions (kingpin prints
/// `--web.listen-address=":9100"`, Go's flag package `-web.listen-address string`).
pub fn flag_names(help: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    // kingpin's booleans: `--[no-]collector.textfile` is both names.
    let help = help.replace("--[no-]", "--no-");
    for word in help.split(|c: char| c.is_whitespace() || matches!(c, ',' | '[' | ']' | '(' | ')'))
    {
        let rest = word.trim_start_matches('-');
        if rest.len() == word.len() {
            continue;
        }
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
            .collect();
        if let Some(positive) = name.strip_prefix("no-") {
            out.insert(positive.to_string());
        }
        if !name.is_empty() {
            out.insert(name);
        }
    }
    out
}

/// The variables of an environment file, parsed as systemd's
/// `load_env_file` does: `KEY=VALUE` lines, `#` and `;` comments, blank
/// lines; a value in double quotes may escape `"`, `\`, `` ` `` and `$`; in
/// single quotes it is literal; unquoted, surrounding whitespace goes. A line
/// that ends inside a quote or is not an assignment is an error (systemd
/// would read it differently from what the file seems to say).
pub fn parse(text: &str) -> std::result::Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(format!("line {}: not `KEY=VALUE`", i + 1));
        };
        let key = key.trim();
        if key.is_empty()
            || key.starts_with(|c: char| c.is_ascii_digit())
            || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(format!("line {}: `{key}` is not a variable name", i + 1));
        }
        let value = value.trim();
        let parsed = if let Some(inner) = value.strip_prefix('"') {
            let mut out = String::new();
            let mut chars = inner.chars();
            let mut closed = false;
            while let Some(c) = chars.next() {
                match c {
                    '"' => {
                        closed = true;
                        break;
                    }
                    '\\' => match chars.next() {
                        Some(e @ ('"' | '\\' | '`' | '$')) => out.push(e),
                        Some(other) => {
                            out.push('\\');
                            out.push(other);
                        }
                        None => return Err(format!("line {}: a line continuation", i + 1)),
                    },
                    c => out.push(c),
                }
            }
            if !closed || !chars.as_str().trim().is_empty() {
                return Err(format!(
                    "line {}: the double quote is not closed at the end",
                    i + 1
                ));
            }
            out
        } else if let Some(inner) = value.strip_prefix('\'') {
            match inner.strip_suffix('\'') {
                Some(v) if !v.contains('\'') => v.to_string(),
                _ => {
                    return Err(format!(
                        "line {}: the single quote is not closed at the end",
                        i + 1
                    ))
                }
            }
        } else {
            if value.contains(['\\', '"', '\'']) {
                return Err(format!(
                    "line {}: an unquoted value with quotes or backslashes",
                    i + 1
                ));
            }
            value.to_string()
        };
        out.push((key.to_string(), parsed));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_as_systemd_does() {
        let vars = parse(
            "# c\n; c\n\nARGS=\"--a=1 --b=x\"\nDATA_SOURCE_NAME='user=p host=/run'\nX = plain \n",
        )
        .expect("parses");
        assert_eq!(
            vars,
            vec![
                ("ARGS".into(), "--a=1 --b=x".into()),
                ("DATA_SOURCE_NAME".into(), "user=p host=/run".into()),
                ("X".into(), "plain".into()),
            ]
        );
        assert_eq!(
            parse("A=\"x\\\"y\"").expect("escape"),
            vec![("A".into(), "x\"y".into())]
        );
        assert!(parse("ARGS=\"--a").is_err());
        assert!(parse("--flag").is_err());
        assert!(parse("1A=x").is_err());
    }

    #[test]
    fn reads_flag_names_of_both_help_styles() {
        let kingpin =
            "      --web.listen-address=:9100 ...  \n      --[no-]collector.textfile  Enable";
        let goflag = "  -redis.addr string\n    \tAddress\n  -web.listen-address string";
        let names = flag_names(&format!("{kingpin}\n{goflag}"));
        for n in [
            "web.listen-address",
            "redis.addr",
            "collector.textfile",
            "no-collector.textfile",
        ] {
            assert!(names.contains(n), "{n}: {names:?}");
        }
        assert_eq!(
            flag_name("--cluster.peer=1.2.3.4:9094"),
            Some("cluster.peer")
        );
        assert_eq!(
            flag_name("--cluster.listen-address="),
            Some("cluster.listen-address")
        );
        assert_eq!(flag_name("plain"), None);
    }
}
