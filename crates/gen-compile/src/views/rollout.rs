//! View of the pull-mode rollout files: the script, its service and timer.

use serde::Serialize;

use super::Scope;
use crate::catalog::TEXTFILE_DIR;
use crate::derive::rollout;
use crate::model::{HostSpec, RolloutSpec};

#[derive(Serialize)]
pub struct Pull<'a> {
    project: &'a str,
    profile: &'a str,
    host: &'a HostSpec,
    rollout: &'a RolloutSpec,
    /// This host's wave (0: a canary) and how long it waits after a commit.
    wave: u32,
    delay_seconds: u64,
    /// Whether the canaries must have reported a commit healthy first.
    canary_gate: Option<rollout::CanaryGate>,
    /// Where the script records its last success, and a refusal, for Prometheus.
    metrics_file: String,
    refusal_metrics_file: String,
}

pub fn pull<'a>(scope: &Scope<'a>) -> Option<Pull<'a>> {
    let r = scope.d.rollout.as_ref()?;
    Some(Pull {
        project: &scope.d.project,
        profile: &scope.d.profile,
        host: scope.host,
        rollout: r,
        wave: rollout::wave(r, &scope.host.name),
        delay_seconds: rollout::delay_seconds(r, &scope.host.name),
        canary_gate: rollout::canary_gate(scope.d, &scope.host.name),
        metrics_file: format!("{TEXTFILE_DIR}/gen_pull.prom"),
        refusal_metrics_file: format!("{TEXTFILE_DIR}/gen_pull_refusal.prom"),
    })
}
