//! Derive stage: the order jobs put between themselves and the services of a
//! host, as each file spells it. A container job is a compose service
//! `job-<name>`; what it gates waits for it with
//! `condition: service_completed_successfully`. A native job is the oneshot
//! unit `<project>-job-<name>.service`; what it gates is ordered after it
//! (`Before=` in the job's unit, `After=` and `Requires=` in the gated unit,
//! so starting the service at boot pulls the job in first and a failed job
//! keeps the service down, as a failed compose dependency does).

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::job_model::JobSpec;
use crate::model::{Deployment, HostSpec};
use crate::profile::Runtime;

/// The compose service of a container job.
pub fn compose_name(job: &str) -> String {
    format!("job-{job}")
}

/// The unit of a job.
pub fn unit(project: &str, job: &str) -> String {
    format!("{project}-job-{job}.service")
}

/// The timer of a scheduled job.
pub fn timer(project: &str, job: &str) -> String {
    format!("{project}-job-{job}.timer")
}

/// One compose `depends_on` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dependency {
    pub name: String,
    pub condition: &'static str,
}

/// The compose `depends_on` of container `target` (a service or a job) on
/// `host`: the services it names in `depends_on`, healthy, then the
/// container jobs on the host that run before it, completed.
pub fn compose_depends_on(
    d: &Deployment,
    host: &HostSpec,
    target: &str,
    declared: &[(String, &'static str)],
) -> Vec<Dependency> {
    let mut out: Vec<Dependency> = declared
        .iter()
        .map(|(name, condition)| Dependency {
            name: name.clone(),
            condition,
        })
        .collect();
    out.extend(
        d.jobs_gating(host, target)
            .filter(|j| j.runtime() == Runtime::Container)
            .map(|j| Dependency {
                name: compose_name(&j.name),
                condition: "service_completed_successfully",
            }),
    );
    out
}

/// The job units native `target` (a service or a job) on `host` is ordered
/// after and requires.
pub fn required_units(d: &Deployment, host: &HostSpec, target: &str) -> Vec<String> {
    d.jobs_gating(host, target)
        .filter(|j| j.runtime() == Runtime::Native)
        .map(|j| unit(&d.project, &j.name))
        .collect()
}

/// The units native `job` runs before on `host`: the native services and jobs
/// it gates there (`Before=`).
pub fn before_units(d: &Deployment, host: &HostSpec, job: &JobSpec) -> Vec<String> {
    job.before()
        .iter()
        .filter_map(|target| {
            if let Some(s) = d.services_on(host).find(|s| s.name == *target) {
                (s.runtime == Runtime::Native)
                    .then(|| crate::catalog::native_unit(&d.project, &s.name))
            } else {
                d.jobs_on(host)
                    .find(|j| j.name == *target && j.runtime() == Runtime::Native)
                    .map(|j| unit(&d.project, &j.name))
            }
        })
        .collect()
}

/// A digest of what a container job runs (image, command, user, environment,
/// secrets), written into its unit: when the compose entry changes, the unit
/// changes too, and activation runs the job again.
pub fn definition_digest(d: &Deployment, job: &JobSpec) -> String {
    let p = &job.process;
    let environment = super::environment::service_environment(d, p);
    let text = serde_json::json!({
        "image": p.image,
        "command": p.command,
        "user": p.user,
        "read_only": p.read_only,
        "tmpfs": p.tmpfs,
        "environment": environment,
        "secrets": p.secrets,
    })
    .to_string();
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// What `gen explain` prints for a job's unit and timer: where it runs, what
/// it uses and how long it is expected to take, each with its rule.
pub fn explained(job: &JobSpec) -> Vec<(String, String, &'static str, String)> {
    let key = crate::source::push_key("jobs", &job.name);
    let uses: Vec<&str> = job.uses.iter().map(|r| r.as_str()).collect();
    vec![
        (
            "hosts".into(),
            job.hosts.join(", "),
            "`hosts`, else hosts with `role`, else where the first `before` target runs, else where `service` runs; `placement = \"one\"` (default) keeps the first by name",
            format!("{key}.hosts, {key}.role, {key}.placement"),
        ),
        (
            "uses".into(),
            if uses.is_empty() { "nothing".into() } else { uses.join(", ") },
            "`uses`, plus `database` when the job connects to the database",
            format!("{key}.uses, {key}.database"),
        ),
        (
            "expected duration".into(),
            job.duration.to_string(),
            "`duration` (default 15m), for the schedule-collision lint",
            format!("{key}.duration"),
        ),
    ]
}

/// The Debian packages `host` needs for its jobs, sorted: the PostgreSQL
/// client (`psql`, and `/usr/bin/psql` from postgresql-client-common) where
/// gen's SQL runner runs. Container jobs need what container services need
/// (docker and its compose plugin), which the host's containers already
/// require.
pub fn packages(d: &Deployment, host: &HostSpec) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(pg) = &d.postgres {
        if d.jobs_on(host).any(|j| j.sql.is_some()) {
            out.push(format!("postgresql-client-{}", pg.version));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::load::MemoryProfiles;

    const PROFILE: &str = r#"[project]
name = "shop"

[network]
internal = ["10.0.0.0/16"]

[hosts.db1]
address = "10.0.0.10"
roles = ["database_primary"]
hardware = { cores = 4, memory = "8GiB", storage = "ssd" }

[hosts.app1]
address = "10.0.0.11"
roles = ["api"]
hardware = { cores = 4, memory = "8GiB", storage = "ssd" }

[postgres]
version = 16
workload = "web"
database = "shop"
users = ["shop"]

[jobs.schema]
sql = { database = "shop", directory = "/opt/shop/migrations" }
"#;

    #[test]
    fn the_sql_runner_s_host_needs_the_postgresql_client() {
        let files = MemoryProfiles::default().with("shop", PROFILE);
        let analysed = crate::compile::Analysed::from_files(&files, "shop").expect("compiles");
        let d = &analysed.deployment;
        let packages = |name: &str| super::packages(d, d.host(name).expect("host"));
        assert_eq!(packages("db1"), ["postgresql-client-16"]);
        assert_eq!(packages("app1"), Vec::<String>::new());
    }
}
