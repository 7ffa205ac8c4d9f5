//! Views of a host's jobs: the compose services of container jobs (included
//! in the compose file), and each job's unit and timer.

use std::collections::BTreeMap;

use serde::Serialize;

use super::services::{native_process, NativeProcess};
use super::Scope;
use crate::catalog;
use crate::derive::environment::service_environment;
use crate::derive::jobs::{self, Dependency};
use crate::job_model::{JobSpec, Trigger};
use crate::model::{Deployment, HostSpec, ServiceSpec};
use crate::profile::Runtime;

/// How a job is started, in words, for comments and descriptions.
fn runs(job: &JobSpec) -> String {
    match &job.trigger {
        Trigger::Before(targets) => format!("runs before {}", targets.join(", ")),
        Trigger::Schedule(s) => format!("runs at `{s}` UTC"),
        Trigger::OnChange => "runs when its definition changes".into(),
    }
}

/// A container job as a compose service.
#[derive(Serialize)]
pub struct ComposeJob<'a> {
    /// `job-<name>`.
    name: String,
    job: &'a str,
    runs: String,
    spec: &'a ServiceSpec,
    environment: BTreeMap<String, String>,
    /// `profiles: ["jobs"]`: jobs `docker compose up` must not start.
    profiles: bool,
    depends_on: Vec<Dependency>,
    networks: Vec<&'static str>,
}

/// The container jobs of `host`, by name.
pub fn compose_jobs<'a>(d: &'a Deployment, host: &'a HostSpec) -> Vec<ComposeJob<'a>> {
    d.jobs_on(host)
        .filter(|j| j.runtime() == Runtime::Container)
        .map(|j| {
            let s = &j.process;
            let mut networks = vec!["backend"];
            if s.database.is_some() || s.redis {
                networks.push("frontend");
            }
            ComposeJob {
                name: jobs::compose_name(&j.name),
                job: &j.name,
                runs: runs(j),
                spec: s,
                environment: service_environment(d, s),
                profiles: !j.in_compose_up(),
                depends_on: jobs::compose_depends_on(d, host, &j.name, &[]),
                networks,
            }
        })
        .collect()
}

#[derive(Serialize)]
pub struct JobUnit<'a> {
    project: &'a str,
    job: JobView<'a>,
}

#[derive(Serialize)]
struct JobView<'a> {
    name: &'a str,
    runs: String,
    spec: &'a ServiceSpec,
    container: bool,
    compose_name: String,
    compose_path: String,
    digest: String,
    schedule: Option<&'a str>,
    /// `TimeoutStartSec=`.
    timeout: String,
    /// Job units this one is ordered after and requires.
    requires: Vec<String>,
    /// Units this one runs before.
    before: Vec<String>,
    systemd_environment: Vec<String>,
    exec_start: String,
    protect_home: &'static str,
    /// What `gen explain` derives (`derive::jobs::explained`), as comments.
    explained: Vec<(String, String)>,
}

/// The view of `<project>-job-<name>.service` and `.timer`.
pub fn job_unit<'a>(scope: &Scope<'a>) -> Option<JobUnit<'a>> {
    let d = scope.d;
    let job = scope.spec.job.as_deref().and_then(|n| d.job(n))?;
    let s = &job.process;
    let NativeProcess {
        systemd_environment,
        exec_start,
        protect_home,
    } = native_process(d, s);
    Some(JobUnit {
        project: &d.project,
        job: JobView {
            name: &job.name,
            runs: runs(job),
            spec: s,
            container: job.runtime() == Runtime::Container,
            compose_name: jobs::compose_name(&job.name),
            compose_path: catalog::compose_path(&d.project),
            digest: jobs::definition_digest(d, job),
            schedule: job.schedule(),
            timeout: job.timeout.to_string(),
            requires: jobs::required_units(d, scope.host, &job.name),
            before: jobs::before_units(d, scope.host, job),
            systemd_environment,
            exec_start,
            protect_home,
            explained: jobs::explained(job)
                .into_iter()
                .map(|(name, value, _, _)| match name.as_str() {
                    "hosts" => (name, header_hosts(&job.hosts)),
                    _ => (name, value),
                })
                .collect(),
        },
    })
}

/// Hosts the unit's header names before it only counts the rest.
const HEADER_HOSTS: usize = 8;

/// The job's hosts as its unit's header says them: a job placed on each host
/// of a role would otherwise list the whole role in every one of its units,
/// bytes growing with the square of the fleet. `gen explain` lists them all.
fn header_hosts(hosts: &[String]) -> String {
    if hosts.len() <= HEADER_HOSTS {
        return hosts.join(", ");
    }
    format!(
        "{} and {} more (`gen explain` lists them)",
        hosts[..HEADER_HOSTS].join(", "),
        hosts.len() - HEADER_HOSTS
    )
}

#[derive(Serialize)]
pub struct SqlRunner<'a> {
    project: &'a str,
}

/// The view of gen's SQL runner: the script takes the database and the
/// directory as arguments, so it is the same for every `sql` job.
pub fn sql_runner<'a>(scope: &Scope<'a>) -> SqlRunner<'a> {
    SqlRunner {
        project: &scope.d.project,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_on_many_hosts_names_a_few_and_counts_the_rest() {
        let hosts: Vec<String> = (0..500).map(|i| format!("h{i:04}")).collect();
        assert_eq!(
            header_hosts(&hosts),
            "h0000, h0001, h0002, h0003, h0004, h0005, h0006, h0007 and 492 more (`gen explain` lists them)"
        );
        assert_eq!(header_hosts(&hosts[..8]), hosts[..8].join(", "));
    }
}
