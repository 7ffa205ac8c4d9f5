//! Validate stage, the database sections: `[postgres]`, the `[pgbouncer]` in
//! front of it and the `[backup]` of it. Each must match the hosts' roles.
//! Here too is gen's PostgreSQL policy for the profile's overrides: which
//! settings gen owns (`derive::postgres` writes them from the topology), and
//! what setting and extension names look like.

use std::collections::BTreeMap;

use super::Checker;
use crate::escape;
use crate::model::{BackupSpec, HostSpec, PgbouncerSpec, PostgresSpec, TlsFiles};
use crate::profile::{PoolMode, Postgres, Profile, Role};
use crate::schedule::check_calendar;
use crate::shapes::{is_identifier, is_unix_user};
use crate::source::push_key;
use gen_target::host_path::shown;

/// Settings gen writes from the topology; an override could only break it.
const GEN_OWNED_POSTGRES_SETTINGS: &[&str] = &[
    "data_directory",
    "hba_file",
    "ident_file",
    "external_pid_file",
    "port",
    "listen_addresses",
    "unix_socket_directories",
    "hot_standby",
    "primary_conninfo",
    "primary_slot_name",
    "synchronous_standby_names",
    "include",
    "include_dir",
    "include_if_exists",
    "ssl_cert_file",
    "ssl_key_file",
];

/// The PostgreSQL major versions gen writes configuration for.
pub const SUPPORTED_VERSIONS: std::ops::RangeInclusive<u32> = 13..=18;

/// PostgreSQL's `MAX_BACKENDS`, the upper bound of `max_connections`.
const MAX_BACKENDS: u32 = 262_143;

/// A PostgreSQL extension name (`uuid-ossp`, `pg_stat_statements`, `vector`).
pub(super) fn is_extension_name(value: &str) -> bool {
    is_unix_user(value) && value.len() <= 63
}

/// A postgresql.conf setting name, `extension.setting` names included.
fn is_postgres_setting(value: &str) -> bool {
    is_identifier(value, 63, b"_.")
}

impl Checker<'_> {
    pub(super) fn postgres(&mut self, p: &Profile, hosts: &[HostSpec]) -> Option<PostgresSpec> {
        let has_db_hosts = hosts
            .iter()
            .any(|h| h.has(Role::DatabasePrimary) || h.has(Role::DatabaseReplica));
        let Some(pg) = &p.postgres else {
            if has_db_hosts {
                self.fail(
                    "hosts",
                    "hosts have database roles but the profile has no `[postgres]` table",
                    "add `[postgres]`",
                );
            }
            return None;
        };
        self.check(
            SUPPORTED_VERSIONS.contains(&pg.version),
            "postgres.version",
            || {
                format!(
                    "`postgres.version`: PostgreSQL {} is not supported",
                    pg.version
                )
            },
            "gen supports PostgreSQL 13 to 18",
        );
        if let Some(n) = pg.max_connections {
            self.check(
                (1..=MAX_BACKENDS).contains(&n),
                "postgres.max_connections",
                || format!("`postgres.max_connections`: {n} is out of range"),
                "PostgreSQL takes 1 to 262143 connections",
            );
        }
        self.data_size(pg, hosts);
        let sync = self.replication(pg, hosts);
        let replicas = hosts.iter().any(|h| h.has(Role::DatabaseReplica));
        let model = self.data_model(pg, replicas);
        let replication_passfile = pg
            .replication_passfile
            .clone()
            .unwrap_or_else(|| "/var/lib/postgresql/.pgpass".into());
        self.secret_path("postgres.replication_passfile", &replication_passfile);
        // Every database's extensions, for the preloads postgresql.conf needs.
        let mut extensions: Vec<String> = Vec::new();
        for ext in model.databases.values().flat_map(|db| &db.extensions) {
            if !extensions.contains(ext) {
                extensions.push(ext.clone());
            }
        }
        let tls = self.postgres_tls(pg);
        let overrides = self.overrides(pg);
        let port = pg.port.unwrap_or(5432);
        self.unprivileged_port(
            "postgres.port",
            port,
            "PostgreSQL listens on 5432 by default",
        );
        let (runtime, image, superuser_password_file) = self.postgres_runtime(pg, hosts);
        Some(PostgresSpec {
            version: pg.version,
            runtime,
            image,
            superuser_password_file,
            workload: pg.workload,
            database: model.database,
            users: model.users,
            port,
            extensions,
            max_connections: pg.max_connections,
            data_size: pg.data_size,
            memory: pg.memory,
            synchronous_replicas: sync,
            replication_user: model.replication_user,
            replication_passfile,
            roles: model.roles,
            databases: model.databases,
            extension_packages: model.extension_packages,
            tls,
            overrides,
        })
    }

    /// One primary, and no more synchronous replicas than replica hosts.
    /// Returns the number of synchronous replicas.
    fn replication(&mut self, pg: &Postgres, hosts: &[HostSpec]) -> u32 {
        let primaries = hosts
            .iter()
            .filter(|h| h.has(Role::DatabasePrimary))
            .count();
        let replicas = hosts
            .iter()
            .filter(|h| h.has(Role::DatabaseReplica))
            .count();
        if primaries != 1 {
            self.fail(
                "postgres",
                format!("`[postgres]` needs exactly one host with role `database_primary`, found {primaries}"),
                if replicas > 0 { "every replica streams from the primary: declare one" } else { "give one host the role `database_primary`" },
            );
        }
        let sync = pg.synchronous_replicas.unwrap_or(0);
        if sync as usize > replicas {
            self.fail(
                "postgres.synchronous_replicas",
                format!("`postgres.synchronous_replicas` is {sync} but only {replicas} hosts have role `database_replica`"),
                "a commit would wait forever for replicas that do not exist",
            );
        }
        sync
    }

    /// The declared data must fit on the disk of every database host that
    /// declares one.
    fn data_size(&mut self, pg: &Postgres, hosts: &[HostSpec]) {
        let Some(size) = pg.data_size else { return };
        let too_small = hosts
            .iter()
            .filter(|h| h.has(Role::DatabasePrimary) || h.has(Role::DatabaseReplica))
            .find(|h| h.disk.is_some_and(|disk| disk < size));
        if let Some(host) = too_small {
            self.fail(
                "postgres.data_size",
                format!(
                    "`postgres.data_size`: {size} of data does not fit on `{}`'s {} disk",
                    host.name,
                    host.disk.map(|d| d.to_string()).unwrap_or_default()
                ),
                "lower `postgres.data_size` or raise the host's `hardware.disk`",
            );
        }
    }

    /// The server's certificate and key, both or neither.
    fn postgres_tls(&mut self, pg: &Postgres) -> Option<TlsFiles> {
        match (&pg.tls_certificate, &pg.tls_key) {
            (Some(certificate), Some(key)) => {
                self.path("postgres.tls_certificate", certificate);
                self.secret_path("postgres.tls_key", key);
                Some(TlsFiles {
                    certificate: certificate.clone(),
                    key: key.clone(),
                })
            }
            (None, None) => None,
            _ => {
                self.fail(
                    "postgres",
                    "`postgres.tls_certificate` and `postgres.tls_key` go together",
                    "set both or neither",
                );
                None
            }
        }
    }

    /// The profile's postgresql.conf overrides, rendered once here: a setting
    /// name of the right shape, not one gen derives from the topology, with a
    /// value postgresql.conf can hold.
    fn overrides(&mut self, pg: &Postgres) -> BTreeMap<String, String> {
        let mut overrides = BTreeMap::new();
        for (name, value) in pg.overrides.iter().flatten() {
            let okey = push_key("postgres.overrides", name);
            if !is_postgres_setting(name) {
                self.fail(
                    &okey,
                    format!(
                        "`{okey}`: `{}` is not a PostgreSQL setting name",
                        shown(name)
                    ),
                    "lowercase letters, digits, `_` and `.`",
                );
                continue;
            }
            if GEN_OWNED_POSTGRES_SETTINGS.contains(&name.as_str()) {
                self.fail(
                    &okey,
                    format!("`{okey}`: gen owns `{name}`; it follows from the topology"),
                    "change the profile's hosts, replicas or ports instead",
                );
                continue;
            }
            match escape::postgres_value(value) {
                Ok(rendered) => {
                    overrides.insert(name.clone(), rendered);
                }
                Err(problem) => self.fail(
                    &okey,
                    format!("`{okey}`: {problem}"),
                    "use a number, a boolean or a string without control characters",
                ),
            }
        }
        overrides
    }

    pub(super) fn pgbouncer(&mut self, p: &Profile, hosts: &[HostSpec]) -> Option<PgbouncerSpec> {
        let poolers = hosts.iter().filter(|h| h.has(Role::Pooler)).count();
        let Some(b) = &p.pgbouncer else {
            if poolers > 0 {
                self.fail(
                    "hosts",
                    "hosts have role `pooler` but the profile has no `[pgbouncer]` table",
                    "add `[pgbouncer]`",
                );
            }
            return None;
        };
        if poolers == 0 {
            self.fail(
                "pgbouncer",
                "`[pgbouncer]` is declared but no host has role `pooler`",
                "give a host the role `pooler`",
            );
        }
        if p.postgres.is_none() {
            self.fail(
                "pgbouncer",
                "`[pgbouncer]` needs a `[postgres]` to pool",
                None,
            );
        }
        let auth_file = b
            .auth_file
            .clone()
            .unwrap_or_else(|| "/etc/pgbouncer/userlist.txt".into());
        self.secret_path("pgbouncer.auth_file", &auth_file);
        let exporter_passfile = b
            .exporter_passfile
            .clone()
            .unwrap_or_else(|| "/etc/pgbouncer/exporter.pgpass".into());
        self.secret_path("pgbouncer.exporter_passfile", &exporter_passfile);
        let port = b.port.unwrap_or(6432);
        self.unprivileged_port(
            "pgbouncer.port",
            port,
            "PgBouncer listens on 6432 by default",
        );
        for (key, value) in [
            ("pgbouncer.default_pool_size", b.default_pool_size),
            ("pgbouncer.max_client_conn", b.max_client_conn),
        ] {
            if value == Some(0) {
                self.fail(key, format!("`{key}` must be at least 1"), None);
            }
        }
        Some(PgbouncerSpec {
            port,
            pool_mode: b.pool_mode.unwrap_or(PoolMode::Transaction),
            max_client_conn: b.max_client_conn,
            default_pool_size: b.default_pool_size,
            reserve_pool_size: b.reserve_pool_size,
            auth_file,
            exporter_passfile,
            extra: self.extra(
                "pgbouncer",
                super::extra::Syntax::Pgbouncer,
                b.extra.as_ref(),
            ),
        })
    }

    /// `[backup]` with `pg_dump` (pgBackRest is `validate::backup`'s).
    pub(super) fn backup(&mut self, p: &Profile) -> Option<BackupSpec> {
        let b = p.backup.as_ref()?;
        if p.postgres.is_none() {
            self.fail("backup", "`[backup]` needs a `[postgres]` to back up", None);
        }
        if b.method == Some(crate::profile::BackupMethod::Pgbackrest) {
            return None;
        }
        let schedule = b
            .schedule
            .clone()
            .unwrap_or_else(|| "*-*-* 03:00:00".into());
        if let Err(problem) = check_calendar(&schedule) {
            self.fail(
                "backup.schedule",
                format!(
                    "`backup.schedule`: `{}` is not a systemd calendar expression: {problem}",
                    shown(&schedule)
                ),
                "for example `*-*-* 03:00:00` or `daily`",
            );
        }
        let Some(retention_days) = b.retention_days else {
            self.fail(
                "backup",
                "`backup.retention_days` is missing: pg_dump needs to know how long dumps are kept",
                "for example `retention_days = 30`",
            );
            return None;
        };
        let Some(destination) = &b.destination else {
            self.fail(
                "backup",
                "`backup.destination` is missing: pg_dump needs a directory for its dumps",
                "for example `destination = \"/var/backups/postgresql\"`",
            );
            return None;
        };
        self.check(
            (1..=3650).contains(&retention_days),
            "backup.retention_days",
            || format!("`backup.retention_days`: {retention_days} is out of range"),
            "between 1 and 3650 days",
        );
        self.path("backup.destination", destination);
        Some(BackupSpec {
            schedule,
            retention_days,
            destination: destination.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{is_extension_name, is_postgres_setting};

    #[test]
    fn setting_and_extension_names_are_plain() {
        assert!(is_postgres_setting("work_mem"));
        assert!(is_postgres_setting("pg_stat_statements.track"));
        for bad in [
            "",
            "Work_mem",
            "_x",
            "1x",
            "work-mem",
            "a b",
            "x=y",
            &"a".repeat(64),
        ] {
            assert!(!is_postgres_setting(bad), "{bad:?}");
        }
        assert!(is_extension_name("uuid-ossp"));
        assert!(is_extension_name("pg_stat_statements"));
        for bad in ["", "Vector", "uuid.ossp", "x;y"] {
            assert!(!is_extension_name(bad), "{bad:?}");
        }
    }
}
