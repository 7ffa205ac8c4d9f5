//! Views of the files that run a host's services: the compose file and its
//! unit for containers, one systemd unit per native service.

use std::collections::BTreeMap;

use serde::Serialize;

use super::Scope;
use crate::catalog;
use crate::derive::environment::service_environment;
use crate::escape;
use crate::model::{HostSpec, ServiceSpec};
use crate::profile::Runtime;

#[derive(Serialize)]
pub struct ComposeFile<'a> {
    project: &'a str,
    host: &'a HostSpec,
    containers: Vec<Container<'a>>,
    /// Container jobs, as compose services `job-<name>` (`compose/job.j2`).
    jobs: Vec<super::jobs::ComposeJob<'a>>,
    /// Top-level `secrets:`: every secret of the containers, once, by name.
    compose_secrets: Vec<NamedPath<'a>>,
}

#[derive(Serialize)]
struct NamedPath<'a> {
    name: &'a str,
    path: &'a str,
}

#[derive(Serialize)]
struct Container<'a> {
    name: &'a str,
    spec: &'a ServiceSpec,
    /// The profile's environment plus what gen derives (see `derive::environment`).
    environment: BTreeMap<String, String>,
    /// The `ports:` entry: `<address>:<first>-<last>:<port>`, or without the
    /// address when the service publishes on every interface.
    publish: Option<String>,
    /// `backend` always; `frontend` when it is reached or reaches other hosts.
    networks: Vec<&'static str>,
    /// The healthcheck `test:` array.
    healthcheck_test: Vec<String>,
    /// The memory limit as compose spells it (`2g`).
    memory: Option<String>,
    /// `depends_on`: the services it names, healthy, and the container jobs
    /// that run before it, completed (`derive::jobs::compose_depends_on`).
    depends_on: Vec<crate::derive::jobs::Dependency>,
}

pub fn compose_file<'a>(scope: &Scope<'a>) -> ComposeFile<'a> {
    let d = scope.d;
    let containers: Vec<Container<'a>> = d
        .services_on(scope.host)
        .filter(|s| s.runtime == Runtime::Container)
        .map(|s| container(scope, s))
        .collect();
    let jobs = super::jobs::compose_jobs(d, scope.host);
    let mut compose_secrets: Vec<NamedPath<'a>> = Vec::new();
    let job_specs = d
        .jobs_on(scope.host)
        .filter(|j| j.runtime() == Runtime::Container)
        .map(|j| &j.process);
    for spec in containers.iter().map(|c| c.spec).chain(job_specs) {
        for (name, path) in &spec.secrets {
            if !compose_secrets.iter().any(|s| s.name == name) {
                compose_secrets.push(NamedPath { name, path });
            }
        }
    }
    compose_secrets.sort_by(|a, b| a.name.cmp(b.name));
    ComposeFile {
        project: &d.project,
        host: scope.host,
        containers,
        jobs,
        compose_secrets,
    }
}

fn container<'a>(scope: &Scope<'a>, s: &'a ServiceSpec) -> Container<'a> {
    let publish = s.port.map(|port| {
        let last = port.saturating_add(u16::try_from(s.replicas.saturating_sub(1)).unwrap_or(0));
        let range = if last == port {
            port.to_string()
        } else {
            format!("{port}-{last}")
        };
        if s.publish_public {
            format!("{range}:{port}")
        } else {
            format!("{}:{range}:{port}", scope.host.address)
        }
    });
    let mut networks = vec!["backend"];
    if s.port.is_some() || s.database.is_some() || s.redis {
        networks.push("frontend");
    }
    let healthcheck_test = match &s.healthcheck {
        Some(h) => match (&h.http, s.port) {
            (Some(path), Some(port)) => vec![
                "CMD".into(),
                "curl".into(),
                "--fail".into(),
                "--silent".into(),
                "--show-error".into(),
                "--output".into(),
                "/dev/null".into(),
                format!("http://127.0.0.1:{port}{path}"),
            ],
            _ => std::iter::once("CMD".to_string())
                .chain(h.command.iter().cloned())
                .collect(),
        },
        None => Vec::new(),
    };
    Container {
        name: &s.name,
        spec: s,
        environment: service_environment(scope.d, s),
        publish,
        networks,
        healthcheck_test,
        memory: s.memory.map(|m| m.compose()),
        depends_on: crate::derive::jobs::compose_depends_on(
            scope.d,
            scope.host,
            &s.name,
            &s.depends_on,
        ),
    }
}

#[derive(Serialize)]
pub struct ComposeUnit<'a> {
    project: &'a str,
    compose_path: String,
}

pub fn compose_unit<'a>(scope: &Scope<'a>) -> ComposeUnit<'a> {
    ComposeUnit {
        project: &scope.d.project,
        compose_path: catalog::compose_path(&scope.d.project),
    }
}

#[derive(Serialize)]
pub struct NativeUnit<'a> {
    project: &'a str,
    item: NativeService<'a>,
}

#[derive(Serialize)]
struct NativeService<'a> {
    name: &'a str,
    spec: &'a ServiceSpec,
    /// `Environment=` arguments, quoted for systemd.
    systemd_environment: Vec<String>,
    /// The `ExecStart=` line, quoted for systemd.
    exec_start: String,
    /// `ProtectHome=`: `read-only` when the service lives under /home.
    protect_home: &'static str,
    /// `MemoryMax=` as systemd spells it (`2G`).
    memory_systemd: Option<String>,
    /// `CPUQuota=`: cpus × 100, as a percentage.
    cpu_quota: Option<String>,
    /// Job units that run before the service (`Requires=` and `After=`).
    required_jobs: Vec<String>,
}

pub fn native_unit<'a>(scope: &Scope<'a>) -> Option<NativeUnit<'a>> {
    let d = scope.d;
    let s = scope.spec.service.as_deref().and_then(|n| d.service(n))?;
    let systemd_environment = service_environment(d, s)
        .iter()
        .map(|(k, v)| {
            // `%d` is systemd's credentials directory specifier and must stay unescaped.
            if let Some(name) = v.strip_prefix("%d/").filter(|n| s.secrets.contains_key(*n)) {
                format!("\"{k}=%d/{name}\"")
            } else {
                escape::systemd_environment(k, v)
            }
        })
        .collect();
    let exec_start = s
        .command
        .iter()
        .map(|a| escape::systemd_quote(a))
        .collect::<Vec<_>>()
        .join(" ");
    let under_home = s.command.first().is_some_and(|c| c.starts_with("/home/"))
        || s.working_directory
            .as_deref()
            .is_some_and(|w| w.starts_with("/home/"));
    Some(NativeUnit {
        project: &d.project,
        item: NativeService {
            name: &s.name,
            spec: s,
            systemd_environment,
            exec_start,
            protect_home: if under_home { "read-only" } else { "yes" },
            memory_systemd: s.memory.map(|m| m.systemd()),
            cpu_quota: s.cpus.map(|c| format!("{}%", (c * 100.0).round() as u64)),
            required_jobs: crate::derive::jobs::required_units(d, scope.host, &s.name),
        },
    })
}
