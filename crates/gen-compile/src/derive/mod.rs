//! Derive stage: values computed from the validated model rather than typed in
//! (PostgreSQL tuning, connection pools, upstream lists). Pure functions; the
//! few invariants that need a derived number (the connection budget) are
//! checked here and reported at the profile keys that drive them.

pub mod backup;
pub mod bootstrap;
pub mod connections;
pub mod container_network;
pub mod cron;
pub mod datatier;
pub mod environment;
pub mod exporter_units;
pub mod exporters;
pub mod extensions;
pub mod firewall;
pub mod hba;
pub mod health;
pub mod jobs;
pub mod nginx_main;
pub mod pg_memory;
pub mod pgbouncer;
pub mod postgres;
pub mod postgres_tuning;
pub mod replica;
pub mod requirements;
pub mod restore_test;
pub mod rollout;
pub mod scrape;
pub mod upstream;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::Deployment;
use crate::source::SourceMap;
use crate::units::ByteSize;
use gen_target::error::{Error, Result};

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
    for host in &deployment.hosts {
        if deployment.postgres.is_some()
            && (host.has(crate::profile::Role::DatabasePrimary)
                || host.has(crate::profile::Role::DatabaseReplica))
        {
            if let Some(budget) = pg_memory::check(host, &pg_memory::budget(deployment, host)) {
                return Err(budget.into_error(sources));
            }
        }
    }
    let postgres = postgres::derive_all(deployment);
    if let Some(pg) = &deployment.postgres {
        for conf in postgres.values() {
            if let Some(budget) = postgres::check_server_processes(pg, conf) {
                return Err(budget.into_error(sources));
            }
        }
    }
    let max_connections = deployment
        .primary()
        .and_then(|primary| postgres.get(&primary.name))
        .map(|conf| conf.max_connections);
    let pools = match (&deployment.pgbouncer, max_connections) {
        (Some(_), Some(max_connections)) => Some(
            pgbouncer::plan(deployment, max_connections)
                .map_err(|budget| budget.into_error(sources))?,
        ),
        (None, Some(max_connections)) => {
            connections::unpooled_budget(deployment, max_connections)
                .map_err(|budget| budget.into_error(sources))?;
            None
        }
        _ => None,
    };
    let redis_maxmemory = pg_memory::redis_maxmemory(deployment);
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
        crate::profile_error::invalid(
            sources,
            &self.key,
            crate::source::Underline::Value,
            self.message,
            Some(self.help),
        )
    }
}

#[cfg(test)]
mod tests {
    //! Every derived value, computed from small profiles through the real
    //! front half of the pipeline (load → validate → derive).

    use super::*;
    use crate::load::MemoryProfiles;

    /// A deployment with one app host, one database host (`db_cores` cores,
    /// 16GiB), `replicas` replicas with `replica_cores` cores, `poolers`
    /// poolers, and `extra` appended to the profile.
    fn derived(
        db_cores: u32,
        replicas: usize,
        replica_cores: u32,
        poolers: usize,
        extra: &str,
    ) -> std::result::Result<Derived, String> {
        let mut text = String::from(
            "[project]\nname = \"t\"\n[network]\ninternal = [\"10.0.0.0/16\"]\n\
             [hosts.app1]\naddress = \"10.0.1.1\"\nroles = [\"api\", \"cache\"]\nhardware = { cores = 4, memory = \"8GiB\", storage = \"ssd\" }\n\
             [hosts.app2]\naddress = \"10.0.1.2\"\nroles = [\"api\"]\nhardware = { cores = 4, memory = \"8GiB\", storage = \"ssd\" }\n",
        );
        text.push_str(&format!(
            "[hosts.db1]\naddress = \"10.0.2.1\"\nroles = [\"database_primary\"]\nhardware = {{ cores = {db_cores}, memory = \"16GiB\", storage = \"ssd\" }}\n"
        ));
        for i in 0..replicas {
            text.push_str(&format!(
                "[hosts.db-r{i}]\naddress = \"10.0.2.{}\"\nroles = [\"database_replica\"]\nhardware = {{ cores = {replica_cores}, memory = \"8GiB\", storage = \"ssd\" }}\n",
                10 + i
            ));
        }
        for i in 0..poolers {
            text.push_str(&format!(
                "[hosts.pool{i}]\naddress = \"10.0.3.{}\"\nroles = [\"pooler\"]\nhardware = {{ cores = 2, memory = \"4GiB\", storage = \"ssd\" }}\n",
                10 + i
            ));
        }
        text.push_str(
            "[services.api]\nruntime = \"container\"\nimage = \"r/api:1.0\"\nport = 8000\nreplicas = 2\ndatabase = { user = \"app\" }\n\
             [postgres]\nversion = 15\nworkload = \"web\"\ndatabase = \"app\"\nusers = [\"app\", \"report\"]\n\
             [redis]\n",
        );
        if poolers > 0 {
            text.push_str("[pgbouncer]\n");
        }
        text.push_str(extra);
        let files = MemoryProfiles::default().with("t", text);
        crate::compile::analyse_from(&files, "t")
            .map(|(_, _, derived)| derived)
            .map_err(|e| format!("{e:?}"))
    }

    #[test]
    fn pools_split_the_connection_budget() {
        // max_connections 200 (PGTune, web) - 3 reserved - 3 WAL senders (1
        // replica + 2) - 5 maintenance - 0 direct = 189 for 1 pooler x 1 pool.
        let d = derived(4, 1, 4, 1, "").expect("valid");
        let pools = d.pools.expect("a pooler");
        assert_eq!(pools.budget.available, 189);
        // 4/5 of 189 is 151, capped at 4 per primary core (16).
        assert_eq!(pools.default_pool_size, 16);
        assert_eq!(pools.reserve_pool_size, 4);
        assert_eq!(pools.budget.pooled, 20);
        // 2 hosts x 2 replicas pooled, 25 client connections each, rounded up to 100.
        assert_eq!(pools.max_client_conn, 100);
        assert_eq!(
            pools.databases.len(),
            2,
            "a read-write and a read-only pool"
        );
        assert_eq!(pools.databases[1].hosts, "10.0.2.10");
    }

    #[test]
    fn each_pooler_and_pool_gets_its_share() {
        // Two pooled roles on two poolers: 200 - 3 - 2 (no replica) - 5 = 190,
        // a share of 190 / (2 x 2) = 47 each: 16 (4 per primary core) + 4.
        let extra = "[services.report]\nruntime = \"container\"\nimage = \"r/report:1.0\"\ndatabase = { user = \"report\" }\n";
        let pools = derived(4, 0, 4, 2, extra)
            .expect("valid")
            .pools
            .expect("poolers");
        assert_eq!((pools.budget.poolers, pools.budget.pools), (2, 2));
        assert_eq!(pools.budget.available, 190);
        assert_eq!((pools.default_pool_size, pools.reserve_pool_size), (16, 4));
        assert_eq!(pools.budget.pooled, 80);
        assert_eq!(pools.users, ["app", "report"]);
    }

    #[test]
    fn an_explicit_pool_that_does_not_fit_is_refused_at_its_key() {
        let err = derived(4, 0, 4, 1, "default_pool_size = 300\n").expect_err("too big");
        assert!(err.contains("pgbouncer.default_pool_size"), "{err}");
        assert!(
            err.contains("PgBouncer may open 375 server connections"),
            "{err}"
        );
    }

    #[test]
    fn direct_connections_come_out_of_the_pool_budget() {
        let extra = "[services.batch]\nruntime = \"container\"\nimage = \"r/b:1.0\"\ndatabase = { user = \"report\", pooled = false, connections = 20 }\n";
        let d = derived(4, 0, 4, 1, extra).expect("valid");
        let pools = d.pools.expect("pooler");
        // 2 api hosts x 1 replica x 20 connections.
        assert_eq!(pools.budget.direct, 40);
        assert_eq!(pools.budget.available, 200 - 3 - 2 - 5 - 40);
    }

    #[test]
    fn upstreams_list_every_host_and_replica_port_in_order() {
        let d = derived(4, 0, 4, 0, "").expect("valid");
        let servers: Vec<String> = d.upstreams["api"]
            .iter()
            .map(|u| format!("{}:{}", u.address, u.port))
            .collect();
        assert_eq!(
            servers,
            [
                "10.0.1.1:8000",
                "10.0.1.1:8001",
                "10.0.1.2:8000",
                "10.0.1.2:8001"
            ]
        );
    }

    #[test]
    fn redis_gets_a_quarter_of_its_host_unless_declared() {
        let d = derived(4, 0, 4, 0, "").expect("valid");
        assert_eq!(d.redis_maxmemory, Some(ByteSize(2 * 1024 * 1024 * 1024)));
        let d = derived(4, 0, 4, 0, "maxmemory = \"512MiB\"\n").expect("valid");
        assert_eq!(d.redis_maxmemory, Some(ByteSize(512 * 1024 * 1024)));
    }

    #[test]
    fn a_replica_never_gets_less_than_its_primary_needs() {
        // Primary: 16 cores, so PGTune sets max_worker_processes = 16; the
        // 4-core replica's own value (4) would stop it starting as a standby.
        let d = derived(16, 1, 4, 0, "").expect("valid");
        let replica = &d.postgres["db-r0"];
        let workers = replica.setting("max_worker_processes").expect("set");
        assert_eq!(workers.value, "16");
        assert!(matches!(workers.origin, SettingOrigin::Topology { .. }));
        assert_eq!(replica.max_connections, d.postgres["db1"].max_connections);
        assert_eq!(
            replica.setting("hot_standby").map(|s| s.value.as_str()),
            Some("on")
        );
        assert!(d.postgres["db1"].setting("primary_conninfo").is_none());
    }

    #[test]
    fn overrides_win_over_derived_values() {
        let d = derived(
            4,
            0,
            4,
            0,
            "[postgres.overrides]\nwork_mem = \"64MB\"\nstatement_timeout = 30000\n",
        )
        .expect("valid");
        let conf = &d.postgres["db1"];
        let work_mem = conf.setting("work_mem").expect("set");
        assert_eq!(work_mem.value, "'64MB'");
        assert!(matches!(work_mem.origin, SettingOrigin::Override));
        assert_eq!(
            conf.setting("statement_timeout").map(|s| s.value.as_str()),
            Some("30000")
        );
    }
}
