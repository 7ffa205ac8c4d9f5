//! Check stage: `/etc/cron.d` files. Debian's `crontab -n` (a dry run that
//! installs nothing) only knows the per-user format and stops at the first
//! error, so every job line is checked on its own with its user column cut
//! out. Around it, gen checks what cron applies to `/etc/cron.d` and
//! `crontab` cannot see: the file name (cron silently ignores names with dots),
//! the final newline, environment lines, a user column naming an existing
//! user, and `%` (cron turns an unescaped one into a newline).

use std::process::Command;

use super::tool::{run, user_ids, which};
use super::{FileReport, HostCheck};
use gen_target::error::Result;

pub fn check(host: &mut HostCheck, files: &mut [FileReport]) -> Result<()> {
    let crontab = which("crontab").filter(|c| supports_dry_run(c));
    for file in files {
        let staged = host.staging.stage(&file.path)?;
        let text = std::fs::read_to_string(&staged).unwrap_or_default();
        let generated = file.generated.clone();
        let at = |n: usize| format!("{generated}:{n}");
        let mut problems = Vec::new();
        let name = file.path.rsplit('/').next().unwrap_or_default();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            problems.push(format!(
                "{}: cron ignores `/etc/cron.d` files whose name is not letters, digits, `_` and `-`",
                at(1)
            ));
        }
        if !text.is_empty() && !text.ends_with('\n') {
            problems.push(format!(
                "{}: no newline at the end of the file",
                at(text.lines().count())
            ));
        }
        let mut jobs = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let n = i + 1;
            match parse_line(line) {
                Line::Blank | Line::Env => {}
                Line::Invalid(why) => problems.push(format!("{}: {why}", at(n))),
                Line::Job {
                    schedule,
                    user,
                    command,
                } => {
                    if user_ids(user).is_none() {
                        problems.push(format!("{}: user `{user}` does not exist", at(n)));
                    }
                    jobs.push((n, format!("{schedule} {command}\n")));
                }
            }
        }
        match &crontab {
            None => file.skip(
                "`crontab -n` is not available: job schedules were not checked by cron itself",
            ),
            Some(crontab) => {
                file.ran("crontab -n");
                let scratch = host.staging.path("cron-line");
                for (n, job) in jobs {
                    host.staging.write(&scratch, &job)?;
                    let out = run(host.command(crontab).arg("-n").arg(&scratch));
                    if !out.success {
                        let why = out
                            .lines()
                            .into_iter()
                            .find_map(|l| {
                                l.rsplit_once(": ")
                                    .map(|(_, why)| why.to_string())
                                    .or(Some(l))
                            })
                            .unwrap_or_default();
                        problems.push(format!(
                            "{}: crontab: {}",
                            at(n),
                            host.staging.unstage(&why)
                        ));
                    }
                }
            }
        }
        file.ran("gen cron.d line check");
        for problem in problems {
            file.fail(problem);
        }
    }
    Ok(())
}

/// Debian's `crontab` has `-n` (dry run); other builds may not.
fn supports_dry_run(crontab: &std::path::Path) -> bool {
    let out = run(Command::new(crontab).args(["-n", "/dev/null"]));
    !out.stderr.contains("invalid option")
}

#[derive(Debug, PartialEq, Eq)]
enum Line<'a> {
    Blank,
    Env,
    Job {
        schedule: String,
        user: &'a str,
        command: &'a str,
    },
    Invalid(String),
}

/// One line of an `/etc/cron.d` file: blank or comment, `NAME=value`, or
/// `<5 time fields | @keyword> <user> <command>`.
fn parse_line(line: &str) -> Line<'_> {
    let trimmed = line.trim_start();
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return Line::Blank;
    }
    if let Some((name, _)) = trimmed.split_once('=') {
        let name = name.trim_end();
        if !name.is_empty()
            && !name.contains(char::is_whitespace)
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !name.starts_with(|c: char| c.is_ascii_digit())
        {
            return Line::Env;
        }
    }
    let fields = if trimmed.starts_with('@') { 1 } else { 5 };
    let mut rest = trimmed;
    let mut schedule = Vec::new();
    for _ in 0..fields + 1 {
        let Some((field, after)) = rest.split_once(char::is_whitespace) else {
            return Line::Invalid(format!(
                "expected {fields} time field(s), a user and a command"
            ));
        };
        schedule.push(field);
        rest = after.trim_start();
    }
    let user = schedule.pop().unwrap_or_default();
    let command = rest.trim_end();
    if command.is_empty() {
        return Line::Invalid("the job has no command".into());
    }
    if has_unescaped_percent(command) {
        return Line::Invalid(
            "unescaped `%` in the command: cron turns it into a newline (write `\\%`)".into(),
        );
    }
    if !user
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-' | '.'))
    {
        return Line::Invalid(format!("`{user}` is not a user name"));
    }
    Line::Job {
        schedule: schedule.join(" "),
        user,
        command,
    }
}

fn has_unescaped_percent(command: &str) -> bool {
    let mut escaped = false;
    for c in command.chars() {
        match c {
            '\\' => escaped = !escaped,
            '%' if !escaped => return true,
            _ => escaped = false,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::{parse_line, Line};

    #[test]
    fn parses_the_lines_of_a_cron_d_file() {
        assert_eq!(parse_line("# x"), Line::Blank);
        assert_eq!(parse_line("MAILTO=ops@example.com"), Line::Env);
        assert_eq!(
            parse_line("0 2 * * * postgres /usr/bin/vacuumdb --all"),
            Line::Job {
                schedule: "0 2 * * *".into(),
                user: "postgres",
                command: "/usr/bin/vacuumdb --all"
            }
        );
        assert!(matches!(parse_line("0 2 * * /bin/true"), Line::Invalid(_)));
        assert!(matches!(
            parse_line("0 2 * * * root date +%s"),
            Line::Invalid(_)
        ));
        assert!(matches!(
            parse_line("0 2 * * * root date +\\%s"),
            Line::Job { .. }
        ));
    }
}
