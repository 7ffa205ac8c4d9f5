//! Derive stage: the connections services open to PostgreSQL directly, and
//! the budget they must fit when no pooler stands in front of the server.
//!
//! Budget on the primary: `max_connections − superuser_reserved (3) −
//! max_wal_senders − maintenance (5)`. With PgBouncer the pools share what
//! the direct connections leave (`pgbouncer::plan`); without it the direct
//! connections alone must fit.

use super::pgbouncer::MAINTENANCE_CONNECTIONS;
use super::BudgetError;
use crate::model::{Deployment, ServiceSpec};
use crate::profile::Role;
use crate::source::push_key;

/// Connections PostgreSQL keeps for superusers (`superuser_reserved_connections`).
pub const SUPERUSER_RESERVED: u64 = 3;

/// One unpooled service's direct connections.
#[derive(Debug, Clone, Copy)]
pub struct DirectUse<'a> {
    pub service: &'a ServiceSpec,
    /// Instances: hosts running the service × its replicas.
    pub instances: u64,
    /// `database.connections`: what each instance opens.
    pub per_instance: u64,
}

impl DirectUse<'_> {
    pub fn total(&self) -> u64 {
        self.instances * self.per_instance
    }

    /// The key that sets the number: `database.connections`, written or not
    /// (an absent key is reported at its table).
    pub fn key(&self) -> String {
        format!(
            "{}.database.connections",
            push_key("services", &self.service.name)
        )
    }
}

/// Every service that connects to PostgreSQL without the pooler, in service order.
pub fn direct_uses(d: &Deployment) -> Vec<DirectUse<'_>> {
    d.services
        .iter()
        .filter_map(|service| {
            let db = service.database.as_ref().filter(|db| !db.pooled)?;
            Some(DirectUse {
                service,
                instances: d.hosts_running(service).count() as u64 * u64::from(service.replicas),
                per_instance: u64::from(db.connections),
            })
        })
        .collect()
}

/// `api 4 × 50, batch 1 × 10`: how the direct connections add up.
pub fn breakdown(uses: &[DirectUse]) -> String {
    uses.iter()
        .map(|u| format!("`{}` {} × {}", u.service.name, u.instances, u.per_instance))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The service opening the most direct connections (the first of equals):
/// where a budget problem is reported.
pub fn largest<'a>(uses: &[DirectUse<'a>]) -> Option<DirectUse<'a>> {
    uses.iter()
        .copied()
        .reduce(|a, b| if b.total() > a.total() { b } else { a })
}

/// Without a pooler, the direct connections must fit what PostgreSQL leaves
/// after its reserved, WAL sender and maintenance connections.
pub fn unpooled_budget(d: &Deployment, max_connections: u64) -> Result<(), BudgetError> {
    let uses = direct_uses(d);
    let direct: u64 = uses.iter().map(DirectUse::total).sum();
    let max_wal_senders = d.hosts_with(Role::DatabaseReplica).count() as u64 + 2;
    let reserved = SUPERUSER_RESERVED + max_wal_senders + MAINTENANCE_CONNECTIONS;
    let available = max_connections.saturating_sub(reserved);
    let Some(largest) = largest(&uses).filter(|_| direct > available) else {
        return Ok(());
    };
    Err(BudgetError {
        key: largest.key(),
        message: format!(
            "services open {direct} direct connections to PostgreSQL ({}), but max_connections {max_connections} leaves {available} after {SUPERUSER_RESERVED} reserved + {max_wal_senders} WAL senders + {MAINTENANCE_CONNECTIONS} maintenance",
            breakdown(&uses)
        ),
        help: "pool them: give a host the role `pooler` and add `[pgbouncer]`; or lower `database.connections`, or raise `postgres.max_connections`".into(),
    })
}
