//! Render stage: what the firewall's ruleset and unit templates see.

use serde::Serialize;

use super::Scope;
use crate::derive::firewall::{self, Ruleset};

#[derive(Serialize)]
pub struct Firewall<'a> {
    project: &'a str,
    /// The ruleset's path on the host.
    path: String,
    unit: String,
    rules: Ruleset,
}

pub fn firewall<'a>(scope: &Scope<'a>) -> Firewall<'a> {
    let project = scope.d.project.as_str();
    Firewall {
        project,
        path: firewall::rules_path(project),
        unit: firewall::unit_name(project),
        rules: firewall::ruleset(scope.d, scope.host),
    }
}
