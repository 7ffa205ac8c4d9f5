//! Derive stage: values computed from the validated model rather than typed in
//! (PostgreSQL tuning, connection pools, upstream lists). Pure functions; the
//! few invariants that need a derived number (the connection budget) are
//! checked here and reported at the profile keys that drive them.

pub mod pgbouncer;
pub mod postgres;
pub mod postgres_tuning;
pub mod upstream;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::model::Deployment;
use crate::source::SourceMap;
use crate::units::ByteSize;

pub use pgbouncer::PoolPlan;
pub use postgres::{PostgresConf, Setting, SettingOrigin};
pub use upstream::Upstream;

/// Everything computed for one deployment.
#[derive(Debug, Clone, Serialize)]
pub struct Derived {
    /// postgresql.conf settings per database host.
    pub postgres: BTreeMap<String, PostgresConf>,
    pub pools: Option<PoolPlan>,
    /// Upstream servers per api service.
    pub upstreams: BTreeMap<String, Vec<Upstream>>,
    /// Redis `maxmemory`: declared, or a quarter of the cache host's memory.
    pub redis_maxmemory: Option<ByteSize>,
}

pub fn derive(deployment: &Deployment, sources: &SourceMap) -> Result<Derived> {
    let postgres = postgres::derive_all(deployment);
    let pools = match (&deployment.pgbouncer, deployment.primary()) {
        (Some(_), Some(primary)) => {
            let max_connections = postgres
                .get(&primary.name)
                .map_or(0, |conf| conf.max_connections);
            Some(
                pgbouncer::plan(deployment, max_connections)
                    .map_err(|budget| budget.into_error(sources))?,
            )
        }
        _ => None,
    };
    let redis_maxmemory = deployment.redis.as_ref().map(|redis| {
        redis.maxmemory.unwrap_or_else(|| {
            let host_memory = deployment
                .hosts_with(crate::profile::Role::Cache)
                .next()
                .map_or(0, |h| h.memory.bytes());
            // A quarter of the host, rounded down to whole MiB.
            ByteSize(host_memory / 4 / (1024 * 1024) * (1024 * 1024))
        })
    });
    Ok(Derived {
        postgres,
        pools,
        upstreams: upstream::derive_all(deployment),
        redis_maxmemory,
    })
}

/// A derived number that breaks an invariant, with the key to blame.
#[derive(Debug, Clone)]
pub struct BudgetError {
    pub key: String,
    pub message: String,
    pub help: String,
}

impl BudgetError {
    fn into_error(self, sources: &SourceMap) -> Error {
        Error::invalid(
            sources,
            &self.key,
            crate::source::Underline::Value,
            self.message,
            Some(self.help),
        )
    }
}
