//! Derive stage: who may connect to PostgreSQL over the network, per
//! database host. Each role is admitted only from the hosts that use it: a
//! pooled service's role from the poolers, an unpooled one's from the hosts
//! that run the service, replication from the other database hosts.

use serde::Serialize;

use crate::model::{Deployment, HostSpec};
use crate::profile::Role;

/// One `pg_hba.conf` line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HbaEntry {
    /// `hostssl` when PostgreSQL has TLS, else `host`.
    pub kind: &'static str,
    pub database: String,
    pub user: String,
    /// `<address>/32` of one client host.
    pub address: String,
    pub method: &'static str,
    /// Why this client is admitted.
    pub comment: String,
}

/// The network entries of `host`'s `pg_hba.conf`, in order, without
/// duplicates. Replication is admitted on every database host (from every
/// other one), so a promoted replica already admits the rest.
pub fn entries(d: &Deployment, host: &HostSpec) -> Vec<HbaEntry> {
    let Some(pg) = &d.postgres else {
        return Vec::new();
    };
    let kind = if pg.tls.is_some() { "hostssl" } else { "host" };
    let mut entries: Vec<HbaEntry> = Vec::new();
    let mut push = |database: &str, user: &str, address: String, comment: String| {
        if !entries
            .iter()
            .any(|e| e.database == database && e.user == user && e.address == address)
        {
            entries.push(HbaEntry {
                kind,
                database: database.into(),
                user: user.into(),
                address,
                method: "scram-sha-256",
                comment,
            });
        }
    };
    for service in &d.services {
        let Some(db) = &service.database else {
            continue;
        };
        if db.pooled && d.pgbouncer.is_some() {
            for pooler in d.hosts_with(Role::Pooler) {
                push(
                    &pg.database,
                    &db.user,
                    format!("{}/32", pooler.address),
                    format!("pgbouncer on {} for service {}", pooler.name, service.name),
                );
            }
        } else {
            for app in d.hosts_running(service) {
                push(
                    &pg.database,
                    &db.user,
                    format!("{}/32", app.address),
                    format!("service {} on {}", service.name, app.name),
                );
            }
        }
    }
    // Containers on this host reach it from the compose subnet (their bridge
    // address), admitted only for the roles they log in as.
    if let Some(subnet) = &d.container_subnet {
        for admission in super::container_network::admissions(d, host) {
            push(
                &pg.database,
                &admission.user,
                subnet.to_string(),
                format!(
                    "containers of service {} on {} (network.container_subnet)",
                    admission.services.join(", "),
                    host.name
                ),
            );
        }
    }
    for peer in d
        .hosts_with(Role::DatabaseReplica)
        .chain(d.hosts_with(Role::DatabasePrimary))
    {
        if peer.name != host.name {
            push(
                "replication",
                &pg.replication_user,
                format!("{}/32", peer.address),
                format!("streaming replication to {}", peer.name),
            );
        }
    }
    entries
}
