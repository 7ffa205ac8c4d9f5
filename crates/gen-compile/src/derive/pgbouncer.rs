//! PgBouncer pool sizes from PostgreSQL's connection budget.
//!
//! Budget on each database server:
//! `max_connections − superuser_reserved (3) − max_wal_senders − maintenance (5)
//!  − direct connections of unpooled services`.
//! Every pooler opens up to `default_pool_size + reserve_pool_size` server
//! connections per pool, so `poolers × pools × (size + reserve)` must fit the
//! budget. When the profile does not fix the pool size, gen splits the budget
//! evenly: each pool gets four fifths of its share as `default_pool_size`, at
//! most four per core of the primary (at least 10), and a quarter of that as
//! `reserve_pool_size`, within the share.

use serde::Serialize;

use super::connections::{direct_uses, DirectUse, SUPERUSER_RESERVED};
use super::BudgetError;
use crate::model::Deployment;
use crate::profile::{PoolMode, Role};

/// Connections kept for postgres_exporter, backups, vacuum and an operator's psql.
pub const MAINTENANCE_CONNECTIONS: u64 = 5;

#[derive(Debug, Clone, Serialize)]
pub struct PoolPlan {
    pub pool_mode: PoolMode,
    pub default_pool_size: u64,
    pub reserve_pool_size: u64,
    pub max_client_conn: u64,
    /// `[databases]` entries: (name, pgbouncer connect string).
    pub databases: Vec<PoolDatabase>,
    /// The roles the pooled services log in as.
    pub users: Vec<String>,
    /// The budget arithmetic, for comments and `gen explain`.
    pub budget: Budget,
}

#[derive(Debug, Clone, Serialize)]
pub struct PoolDatabase {
    pub name: String,
    pub dbname: String,
    /// Comma-separated server addresses.
    pub hosts: String,
    pub port: u16,
    pub read_only: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Budget {
    pub max_connections: u64,
    pub superuser_reserved: u64,
    pub max_wal_senders: u64,
    pub maintenance: u64,
    pub direct: u64,
    pub available: u64,
    pub poolers: u64,
    pub pools: u64,
    /// Server connections the poolers may open at most on one database server.
    pub pooled: u64,
}

impl PoolPlan {
    /// PgBouncer's `max_db_connections`: one pooler's pools × (default +
    /// reserve), what it may open to one database server at most.
    pub fn max_db_connections(&self) -> u64 {
        self.budget.pools * (self.default_pool_size + self.reserve_pool_size)
    }
}

pub fn plan(d: &Deployment, max_connections: u64) -> Result<PoolPlan, BudgetError> {
    let (Some(pg), Some(pgb)) = (&d.postgres, &d.pgbouncer) else {
        return Err(BudgetError {
            key: "pgbouncer".into(),
            message: "no pooler to plan".into(),
            help: String::new(),
        });
    };
    let replicas: Vec<_> = d.hosts_with(Role::DatabaseReplica).collect();
    let primary = d.primary();
    let max_wal_senders = replicas.len() as u64 + 2;
    let superuser_reserved = SUPERUSER_RESERVED;

    let mut users: Vec<String> = d
        .services
        .iter()
        .filter_map(|s| s.database.as_ref().filter(|db| db.pooled))
        .map(|db| db.user.clone())
        .collect();
    users.sort();
    users.dedup();
    let direct: u64 = direct_uses(d).iter().map(DirectUse::total).sum();

    let mut databases = Vec::new();
    if let Some(primary) = primary {
        databases.push(PoolDatabase {
            name: pg.database.clone(),
            dbname: pg.database.clone(),
            hosts: primary.address.to_string(),
            port: pg.port,
            read_only: false,
        });
    }
    if !replicas.is_empty() {
        databases.push(PoolDatabase {
            name: format!("{}_readonly", pg.database),
            dbname: pg.database.clone(),
            hosts: replicas
                .iter()
                .map(|r| r.address.to_string())
                .collect::<Vec<_>>()
                .join(","),
            port: pg.port,
            read_only: true,
        });
    }

    let poolers = d.hosts_with(Role::Pooler).count() as u64;
    // Each (database, user) pair is one pool; read-only pools land on replicas,
    // so one database server carries at most one pool per user.
    let pools = (users.len() as u64).max(1);
    let reserved = superuser_reserved + max_wal_senders + MAINTENANCE_CONNECTIONS + direct;
    let available = max_connections.saturating_sub(reserved);
    let share = available / (poolers.max(1) * pools);

    let (default_pool_size, reserve_pool_size) = match pgb.default_pool_size {
        Some(size) => {
            let size = u64::from(size);
            (size, pgb.reserve_pool_size.map_or(size / 4, u64::from))
        }
        None => {
            // Four fifths of the share, but no more than four connections per
            // core of the database server: beyond that PostgreSQL only queues.
            let per_core = 4 * primary.map_or(1, |p| u64::from(p.cores)).max(1);
            let size = (share * 4 / 5).min(per_core.max(10));
            let reserve = (share - size).min((size / 4).max(1));
            (size, pgb.reserve_pool_size.map_or(reserve, u64::from))
        }
    };
    let pooled = poolers * pools * (default_pool_size + reserve_pool_size);
    let budget = Budget {
        max_connections,
        superuser_reserved,
        max_wal_senders,
        maintenance: MAINTENANCE_CONNECTIONS,
        direct,
        available,
        poolers,
        pools,
        pooled,
    };
    if reserved >= max_connections || default_pool_size == 0 {
        return Err(BudgetError {
            key: if pg.max_connections.is_some() { "postgres.max_connections".into() } else { "postgres.workload".into() },
            message: format!(
                "max_connections {max_connections} leaves no server connections for PgBouncer: {superuser_reserved} reserved + {max_wal_senders} WAL senders + {MAINTENANCE_CONNECTIONS} maintenance + {direct} direct from unpooled services"
            ),
            help: "raise `postgres.max_connections`, or pool the services that connect directly".into(),
        });
    }
    if pooled > available {
        let key = if pgb.default_pool_size.is_some() {
            "pgbouncer.default_pool_size"
        } else {
            "pgbouncer.reserve_pool_size"
        };
        return Err(BudgetError {
            key: key.into(),
            message: format!(
                "PgBouncer may open {pooled} server connections ({poolers} poolers × {pools} pools × ({default_pool_size} + {reserve_pool_size} reserve)) but PostgreSQL has {available} left of max_connections {max_connections}"
            ),
            help: format!(
                "at most {} per pool including the reserve fits; lower the pool size or raise `postgres.max_connections`",
                share
            ),
        });
    }

    let max_client_conn = match pgb.max_client_conn {
        Some(n) => u64::from(n),
        None => {
            // Room for every pooled service instance to open 25 client
            // connections, rounded up to a hundred, at least 100.
            let instances: u64 = d
                .services
                .iter()
                .filter(|s| s.database.as_ref().is_some_and(|db| db.pooled))
                .map(|s| d.hosts_running(s).count() as u64 * u64::from(s.replicas))
                .sum();
            (instances * 25).div_ceil(100).max(1) * 100
        }
    };

    Ok(PoolPlan {
        pool_mode: pgb.pool_mode,
        default_pool_size,
        reserve_pool_size,
        max_client_conn,
        databases,
        users,
        budget,
    })
}
