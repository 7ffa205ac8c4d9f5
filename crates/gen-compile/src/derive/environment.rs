//! Derive stage: the environment a service runs with. The profile's own
//! variables, plus what gen knows and the service should not repeat: where
//! the database and Redis are (through the pooler when there is one), and
//! where each secret file appears inside the service.

use std::collections::BTreeMap;

use crate::model::{Deployment, ServiceSpec};
use crate::profile::{Role, Runtime};

/// Comma-separated addresses of `hosts`, in host order.
fn join_addresses<'a>(hosts: impl Iterator<Item = &'a crate::model::HostSpec>) -> String {
    hosts
        .map(|h| h.address.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// The service's environment as rendered:
/// - `DATABASE_HOST`/`DATABASE_PORT`: every pooler host and PgBouncer's port
///   when the service is pooled and a pooler exists, else the primary and
///   PostgreSQL's port; `DATABASE_NAME`, `DATABASE_USER`; with replicas, a
///   pooled service also gets `DATABASE_READONLY_NAME` (`<database>_readonly`,
///   PgBouncer's read-only pool).
/// - `REDIS_HOST`/`REDIS_PORT`: the first cache host.
/// - `<SECRET>_FILE`: `/run/secrets/<name>` in a container, `%d/<name>`
///   (systemd's credentials directory) for a native service.
pub fn service_environment(d: &Deployment, s: &ServiceSpec) -> BTreeMap<String, String> {
    let mut environment = s.environment.clone();
    if let (Some(db), Some(pg)) = (&s.database, &d.postgres) {
        let (hosts, port) = match (&d.pgbouncer, db.pooled) {
            (Some(pgb), true) => (join_addresses(d.hosts_with(Role::Pooler)), pgb.port),
            _ => (join_addresses(d.primary().into_iter()), pg.port),
        };
        environment.insert("DATABASE_HOST".into(), hosts);
        environment.insert("DATABASE_PORT".into(), port.to_string());
        environment.insert("DATABASE_NAME".into(), pg.database.clone());
        environment.insert("DATABASE_USER".into(), db.user.clone());
        if db.pooled && d.has_replicas() {
            environment.insert(
                "DATABASE_READONLY_NAME".into(),
                format!("{}_readonly", pg.database),
            );
        }
    }
    if let Some(redis) = d.redis.as_ref().filter(|_| s.redis) {
        let address = d
            .hosts_with(Role::Cache)
            .next()
            .map(|h| h.address.to_string())
            .unwrap_or_default();
        environment.insert("REDIS_HOST".into(), address);
        environment.insert("REDIS_PORT".into(), redis.port.to_string());
    }
    for name in s.secrets.keys() {
        let var = format!("{}_FILE", name.to_ascii_uppercase());
        environment.insert(var, secret_location(s, name));
    }
    environment
}

/// Where secret `name` appears to the service.
pub fn secret_location(s: &ServiceSpec, name: &str) -> String {
    match s.runtime {
        Runtime::Container => format!("/run/secrets/{name}"),
        Runtime::Native => format!("%d/{name}"),
    }
}
