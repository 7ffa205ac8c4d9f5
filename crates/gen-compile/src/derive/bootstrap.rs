//! Derive stage: what the primary's bootstrap creates and in which order
//! (`DbBootstrapSql`, `DbBootstrapUnit`). Roles before the databases they
//! own, each database's extensions and grants inside it, then one physical
//! replication slot per replica, named as the replica's `primary_slot_name`.

use crate::catalog;
use crate::derive::postgres::slot_name;
use crate::model::{Deployment, HostSpec};
use crate::profile::{Role, Runtime};

/// The Debian cluster unit of a PostgreSQL major (`postgresql@<v>-main.service`).
pub fn cluster_unit(version: u32) -> String {
    format!("postgresql@{version}-main.service")
}

/// The bootstrap's unit: `<project>-db-bootstrap.service`.
pub fn bootstrap_unit(project: &str) -> String {
    format!("{project}-db-bootstrap.service")
}

/// Where the bootstrap script lives on the primary.
pub fn bootstrap_sql_path(project: &str) -> String {
    format!("/etc/{project}/postgres/bootstrap.sql")
}

/// The slots the primary keeps: one per replica, `slot_name(replica)`,
/// sorted by replica name.
pub fn slots(d: &Deployment) -> Vec<String> {
    d.hosts_with(Role::DatabaseReplica)
        .map(|h| slot_name(&h.name))
        .collect()
}

/// The units on `host` that must start after the bootstrap: PgBouncer and
/// the host's own services, which log in as the roles it creates.
pub fn ordered_before(d: &Deployment, host: &HostSpec) -> Vec<String> {
    let mut out = Vec::new();
    if d.pgbouncer.is_some() && host.has(Role::Pooler) {
        out.push("pgbouncer.service".to_string());
    }
    let services: Vec<_> = d.services_on(host).collect();
    if services.iter().any(|s| s.runtime == Runtime::Container) {
        out.push(catalog::compose_unit(&d.project));
    }
    out.extend(
        services
            .iter()
            .filter(|s| s.runtime == Runtime::Native)
            .map(|s| catalog::native_unit(&d.project, &s.name)),
    );
    out
}
