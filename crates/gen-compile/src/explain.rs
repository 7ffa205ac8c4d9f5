//! `gen explain`: for one file of one host, the template and profile keys that
//! produced it and, for every derived value in it, the formula and inputs, so a
//! reviewer can see why a number changed.

use serde::Serialize;

use crate::catalog::{self, ArtifactSpec};
use crate::derive::{Derived, SettingOrigin};
use crate::model::{Deployment, HostSpec, LocationTarget};
use crate::profile::{Role, Runtime};
use crate::source::{KeyEntry, SourceMap};

#[derive(Debug, Serialize)]
pub struct Explanation {
    pub path: String,
    pub profile: String,
    pub host: String,
    pub template: String,
    pub profile_files: Vec<String>,
    pub mode: String,
    pub owner: String,
    pub group: String,
    pub sensitive: bool,
    pub activation: catalog::Activation,
    /// Profile keys the file depends on, with where each is set.
    pub inputs: Vec<KeyEntry>,
    /// Values computed rather than typed in.
    pub derived: Vec<DerivedValue>,
}

#[derive(Debug, Serialize)]
pub struct DerivedValue {
    pub name: String,
    pub value: String,
    pub formula: String,
    pub inputs: String,
}

/// The profile key prefixes an artifact reads.
pub fn input_keys(d: &Deployment, host: &HostSpec, spec: &ArtifactSpec) -> Vec<String> {
    let mut keys = vec!["project".to_string()];
    let host_key = format!("hosts.{}", host.name);
    let services_here = |runtime: Runtime| {
        d.services_on(host)
            .filter(move |s| s.runtime == runtime)
            .map(|s| format!("services.{}", s.name))
            .collect::<Vec<_>>()
    };
    match spec.template {
        "compose/compose.yaml.j2" => {
            keys.extend(services_here(Runtime::Container));
            keys.extend([
                format!("{host_key}.address"),
                "postgres.database".into(),
                "pgbouncer.port".into(),
                "redis.port".into(),
            ]);
        }
        "systemd/native.service.j2" => {
            keys.extend(spec.service.iter().map(|s| format!("services.{s}")))
        }
        "nginx/site.conf.j2" | "scripts/healthcheck.sh.j2" => {
            keys.push("sites".into());
            for site in &d.sites {
                for location in &site.locations {
                    if let LocationTarget::Service { service } = &location.target {
                        for field in ["port", "replicas", "role", "healthcheck"] {
                            let key = format!("services.{service}.{field}");
                            if !keys.contains(&key) {
                                keys.push(key);
                            }
                        }
                        if let Some(s) = d.service(service) {
                            for h in d.hosts_running(s) {
                                let key = format!("hosts.{}.address", h.name);
                                if !keys.contains(&key) {
                                    keys.push(key);
                                }
                            }
                        }
                    }
                }
            }
            keys.push("maintenance".into());
        }
        "postgres/postgresql.conf.j2" => {
            keys.extend([
                "postgres".into(),
                format!("{host_key}.hardware"),
                format!("{host_key}.address"),
            ]);
            if host.has(Role::DatabaseReplica) {
                keys.extend(d.primary().map(|p| format!("hosts.{}", p.name)));
            }
        }
        "postgres/pg_hba.conf.j2" => {
            keys.extend([
                "postgres.database".into(),
                "postgres.users".into(),
                "postgres.replication_user".into(),
                "postgres.tls_certificate".into(),
            ]);
            keys.extend(
                d.services
                    .iter()
                    .filter(|s| s.database.is_some())
                    .map(|s| format!("services.{}.database", s.name)),
            );
            keys.extend(
                d.hosts
                    .iter()
                    .filter(|h| {
                        h.has(Role::Pooler)
                            || h.has(Role::DatabaseReplica)
                            || h.has(Role::DatabasePrimary)
                    })
                    .map(|h| format!("hosts.{}.address", h.name)),
            );
        }
        "pgbouncer/pgbouncer.ini.j2" => {
            keys.extend([
                "pgbouncer".into(),
                "postgres.max_connections".into(),
                "postgres.workload".into(),
                "postgres.database".into(),
            ]);
            keys.extend(
                d.services
                    .iter()
                    .filter(|s| s.database.is_some())
                    .map(|s| format!("services.{}.database", s.name)),
            );
        }
        "redis/redis.conf.j2" => keys.extend([
            "redis".into(),
            format!("{host_key}.hardware.memory"),
            format!("{host_key}.address"),
        ]),
        "scripts/backup.sh.j2" | "systemd/backup.service.j2" | "systemd/backup.timer.j2" => {
            keys.extend(["backup".into(), "postgres.database".into()]);
        }
        "prometheus/prometheus.yml.j2" => {
            keys.push("monitoring".into());
            keys.extend(d.hosts.iter().map(|h| format!("hosts.{}.address", h.name)));
        }
        "prometheus/rules.yml.j2" => keys.push("alerts".into()),
        "cron/jobs.cron.j2" => keys.push("maintenance".into()),
        _ => {}
    }
    keys
}

/// Derived values that appear in the artifact.
pub fn derived_values(
    host: &HostSpec,
    spec: &ArtifactSpec,
    derived: &Derived,
) -> Vec<DerivedValue> {
    let mut out = Vec::new();
    match spec.template {
        "postgres/postgresql.conf.j2" => {
            for setting in derived
                .postgres
                .get(&host.name)
                .iter()
                .flat_map(|c| c.sections.iter())
                .flat_map(|s| s.settings.iter())
            {
                let (formula, inputs) = match &setting.origin {
                    SettingOrigin::Derived { formula, inputs } => {
                        (format!("PGTune: {formula}"), inputs.clone())
                    }
                    SettingOrigin::Override => (
                        "postgres.overrides".to_string(),
                        "set explicitly".to_string(),
                    ),
                    SettingOrigin::Topology { reason } => ("topology".to_string(), reason.clone()),
                    SettingOrigin::Policy { .. } => continue,
                };
                out.push(DerivedValue {
                    name: setting.name.clone(),
                    value: setting.value.clone(),
                    formula,
                    inputs,
                });
            }
        }
        "pgbouncer/pgbouncer.ini.j2" => {
            if let Some(pools) = &derived.pools {
                let b = &pools.budget;
                let available = format!(
                    "max_connections {} - {} reserved - {} WAL senders - {} maintenance - {} direct = {}",
                    b.max_connections, b.superuser_reserved, b.max_wal_senders, b.maintenance, b.direct, b.available
                );
                out.push(DerivedValue {
                    name: "default_pool_size".into(),
                    value: pools.default_pool_size.to_string(),
                    formula: "min(4/5 of the budget share, 4 per primary core, at least 10)".into(),
                    inputs: format!(
                        "{available}; share = {} / ({} poolers x {} pools)",
                        b.available, b.poolers, b.pools
                    ),
                });
                out.push(DerivedValue {
                    name: "reserve_pool_size".into(),
                    value: pools.reserve_pool_size.to_string(),
                    formula: "min(share - default_pool_size, default_pool_size / 4)".into(),
                    inputs: available.clone(),
                });
                out.push(DerivedValue {
                    name: "max_client_conn".into(),
                    value: pools.max_client_conn.to_string(),
                    formula: "25 per pooled service instance, rounded up to 100".into(),
                    inputs: "services with `database.pooled`".into(),
                });
            }
        }
        "redis/redis.conf.j2" => {
            if let Some(memory) = derived.redis_maxmemory {
                out.push(DerivedValue {
                    name: "maxmemory".into(),
                    value: memory.redis(),
                    formula: "redis.maxmemory, else host memory / 4".into(),
                    inputs: format!("host memory {}", host.memory),
                });
            }
        }
        "nginx/site.conf.j2" => {
            for (service, upstreams) in &derived.upstreams {
                out.push(DerivedValue {
                    name: format!("upstream {service}"),
                    value: upstreams
                        .iter()
                        .map(|u| format!("{}:{}", u.address, u.port))
                        .collect::<Vec<_>>()
                        .join(", "),
                    formula: "every host with the service's role x one port per replica".into(),
                    inputs: upstreams
                        .iter()
                        .map(|u| u.host.clone())
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
        }
        _ => {}
    }
    out
}

pub fn explain(
    d: &Deployment,
    derived: &Derived,
    sources: &SourceMap,
    host: &HostSpec,
    spec: &ArtifactSpec,
) -> Explanation {
    let mut inputs = Vec::new();
    for key in input_keys(d, host, spec) {
        for entry in sources.entries_under(&key) {
            if !inputs.contains(&entry) {
                inputs.push(entry);
            }
        }
    }
    Explanation {
        path: spec.path.clone(),
        profile: d.profile.clone(),
        host: host.name.clone(),
        template: spec.template.to_string(),
        profile_files: sources
            .files
            .iter()
            .rev()
            .map(|f| f.name.to_string())
            .collect(),
        mode: gen_target::manifest::mode_string(spec.mode),
        owner: spec.owner.to_string(),
        group: spec.group.to_string(),
        sensitive: spec.sensitive,
        activation: spec.activation.clone(),
        inputs,
        derived: derived_values(host, spec, derived),
    }
}

/// The human form.
pub fn render_human(e: &Explanation) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} on host `{}` of profile `{}`",
        e.path, e.host, e.profile
    );
    let _ = writeln!(out, "  template    templates/{}", e.template);
    let _ = writeln!(out, "  profile     {}", e.profile_files.join(" extends "));
    let _ = writeln!(
        out,
        "  file        mode {} owner {}:{}{}",
        e.mode,
        e.owner,
        e.group,
        if e.sensitive {
            ", holds or references credentials"
        } else {
            ""
        }
    );
    let action = match &e.activation {
        catalog::Activation::None => "nothing (read at its next use)".to_string(),
        catalog::Activation::Reload { unit } => format!("systemctl reload {unit}"),
        catalog::Activation::Restart { unit } => format!("systemctl restart {unit}"),
        catalog::Activation::DaemonReload { unit } => {
            format!("systemctl daemon-reload, then restart {unit}")
        }
    };
    let _ = writeln!(out, "  on change   {action}");
    if !e.inputs.is_empty() {
        let _ = writeln!(out, "\nprofile keys:");
        let width = e.inputs.iter().map(|i| i.key.len()).max().unwrap_or(0);
        for input in &e.inputs {
            let _ = writeln!(
                out,
                "  {:width$} = {}  ({}:{})",
                input.key, input.value, input.file, input.line
            );
        }
    }
    if !e.derived.is_empty() {
        let _ = writeln!(out, "\nderived values:");
        for d in &e.derived {
            let _ = writeln!(
                out,
                "  {} = {}  <- {} ({})",
                d.name, d.value, d.formula, d.inputs
            );
        }
    }
    out
}
