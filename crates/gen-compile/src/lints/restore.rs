//! Lints, singletons and schedules: a backup nobody restores. A dump that
//! cannot be read back, a pgBackRest repository missing WAL or a verify step
//! that was never run is found during the outage it was kept for, unless a
//! timer restores it first.

use super::{Context, Finding};

pub(super) fn backup_never_restored(cx: &Context) -> Vec<Finding> {
    let d = cx.d;
    if d.restore_test.is_some() || (d.backup.is_none() && d.pgbackrest.is_none()) {
        return Vec::new();
    }
    vec![Finding::at(
        "backup",
        "`[backup]` has no `restore_test`: nothing ever restores a backup, so the first restore is the one during an outage, when a dump that does not load or a repository missing WAL is found too late",
        "add `[backup.restore_test]` with a `schedule` and a `verify_query` that must return a row (for example `SELECT 1 FROM orders LIMIT 1`): gen then restores the newest backup into a throw-away server on that schedule and alerts when it has not succeeded for `alerts.restore_age_days`",
    )
    .on_key()]
}
