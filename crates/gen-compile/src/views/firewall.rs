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

/// The unit's view: it names the table, not the rules, so a unit is not
/// keyed by (or built from) the host's whole ruleset.
#[derive(Serialize)]
pub struct FirewallUnit<'a> {
    project: &'a str,
    path: String,
    unit: String,
    rules: Table,
}

#[derive(Serialize)]
struct Table {
    table: String,
}

pub fn unit<'a>(scope: &Scope<'a>) -> FirewallUnit<'a> {
    let project = scope.d.project.as_str();
    FirewallUnit {
        project,
        path: firewall::rules_path(project),
        unit: firewall::unit_name(project),
        rules: Table {
            table: firewall::table_name(project),
        },
    }
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
