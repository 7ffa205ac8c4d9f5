//! Derive stage: the periodic jobs of a host and their exact command lines.
//! Every job holds a lock so runs never overlap, and logs under its own tag.

use serde::Serialize;

use crate::model::{Deployment, HostSpec};
use crate::profile::Role;

#[derive(Debug, Clone, Serialize)]
pub struct CronJob {
    pub comment: String,
    pub schedule: String,
    pub user: &'static str,
    pub command: String,
}

/// `command` under `flock --nonblock /run/lock/<project>-<name>.lock`, its
/// output sent to syslog tagged `<project>-<name>`.
fn guarded(project: &str, name: &str, command: &str) -> String {
    format!("/usr/bin/flock --nonblock /run/lock/{project}-{name}.lock {command} 2>&1 | /usr/bin/logger --tag {project}-{name}")
}

/// The jobs of `host`: VACUUM ANALYZE on the primary; certificate renewal
/// and upstream health probes on a load balancer.
pub fn jobs(d: &Deployment, host: &HostSpec) -> Vec<CronJob> {
    let p = &d.project;
    let mut jobs = Vec::new();
    if super::datatier::postgres_container(d, host) {
        jobs.push(CronJob {
            comment: "VACUUM ANALYZE every database, in the postgres container as its postgres user; overlapping runs are skipped".into(),
            schedule: d.maintenance.vacuum_schedule.clone(),
            user: "root",
            command: guarded(
                p,
                "vacuum",
                &format!(
                    "/usr/bin/docker compose --project-name {p} exec -T --user postgres {} vacuumdb --all --analyze --quiet",
                    super::datatier::POSTGRES_SERVICE
                ),
            ),
        });
    } else if host.has(Role::DatabasePrimary) && d.postgres.is_some() {
        jobs.push(CronJob {
            comment: "VACUUM ANALYZE every database (statistics and dead rows); overlapping runs are skipped".into(),
            schedule: d.maintenance.vacuum_schedule.clone(),
            user: "postgres",
            command: guarded(p, "vacuum", "/usr/bin/vacuumdb --all --analyze --quiet"),
        });
    }
    if d.serves_sites(host) {
        jobs.push(CronJob {
            comment: "renew TLS certificates; nginx reloads only when one changed".into(),
            schedule: d.maintenance.certificate_renewal_schedule.clone(),
            user: "root",
            command: guarded(p, "certbot", "/usr/bin/certbot renew --quiet --deploy-hook '/usr/bin/systemctl reload nginx.service'"),
        });
        jobs.push(CronJob {
            comment: "probe every upstream's health endpoint and certificate expiry; results go to node_exporter".into(),
            schedule: d.maintenance.health_check_schedule.clone(),
            user: "root",
            command: guarded(p, "healthcheck", &format!("/usr/local/sbin/{p}-healthcheck")),
        });
    }
    jobs
}
