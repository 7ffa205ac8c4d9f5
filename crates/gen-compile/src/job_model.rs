//! Validate stage output: the checked jobs (re-exported from `model`). A job's
//! process is a [`ServiceSpec`] — inherited from a service or its own — so the
//! environment, secrets and sandboxing a service gets are computed once, by
//! the same code, for both.

use std::collections::BTreeSet;

use serde::Serialize;

use crate::model::{Deployment, HostSpec, ServiceSpec};
use crate::profile::Runtime;
use crate::profile_jobs::Resource;
use crate::units::Duration;

#[derive(Debug, Clone, Serialize)]
pub struct JobSpec {
    pub name: String,
    /// What runs: the inherited service's process with the job's command, or
    /// the job's own. `name` is the job's, `replicas` 1, no port.
    pub process: ServiceSpec,
    /// The service the process is inherited from.
    pub service: Option<String>,
    /// The hosts that run the job, by name, sorted (placement resolved).
    pub hosts: Vec<String>,
    pub trigger: Trigger,
    /// `TimeoutStartSec=` of one run.
    pub timeout: Duration,
    /// Expected run time, for the schedule-collision lint.
    pub duration: Duration,
    /// Declared resources plus `database` when the job connects to it.
    pub uses: BTreeSet<Resource>,
    /// gen's SQL runner: the database and the directory of `*.sql` files.
    pub sql: Option<SqlSpec>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SqlSpec {
    pub database: String,
    pub directory: String,
}

/// The SQL runner gen writes on hosts with a `sql` job.
pub fn sql_runner_path(project: &str) -> String {
    format!("/usr/local/sbin/{project}-sql-migrate")
}

/// What starts a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    /// Runs before these services or jobs on its host, which wait for it.
    Before(Vec<String>),
    /// A systemd calendar expression, evaluated in UTC.
    Schedule(String),
    /// Runs when its definition changes (and by hand).
    OnChange,
}

impl JobSpec {
    pub fn runtime(&self) -> Runtime {
        self.process.runtime
    }

    pub fn runs_on(&self, host: &HostSpec) -> bool {
        self.hosts.contains(&host.name)
    }

    pub fn before(&self) -> &[String] {
        match &self.trigger {
            Trigger::Before(targets) => targets,
            _ => &[],
        }
    }

    pub fn schedule(&self) -> Option<&str> {
        match &self.trigger {
            Trigger::Schedule(s) => Some(s),
            _ => None,
        }
    }

    /// A container job `docker compose up` starts with the other containers
    /// (a `before` job); the others carry `profiles: ["jobs"]` and run from
    /// their own unit with `docker compose run`.
    pub fn in_compose_up(&self) -> bool {
        self.runtime() == Runtime::Container && matches!(self.trigger, Trigger::Before(_))
    }

    /// Whether the job has a systemd unit of its own: every native job, and
    /// container jobs not started by `docker compose up`.
    pub fn has_unit(&self) -> bool {
        !self.in_compose_up()
    }
}

impl Deployment {
    pub fn job(&self, name: &str) -> Option<&JobSpec> {
        self.jobs.iter().find(|j| j.name == name)
    }

    /// The jobs `host` runs, by name.
    pub fn jobs_on<'a>(&'a self, host: &'a HostSpec) -> impl Iterator<Item = &'a JobSpec> {
        self.jobs.iter().filter(move |j| j.runs_on(host))
    }

    /// The jobs on `host` that must complete before `target` (a service or a
    /// job) starts there.
    pub fn jobs_gating<'a>(
        &'a self,
        host: &'a HostSpec,
        target: &'a str,
    ) -> impl Iterator<Item = &'a JobSpec> {
        self.jobs_on(host)
            .filter(move |j| j.before().iter().any(|t| t == target))
    }
}
