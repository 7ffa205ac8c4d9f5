//! Check stage: systemd units and timers with `systemd-analyze verify`, and
//! every `OnCalendar=` with `systemd-analyze calendar`.
//!
//! `verify` exits non-zero for problems that belong to this machine, not to the
//! unit, and exits zero on some real mistakes (an unknown key is only a
//! warning). So the verdict is read from its messages: every message fails the
//! file except these, which are ignored because they describe the checking
//! machine rather than the unit:
//!
//! * `Command X is not executable` when `X` is a file gen installs on the same
//!   host (it is in the manifest) or a program the host gets from a package
//!   that this machine does not need (`/usr/bin/docker`, from docker-ce).
//! * `Unit docker.service not found` and the like: target-only units are
//!   replaced by stubs next to the staged units.
//! * `Command X is not executable` when `X` is the program of the unit's own
//!   `ExecStart=`, i.e. the application a native service runs: the profile
//!   declares it and the application's release puts it on the host, not gen.
//!
//! Unlike every other validator's programs, `systemd-analyze` runs outside
//! the sandbox's namespaces: it makes `/tmp/systemd-analyze-*` and
//! `/tmp/systemd-temporary-*` (in `/tmp` whatever `TMPDIR` says) and removes
//! them only when it finishes, so killing it with gen would leave them
//! behind. It starts no server and ends by itself within a second.

use std::process::Command;

use super::tool::{is_executable, run, which};
use super::{FileReport, HostCheck};
use gen_target::error::Result;

/// Programs the target hosts have that a checking machine need not.
const TARGET_PROGRAMS: &[&str] = &["/usr/bin/docker"];

/// Units the target hosts have that a checking machine need not.
const TARGET_UNITS: &[&str] = &["docker.service", "docker.socket", "containerd.service"];

pub fn check(host: &mut HostCheck, files: &mut [FileReport]) -> Result<()> {
    let Some(analyze) = which("systemd-analyze") else {
        for file in files {
            file.skip("`systemd-analyze` is not installed");
        }
        return Ok(());
    };
    let mut units = Vec::new();
    for file in files.iter_mut() {
        units.push(host.staging.stage(&file.path)?);
    }
    // Stubs for target-only units, in the directory of the staged units:
    // verify looks for dependencies there too.
    if let Some(dir) = units.first().and_then(|p| p.parent()) {
        for unit in TARGET_UNITS {
            let installed = ["/lib/systemd/system", "/etc/systemd/system"]
                .iter()
                .any(|d| std::path::Path::new(d).join(unit).exists());
            if !installed && !units.iter().any(|p| p.file_name() == Some(unit)) {
                let body = if unit.ends_with(".socket") {
                    format!("[Unit]\nDescription=stand-in for {unit}\n[Socket]\nListenStream=/run/{unit}\n")
                } else {
                    format!(
                        "[Unit]\nDescription=stand-in for {unit}\n[Service]\nExecStart=/bin/true\n"
                    )
                };
                host.staging.write(&dir.join(unit), &body)?;
            }
        }
    }
    for (file, staged) in files.iter_mut().zip(&units) {
        file.ran("systemd-analyze verify");
        let out = run(Command::new(&analyze)
            .args(["verify", "--man=no", "--generators=no"])
            .arg(staged)
            .env("SYSTEMD_LOG_COLOR", "0")
            .env("SYSTEMD_PAGER", ""));
        let mut failed = false;
        let text = std::fs::read_to_string(staged).unwrap_or_default();
        let own_programs: Vec<&str> = text
            .lines()
            .filter_map(|l| l.trim().strip_prefix("ExecStart="))
            .filter_map(|args| args.split_whitespace().next())
            .map(|program| program.trim_matches('"'))
            .collect();
        // verify loads the units a unit refers to (a timer's service): their
        // complaints are reported on their own files.
        let others: Vec<String> = units
            .iter()
            .filter(|other| *other != staged)
            .filter_map(|other| other.file_name().map(str::to_string))
            .collect();
        for line in out.lines() {
            let about_other = others.iter().any(|name| {
                line.starts_with(&format!("{name}:")) || line.contains(&format!("/{name}:"))
            });
            if about_other {
                continue;
            }
            if let Some(program) = missing_program(&line) {
                if host.managed.iter().any(|m| m == program)
                    || (TARGET_PROGRAMS.contains(&program) && !is_executable(program.as_ref()))
                    || own_programs.contains(&program)
                {
                    continue;
                }
            }
            failed = true;
            file.fail(host.staging.unstage(&line));
        }
        if !out.success && !failed && out.lines().is_empty() {
            file.fail(format!("systemd-analyze verify exited with {:?}", out.code));
        }
        for (n, line) in text.lines().enumerate() {
            let Some(spec) = line.trim().strip_prefix("OnCalendar=") else {
                continue;
            };
            file.ran("systemd-analyze calendar");
            let out = run(Command::new(&analyze).args(["calendar", spec.trim()]));
            if !out.success {
                let why = out.lines().join("; ");
                file.fail(format!("{}:{}: {why}", file.generated, n + 1));
            }
        }
    }
    Ok(())
}

/// `X` in "unit: Command X is not executable: No such file or directory".
fn missing_program(line: &str) -> Option<&str> {
    let rest = line.split_once("Command ")?.1;
    let (program, why) = rest.split_once(" is not executable: ")?;
    why.starts_with("No such file or directory")
        .then_some(program)
}

#[cfg(test)]
mod tests {
    use super::missing_program;

    #[test]
    fn reads_the_missing_program() {
        assert_eq!(
            missing_program(
                "a.service: Command /usr/bin/docker is not executable: No such file or directory"
            ),
            Some("/usr/bin/docker")
        );
        assert_eq!(missing_program("a.service:3: Unknown key 'Nicez'"), None);
    }
}
