//! Derive stage: the URLs the load balancer's health-check script probes
//! (every upstream server of every service with an HTTP health check), and
//! the probes of each host's health gate: what `gen apply` asks after it
//! restarted services, to decide whether to roll back.

use serde::Serialize;

use super::Derived;
use crate::model::{exporter_port, Deployment, HostSpec};
use crate::profile::Role;

#[derive(Debug, Clone, Serialize)]
pub struct HealthTarget {
    pub service: String,
    /// `http://<address>:<port><healthcheck.http>`.
    pub url: String,
}

pub fn targets(d: &Deployment, derived: &Derived) -> Vec<HealthTarget> {
    let mut out = Vec::new();
    for service in &d.services {
        let Some(path) = service.healthcheck.as_ref().and_then(|h| h.http.as_ref()) else {
            continue;
        };
        for upstream in derived.upstreams.get(&service.name).into_iter().flatten() {
            out.push(HealthTarget {
                service: service.name.clone(),
                url: format!("http://{}:{}{}", upstream.address, upstream.port, path),
            });
        }
    }
    out
}

/// One probe of a host's health gate: a check the gate script defines
/// (`http_ok URL`, `https_ok NAME PATH`, `pg_ok HOST PORT`, `redis_ok HOST
/// PORT`) and its arguments, shown under `name` when it fails.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Probe {
    pub name: String,
    pub check: &'static str,
    pub args: Vec<String>,
}

fn probe(name: String, check: &'static str, args: Vec<String>) -> Probe {
    Probe { name, check, args }
}

/// What a healthy `host` answers, from what it runs:
/// - each service on it with an HTTP health check, at every port of every
///   replica: `http://<host address>:<port><healthcheck.http>` (the address
///   nginx's upstreams use);
/// - each site it serves, through nginx on loopback:
///   `https://<first server name><health_path>`;
/// - PostgreSQL (`pg_isready` on `127.0.0.1:<postgres.port>`), PgBouncer
///   (`pg_isready` on `127.0.0.1:<pgbouncer.port>`), Redis (`PING` on
///   `127.0.0.1:<redis.port>`), each where the host has the role and all of
///   them listen on loopback;
/// - Prometheus's readiness endpoint on monitoring hosts.
pub fn gate_probes(d: &Deployment, host: &HostSpec) -> Vec<Probe> {
    let mut out = Vec::new();
    for service in d.services_on(host) {
        let Some(path) = service.healthcheck.as_ref().and_then(|h| h.http.as_ref()) else {
            continue;
        };
        for port in service.host_ports() {
            let url = format!("http://{}:{port}{path}", service.reached_at(host));
            out.push(probe(
                format!("service {} {url}", service.name),
                "http_ok",
                vec![url],
            ));
        }
    }
    if d.serves_sites(host) {
        for site in &d.sites {
            let Some(name) = site.server_names.first() else {
                continue;
            };
            out.push(probe(
                format!("site {} https://{name}{}", site.name, site.health_path),
                "https_ok",
                vec![name.clone(), site.health_path.clone()],
            ));
        }
    }
    let loopback = |what: &str, check: &'static str, port: u16| {
        probe(
            format!("{what} 127.0.0.1:{port}"),
            check,
            vec!["127.0.0.1".into(), port.to_string()],
        )
    };
    // A containerised data tier is published on the host's private address only.
    let private = |what: &str, check: &'static str, port: u16| {
        probe(
            format!("{what} {}:{port}", host.address),
            check,
            vec![host.address.to_string(), port.to_string()],
        )
    };
    if let Some(pg) = &d.postgres {
        if super::datatier::postgres_container(d, host) {
            out.push(private("postgresql", "pg_ok", pg.port));
        } else if host.has(Role::DatabasePrimary) || host.has(Role::DatabaseReplica) {
            out.push(loopback("postgresql", "pg_ok", pg.port));
        }
    }
    if let Some(pgbouncer) = &d.pgbouncer {
        if host.has(Role::Pooler) {
            out.push(loopback("pgbouncer", "pg_ok", pgbouncer.port));
        }
    }
    if let Some(redis) = &d.redis {
        if super::datatier::redis_container(d, host) {
            out.push(private("redis", "redis_ok", redis.port));
        } else if host.has(Role::Cache) {
            out.push(loopback("redis", "redis_ok", redis.port));
        }
    }
    if host.has(Role::Monitoring) {
        let url = format!("http://127.0.0.1:{}/-/ready", exporter_port::PROMETHEUS);
        out.push(probe(format!("prometheus {url}"), "http_ok", vec![url]));
    }
    out
}
