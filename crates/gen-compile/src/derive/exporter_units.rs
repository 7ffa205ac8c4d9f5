//! Derive stage: the units gen writes in place of Debian's for the two
//! exporters that cannot log in with Debian's unit, and the small program
//! one of them runs first.
//!
//! - PgBouncer's exporter (Debian 12: a Python program) runs as `postgres`
//!   with its settings in its own `Environment=` and no password: gen's unit
//!   runs it as `prometheus` from `/etc/default/prometheus-pgbouncer-exporter`
//!   (the flags and libpq's `PGPASSFILE`, `pgbouncer.exporter_passfile`).
//! - redis_exporter 1.45 reads its password from a JSON map of URI →
//!   password; the user already holds the password once, as the
//!   `requirepass` line of `redis.password_file`. gen's unit hands that file
//!   to the exporter as a systemd credential (`LoadCredential=`, read by
//!   systemd as root, readable by the unit only) and, before the exporter
//!   starts, gen's `<project>-redis-exporter-auth` turns it into the map in
//!   the unit's runtime directory (mode 0700, removed when the unit stops).
//!   No second copy of the secret to keep, none on disk while it is stopped.
//!
//! Each unit keeps Debian's name in `/etc/systemd/system`, where it takes
//! precedence over `/lib/systemd/system`: the package's `[Install]` link
//! (made when it was installed) starts gen's unit.

use serde::Serialize;

use super::exporters::{self, Exporter};
use crate::model::{Deployment, HostSpec};
use crate::profile::Role;

/// The name under which the unit receives `redis.password_file`.
pub const REDIS_CREDENTIAL: &str = "redis-password";

/// One exporter unit gen writes.
#[derive(Debug, Clone, Serialize)]
pub struct ExporterUnit {
    pub exporter: Exporter,
    pub description: &'static str,
    /// Why gen replaces Debian's unit.
    pub why: &'static str,
    /// Units it starts after; with `binds_to`, stops with them.
    pub after: Vec<String>,
    pub binds_to: Option<String>,
    /// `LoadCredential=<name>:<path>`.
    pub credential: Option<(String, String)>,
    /// `RuntimeDirectory=` (under `/run`).
    pub runtime_directory: Option<String>,
    /// `ExecStartPre=`.
    pub exec_start_pre: Option<String>,
    /// `RestrictAddressFamilies=`.
    pub address_families: &'static str,
}

impl ExporterUnit {
    pub fn unit(&self) -> String {
        self.exporter.unit()
    }

    pub fn path(&self) -> String {
        format!("/etc/systemd/system/{}", self.unit())
    }
}

/// Path of the program that writes redis_exporter's password map.
pub fn redis_auth_script(project: &str) -> String {
    format!("/usr/local/sbin/{project}-redis-exporter-auth")
}

/// Whether `host` gets `<project>-redis-exporter-auth`: a cache host whose
/// Redis asks for a password.
pub fn redis_auth(d: &Deployment, host: &HostSpec) -> bool {
    d.redis
        .as_ref()
        .is_some_and(|r| r.password_file.is_some() && host.has(Role::Cache))
}

/// The exporter units of `host`: PgBouncer's on a pooler, Redis's on a
/// cache host (see the module's documentation for why each).
pub fn units(d: &Deployment, host: &HostSpec) -> Vec<ExporterUnit> {
    let mut out = Vec::new();
    for exporter in exporters::exporters(d, host) {
        match exporter.name {
            "pgbouncer-exporter" => out.push(ExporterUnit {
                description: "Prometheus exporter for PgBouncer's admin console",
                why: "it runs as `prometheus` (not `postgres`) from the flags and libpq's PGPASSFILE in its /etc/default file",
                after: vec!["network.target".into(), "pgbouncer.service".into()],
                // It keeps one connection to the admin console, opened at
                // start: it stops with PgBouncer, and PgBouncer's start
                // starts it again (Debian's `WantedBy=pgbouncer.service`).
                binds_to: Some("pgbouncer.service".into()),
                credential: None,
                runtime_directory: None,
                exec_start_pre: None,
                address_families: "AF_INET AF_INET6 AF_UNIX",
                exporter,
            }),
            "redis-exporter" => {
                let password = d
                    .redis
                    .as_ref()
                    .and_then(|r| r.password_file.clone())
                    .filter(|_| redis_auth(d, host));
                let uri = d
                    .redis
                    .as_ref()
                    .map(|r| exporters::redis_uri(host, r.port))
                    .unwrap_or_default();
                out.push(ExporterUnit {
                    description: "Prometheus exporter for Redis metrics",
                    why: "it gives redis_exporter Redis's password as the JSON map --redis.password-file reads, from redis.password_file",
                    after: vec!["network.target".into(), "redis-server.service".into()],
                    binds_to: None,
                    runtime_directory: password
                        .as_ref()
                        .map(|_| "prometheus-redis-exporter".to_string()),
                    exec_start_pre: password
                        .as_ref()
                        .map(|_| format!("{} {uri}", redis_auth_script(&d.project))),
                    credential: password.map(|path| (REDIS_CREDENTIAL.to_string(), path)),
                    address_families: "AF_INET AF_INET6 AF_UNIX",
                    exporter,
                });
            }
            _ => {}
        }
    }
    out
}
