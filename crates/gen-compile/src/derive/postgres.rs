//! postgresql.conf for each database host: PGTune's derived tuning, the
//! settings that follow from the topology (replication, addresses), gen's
//! operational policy (logging, authentication) and the profile's overrides,
//! each with the reason it has its value.

use std::collections::BTreeMap;

use serde::Serialize;

use super::postgres_tuning::{self, DbSize, TuningInput};
use super::BudgetError;
use crate::escape::postgres_quote;
use crate::model::{Deployment, HostSpec, PostgresSpec};
use crate::profile::{Role, Storage, Workload};
use crate::units::ByteSize;

/// Extensions that only work when preloaded.
const PRELOADED_EXTENSIONS: &[&str] = &[
    "pg_stat_statements",
    "auto_explain",
    "pg_cron",
    "timescaledb",
    "pg_partman_bgw",
];

/// PostgreSQL's default `max_worker_processes`, which a replica must not go below.
const DEFAULT_MAX_WORKER_PROCESSES: u64 = 8;

#[derive(Debug, Clone, Serialize)]
pub struct PostgresConf {
    pub host: String,
    pub is_replica: bool,
    pub max_connections: u64,
    pub superuser_reserved_connections: u64,
    pub max_wal_senders: u64,
    pub sections: Vec<Section>,
    /// PGTune's warnings for this host's hardware.
    pub warnings: Vec<String>,
    /// How `postgres.data_size` was read for this host, when declared.
    pub data_size: Option<String>,
    /// How this host's memory for PostgreSQL was reached, when it is not the
    /// whole host (`pg_memory::MemoryBudget::line`).
    pub memory: Option<String>,
}

impl PostgresConf {
    pub fn setting(&self, name: &str) -> Option<&Setting> {
        self.sections
            .iter()
            .flat_map(|s| &s.settings)
            .find(|s| s.name == name)
    }

    /// Replaces an existing setting's value and origin; a name not in the
    /// conf is left out.
    pub(super) fn set(&mut self, name: &str, value: String, origin: SettingOrigin) {
        for section in &mut self.sections {
            if let Some(setting) = section.settings.iter_mut().find(|s| s.name == name) {
                setting.value = value;
                setting.origin = origin;
                return;
            }
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Section {
    pub title: &'static str,
    pub settings: Vec<Setting>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Setting {
    pub name: String,
    /// Exactly as written in postgresql.conf (strings already quoted).
    pub value: String,
    pub origin: SettingOrigin,
}

/// Why a setting has its value; `gen explain` shows it and the file comments on it.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SettingOrigin {
    /// Computed from hardware and workload (PGTune).
    Derived { formula: String, inputs: String },
    /// Follows from the deployment's hosts and roles.
    Topology { reason: String },
    /// gen's operational default.
    Policy { reason: String },
    /// Set explicitly under `postgres.overrides`.
    Override,
}

impl SettingOrigin {
    /// The comment written after the setting.
    pub fn comment(&self) -> String {
        match self {
            SettingOrigin::Derived { formula, inputs } => format!("PGTune: {formula}; {inputs}"),
            SettingOrigin::Topology { reason } | SettingOrigin::Policy { reason } => reason.clone(),
            SettingOrigin::Override => "postgres.overrides".to_string(),
        }
    }
}

fn topology(reason: impl Into<String>) -> SettingOrigin {
    SettingOrigin::Topology {
        reason: reason.into(),
    }
}

fn policy(reason: impl Into<String>) -> SettingOrigin {
    SettingOrigin::Policy {
        reason: reason.into(),
    }
}

fn setting(name: &str, value: impl Into<String>, origin: SettingOrigin) -> Setting {
    Setting {
        name: name.to_string(),
        value: value.into(),
        origin,
    }
}

/// Replication slot name for a replica: host names may hold `-`, slots may not.
pub fn slot_name(host: &str) -> String {
    host.replace('-', "_")
}

fn tuning_input(pg: &PostgresSpec, host: &HostSpec, memory: ByteSize) -> TuningInput {
    TuningInput {
        memory_bytes: memory.bytes(),
        cores: host.cores,
        storage: match host.storage {
            Storage::Hdd => postgres_tuning::Storage::Hdd,
            Storage::Ssd => postgres_tuning::Storage::Ssd,
            Storage::Nvme => postgres_tuning::Storage::Nvme,
            Storage::San => postgres_tuning::Storage::San,
        },
        workload: match pg.workload {
            Workload::Web => postgres_tuning::Workload::Web,
            Workload::Oltp => postgres_tuning::Workload::Oltp,
            Workload::Dw => postgres_tuning::Workload::Dw,
            Workload::Mixed => postgres_tuning::Workload::Mixed,
        },
        major_version: pg.version,
        // An overridden max_connections is what work_mem is shared by.
        max_connections: pg
            .overrides
            .get("max_connections")
            .and_then(|v| v.trim_matches('\'').parse().ok())
            .or(pg.max_connections),
    }
}

/// PGTune's "Total Data Size" choice for a host: the declared data compared
/// with the host's memory, as PGTune's form words it ("Less than RAM",
/// "1x - 3x RAM", "More than 3x RAM"); PGTune's default, 1x to 3x, when
/// `postgres.data_size` is not declared.
pub fn db_size(data_size: Option<ByteSize>, memory: ByteSize) -> DbSize {
    let Some(data) = data_size else {
        return DbSize::MidRam;
    };
    let (data, memory) = (u128::from(data.bytes()), u128::from(memory.bytes()));
    if data < memory {
        DbSize::LessThanRam
    } else if data <= memory * 3 {
        DbSize::MidRam
    } else {
        DbSize::GreaterThanRam
    }
}

/// The header line that says how the declared data size was read.
fn data_size_line(data_size: ByteSize, choice: DbSize) -> String {
    let (words, pgtune) = match choice {
        DbSize::LessThanRam => ("less than the memory", "less_ram"),
        DbSize::MidRam => ("1x to 3x the memory", "mid_ram"),
        DbSize::GreaterThanRam => ("more than 3x the memory", "greater_ram"),
    };
    format!("postgres.data_size {data_size}: {words} (PGTune `{pgtune}`)")
}

/// PostgreSQL's `MAX_BACKENDS`: connections and background processes together.
const MAX_BACKENDS: u64 = 262_143;

/// The server processes a conf asks for, as the server counts them at start
/// (`InitializeMaxBackends`, and on 13-17 `max_connections`' own check):
/// connections, autovacuum workers, background workers and WAL senders, plus
/// the special processes (the autovacuum launcher; 18 adds the slot sync
/// worker and sizes autovacuum by `autovacuum_worker_slots`, default 16).
pub fn server_processes(version: u32, conf: &PostgresConf) -> (u64, String) {
    let get = |name: &str, default: u64| {
        conf.setting(name)
            .and_then(|s| s.value.parse::<u64>().ok())
            .unwrap_or(default)
    };
    let (autovacuum_name, autovacuum, special) = if version >= 18 {
        (
            "autovacuum_worker_slots",
            get("autovacuum_worker_slots", 16),
            2,
        )
    } else {
        (
            "autovacuum_max_workers",
            get("autovacuum_max_workers", 3),
            1,
        )
    };
    let workers = get("max_worker_processes", DEFAULT_MAX_WORKER_PROCESSES);
    let senders = get("max_wal_senders", 10);
    let total = conf
        .max_connections
        .saturating_add(autovacuum)
        .saturating_add(workers)
        .saturating_add(senders)
        .saturating_add(special);
    (
        total,
        format!(
            "max_connections {} + {autovacuum_name} {autovacuum} + max_worker_processes {workers} + max_wal_senders {senders} + {special} special",
            conf.max_connections
        ),
    )
}

/// A conf whose server processes PostgreSQL would refuse to start with,
/// blamed on the key that set `max_connections`.
pub fn check_server_processes(pg: &PostgresSpec, conf: &PostgresConf) -> Option<BudgetError> {
    let (total, breakdown) = server_processes(pg.version, conf);
    if total <= MAX_BACKENDS {
        return None;
    }
    let key = if pg.overrides.contains_key("max_connections") {
        crate::source::push_key("postgres.overrides", "max_connections")
    } else {
        "postgres.max_connections".to_string()
    };
    Some(BudgetError {
        message: format!(
            "`{key}`: `{}` would run {total} server processes ({breakdown}); PostgreSQL {} starts at most {MAX_BACKENDS}",
            conf.host, pg.version
        ),
        key,
        help: "lower `postgres.max_connections`, or put PgBouncer in front of the database".into(),
    })
}

/// One conf per database host, keyed by host name.
pub fn derive_all(d: &Deployment) -> BTreeMap<String, PostgresConf> {
    let mut out = BTreeMap::new();
    let Some(pg) = &d.postgres else { return out };
    let Some(primary) = d.primary() else {
        return out;
    };
    let replicas: Vec<&HostSpec> = d.hosts_with(Role::DatabaseReplica).collect();
    let budget = |host: &HostSpec| super::pg_memory::budget(d, host);
    let mut primary_conf = derive_host(
        &d.project,
        pg,
        primary,
        &budget(primary),
        primary,
        &replicas,
        None,
    );
    crate::derive::backup::add_archiving(d, &mut primary_conf);
    for replica in &replicas {
        let conf = derive_host(
            &d.project,
            pg,
            replica,
            &budget(replica),
            primary,
            &replicas,
            Some(&primary_conf),
        );
        out.insert(replica.name.clone(), conf);
    }
    out.insert(primary.name.clone(), primary_conf);
    out
}

fn derive_host(
    project: &str,
    pg: &PostgresSpec,
    host: &HostSpec,
    budget: &super::pg_memory::MemoryBudget,
    primary: &HostSpec,
    replicas: &[&HostSpec],
    primary_conf: Option<&PostgresConf>,
) -> PostgresConf {
    let is_replica = primary_conf.is_some();
    let db_size = db_size(pg.data_size, budget.memory);
    // Settings derived from shared_buffers (wal_buffers, work_mem,
    // huge_pages) follow an overridden value, not the one it replaces.
    let shared_buffers_kb = pg
        .overrides
        .get("shared_buffers")
        .and_then(|v| crate::units::postgres_memory("shared_buffers", v))
        .map(|size| size.bytes() / 1024);
    let tuning = postgres_tuning::tune_full(
        &tuning_input(pg, host, budget.memory),
        db_size,
        shared_buffers_kb,
    );
    let version = pg.version;
    let max_wal_senders = replicas.len() as u64 + 2;

    let mut connection = vec![
        setting(
            "listen_addresses",
            postgres_quote(&format!("localhost,{}", host.address)),
            topology("loopback and the host's private address only"),
        ),
        setting("port", pg.port.to_string(), topology("postgres.port")),
        setting(
            "superuser_reserved_connections",
            "3",
            policy("kept free for an operator's emergency login"),
        ),
        setting(
            "unix_socket_directories",
            postgres_quote("/var/run/postgresql"),
            policy("Debian layout"),
        ),
        setting(
            "password_encryption",
            postgres_quote("scram-sha-256"),
            policy("pg_hba.conf accepts only scram-sha-256"),
        ),
    ];
    if let Some(tls) = &pg.tls {
        connection.push(setting("ssl", "on", topology("postgres.tls_certificate")));
        connection.push(setting(
            "ssl_cert_file",
            postgres_quote(&tls.certificate),
            topology("postgres.tls_certificate"),
        ));
        connection.push(setting(
            "ssl_key_file",
            postgres_quote(&tls.key),
            topology("postgres.tls_key"),
        ));
        connection.push(setting(
            "ssl_min_protocol_version",
            postgres_quote("TLSv1.2"),
            policy("no TLS below 1.2"),
        ));
    } else {
        connection.push(setting(
            "ssl",
            "off",
            policy("no certificate declared (postgres.tls_certificate)"),
        ));
    }

    let layout = vec![
        setting(
            "data_directory",
            postgres_quote(&format!("/var/lib/postgresql/{version}/main")),
            policy("Debian layout"),
        ),
        setting(
            "hba_file",
            postgres_quote(&format!("/etc/postgresql/{version}/main/pg_hba.conf")),
            policy("Debian layout"),
        ),
        setting(
            "ident_file",
            postgres_quote(&format!("/etc/postgresql/{version}/main/pg_ident.conf")),
            policy("Debian layout"),
        ),
        setting(
            "external_pid_file",
            postgres_quote(&format!("/var/run/postgresql/{version}-main.pid")),
            policy("Debian layout"),
        ),
        setting(
            "cluster_name",
            postgres_quote(&format!("{version}/main")),
            policy("Debian layout"),
        ),
    ];

    let mut resources: Vec<Setting> = tuning
        .settings
        .iter()
        .filter(|s| !matches!(s.name, "wal_level" | "max_wal_senders"))
        .map(|s| {
            setting(
                s.name,
                s.value.render(),
                SettingOrigin::Derived {
                    formula: s.formula.to_string(),
                    inputs: s.inputs.clone(),
                },
            )
        })
        .collect();

    let mut preload: Vec<&str> = vec!["pg_stat_statements"];
    for ext in &pg.extensions {
        if PRELOADED_EXTENSIONS.contains(&ext.as_str()) && !preload.contains(&ext.as_str()) {
            preload.push(ext);
        }
    }
    let mut replication = vec![
        setting(
            "wal_level",
            "replica",
            topology("streaming replicas and base backups need `replica`"),
        ),
        setting(
            "max_wal_senders",
            max_wal_senders.to_string(),
            topology(format!("{} replicas + 2 for base backups", replicas.len())),
        ),
        setting(
            "max_replication_slots",
            max_wal_senders.to_string(),
            topology("one slot per replica, with room for base backups"),
        ),
        setting(
            "wal_log_hints",
            "on",
            policy("lets pg_rewind bring a former primary back as a replica"),
        ),
    ];
    if is_replica {
        let conninfo = format!(
            "host={} port={} user={} passfile={} application_name={} sslmode=prefer",
            primary.address,
            pg.port,
            pg.replication_user,
            pg.replication_passfile,
            slot_name(&host.name)
        );
        replication.push(setting(
            "hot_standby",
            "on",
            topology("this host is a read replica"),
        ));
        replication.push(setting(
            "hot_standby_feedback",
            "on",
            policy("keeps the primary from vacuuming rows replica queries still read"),
        ));
        replication.push(setting(
            "primary_conninfo",
            postgres_quote(&conninfo),
            topology(format!("streams from `{}`", primary.name)),
        ));
        replication.push(setting(
            "primary_slot_name",
            postgres_quote(&slot_name(&host.name)),
            topology("the slot the primary keeps for this replica"),
        ));
    } else if pg.synchronous_replicas > 0 {
        let names: Vec<String> = replicas.iter().map(|r| slot_name(&r.name)).collect();
        replication.push(setting(
            "synchronous_standby_names",
            postgres_quote(&format!(
                "ANY {} ({})",
                pg.synchronous_replicas,
                names.join(", ")
            )),
            topology(format!(
                "postgres.synchronous_replicas = {}",
                pg.synchronous_replicas
            )),
        ));
        replication.push(setting(
            "synchronous_commit",
            "on",
            topology("commits wait for the synchronous replicas"),
        ));
    }

    let logging = vec![
        setting(
            "logging_collector",
            "on",
            policy("logs to files under log_directory"),
        ),
        setting(
            "log_directory",
            postgres_quote("/var/log/postgresql"),
            policy("Debian layout"),
        ),
        setting(
            "log_filename",
            postgres_quote("postgresql-%a.log"),
            policy("one file per weekday, rotated by truncation"),
        ),
        setting(
            "log_truncate_on_rotation",
            "on",
            policy("keeps a week of logs"),
        ),
        setting("log_rotation_age", "1d", policy("daily files")),
        setting("log_rotation_size", "0", policy("rotate by age only")),
        setting(
            "log_line_prefix",
            postgres_quote("%m [%p] %q%u@%d from %h app=%a "),
            policy("time, pid, user, database, client and application on every line"),
        ),
        setting(
            "log_min_duration_statement",
            "1000",
            policy("statements slower than 1s"),
        ),
        setting(
            "log_checkpoints",
            "on",
            policy("checkpoint timing shows I/O pressure"),
        ),
        setting("log_connections", "on", policy("audit trail of logins")),
        setting("log_disconnections", "on", policy("session durations")),
        setting(
            "log_lock_waits",
            "on",
            policy("waits longer than deadlock_timeout"),
        ),
        setting(
            "log_temp_files",
            "0",
            policy("every spill to disk: a sign work_mem is short"),
        ),
        setting(
            "log_autovacuum_min_duration",
            "10000",
            policy("autovacuum runs longer than 10s"),
        ),
        setting(
            "log_statement",
            postgres_quote("ddl"),
            policy("schema changes"),
        ),
        setting(
            "log_timezone",
            postgres_quote("UTC"),
            policy("one time zone across hosts"),
        ),
    ];

    let mut extensions = vec![
        setting(
            "shared_preload_libraries",
            postgres_quote(&preload.join(",")),
            topology("extensions that must be preloaded"),
        ),
        setting(
            "track_io_timing",
            "on",
            policy("I/O time in pg_stat_statements and EXPLAIN"),
        ),
        setting(
            "timezone",
            postgres_quote("UTC"),
            policy("one time zone across hosts"),
        ),
    ];
    if version >= 13 {
        extensions.push(setting(
            "pg_stat_statements.track",
            "top",
            policy("statistics for top-level statements"),
        ));
    }

    let mut conf = PostgresConf {
        host: host.name.clone(),
        is_replica,
        max_connections: tuning.max_connections(),
        superuser_reserved_connections: 3,
        max_wal_senders,
        sections: Vec::new(),
        warnings: tuning.warnings.iter().map(ToString::to_string).collect(),
        data_size: pg.data_size.map(|size| data_size_line(size, db_size)),
        memory: budget.is_reduced().then(|| budget.line()),
    };

    // A hot standby refuses to start when these are below the primary's values.
    if let Some(primary_conf) = primary_conf {
        let at_least = |name: &str, own: Option<&Setting>, default: u64| -> Option<(u64, u64)> {
            let value_of = |s: Option<&Setting>| {
                s.and_then(|s| s.value.parse::<u64>().ok())
                    .unwrap_or(default)
            };
            let own_value = value_of(own);
            let primary_value = value_of(primary_conf.setting(name));
            (primary_value > own_value).then_some((primary_value, own_value))
        };
        for (name, default) in [
            ("max_connections", 100),
            ("max_worker_processes", DEFAULT_MAX_WORKER_PROCESSES),
        ] {
            let own = resources.iter().find(|s| s.name == name);
            if let Some((primary_value, own_value)) = at_least(name, own, default) {
                let origin = topology(format!(
                    "raised from {own_value} to the primary's {primary_value}: a hot standby needs at least the primary's value"
                ));
                match resources.iter_mut().find(|s| s.name == name) {
                    Some(existing) => {
                        existing.value = primary_value.to_string();
                        existing.origin = origin;
                    }
                    None => resources.push(setting(name, primary_value.to_string(), origin)),
                }
                if name == "max_connections" {
                    conf.max_connections = primary_value;
                }
            }
        }
    }

    conf.sections = vec![
        Section {
            title: "File locations",
            settings: layout,
        },
        Section {
            title: "Connections and authentication",
            settings: connection,
        },
        Section {
            title: "Resources, WAL and planner (derived from hardware and workload)",
            settings: resources,
        },
        Section {
            title: "Replication",
            settings: replication,
        },
        Section {
            title: "Logging",
            settings: logging,
        },
        Section {
            title: "Statistics and extensions",
            settings: extensions,
        },
    ];

    if pg.runtime == crate::profile::Runtime::Container {
        super::datatier::containerise(&mut conf, pg, project);
    }

    // Overrides win over everything gen derived; new names get their own section.
    let mut extra = Vec::new();
    for (name, value) in &pg.overrides {
        if conf.setting(name).is_some() {
            conf.set(name, value.clone(), SettingOrigin::Override);
        } else {
            extra.push(setting(name, value.clone(), SettingOrigin::Override));
        }
        if name == "max_connections" {
            if let Ok(n) = value.parse() {
                conf.max_connections = n;
            }
        }
    }
    if !extra.is_empty() {
        conf.sections.push(Section {
            title: "Overrides (postgres.overrides)",
            settings: extra,
        });
    }
    conf
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1024 * 1024 * 1024;

    fn conf(max_connections: u64, settings: &[(&str, &str)]) -> PostgresConf {
        PostgresConf {
            host: "db1".into(),
            is_replica: false,
            max_connections,
            superuser_reserved_connections: 3,
            max_wal_senders: 2,
            sections: vec![Section {
                title: "t",
                settings: settings
                    .iter()
                    .map(|(name, value)| setting(name, *value, policy("t")))
                    .collect(),
            }],
            warnings: Vec::new(),
            data_size: None,
            memory: None,
        }
    }

    /// PGTune's form: "Less than RAM", "1x - 3x RAM", "More than 3x RAM".
    #[test]
    fn data_size_is_read_against_the_host_memory_as_pgtune_words_it() {
        let memory = ByteSize(64 * GIB);
        let size = |gib: u64| db_size(Some(ByteSize(gib * GIB)), memory);
        assert_eq!(db_size(None, memory), DbSize::MidRam, "PGTune's default");
        assert_eq!(size(0), DbSize::LessThanRam);
        assert_eq!(
            db_size(Some(ByteSize(64 * GIB - 1)), memory),
            DbSize::LessThanRam
        );
        assert_eq!(size(64), DbSize::MidRam, "1x is in 1x - 3x");
        assert_eq!(size(192), DbSize::MidRam, "3x is in 1x - 3x");
        assert_eq!(
            db_size(Some(ByteSize(192 * GIB + 1)), memory),
            DbSize::GreaterThanRam
        );
        assert_eq!(
            db_size(Some(ByteSize(u64::MAX)), ByteSize(u64::MAX / 2)),
            DbSize::MidRam,
            "no overflow"
        );
        assert_eq!(
            data_size_line(ByteSize(200 * GIB), DbSize::GreaterThanRam),
            "postgres.data_size 200GiB: more than 3x the memory (PGTune `greater_ram`)"
        );
    }

    /// The counts PostgreSQL itself refuses past 262143: checked against the
    /// real servers (13-17 refuse `max_connections = 262122` with the
    /// defaults 3 + 1 + 8 + 10, 18 refuses 262108 with 16 + 8 + 10 + 2).
    #[test]
    fn server_processes_count_as_each_version_counts_them() {
        let defaults = conf(262_121, &[]);
        for version in 13..=17 {
            assert_eq!(server_processes(version, &defaults).0, 262_143);
        }
        assert_eq!(server_processes(18, &conf(262_107, &[])).0, 262_143);
        let (total, breakdown) = server_processes(
            18,
            &conf(
                100,
                &[
                    ("max_worker_processes", "32"),
                    ("max_wal_senders", "4"),
                    ("autovacuum_max_workers", "5"),
                ],
            ),
        );
        assert_eq!(total, 100 + 16 + 32 + 4 + 2);
        assert_eq!(
            breakdown,
            "max_connections 100 + autovacuum_worker_slots 16 + max_worker_processes 32 + max_wal_senders 4 + 2 special"
        );
        assert_eq!(
            server_processes(16, &conf(100, &[("autovacuum_max_workers", "5")])).0,
            100 + 5 + 8 + 10 + 1
        );
    }
}
