//! Apply stage, last step: tell the running system about the files that
//! changed. `systemctl daemon-reload` first (unit files), then restarts, then
//! reloads, as the plan's activations list them. The program is `systemctl`
//! unless `GEN_SYSTEMCTL` names another one (tests record the calls instead of
//! running them; a host without systemd can point it at a shim).

use std::process::Command;

use crate::plan::Activations;
use gen_target::error::{Error, Result};

pub const SYSTEMCTL_ENV: &str = "GEN_SYSTEMCTL";

/// The commands the activations ask for, in the order they run.
pub fn commands(activations: &Activations) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    if activations.daemon_reload {
        out.push(vec!["daemon-reload".to_string()]);
    }
    for unit in &activations.restart {
        out.push(vec!["restart".to_string(), unit.clone()]);
    }
    for unit in &activations.reload {
        out.push(vec!["reload".to_string(), unit.clone()]);
    }
    out
}

/// Runs every command, even after one fails, and reports all failures.
pub fn run(activations: &Activations) -> Result<Vec<String>> {
    let program = std::env::var(SYSTEMCTL_ENV)
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "systemctl".to_string());
    let mut ran = Vec::new();
    let mut failed = Vec::new();
    for args in commands(activations) {
        let shown = format!("{program} {}", args.join(" "));
        match Command::new(&program).args(&args).status() {
            Ok(status) if status.success() => ran.push(shown),
            Ok(status) => failed.push(format!("`{shown}` exited with {status}")),
            Err(e) => failed.push(format!("`{shown}` could not run: {e}")),
        }
    }
    if failed.is_empty() {
        Ok(ran)
    } else {
        Err(Error::Activation {
            failures: failed.join("; "),
        })
    }
}
