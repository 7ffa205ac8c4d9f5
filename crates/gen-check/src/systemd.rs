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
//!
//! A unit's `[Install]` link (a manifest record with `link`, validator
//! `systemd_enable`) must name a unit this tree installs whose `[Install]`
//! section asks for exactly that link (`WantedBy=<target>` for
//! `<target>.wants/`, `RequiredBy=` for `.requires/`): `systemctl is-enabled`
//! accepts a link in any target's directory, so that agreement is checked
//! here. Then the link is made in the staged root and `systemctl
//! --root=<staged root> is-enabled <unit>` must say `enabled`.

use std::process::Command;

use super::tool::{is_executable, run, which};
use super::{FileReport, HostCheck};
use gen_target::error::Result;
use gen_target::{Exposure, Validator};

/// Programs the target hosts have that a checking machine need not.
const TARGET_PROGRAMS: &[&str] = &["/usr/bin/docker"];

/// Units the target hosts have that a checking machine need not.
const TARGET_UNITS: &[&str] = &["docker.service", "docker.socket", "containerd.service"];

pub fn check(host: &mut HostCheck, files: &mut [FileReport]) -> Result<()> {
    for (validator, check) in [
        (Validator::Systemd, check_units as super::Check),
        (Validator::SystemdEnable, check_links),
    ] {
        let picked: Vec<usize> = (0..files.len())
            .filter(|&i| files[i].validator == validator)
            .collect();
        if picked.is_empty() {
            continue;
        }
        let mut subset: Vec<FileReport> = picked.iter().map(|&i| files[i].clone()).collect();
        check(host, &mut subset)?;
        for (i, report) in picked.into_iter().zip(subset) {
            files[i] = report;
        }
    }
    Ok(())
}

fn check_units(host: &mut HostCheck, files: &mut [FileReport]) -> Result<()> {
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
        if file.exposure_budget.is_some() {
            score(host, &analyze, file, staged);
        }
    }
    Ok(())
}

/// Scores a service unit with `systemd-analyze security --offline=yes`, on
/// the staged root so its drop-ins and paths resolve as on the host.
fn score(
    host: &HostCheck,
    analyze: &std::path::Path,
    file: &mut FileReport,
    staged: &camino::Utf8Path,
) {
    let Some(unit) = staged.file_name() else {
        return;
    };
    file.ran("systemd-analyze security --offline=yes");
    let out = run(Command::new(analyze)
        .args(["security", "--offline=yes", "--no-pager"])
        .arg(format!("--root={}", host.staging.host_root()))
        .arg(unit)
        .env("SYSTEMD_LOG_COLOR", "0")
        .env("SYSTEMD_PAGER", ""));
    match overall_exposure(&out.lines(), unit) {
        Some(score) => file.scored(score),
        None => file.fail(format!(
            "systemd-analyze security gave no overall exposure for `{unit}`: {}",
            host.staging.unstage(&out.lines().join("; "))
        )),
    }
}

/// The score of `Overall exposure level for <unit>: 4.5 OK`.
fn overall_exposure(lines: &[String], unit: &str) -> Option<Exposure> {
    let prefix = format!("Overall exposure level for {unit}:");
    lines.iter().find_map(|line| {
        let rest = line.split_once(&prefix)?.1;
        Exposure::parse(rest.split_whitespace().next()?)
    })
}

/// Each link against its unit's `[Install]` section, then `systemctl
/// is-enabled` on the staged root holding the links.
fn check_links(host: &mut HostCheck, files: &mut [FileReport]) -> Result<()> {
    let mut linked = Vec::new();
    for file in files.iter_mut() {
        file.ran("gen [Install] link check");
        let Some(target) = host.links.get(&file.path).cloned() else {
            file.fail(format!(
                "`{}` has no link target in the manifest",
                file.path
            ));
            continue;
        };
        let Some((dir, unit)) = file
            .path
            .rsplit_once('/')
            .map(|(d, u)| (d.to_string(), u.to_string()))
        else {
            continue;
        };
        if !host.managed.contains(&target) || host.links.contains_key(&target) {
            file.fail(format!(
                "`{}` enables `{target}`, which this tree does not install",
                file.path
            ));
            continue;
        }
        let (key, wanted_by) = match dir.rsplit_once('/').map(|(_, d)| d) {
            Some(d) if d.ends_with(".wants") => ("WantedBy", d.trim_end_matches(".wants")),
            Some(d) => ("RequiredBy", d.trim_end_matches(".requires")),
            None => continue,
        };
        let staged = host.staging.stage(&target)?;
        let text = std::fs::read_to_string(&staged).unwrap_or_default();
        if !install_entries(&text, key).contains(&wanted_by) {
            file.fail(format!(
                "`{target}` does not say `{key}={wanted_by}` in its [Install] section: `systemctl enable` would not make `{}`",
                file.path
            ));
            continue;
        }
        host.staging.link(&file.path, &target)?;
        linked.push((file, unit));
    }
    let Some(systemctl) = which("systemctl") else {
        for (file, _) in linked {
            file.skip("`systemctl` is not installed: `is-enabled` was not asked");
        }
        return Ok(());
    };
    let root = host.staging.host_root();
    for (file, unit) in linked {
        file.ran("systemctl --root is-enabled");
        let out = run(Command::new(&systemctl)
            .arg(format!("--root={root}"))
            .args(["is-enabled", &unit])
            .env("SYSTEMD_LOG_COLOR", "0")
            .env("SYSTEMD_PAGER", ""));
        if !out.success || out.stdout.trim() != "enabled" {
            let said = out.lines().join("; ");
            file.fail(format!(
                "`systemctl is-enabled {unit}` says `{}` with the link in place",
                host.staging.unstage(&said)
            ));
        }
    }
    Ok(())
}

/// The units a key of a unit file's `[Install]` section lists.
fn install_entries<'a>(text: &'a str, key: &str) -> Vec<&'a str> {
    let mut in_install = false;
    let mut out = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_install = line == "[Install]";
        } else if in_install {
            if let Some(value) = line
                .strip_prefix(key)
                .and_then(|rest| rest.trim_start().strip_prefix('='))
            {
                out.extend(value.split_whitespace());
            }
        }
    }
    out
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
    use super::{install_entries, missing_program, overall_exposure};
    use gen_target::Exposure;

    /// The score is read from systemd's summary line for that unit only; a
    /// line for another unit, or none, gives no score (the check then fails
    /// the file instead of passing it unscored).
    #[test]
    fn reads_the_overall_exposure_of_the_named_unit_only() {
        let lines: Vec<String> = [
            "✗ UMask=   Files created by service are world-readable by default   0.1",
            "→ Overall exposure level for other.service: 9.6 UNSAFE 😨",
            "→ Overall exposure level for shop-api.service: 3.3 OK 🙂",
        ]
        .iter()
        .map(|l| l.to_string())
        .collect();
        assert_eq!(
            overall_exposure(&lines, "shop-api.service"),
            Exposure::tenths(33)
        );
        assert_eq!(overall_exposure(&lines, "gone.service"), None);
        let garbled = vec!["→ Overall exposure level for x.service: high".to_string()];
        assert_eq!(overall_exposure(&garbled, "x.service"), None);
    }

    #[test]
    fn reads_the_install_section_only() {
        let unit = "[Unit]\nWantedBy=nope.target\n[Install]\nWantedBy=multi-user.target  timers.target\nRequiredBy = a.target\n";
        assert_eq!(
            install_entries(unit, "WantedBy"),
            vec!["multi-user.target", "timers.target"]
        );
        assert_eq!(install_entries(unit, "RequiredBy"), vec!["a.target"]);
        assert!(install_entries("[Service]\nExecStart=/bin/true\n", "WantedBy").is_empty());
    }

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
