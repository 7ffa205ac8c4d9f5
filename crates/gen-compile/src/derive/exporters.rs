//! Derive stage: the arguments of the Prometheus exporters (and of
//! Alertmanager) Debian's packages start from `/etc/default/prometheus-<name>`
//! (`EnvironmentFile=` of each unit, `ExecStart=/usr/bin/prometheus-<name>
//! $ARGS`). Debian's defaults listen on every interface; gen makes each
//! listen on the host's private address at the port the scrape configuration
//! targets, and gives it its credentials without a secret in the tree
//! (PostgreSQL by peer over the socket).
//!
//! Two exporters need more than Debian's unit gives them, and gen replaces
//! their units (`derive::exporter_units`): PgBouncer's (Debian 12's is a
//! Python program whose unit reads no `/etc/default` file and has no way to
//! a password), and Redis's (`--redis.password-file` of redis_exporter 1.45
//! is a JSON map of URI → password, not the `requirepass` file that
//! `redis.password_file` names).

use serde::Serialize;

use crate::model::{exporter_port, Deployment, HostSpec};
use crate::model_alerting::{ALERTMANAGER_CLUSTER_PORT, ALERTMANAGER_PORT};
use crate::profile::Role;

/// The user PgBouncer's exporter logs into the admin console as: one of
/// pgbouncer.ini's `stats_users` (read-only `SHOW` commands), the same name
/// as postgres_exporter's role.
pub const PGBOUNCER_STATS_USER: &str = "prometheus";

/// The one database Debian 12's PgBouncer exporter is told to report,
/// which no pool has. Its 1.7 reads `total_requests` from `SHOW STATS`, a
/// column PgBouncer 1.8 renamed (Debian 12 ships 1.18): any row it reads
/// there raises `KeyError` and the exporter exits at start. Its `--database`
/// filter (one list for `SHOW STATS`, `POOLS` and `DATABASES`) naming no
/// database leaves it `SHOW LISTS`: clients and servers used, free and
/// logging in, and the number of databases, users and pools. gen's
/// databases are lower-case identifiers: none has this name.
pub const PGBOUNCER_NO_DATABASE: &str = "gen-none";

/// Where PgBouncer's Unix socket is (pgbouncer.ini's `unix_socket_dir`).
pub const PGBOUNCER_SOCKET_DIR: &str = "/var/run/postgresql";

/// The JSON map redis_exporter reads its password from, which its unit
/// writes at every start into its runtime directory (gone when it stops).
pub const REDIS_PASSWORD_MAP: &str = "/run/prometheus-redis-exporter/password.json";

/// The URI redis_exporter scrapes, and the key of its password map.
pub fn redis_uri(host: &HostSpec, port: u16) -> String {
    format!("redis://{}:{port}", host.address)
}

/// One `/etc/default/prometheus-<name>` file.
#[derive(Debug, Clone, Serialize)]
pub struct Exporter {
    /// The package and unit name after `prometheus-`: `node-exporter`, `alertmanager`.
    pub name: &'static str,
    /// The program its unit runs, whose `--help` lists the flags it accepts.
    pub binary: &'static str,
    /// The port it listens on, on the host's private address.
    pub port: u16,
    /// `ARGS`, one flag each (`--flag=value`), with no character that
    /// systemd's `$ARGS` splitting or quoting would read.
    pub args: Vec<String>,
    /// Other variables of the file (`DATA_SOURCE_NAME`), name → value.
    pub env: Vec<(String, String)>,
}

impl Exporter {
    pub fn path(&self) -> String {
        format!("/etc/default/prometheus-{}", self.name)
    }

    pub fn unit(&self) -> String {
        format!("prometheus-{}.service", self.name)
    }

    /// `<address>:<port>` it listens on.
    pub fn listen(&self, host: &HostSpec) -> String {
        format!("{}:{}", host.address, self.port)
    }
}

fn exporter(
    name: &'static str,
    port: u16,
    host: &HostSpec,
    mut args: Vec<String>,
    env: Vec<(String, String)>,
) -> Exporter {
    // prometheus-pgbouncer-exporter (configargparse) has `--host` and
    // `--port`; the Go exporters one `--web.listen-address`.
    if name == "pgbouncer-exporter" {
        args.insert(0, format!("--port={port}"));
        args.insert(0, format!("--host={}", host.address));
    } else {
        args.insert(0, format!("--web.listen-address={}:{port}", host.address));
    }
    Exporter {
        name,
        binary: match name {
            "node-exporter" => "/usr/bin/prometheus-node-exporter",
            "postgres-exporter" => "/usr/bin/prometheus-postgres-exporter",
            "redis-exporter" => "/usr/bin/prometheus-redis-exporter",
            "nginx-exporter" => "/usr/bin/prometheus-nginx-exporter",
            "pgbouncer-exporter" => "/usr/bin/prometheus-pgbouncer-exporter",
            _ => "/usr/bin/prometheus-alertmanager",
        },
        port,
        args,
        env,
    }
}

/// Whether `host` runs postgres_exporter: a database host whose PostgreSQL
/// is native. A containerised PostgreSQL's socket is inside its container,
/// where the exporter's peer login cannot reach it, and its host installs
/// no exporter package (`requirements::packages`); so it is neither
/// configured, scraped nor opened in the firewall.
pub fn postgres_exporter(d: &Deployment, host: &HostSpec) -> bool {
    d.postgres.is_some()
        && (host.has(Role::DatabasePrimary) || host.has(Role::DatabaseReplica))
        && !super::datatier::postgres_container(d, host)
}

/// The exporters on `host`, as the scrape jobs expect them (`scrape::jobs`
/// targets the same hosts at the same ports), then Alertmanager on a
/// monitoring host with `[alerting]`:
/// - node_exporter everywhere;
/// - postgres_exporter on native database hosts: `DATA_SOURCE_NAME` is a
///   libpq keyword string to the socket directory as user `prometheus`,
///   which `pg_hba.conf` admits by peer (see [`postgres_exporter`]);
/// - pgbouncer_exporter on a pooler: PgBouncer's admin console (database
///   `pgbouncer`) over the Unix socket as the stats user `prometheus`, its
///   password from `pgbouncer.exporter_passfile` (libpq's `PGPASSFILE`);
/// - redis_exporter on the cache host, reading Redis on the private address,
///   with `redis.password_file`'s password through the JSON map its unit
///   builds at start ([`REDIS_PASSWORD_MAP`]);
/// - nginx_exporter where sites are served, reading stub_status on loopback;
/// - Alertmanager: its API on the private address, and with other
///   monitoring hosts a cluster gossiping on the private addresses
///   (`--cluster.peer=` each other host); alone, clustering off
///   (`--cluster.listen-address=` empty).
pub fn exporters(d: &Deployment, host: &HostSpec) -> Vec<Exporter> {
    let mut out = vec![exporter(
        "node-exporter",
        exporter_port::NODE,
        host,
        Vec::new(),
        Vec::new(),
    )];
    if let Some(pg) = &d.postgres {
        if postgres_exporter(d, host) {
            out.push(exporter(
                "postgres-exporter",
                exporter_port::POSTGRES,
                host,
                Vec::new(),
                vec![(
                    "DATA_SOURCE_NAME".into(),
                    format!(
                        "user=prometheus host=/run/postgresql port={} dbname=postgres",
                        pg.port
                    ),
                )],
            ));
        }
    }
    if let Some(pgbouncer) = d.pgbouncer.as_ref().filter(|_| host.has(Role::Pooler)) {
        out.push(exporter(
            "pgbouncer-exporter",
            exporter_port::PGBOUNCER,
            host,
            vec![
                format!("--pgbouncer-host={PGBOUNCER_SOCKET_DIR}"),
                format!("--pgbouncer-port={}", pgbouncer.port),
                format!("--pgbouncer-user={PGBOUNCER_STATS_USER}"),
                format!("--database={PGBOUNCER_NO_DATABASE}"),
                "--licence-location=/usr/share/doc/prometheus-pgbouncer-exporter/copyright".into(),
            ],
            vec![("PGPASSFILE".into(), pgbouncer.exporter_passfile.clone())],
        ));
    }
    if let Some(redis) = d.redis.as_ref().filter(|_| host.has(Role::Cache)) {
        let mut args = vec![format!("--redis.addr={}", redis_uri(host, redis.port))];
        if redis.password_file.is_some() {
            args.push(format!("--redis.password-file={REDIS_PASSWORD_MAP}"));
        }
        out.push(exporter(
            "redis-exporter",
            exporter_port::REDIS,
            host,
            args,
            Vec::new(),
        ));
    }
    if d.serves_sites(host) {
        out.push(exporter(
            "nginx-exporter",
            exporter_port::NGINX,
            host,
            vec![format!(
                "--nginx.scrape-uri=http://127.0.0.1:{}/stub_status",
                exporter_port::NGINX_STUB_STATUS
            )],
            Vec::new(),
        ));
    }
    if d.alerting.is_some() && host.has(Role::Monitoring) {
        let mut args = vec![
            "--config.file=/etc/prometheus/alertmanager.yml".to_string(),
            "--storage.path=/var/lib/prometheus/alertmanager/".to_string(),
        ];
        let peers: Vec<&HostSpec> = d
            .hosts_with(Role::Monitoring)
            .filter(|h| h.name != host.name)
            .collect();
        if peers.is_empty() {
            args.push("--cluster.listen-address=".into());
        } else {
            args.push(format!(
                "--cluster.listen-address={}:{ALERTMANAGER_CLUSTER_PORT}",
                host.address
            ));
            for peer in peers {
                args.push(format!(
                    "--cluster.peer={}:{ALERTMANAGER_CLUSTER_PORT}",
                    peer.address
                ));
            }
        }
        out.push(exporter(
            "alertmanager",
            ALERTMANAGER_PORT,
            host,
            args,
            Vec::new(),
        ));
    }
    out
}

/// `host:port` of every Alertmanager Prometheus sends alerts to: those gen
/// runs on the monitoring hosts, then `monitoring.alertmanagers`.
pub fn alertmanagers(d: &Deployment) -> Vec<String> {
    let mut out: Vec<String> = if d.alerting.is_some() {
        d.hosts_with(Role::Monitoring)
            .map(|h| format!("{}:{ALERTMANAGER_PORT}", h.address))
            .collect()
    } else {
        Vec::new()
    };
    for target in &d.monitoring.alertmanagers {
        if !out.contains(target) {
            out.push(target.clone());
        }
    }
    out
}
