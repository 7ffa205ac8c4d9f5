//! View of the health gate script: the probes of the host it runs on
//! (`derive::health::gate_probes`), laid out one per line.

use serde::Serialize;

use super::Scope;
use crate::derive::health::{gate_probes, Probe};

#[derive(Serialize)]
pub struct HealthGate {
    probes: Vec<Probe>,
}

pub fn gate(scope: &Scope<'_>) -> HealthGate {
    HealthGate {
        probes: gate_probes(scope.d, scope.host),
    }
}
