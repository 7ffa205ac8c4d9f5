//! Lints, singletons and schedules: what must run exactly once, and the
//! backup a database must have.

use super::{Context, Finding};
use crate::model::ServiceSpec;
use crate::profile::Role;
use crate::source::push_key;

/// The scheduler a service's command runs, if it runs one: a process that
/// fires periodic tasks and so must run once in the whole deployment.
fn scheduler(service: &ServiceSpec) -> Option<&'static str> {
    let words: Vec<&str> = service
        .command
        .iter()
        .map(|arg| arg.rsplit('/').next().unwrap_or(arg))
        .collect();
    let has = |word: &str| words.contains(&word);
    if has("celery") && (has("beat") || has("-B") || has("--beat")) {
        return Some("celery beat");
    }
    if has("rqscheduler") {
        return Some("rqscheduler");
    }
    if let Some(program) = words.first() {
        if matches!(*program, "cron" | "crond" | "supercronic")
            || *program == "busybox" && has("crond")
        {
            return Some("cron");
        }
        if *program == "clockwork" {
            return Some("clockwork");
        }
    }
    if words
        .iter()
        .any(|w| *w == "manage.py" || w.ends_with("manage.py"))
        && words.iter().any(|w| w.contains("scheduler"))
    {
        return Some("a Django scheduler command");
    }
    None
}

/// A scheduler that runs more than once: `replicas > 1`, or several hosts
/// with its role.
pub(super) fn singleton_replicated(cx: &Context) -> Vec<Finding> {
    let d = cx.d;
    let mut out = Vec::new();
    for service in &d.services {
        let Some(what) = scheduler(service) else {
            continue;
        };
        let hosts: Vec<&str> = d.hosts_running(service).map(|h| h.name.as_str()).collect();
        let copies = hosts.len() as u64 * u64::from(service.replicas);
        if copies <= 1 {
            continue;
        }
        let key = push_key("services", &service.name);
        let named = hosts
            .iter()
            .map(|h| format!("`{h}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let (at, how) = match (service.replicas, hosts.len()) {
            (replicas, 1) => (
                format!("{key}.replicas"),
                format!("{replicas} replicas on {named}"),
            ),
            (1, _) => (
                format!("{key}.role"),
                format!(
                    "once on each host with role `{}`: {named}",
                    service.role.host_role().as_str()
                ),
            ),
            (replicas, _) => (
                format!("{key}.replicas"),
                format!("{replicas} replicas on each of {named}"),
            ),
        };
        out.push(Finding::at(
            at,
            format!(
                "`{key}` runs a scheduler ({what}) {copies} times ({how}): every periodic task is sent {copies} times"
            ),
            "run it once: `replicas = 1`, and a role only one host has; if the scheduler takes a lock so that only one copy sends tasks, allow `singleton-replicated` with that reason",
        ));
    }
    out
}

/// A database primary and no `[backup]`.
pub(super) fn no_backup(cx: &Context) -> Vec<Finding> {
    let d = cx.d;
    if d.postgres.is_none() || d.backup.is_some() || d.pgbackrest.is_some() {
        return Vec::new();
    }
    let Some(primary) = d.hosts_with(Role::DatabasePrimary).next() else {
        return Vec::new();
    };
    vec![Finding::at(
        "postgres",
        format!(
            "the profile has no `[backup]`: nothing dumps the database on `{}`, so a lost disk, a bad migration or a `DROP TABLE` loses its data for good (a replica copies the last two within a second)",
            primary.name
        ),
        "add `[backup]` with `retention_days` and a `destination`: gen then writes a daily, verified pg_dump with its timer and an alert on its age",
    )
    .on_key()]
}
