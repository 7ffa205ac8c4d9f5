//! Check stage: Compose files against the Compose Specification's JSON schema
//! (`check-jsonschema --builtin-schema vendor.compose-spec`, offline), and with
//! Docker Compose v2's own loader (`docker compose config --quiet`) when one is
//! installed. Compose v1 (`docker-compose` 1.x) is deliberately not used: it
//! predates the Compose Specification and rejects its top-level `name`.

use std::path::PathBuf;
use std::process::Command;

use super::tool::{run, which};
use super::{FileReport, HostCheck};
use gen_target::error::Result;

pub fn check(host: &mut HostCheck, files: &mut [FileReport]) -> Result<()> {
    for file in files {
        let staged = host.staging.stage(&file.path)?;
        match which("check-jsonschema") {
            None => file.skip("`check-jsonschema` is not installed"),
            Some(program) => {
                file.ran("check-jsonschema --builtin-schema vendor.compose-spec");
                let out = run(host
                    .command(program)
                    .args(["--builtin-schema", "vendor.compose-spec"])
                    .arg(&staged));
                if !out.success {
                    for line in out.lines() {
                        file.fail(host.staging.unstage(line.trim()));
                    }
                }
            }
        }
        if let Some((program, first)) = compose_v2() {
            file.ran("docker compose config --quiet");
            let out = run(host
                .command(program)
                .args(first)
                .arg("--file")
                .arg(&staged)
                .args(["config", "--quiet"]));
            if !out.success {
                for line in out.lines() {
                    file.fail(host.staging.unstage(line.trim()));
                }
            }
        }
    }
    Ok(())
}

/// Docker Compose v2: the `docker compose` plugin, or a standalone v2
/// binary, as the program and its first arguments.
fn compose_v2() -> Option<(PathBuf, &'static [&'static str])> {
    if let Some(v2) = which("docker-compose-v2") {
        return Some((v2, &[]));
    }
    let docker = which("docker")?;
    let plugin = run(Command::new(&docker).args(["compose", "version"]));
    // An unknown `docker` subcommand can exit 0: trust the version line only.
    (plugin.success && plugin.stdout.contains("Compose version")).then_some((docker, &["compose"]))
}
