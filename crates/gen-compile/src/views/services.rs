//! Views of the files that run a host's services: the compose file and its
//! unit for containers, one systemd unit per native service.

use std::collections::BTreeMap;

use serde::Serialize;

use super::Scope;
use crate::catalog;
use crate::derive::environment::service_environment;
use crate::escape;
use crate::model::{Deployment, HostSpec, ServiceSpec};
use crate::profile::{Publish, Runtime};

#[derive(Serialize)]
pub struct ComposeFile<'a> {
    project: &'a str,
    host: &'a HostSpec,
    containers: Vec<Container<'a>>,
    /// Container jobs, as compose services `job-<name>` (`compose/job.j2`).
    jobs: Vec<super::jobs::ComposeJob<'a>>,
    /// Top-level `secrets:`: every secret of the containers, once, by name.
    compose_secrets: Vec<NamedPath<'a>>,
    /// Top-level `volumes:`: the named volumes of the containers and of the
    /// containerised data tier, once each.
    named_volumes: Vec<String>,
    /// The `frontend` network's `ipam.config.subnet` (`network.container_subnet`).
    container_subnet: Option<String>,
    /// PostgreSQL and Redis when they run in this compose file.
    data_services: Vec<super::datatier::DataService>,
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
    /// The container options as compose spells them (`views::container`).
    options: super::container::ComposeOptions,
    /// `depends_on`: the services it names with their condition, the
    /// data-tier services on this host it uses (healthy), and the container
    /// jobs that run before it (completed; `derive::jobs::compose_depends_on`).
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
    if let Some(path) = super::datatier::superuser_secret(scope) {
        compose_secrets.push(NamedPath {
            name: super::datatier::SUPERUSER_SECRET,
            path,
        });
    }
    compose_secrets.sort_by(|a, b| a.name.cmp(b.name));
    let data_services = super::datatier::services(scope);
    let mut named_volumes: Vec<String> = containers
        .iter()
        .flat_map(|c| c.spec.options.volumes.iter())
        .filter(|v| !v.bind)
        .map(|v| v.source.clone())
        .chain(super::datatier::volumes(&data_services))
        .collect();
    named_volumes.sort_unstable();
    named_volumes.dedup();
    ComposeFile {
        named_volumes,
        project: &d.project,
        host: scope.host,
        containers,
        jobs,
        compose_secrets,
        container_subnet: d.container_subnet.map(|c| c.to_string()),
        data_services,
    }
}

fn container<'a>(scope: &Scope<'a>, s: &'a ServiceSpec) -> Container<'a> {
    let publish = s.port.and_then(|port| {
        let last = port.saturating_add(u16::try_from(s.replicas.saturating_sub(1)).unwrap_or(0));
        let range = if last == port {
            port.to_string()
        } else {
            format!("{port}-{last}")
        };
        match s.publish {
            Publish::Public => Some(format!("{range}:{port}")),
            Publish::Loopback => Some(format!("127.0.0.1:{range}:{port}")),
            Publish::Private => Some(format!("{}:{range}:{port}", scope.host.address)),
            Publish::None => None,
        }
    });
    let mut networks = vec!["backend"];
    // A port nothing publishes (`publish = "none"`) is reached over `backend` only.
    if !s.host_ports().is_empty() || s.database.is_some() || s.redis {
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
        options: super::container::compose_options(scope, s),
        depends_on: crate::derive::jobs::compose_depends_on(
            scope.d,
            scope.host,
            &s.name,
            &s.options
                .dependencies
                .iter()
                .map(|(name, c)| (name.clone(), c.compose()))
                .chain(
                    super::datatier::depends_on(scope, s)
                        .into_iter()
                        .map(|name| (name.to_string(), "service_healthy")),
                )
                .collect::<Vec<_>>(),
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
    /// `TimeoutStopSec=` (`stop_grace_period`, default 30s).
    timeout_stop: String,
    /// `extra` as `[Service]` lines.
    extra_lines: Vec<String>,
    /// Job units that run before the service (`Requires=` and `After=`).
    required_jobs: Vec<String>,
}

/// What a systemd unit needs of a native process (a service's or a job's):
/// its environment and command as systemd quotes them, and how much of
/// `/home` its sandbox may see.
pub(super) struct NativeProcess {
    pub systemd_environment: Vec<String>,
    pub exec_start: String,
    /// `ProtectHome=`: `read-only` when the program or its working directory
    /// lives under `/home`, else `yes`.
    pub protect_home: &'static str,
}

pub(super) fn native_process(d: &Deployment, s: &ServiceSpec) -> NativeProcess {
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
    NativeProcess {
        systemd_environment,
        exec_start,
        protect_home: if under_home { "read-only" } else { "yes" },
    }
}

pub fn native_unit<'a>(scope: &Scope<'a>) -> Option<NativeUnit<'a>> {
    let d = scope.d;
    let s = scope.spec.service.as_deref().and_then(|n| d.service(n))?;
    let NativeProcess {
        systemd_environment,
        exec_start,
        protect_home,
    } = native_process(d, s);
    Some(NativeUnit {
        project: &d.project,
        item: NativeService {
            name: &s.name,
            spec: s,
            systemd_environment,
            exec_start,
            protect_home,
            memory_systemd: s.memory.map(|m| m.systemd()),
            cpu_quota: s.cpus.map(|c| format!("{}%", (c * 100.0).round() as u64)),
            timeout_stop: s
                .options
                .stop_grace_period
                .map_or_else(|| "30s".to_string(), |d| d.to_string()),
            extra_lines: crate::validate::extra::systemd_lines(&s.extra),
            required_jobs: crate::derive::jobs::required_units(d, scope.host, &s.name),
        },
    })
}
