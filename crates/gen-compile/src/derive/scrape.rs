//! Derive stage: what Prometheus scrapes. One job per exporter kind over the
//! hosts whose roles run it (at the exporter's standard port), and one job per
//! service that exposes metrics, over every port it answers on.

use serde::Serialize;

use crate::model::{exporter_port, Deployment, HostSpec};
use crate::profile::Role;

#[derive(Debug, Clone, Serialize)]
pub struct ScrapeJob {
    pub name: String,
    pub metrics_path: Option<String>,
    pub targets: Vec<ScrapeTarget>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScrapeTarget {
    /// `<address>:<port>`.
    pub address: String,
    /// The `host` label.
    pub host: String,
}

fn target(h: &HostSpec, port: u16) -> ScrapeTarget {
    ScrapeTarget {
        address: format!("{}:{port}", h.address),
        host: h.name.clone(),
    }
}

/// Every scrape job, in a fixed order: node on every host, then postgres,
/// pgbouncer, redis, nginx and prometheus where their roles are, then
/// `service-<name>` for each service with `metrics_path`.
pub fn jobs(d: &Deployment) -> Vec<ScrapeJob> {
    let mut jobs = vec![ScrapeJob {
        name: "node".into(),
        metrics_path: None,
        targets: d
            .hosts
            .iter()
            .map(|h| target(h, exporter_port::NODE))
            .collect(),
    }];
    // postgres_exporter runs on the database hosts of a native PostgreSQL
    // only (`exporters::postgres_exporter`); every other exporter wherever
    // its role is.
    let mut role_job = |name: &str, enabled: bool, roles: &[Role], port: u16| {
        let targets: Vec<ScrapeTarget> = d
            .hosts
            .iter()
            .filter(|h| roles.iter().any(|r| h.has(*r)))
            .filter(|h| name != "postgres" || super::exporters::postgres_exporter(d, h))
            .map(|h| target(h, port))
            .collect();
        if enabled && !targets.is_empty() {
            jobs.push(ScrapeJob {
                name: name.into(),
                metrics_path: None,
                targets,
            });
        }
    };
    role_job(
        "postgres",
        d.postgres.is_some(),
        &[Role::DatabasePrimary, Role::DatabaseReplica],
        exporter_port::POSTGRES,
    );
    role_job(
        "pgbouncer",
        d.pgbouncer.is_some(),
        &[Role::Pooler],
        exporter_port::PGBOUNCER,
    );
    role_job(
        "redis",
        d.redis.is_some(),
        &[Role::Cache],
        exporter_port::REDIS,
    );
    role_job(
        "nginx",
        !d.sites.is_empty(),
        &[Role::LoadBalancer],
        exporter_port::NGINX,
    );
    role_job(
        "prometheus",
        true,
        &[Role::Monitoring],
        exporter_port::PROMETHEUS,
    );
    for service in &d.services {
        let (Some(path), Some(_)) = (&service.metrics_path, service.port) else {
            continue;
        };
        let targets = d
            .hosts_running(service)
            .flat_map(|h| {
                service
                    .host_ports()
                    .into_iter()
                    .map(move |port| target(h, port))
            })
            .collect();
        jobs.push(ScrapeJob {
            name: format!("service-{}", service.name),
            metrics_path: Some(path.clone()),
            targets,
        });
    }
    jobs
}

/// Whether some service exposes HTTP metrics (the HTTP alerts need them).
pub fn any_service_metrics(d: &Deployment) -> bool {
    d.services
        .iter()
        .any(|s| s.metrics_path.is_some() && s.port.is_some())
}
