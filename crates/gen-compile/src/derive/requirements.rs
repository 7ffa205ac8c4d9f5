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
/// passfile, a containerised PostgreSQL's superuser password file, the
/// role password files the primary's bootstrap reads,
/// PgBouncer's auth file and its exporter's passfile, Redis's password file and the pull
/// mode's signers, deploy key and known hosts.
pub fn files(d: &Deployment, host: &HostSpec) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for service in d.services_on(host) {
        out.extend(service.secrets.values().cloned());
    }
    for job in d.jobs_on(host) {
        out.extend(job.process.secrets.values().cloned());
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
        // A containerised PostgreSQL's compose secret.
        if super::datatier::postgres_container(d, host) {
            out.extend(pg.superuser_password_file.clone());
        }
        if host.has(Role::DatabasePrimary) {
            // The primary's bootstrap reads each role's password file (in
            // a containerised PostgreSQL, through a read-only mount).
            out.extend(pg.roles.values().filter_map(|r| r.password_file.clone()));
        }
    }
    if let Some(pgbouncer) = d.pgbouncer.as_ref().filter(|_| host.has(Role::Pooler)) {
        out.push(pgbouncer.auth_file.clone());
        out.push(pgbouncer.exporter_passfile.clone());
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
/// - a cache: `redis-server` (with `redis-cli`; not for a containerised
///   Redis), `prometheus-redis-exporter`;
/// - a host firewall: `nftables`; pgBackRest: `pgbackrest`; gen's SQL
///   runner: the PostgreSQL client;
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
    let containers = d.services_on(host).any(|s| s.runtime == Runtime::Container)
        || d.jobs_on(host).any(|j| j.runtime() == Runtime::Container)
        || super::datatier::any_container(d, host);
    if containers {
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
        if super::datatier::redis_container(d, host) {
            add(&["prometheus-redis-exporter"]);
        } else {
            add(&["redis-server", "prometheus-redis-exporter"]);
        }
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
        let database = host.has(Role::DatabasePrimary) || host.has(Role::DatabaseReplica);
        // A containerised PostgreSQL comes with its image.
        if database && !super::datatier::postgres_container(d, host) {
            let v = pg.version;
            out.push(format!("postgresql-{v}"));
            out.push(format!("postgresql-client-{v}"));
            out.push("prometheus-postgres-exporter".into());
            out.extend(super::extensions::packages(d, host));
        }
    }
    out.extend(super::firewall::packages(d, host));
    out.extend(super::backup::packages(d, host));
    out.extend(super::jobs::packages(d, host));
    out.extend(super::restore_test::packages(d, host));
    out.sort();
    out.dedup();
    out
}
