//! Lints, memory and CPU: what runs on a host asks for more than the host
//! has. Limits beyond the host's memory, one replica beyond its cores, and
//! `shared_buffers` as large as the host are errors in validation; these are
//! the overcommitments that work until the host is busy.

use super::{Context, Finding};
use crate::model::{Deployment, HostSpec};
use crate::profile::Role;
use crate::source::push_key;
use crate::units::{postgres_memory, ByteSize};

/// PostgreSQL settings that size memory the server may use.
const MEMORY_SETTINGS: &[&str] = &[
    "shared_buffers",
    "effective_cache_size",
    "maintenance_work_mem",
    "work_mem",
    "autovacuum_work_mem",
    "temp_buffers",
    "wal_buffers",
];

/// What PostgreSQL has on `host`: its memory less the memory limits of the
/// services running there (every replica) and Redis's `maxmemory` on the
/// cache host.
fn memory_for_postgres(cx: &Context, host: &HostSpec) -> u64 {
    crate::derive::pg_memory::budget(cx.d, host).left.bytes()
}

fn database_hosts(d: &Deployment) -> impl Iterator<Item = &HostSpec> {
    d.hosts
        .iter()
        .filter(|h| h.has(Role::DatabasePrimary) || h.has(Role::DatabaseReplica))
}

/// A memory override larger than what PostgreSQL has on a database host;
/// reported once per setting, for the host with the least to spare.
pub(super) fn override_exceeds_memory(cx: &Context) -> Vec<Finding> {
    let Some(pg) = &cx.d.postgres else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (name, value) in &pg.overrides {
        if !MEMORY_SETTINGS.contains(&name.as_str()) {
            continue;
        }
        let Some(size) = postgres_memory(name, value) else {
            continue;
        };
        let tightest = database_hosts(cx.d)
            .map(|host| (host, memory_for_postgres(cx, host)))
            .min_by_key(|(_, left)| *left);
        let Some((host, left)) = tightest.filter(|(_, left)| size.bytes() > *left) else {
            continue;
        };
        let tenants = host.memory.bytes() - left;
        let context = if tenants == 0 {
            String::new()
        } else {
            format!(
                " ({} less {} of service limits and Redis)",
                host.memory,
                ByteSize(tenants)
            )
        };
        out.push(Finding::at(
            push_key("postgres.overrides", name),
            format!(
                "`postgres.overrides.{name}` is {size}, but PostgreSQL has {} on host `{}`{context}",
                ByteSize(left),
                host.name
            ),
            format!(
                "remove the override (gen derives `{name}` from the host's hardware) or lower it below {}",
                ByteSize(left)
            ),
        ));
    }
    out
}

/// The CPU limits of the services on a host (every replica) add up to more
/// cores than it has; reported at the service asking for the most.
pub(super) fn cpu_overcommit(cx: &Context) -> Vec<Finding> {
    let d = cx.d;
    let mut out = Vec::new();
    for host in &d.hosts {
        let asks: Vec<(&str, u32, f64)> = d
            .services_on(host)
            .filter_map(|s| s.cpus.map(|cpus| (s.name.as_str(), s.replicas, cpus)))
            .collect();
        let total: f64 = asks.iter().map(|(_, r, c)| f64::from(*r) * c).sum();
        if total <= f64::from(host.cores) + 1e-9 {
            continue;
        }
        let Some((largest, _, _)) = asks.iter().copied().reduce(|a, b| {
            if f64::from(b.1) * b.2 > f64::from(a.1) * a.2 {
                b
            } else {
                a
            }
        }) else {
            continue;
        };
        let parts: Vec<String> = asks
            .iter()
            .map(|(name, replicas, cpus)| format!("`{name}` {replicas} × {cpus}"))
            .collect();
        out.push(Finding::at(
            format!("{}.limits.cpus", push_key("services", largest)),
            format!(
                "CPU limits on host `{}` add up to {} cores ({}), more than its {}: under load the services starve each other and whatever else runs there",
                host.name,
                (total * 100.0).round() / 100.0,
                parts.join(", "),
                host.cores
            ),
            "lower `limits.cpus` or `replicas`, or declare the host's real `cores`; if the limits are caps that never peak together, allow `cpu-overcommit` with that reason",
        ));
    }
    out
}

/// A service with no memory limit on a host that runs PostgreSQL or Redis.
pub(super) fn memory_unbounded(cx: &Context) -> Vec<Finding> {
    let d = cx.d;
    let mut out = Vec::new();
    for service in d.services.iter().filter(|s| s.memory.is_none()) {
        let shared = d.hosts_running(service).find_map(|host| {
            let postgres = d.postgres.is_some()
                && (host.has(Role::DatabasePrimary) || host.has(Role::DatabaseReplica));
            let redis = d.redis.is_some() && host.has(Role::Cache);
            let what = match (postgres, redis) {
                (true, true) => ("PostgreSQL and Redis", "PostgreSQL or Redis"),
                (true, false) => ("PostgreSQL", "PostgreSQL"),
                (false, true) => ("Redis", "Redis"),
                (false, false) => return None,
            };
            Some((host, what))
        });
        let Some((host, (beside, victim))) = shared else {
            continue;
        };
        let key = push_key("services", &service.name);
        out.push(
            Finding::at(
                key.clone(),
                format!(
                    "`{key}` has no memory limit and runs on host `{}` beside {beside}: when it grows, the kernel's OOM killer kills the largest process, likely {victim}",
                    host.name
                ),
                "add `limits = { memory = \"512MiB\" }` with what the service needs",
            )
            .on_key(),
        );
    }
    out
}
