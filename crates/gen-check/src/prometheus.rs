//! Check stage: Prometheus configuration and alerting rules with `promtool`.
//! The staged `prometheus.yml` names the staged rule files (same line, only
//! the path differs), so `promtool check config` loads exactly the generated
//! rules.

use super::tool::{run, which};
use super::{FileReport, HostCheck};
use gen_target::error::Result;
use gen_target::Validator;

pub fn check(host: &mut HostCheck, files: &mut [FileReport]) -> Result<()> {
    let Some(promtool) = which("promtool") else {
        for file in files {
            file.skip("`promtool` is not installed");
        }
        return Ok(());
    };
    let mut rules = Vec::new();
    for file in files
        .iter_mut()
        .filter(|f| f.validator == Validator::PrometheusRules)
    {
        let staged = host.staging.stage(&file.path)?;
        rules.push((file.path.clone(), staged.to_string()));
        file.ran("promtool check rules");
        let out = run(host
            .command(&promtool)
            .args(["check", "rules"])
            .arg(&staged));
        if !out.success {
            for line in out.lines() {
                file.fail(host.staging.unstage(&line));
            }
        }
    }
    for file in files
        .iter_mut()
        .filter(|f| f.validator == Validator::PrometheusConfig)
    {
        let staged = host.staging.stage_with(&file.path, |line| {
            rules
                .iter()
                .find(|(path, _)| line.contains(path.as_str()))
                .map(|(path, staged)| line.replace(path.as_str(), staged))
        })?;
        file.ran("promtool check config");
        let out = run(host
            .command(&promtool)
            .args(["check", "config"])
            .arg(&staged));
        if !out.success {
            for line in out.lines() {
                file.fail(host.staging.unstage(&line));
            }
        }
    }
    Ok(())
}
