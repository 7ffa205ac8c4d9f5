//! Derive stage: the files a host must provide for its tree to work. gen
//! never writes a secret, a certificate or a key: profiles name files the
//! host holds. The manifest lists the ones this host's files name, so
//! `gen apply` can refuse before a service restarts without them.
//!
//! The same goes for the Debian packages the host's services come from:
//! gen configures nginx, PostgreSQL or an exporter, it does not install
//! them. [`packages`] lists them by their Debian 12 (bookworm) names; other
//! platforms' names are not mapped yet.

use crate::model::{Deployment, HostSpec};
use crate::profile::{Role, Runtime};

/// Every file the artifacts of `host` name and the host must hold, sorted:
/// the secrets of the services it runs, the certificates and keys of the
/// sites it serves and of PostgreSQL's TLS, a replica's replication
/// passfile, PgBouncer's auth file, Redis's password file and the pull
/// mode's signers, deploy key and known hosts.
pub fn files(d: &Deployment, host: &HostSpec) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for service in d.services_on(host) {
        out.extend(service.secrets.values().cloned());
    }
    if d.serves_sites(host) {
        for site in &d.sites {
            out.push(site.certificate.clone());
            out.push(site.certificate_key.clone());
        }
    }
    if let Some(pg) = &d.postgres {
        let database = host.has(Role::DatabasePrimary) || host.has(Role::DatabaseReplica);
        if database {
            if let Some(tls) = &pg.tls {
                out.push(tls.certificate.clone());
                out.push(tls.key.clone());
            }
        }
        if host.has(Role::DatabaseReplica) {
            out.push(pg.replication_passfile.clone());
        }
    }
    if let Some(pgbouncer) = d.pgbouncer.as_ref().filter(|_| host.has(Role::Pooler)) {
        out.push(pgbouncer.auth_file.clone());
    }
    if let Some(redis) = d.redis.as_ref().filter(|_| host.has(Role::Cache)) {
        out.extend(redis.password_file.clone());
    }
    if let Some(alerting) = d.alerting.as_ref().filter(|_| host.has(Role::Monitoring)) {
        out.extend(alerting.files());
    }
    if let Some(rollout) = &d.rollout {
        out.extend(rollout.allowed_signers.clone());
        if let Some(ssh) = &rollout.ssh {
            out.push(ssh.key.clone());
            out.push(ssh.known_hosts.clone());
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The Debian package of a PostgreSQL extension that is not in
/// `postgresql-<v>` itself (contrib ships with the server); `None` for the
/// contrib ones and for names gen does not know.
fn extension_package(extension: &str, version: u32) -> Option<String> {
    let suffix = match extension {
        "vector" => "pgvector",
        "postgis" => "postgis-3",
        "pg_cron" => "cron",
        "pg_partman" => "partman",
        "pgaudit" => "pgaudit",
        "hypopg" => "hypopg",
        "pg_repack" => "repack",
        _ => return None,
    };
    Some(format!("postgresql-{version}-{suffix}"))
}

/// Every Debian package `host` needs for its tree to work, sorted (the
/// design's package table, Debian 12 names):
/// - every host: `prometheus-node-exporter`;
/// - a host serving sites: `nginx`, `prometheus-nginx-exporter`, and `curl`
///   for the health-check script;
/// - a host running containers: Docker's `docker-ce` and
///   `docker-compose-plugin` (Debian 12's own `docker-compose` is v1,
///   without `--wait`);
/// - a database host: `postgresql-<v>`, `postgresql-client-<v>` (pg_dump,
///   pg_isready), `prometheus-postgres-exporter`, and the packages of
///   non-contrib extensions;
/// - a pooler: `pgbouncer`, `prometheus-pgbouncer-exporter`,
///   `postgresql-client` (the health gate's `pg_isready`);
/// - a cache: `redis-server` (with `redis-cli`), `prometheus-redis-exporter`;
/// - a monitoring host: `prometheus`, and `prometheus-alertmanager` when
///   alerts are delivered from it (`[alerting]`);
/// - the pull mode: `git`;
/// - a health gate that probes HTTP: `curl`.
pub fn packages(d: &Deployment, host: &HostSpec) -> Vec<String> {
    let mut out: Vec<String> = vec!["prometheus-node-exporter".into()];
    let mut add = |names: &[&str]| out.extend(names.iter().map(|n| n.to_string()));
    if d.serves_sites(host) {
        add(&["nginx", "prometheus-nginx-exporter", "curl"]);
    }
    if d.services_on(host).any(|s| s.runtime == Runtime::Container) {
        add(&["docker-ce", "docker-compose-plugin"]);
    }
    if d.pgbouncer.is_some() && host.has(Role::Pooler) {
        add(&[
            "pgbouncer",
            "prometheus-pgbouncer-exporter",
            "postgresql-client",
        ]);
    }
    if d.redis.is_some() && host.has(Role::Cache) {
        add(&["redis-server", "prometheus-redis-exporter"]);
    }
    if host.has(Role::Monitoring) {
        add(&["prometheus"]);
        if d.alerting.is_some() {
            add(&["prometheus-alertmanager"]);
        }
    }
    if d.rollout.is_some() {
        add(&["git"]);
    }
    if crate::derive::health::gate_probes(d, host)
        .iter()
        .any(|p| p.check.starts_with("http"))
    {
        add(&["curl"]);
    }
    if let Some(pg) = &d.postgres {
        if host.has(Role::DatabasePrimary) || host.has(Role::DatabaseReplica) {
            let v = pg.version;
            out.push(format!("postgresql-{v}"));
            out.push(format!("postgresql-client-{v}"));
            out.push("prometheus-postgres-exporter".into());
            out.extend(pg.extensions.iter().filter_map(|e| extension_package(e, v)));
        }
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_non_contrib_extensions_need_a_package() {
        assert_eq!(
            extension_package("vector", 16).as_deref(),
            Some("postgresql-16-pgvector")
        );
        assert_eq!(
            extension_package("postgis", 15).as_deref(),
            Some("postgresql-15-postgis-3")
        );
        assert_eq!(extension_package("pg_trgm", 15), None);
        assert_eq!(extension_package("pg_stat_statements", 15), None);
    }
}
