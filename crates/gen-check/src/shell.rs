//! Check stage: shell scripts, with `bash -n` (syntax) and `shellcheck`
//! (warnings and errors; style notes are not failures).

use super::tool::{run, which};
use super::{FileReport, HostCheck};
use gen_target::error::Result;

pub fn check(host: &mut HostCheck, files: &mut [FileReport]) -> Result<()> {
    for file in files {
        let staged = host.staging.stage(&file.path)?;
        match which("bash") {
            None => file.skip("`bash` is not installed"),
            Some(bash) => {
                file.ran("bash -n");
                let out = run(host.command(bash).arg("-n").arg(&staged));
                if !out.success {
                    for line in out.lines() {
                        file.fail(host.staging.unstage(&line));
                    }
                }
            }
        }
        match which("shellcheck") {
            None => file.skip("`shellcheck` is not installed"),
            Some(shellcheck) => {
                file.ran("shellcheck --severity=warning");
                let out = run(host
                    .command(shellcheck)
                    .args(["--format=gcc", "--severity=warning", "--shell=bash"])
                    .arg(&staged));
                if !out.success {
                    for line in out.lines() {
                        file.fail(host.staging.unstage(&line));
                    }
                }
            }
        }
    }
    Ok(())
}
