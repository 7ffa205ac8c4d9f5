//! Check stage: Alertmanager's configuration with `amtool check-config`
//! (Debian's `prometheus-alertmanager` package ships `amtool`). The
//! credential files the configuration names need not exist for the check:
//! amtool reads only the configuration.

use super::tool::{run, which};
use super::{FileReport, HostCheck};
use gen_target::error::Result;

pub fn check(host: &mut HostCheck, files: &mut [FileReport]) -> Result<()> {
    let Some(amtool) = which("amtool") else {
        for file in files {
            file.skip("`amtool` is not installed");
        }
        return Ok(());
    };
    for file in files {
        let staged = host.staging.stage(&file.path)?;
        file.ran("amtool check-config");
        let out = run(host.command(&amtool).arg("check-config").arg(&staged));
        if !out.success {
            for line in out.lines() {
                file.fail(host.staging.unstage(&line));
            }
        }
    }
    Ok(())
}
