//! Diff stage, tree against host: what `gen diff` prints and `gen apply`
//! asks an operator to confirm. Pure: it arranges a plan, the scan it came
//! from and the target's contents into a [`HostDiff`], reading nothing, so
//! the confirmation shows exactly what the apply then writes from.

use std::collections::BTreeMap;

use crate::apply::{Planned, Target};
use crate::diff::HostDiff;

/// One host's target tree against the live root `planned` scanned.
pub fn against_live(target: &Target, planned: &Planned) -> HostDiff {
    let plan = &planned.plan;
    let old: BTreeMap<String, Vec<u8>> = plan
        .changes
        .iter()
        .filter(|c| c.expected_sha256.is_some() && !c.sensitive)
        .filter_map(|c| {
            planned
                .scan
                .contents
                .get(&c.path)
                .map(|b| (c.path.clone(), b.clone()))
        })
        .collect();
    let new = plan
        .changes
        .iter()
        .filter_map(|c| {
            target
                .contents
                .get(&c.path)
                .map(|b| (c.path.clone(), b.clone()))
        })
        .collect();
    HostDiff {
        plan: plan.clone(),
        before: planned.scan.actual.clone(),
        old,
        new,
        pending: planned.pending.clone(),
        presence: Default::default(),
    }
}
