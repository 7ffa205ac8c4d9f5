//! Validate stage, `[jobs]`: each job's process (inherited from a service or
//! its own), its hosts (placement resolved here, once), its one trigger, and
//! the order `before` builds between jobs and services. An order that cannot
//! hold on a host — a cycle, a container job `docker compose up --wait` would
//! fail on, a job gating something of the other runtime — is a
//! `gen::error::job-order`.

use std::collections::{BTreeMap, BTreeSet};

use super::Checker;
use crate::job_model::{sql_runner_path, JobSpec, SqlSpec, Trigger};
use crate::model::{DatabaseUse, HostSpec, ServiceSpec};
use crate::profile::{Profile, Role, Runtime, ServiceRole};
use crate::profile_jobs::{Job, Placement, Resource, SqlMigrations};
use crate::schedule;
use crate::shapes;
use crate::source::{push_key, Underline};
use crate::units::Duration;
use gen_target::error::Error;
use gen_target::host_path::shown;

/// Default `timeout` and `duration` of a job.
const DEFAULT_RUN: Duration = Duration(15 * 60);

impl Checker<'_> {
    /// A `gen::error::job-order` at `key`.
    fn job_order(&mut self, key: &str, message: String, help: &str) {
        match self.sources.locate(key, Underline::Value) {
            Some(located) => self.errors.push(Error::JobOrder {
                key: key.to_string(),
                label: format!("`{key}`"),
                message,
                src: located.src,
                span: located.span,
                help: Some(help.to_string()),
            }),
            None => self.errors.push(Error::InvalidProject {
                message,
                help: Some(help.to_string()),
            }),
        }
    }

    pub(super) fn jobs(
        &mut self,
        p: &Profile,
        hosts: &[HostSpec],
        services: &[ServiceSpec],
    ) -> Vec<JobSpec> {
        let jobs: Vec<JobSpec> = p
            .jobs
            .iter()
            .filter_map(|(name, job)| self.job(p, name, job, hosts, services))
            .collect();
        self.job_order_checks(&jobs, hosts, services);
        jobs
    }

    fn job(
        &mut self,
        p: &Profile,
        name: &str,
        j: &Job,
        hosts: &[HostSpec],
        services: &[ServiceSpec],
    ) -> Option<JobSpec> {
        let key = push_key("jobs", name);
        self.name(&key, name, "job name");
        let command = j.command.clone().unwrap_or_default();
        for (i, arg) in command.iter().enumerate() {
            self.text(&format!("{key}.command[{i}]"), arg);
        }
        if command.is_empty() && j.sql.is_none() {
            self.fail(
                &key,
                format!("`{key}` needs a `command`"),
                "for example `command = [\"alembic\", \"upgrade\", \"head\"]`",
            );
        }
        let sql = j.sql.as_ref().map(|sql| self.sql_job(p, &key, j, sql));
        let process = match (&sql, &j.service) {
            (Some(sql), _) => sql_process(&p.project.name, name, sql),
            (None, Some(service)) => {
                self.inherited_process(&key, name, j, service, services, &command)?
            }
            (None, None) => self.own_process(p, &key, name, j, &command)?,
        };

        let trigger = self.trigger(&key, name, j, services, p);
        let hosts = self.job_hosts(&key, j, &trigger, hosts, services, p);

        let timeout = j.timeout.unwrap_or(DEFAULT_RUN);
        let duration = j.duration.unwrap_or(DEFAULT_RUN);
        for (field, value) in [("timeout", timeout), ("duration", duration)] {
            self.check(
                (1..=7 * 86_400).contains(&value.seconds()),
                &format!("{key}.{field}"),
                || format!("`{key}.{field}`: {value} is not between 1s and 7d"),
                "for example `15m`",
            );
        }
        let mut uses: BTreeSet<Resource> = j.uses.iter().flatten().copied().collect();
        if process.database.is_some() || sql.is_some() {
            uses.insert(Resource::Database);
        }
        if uses.contains(&Resource::Database) && p.postgres.is_none() {
            self.fail(
                &format!("{key}.uses"),
                format!("`{key}` uses the database, but the profile has no `[postgres]`"),
                "remove `database` from `uses`, or declare `[postgres]`",
            );
        }
        Some(JobSpec {
            name: name.to_string(),
            process,
            service: j.service.clone(),
            hosts,
            trigger,
            timeout,
            duration,
            uses,
            sql,
        })
    }

    /// A `sql` job runs gen's SQL runner: it has no process of its own, and
    /// its database is the one the profile declares.
    fn sql_job(&mut self, p: &Profile, key: &str, j: &Job, sql: &SqlMigrations) -> SqlSpec {
        for (field, set) in process_keys(j) {
            if set {
                self.fail(
                    &format!("{key}.{field}"),
                    format!("`{key}.{field}`: a `sql` job runs gen's SQL runner, not a process of its own"),
                    "remove the key, or remove `sql` and give the job a `command`",
                );
            }
        }
        let at = format!("{key}.sql.database");
        match &p.postgres {
            None => self.fail(
                &at,
                format!("`{key}.sql`: the profile has no `[postgres]`"),
                "declare `[postgres]`, or remove the job",
            ),
            Some(pg) => {
                // `postgres.database` (the shorthand) or a `postgres.databases` table.
                let declared: Vec<String> = pg
                    .database
                    .iter()
                    .cloned()
                    .chain(pg.databases.iter().flat_map(|m| m.keys().cloned()))
                    .collect();
                self.check(
                    declared.contains(&sql.database),
                    &at,
                    || {
                        format!(
                            "`{at}`: `{}` is not a declared database ({})",
                            shown(&sql.database),
                            declared.join(", ")
                        )
                    },
                    "name one of `postgres.databases`",
                )
            }
        }
        self.sql_name(&at, &sql.database, "database");
        self.path(&format!("{key}.sql.directory"), &sql.directory);
        SqlSpec {
            database: sql.database.clone(),
            directory: sql.directory.clone(),
        }
    }

    /// The process of `service` with the job's command: the runtime, image,
    /// user, environment, secrets, database and Redis are the service's, and
    /// the job may not set them as well.
    fn inherited_process(
        &mut self,
        key: &str,
        name: &str,
        j: &Job,
        service: &str,
        services: &[ServiceSpec],
        command: &[String],
    ) -> Option<ServiceSpec> {
        let Some(s) = services.iter().find(|s| s.name == service) else {
            let known: Vec<&str> = services.iter().map(|s| s.name.as_str()).collect();
            self.fail(
                &format!("{key}.service"),
                format!(
                    "`{key}.service`: there is no service `{}` (services: {})",
                    shown(service),
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                ),
                "name a service of `[services]`, or give the job its own `runtime`, `image` or `command`",
            );
            return None;
        };
        // The command is the job's own; the rest of the process is the service's.
        for (field, set) in process_keys(j)
            .into_iter()
            .filter(|(field, _)| !matches!(*field, "service" | "command"))
        {
            if set {
                self.fail(
                    &format!("{key}.{field}"),
                    format!(
                        "`{key}.{field}`: the job inherits its `{field}` from service `{service}`"
                    ),
                    "remove the key, or remove `service` and give the job its whole process",
                );
            }
        }
        Some(ServiceSpec {
            name: name.to_string(),
            command: command.to_vec(),
            port: None,
            replicas: 1,
            healthcheck: None,
            cpus: None,
            memory: None,
            nofile: None,
            depends_on: Vec::new(),
            metrics_path: None,
            publish_public: false,
            ..s.clone()
        })
    }

    /// A job's own process, held to the rules of a service of its runtime.
    fn own_process(
        &mut self,
        p: &Profile,
        key: &str,
        name: &str,
        j: &Job,
        command: &[String],
    ) -> Option<ServiceSpec> {
        let Some(runtime) = j.runtime else {
            self.fail(
                key,
                format!("`{key}` needs a `runtime`, or a `service` to inherit its process from"),
                "add `service = \"<a service>\"`, or `runtime = \"container\"` with an `image`, or `runtime = \"native\"` with a `user`",
            );
            return None;
        };
        match runtime {
            Runtime::Container => {
                match &j.image {
                    None => self.fail(
                        key,
                        format!("`{key}`: a container job needs an `image`"),
                        "add `image = \"registry/name:tag\"` with a pinned tag, or `service = \"<a container service>\"`",
                    ),
                    Some(image) => {
                        if let Err(problem) = shapes::check_image(image) {
                            self.fail(
                                &format!("{key}.image"),
                                format!("`{key}.image`: `{}` {problem}", shown(image)),
                                "pin the image to a version tag or digest, e.g. `ghcr.io/acme/api:v1.2.1`",
                            );
                        }
                    }
                }
                if let Some(user) = &j.user {
                    self.check(
                        shapes::is_container_user(user),
                        &format!("{key}.user"),
                        || format!("`{key}.user`: `{}` is not `uid` or `uid:gid`", shown(user)),
                        "for example `1000:1000`",
                    );
                }
            }
            Runtime::Native => {
                if j.image.is_some() {
                    self.fail(
                        &format!("{key}.image"),
                        format!("`{key}.image`: a native job runs no image"),
                        "remove `image`, or set `runtime = \"container\"`",
                    );
                }
                if let Some(program) = command.first() {
                    self.path(&format!("{key}.command[0]"), program);
                }
                match &j.user {
                    None => self.fail(
                        key,
                        format!("`{key}`: a native job needs a `user` to run as"),
                        "jobs never run as root; add `user = \"<system user>\"`",
                    ),
                    Some(user) => self.check(
                        shapes::is_unix_user(user) && user != "root",
                        &format!("{key}.user"),
                        || {
                            format!(
                                "`{key}.user`: `{}` is not a valid non-root user name",
                                shown(user)
                            )
                        },
                        "lowercase letters, digits, `_` and `-`, starting with a letter; not `root`",
                    ),
                }
            }
        }
        let environment = j.environment.clone().unwrap_or_default();
        self.environment(key, &environment);
        let secrets = j.secrets.clone().unwrap_or_default();
        self.secrets(key, &secrets);
        let database = j.database.as_ref().map(|db| {
            self.sql_name(&format!("{key}.database.user"), &db.user, "database user");
            DatabaseUse {
                user: db.user.clone(),
                pooled: db.pooled.unwrap_or(p.pgbouncer.is_some()),
                connections: db.connections.unwrap_or(1),
            }
        });
        Some(ServiceSpec {
            name: name.to_string(),
            runtime,
            role: ServiceRole::Api,
            image: j.image.clone(),
            command: command.to_vec(),
            port: None,
            replicas: 1,
            user: j.user.clone(),
            working_directory: None,
            healthcheck: None,
            cpus: None,
            memory: None,
            nofile: None,
            read_only: true,
            tmpfs: vec!["/tmp".to_string()],
            environment,
            secrets,
            database,
            redis: j.redis.unwrap_or(false),
            depends_on: Vec::new(),
            metrics_path: None,
            hardening: true,
            publish_public: false,
            // A job listens nowhere: no host port.
            publish: crate::profile::Publish::None,
            options: Default::default(),
            extra: Default::default(),
        })
    }

    /// Exactly one of `before` and `schedule`, or neither; each `before`
    /// target a service or another job.
    fn trigger(
        &mut self,
        key: &str,
        name: &str,
        j: &Job,
        services: &[ServiceSpec],
        p: &Profile,
    ) -> Trigger {
        if let Some(schedule) = &j.schedule {
            if let Err(problem) = schedule::check_calendar(schedule) {
                self.fail(
                    &format!("{key}.schedule"),
                    format!(
                        "`{key}.schedule`: `{}` is not a systemd calendar expression: {problem}",
                        shown(schedule)
                    ),
                    "for example `*-*-* 04:00:00` (daily at 04:00 UTC) or `Sun 03:30`",
                );
            }
        }
        match (&j.before, &j.schedule) {
            (Some(_), Some(_)) => {
                self.fail(
                    &format!("{key}.schedule"),
                    format!("`{key}` has two triggers, `before` and `schedule`"),
                    "a job runs before services (`before`), on a timer (`schedule`), or when its definition changes (neither); split it into two jobs",
                );
                Trigger::OnChange
            }
            (Some(before), None) => {
                if before.is_empty() {
                    self.fail(
                        &format!("{key}.before"),
                        format!("`{key}.before` names nothing"),
                        "name the services the job must complete before, or remove `before`",
                    );
                }
                for (i, target) in before.iter().enumerate() {
                    let at = format!("{key}.before[{i}]");
                    if target == name {
                        self.job_order(
                            &at,
                            format!("`{at}`: job `{name}` cannot run before itself"),
                            "remove it from `before`",
                        );
                    } else if !services.iter().any(|s| s.name == *target)
                        && !p.jobs.contains_key(target)
                    {
                        self.fail(
                            &at,
                            format!("`{at}`: `{}` is neither a service nor a job", shown(target)),
                            "`before` names services of `[services]` or jobs of `[jobs]`",
                        );
                    }
                }
                Trigger::Before(before.clone())
            }
            (None, Some(schedule)) => Trigger::Schedule(schedule.clone()),
            (None, None) => Trigger::OnChange,
        }
    }

    /// The hosts that run the job. The candidates are `hosts`, or the hosts
    /// with `role`, or else where the first `before` target runs, or else
    /// where the inherited service runs; `placement = "one"` (the default)
    /// keeps the first by name.
    fn job_hosts(
        &mut self,
        key: &str,
        j: &Job,
        trigger: &Trigger,
        hosts: &[HostSpec],
        services: &[ServiceSpec],
        p: &Profile,
    ) -> Vec<String> {
        let on_role = |role: Role| -> Vec<String> {
            hosts
                .iter()
                .filter(|h| h.has(role))
                .map(|h| h.name.clone())
                .collect()
        };
        let service_hosts = |name: &str| -> Option<Vec<String>> {
            services
                .iter()
                .find(|s| s.name == name)
                .map(|s| on_role(s.role.host_role()))
        };
        let candidates: Vec<String> = match (&j.hosts, j.role) {
            (Some(_), Some(_)) => {
                self.fail(
                    &format!("{key}.role"),
                    format!("`{key}` has both `hosts` and `role`"),
                    "pin the job to `hosts`, or select hosts by `role`, not both",
                );
                Vec::new()
            }
            (Some(named), None) => {
                for (i, host) in named.iter().enumerate() {
                    self.check(
                        hosts.iter().any(|h| h.name == *host),
                        &format!("{key}.hosts[{i}]"),
                        || format!("`{key}.hosts[{i}]`: there is no host `{}`", shown(host)),
                        "name a host of `[hosts]`",
                    );
                }
                named.clone()
            }
            (None, Some(role)) => on_role(role),
            (None, None) => {
                let first_target = match trigger {
                    Trigger::Before(targets) => targets.first(),
                    _ => None,
                };
                let from_target = first_target.and_then(|t| {
                    service_hosts(t).or_else(|| {
                        let job = p.jobs.get(t)?;
                        match (&job.hosts, job.role) {
                            (Some(named), _) => Some(named.clone()),
                            (None, Some(role)) => Some(on_role(role)),
                            (None, None) => job.service.as_deref().and_then(service_hosts),
                        }
                    })
                });
                let from_sql = j.sql.as_ref().map(|_| on_role(Role::DatabasePrimary));
                match from_target
                    .or_else(|| j.service.as_deref().and_then(service_hosts))
                    .or(from_sql)
                {
                    Some(found) => found,
                    None => {
                        self.fail(
                            key,
                            format!("`{key}` runs nowhere: it has no `hosts`, `role`, `service` or `before` service to place it by"),
                            "add `hosts = [\"<host>\"]` or `role = \"<role>\"`",
                        );
                        return Vec::new();
                    }
                }
            }
        };
        let mut candidates: Vec<String> = candidates
            .into_iter()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if candidates.is_empty() {
            self.fail(
                key,
                format!("`{key}` runs nowhere: no host matches its placement"),
                "check `hosts`/`role`, or the role of the service it runs before",
            );
        }
        if j.placement.unwrap_or(Placement::One) == Placement::One {
            candidates.truncate(1);
        }
        candidates
    }

    /// The order `before` builds, on each host that runs a job: no cycle, no
    /// gate across runtimes, and a container job that `docker compose up`
    /// starts gates at least one container `up` starts — `up --wait` fails
    /// on an exited container nothing waits for (docker/compose#10596).
    fn job_order_checks(&mut self, jobs: &[JobSpec], hosts: &[HostSpec], services: &[ServiceSpec]) {
        let by_name: BTreeMap<&str, &JobSpec> = jobs.iter().map(|j| (j.name.as_str(), j)).collect();
        for job in jobs {
            let key = push_key("jobs", &job.name);
            let Trigger::Before(targets) = &job.trigger else {
                continue;
            };
            for host in &job.hosts {
                let mut gates_up = false;
                for (i, target) in targets.iter().enumerate() {
                    let at = format!("{key}.before[{i}]");
                    let (runtime, started_by_up, here) =
                        if let Some(s) = services.iter().find(|s| s.name == *target) {
                            let here = hosts
                                .iter()
                                .find(|h| h.name == *host)
                                .is_some_and(|h| h.has(s.role.host_role()));
                            (Some(s.runtime), s.runtime == Runtime::Container, Some(here))
                        } else if let Some(other) = by_name.get(target.as_str()) {
                            (
                                Some(other.runtime()),
                                other.in_compose_up(),
                                Some(other.hosts.contains(host)),
                            )
                        } else {
                            (None, false, None)
                        };
                    let Some(runtime) = runtime else { continue };
                    if runtime != job.runtime() {
                        self.job_order(
                            &at,
                            format!(
                                "`{at}`: {} job `{}` cannot gate {} `{target}`",
                                runtime_name(job.runtime()),
                                job.name,
                                runtime_name(runtime)
                            ),
                            "a container job gates containers (compose `depends_on`), a native job gates native units (`Before=`/`Requires=`); give the job the runtime of what it gates",
                        );
                        continue;
                    }
                    let is_job = by_name.contains_key(target.as_str());
                    if job.runtime() == Runtime::Container && is_job && !started_by_up {
                        self.job_order(
                            &at,
                            format!("`{at}`: container job `{target}` is run by its own timer or by hand, with `--no-deps`: nothing would wait for `{}`", job.name),
                            "a container job can gate services and other `before` jobs only",
                        );
                        continue;
                    }
                    if started_by_up && here == Some(true) {
                        gates_up = true;
                    }
                }
                if job.runtime() == Runtime::Container && !gates_up {
                    self.job_order(
                        &format!("{key}.before"),
                        format!("`{key}.before`: container job `{}` gates no container that `docker compose up` starts with it on `{host}`", job.name),
                        "name a container service that runs on the job's host: `docker compose up --wait` fails on an exited container nothing depends on (docker/compose#10596)",
                    );
                }
            }
        }
        // Cycles through `before`, reported once at the first job of each.
        let mut reported: BTreeSet<String> = BTreeSet::new();
        for job in jobs {
            let mut path = vec![job.name.as_str()];
            if let Some(cycle) = find_cycle(&by_name, &mut path) {
                let members: BTreeSet<String> = cycle.iter().map(|s| s.to_string()).collect();
                if members.iter().any(|m| reported.contains(m)) {
                    continue;
                }
                reported.extend(members);
                let key = format!("{}.before", push_key("jobs", &job.name));
                self.job_order(
                    &key,
                    format!(
                        "`{key}`: the jobs run before one another in a cycle: {}",
                        cycle.join(" → ")
                    ),
                    "remove one of the `before` entries: a cycle can never start",
                );
            }
        }
    }
}

/// The process of a `sql` job: the runner, as `postgres`, on the database.
fn sql_process(project: &str, name: &str, sql: &SqlSpec) -> ServiceSpec {
    ServiceSpec {
        name: name.to_string(),
        runtime: Runtime::Native,
        role: ServiceRole::Api,
        image: None,
        command: vec![
            sql_runner_path(project),
            sql.database.clone(),
            sql.directory.clone(),
        ],
        port: None,
        replicas: 1,
        user: Some("postgres".into()),
        working_directory: None,
        healthcheck: None,
        cpus: None,
        memory: None,
        nofile: None,
        read_only: true,
        tmpfs: Vec::new(),
        environment: BTreeMap::new(),
        secrets: BTreeMap::new(),
        database: None,
        redis: false,
        depends_on: Vec::new(),
        metrics_path: None,
        hardening: true,
        publish_public: false,
        publish: crate::profile::Publish::None,
        options: Default::default(),
        extra: Default::default(),
    }
}

fn runtime_name(runtime: Runtime) -> &'static str {
    match runtime {
        Runtime::Container => "container",
        Runtime::Native => "native",
    }
}

/// A cycle through `before` among jobs starting at the end of `path`, as the
/// names along it (the first repeated at the end).
fn find_cycle<'a>(
    jobs: &BTreeMap<&'a str, &'a JobSpec>,
    path: &mut Vec<&'a str>,
) -> Option<Vec<&'a str>> {
    let last = *path.last()?;
    let job = jobs.get(last)?;
    for target in job.before() {
        let Some((name, _)) = jobs.get_key_value(target.as_str()) else {
            continue;
        };
        if *name == path[0] {
            let mut cycle = path.clone();
            cycle.push(name);
            return Some(cycle);
        }
        if path.contains(name) || path.len() > jobs.len() {
            continue;
        }
        path.push(name);
        if let Some(cycle) = find_cycle(jobs, path) {
            return Some(cycle);
        }
        path.pop();
    }
    None
}

/// The keys of `jobs.<name>` that describe a process, and whether the job
/// sets each, in the order their errors are reported.
fn process_keys(j: &Job) -> [(&'static str, bool); 9] {
    [
        ("service", j.service.is_some()),
        ("runtime", j.runtime.is_some()),
        ("image", j.image.is_some()),
        ("command", j.command.is_some()),
        ("user", j.user.is_some()),
        ("environment", j.environment.is_some()),
        ("secrets", j.secrets.is_some()),
        ("database", j.database.is_some()),
        ("redis", j.redis.is_some()),
    ]
}
