//! Render stage support: the one table of artifact kinds. For each kind it
//! says which template renders it, where the file lives on the host, its mode
//! and owner, whether it holds or points at credentials, and what the host must
//! do when it changes. Which hosts get which artifact is decided here and
//! nowhere else.

pub use gen_target::{Activation, Validator};

use crate::model::{Deployment, HostSpec, ServiceSpec};
use crate::profile::{Role, Runtime};

/// One file to render for one host.
#[derive(Debug, Clone)]
pub struct ArtifactSpec {
    /// Template name under `templates/`.
    pub template: &'static str,
    /// Absolute path on the host.
    pub path: String,
    pub mode: u32,
    pub owner: &'static str,
    pub group: &'static str,
    /// Holds credentials: never printed in diffs. gen writes credentials into
    /// no file (profiles only reference credential files, which the host
    /// provides), so every artifact it renders says `false`; files that
    /// reference credentials get restrictive modes instead and stay reviewable.
    /// The manifest keeps the flag so `gen diff` and `gen apply` hide any file
    /// a manifest marks, as they hide files readable by their owner only.
    pub sensitive: bool,
    pub activation: Activation,
    pub validator: Validator,
    /// The service this artifact is for, when there is one per service.
    pub service: Option<String>,
}

fn artifact(
    template: &'static str,
    path: String,
    validator: Validator,
    activation: Activation,
) -> ArtifactSpec {
    ArtifactSpec {
        template,
        path,
        mode: 0o644,
        owner: "root",
        group: "root",
        sensitive: false,
        activation,
        validator,
        service: None,
    }
}

impl ArtifactSpec {
    fn mode(mut self, mode: u32) -> Self {
        self.mode = mode;
        self
    }

    fn owned_by(mut self, owner: &'static str, group: &'static str) -> Self {
        self.owner = owner;
        self.group = group;
        self
    }

    fn for_service(mut self, service: &ServiceSpec) -> Self {
        self.service = Some(service.name.clone());
        self
    }
}

/// Unit name of a native service.
pub fn native_unit(project: &str, service: &str) -> String {
    format!("{project}-{service}.service")
}

pub fn compose_unit(project: &str) -> String {
    format!("{project}-compose.service")
}

pub fn compose_path(project: &str) -> String {
    format!("/etc/{project}/compose.yaml")
}

/// Directory node_exporter's textfile collector reads (Debian's default).
pub const TEXTFILE_DIR: &str = "/var/lib/prometheus/node-exporter";

/// Every artifact `host` needs, in a stable order.
pub fn artifacts_for(d: &Deployment, host: &HostSpec) -> Vec<ArtifactSpec> {
    let p = d.project.as_str();
    let mut out = Vec::new();
    let services: Vec<&ServiceSpec> = d.services_on(host).collect();

    let containers: Vec<&&ServiceSpec> = services
        .iter()
        .filter(|s| s.runtime == Runtime::Container)
        .collect();
    if !containers.is_empty() {
        let unit = compose_unit(p);
        let compose = artifact(
            "compose/compose.yaml.j2",
            compose_path(p),
            Validator::Compose,
            Activation::Restart { unit: unit.clone() },
        );
        // It names the secret files the containers read: root-only.
        out.push(compose.mode(0o640));
        out.push(artifact(
            "systemd/compose.service.j2",
            format!("/etc/systemd/system/{unit}"),
            Validator::Systemd,
            Activation::DaemonReload { unit },
        ));
    }
    for service in services.iter().filter(|s| s.runtime == Runtime::Native) {
        let unit = native_unit(p, &service.name);
        let spec = artifact(
            "systemd/native.service.j2",
            format!("/etc/systemd/system/{unit}"),
            Validator::Systemd,
            Activation::DaemonReload { unit },
        )
        .for_service(service);
        out.push(spec);
    }

    if host.has(Role::LoadBalancer) && !d.sites.is_empty() {
        out.push(artifact(
            "nginx/site.conf.j2",
            format!("/etc/nginx/sites-enabled/{p}.conf"),
            Validator::Nginx,
            Activation::Reload {
                unit: "nginx.service".into(),
            },
        ));
        out.push(
            artifact(
                "scripts/healthcheck.sh.j2",
                format!("/usr/local/sbin/{p}-healthcheck"),
                Validator::Shell,
                Activation::None,
            )
            .mode(0o755),
        );
    }

    if let Some(pg) = &d.postgres {
        if host.has(Role::DatabasePrimary) || host.has(Role::DatabaseReplica) {
            let unit = format!("postgresql@{}-main.service", pg.version);
            let dir = format!("/etc/postgresql/{}/main", pg.version);
            out.push(
                artifact(
                    "postgres/postgresql.conf.j2",
                    format!("{dir}/postgresql.conf"),
                    Validator::Postgresql,
                    Activation::Restart { unit: unit.clone() },
                )
                .owned_by("postgres", "postgres"),
            );
            out.push(
                artifact(
                    "postgres/pg_hba.conf.j2",
                    format!("{dir}/pg_hba.conf"),
                    Validator::PgHba,
                    Activation::Reload { unit },
                )
                .mode(0o640)
                .owned_by("postgres", "postgres"),
            );
        }
        if host.has(Role::DatabasePrimary) && d.backup.is_some() {
            out.push(
                artifact(
                    "scripts/backup.sh.j2",
                    format!("/usr/local/sbin/{p}-backup"),
                    Validator::Shell,
                    Activation::None,
                )
                .mode(0o750),
            );
            let service = format!("{p}-backup.service");
            let timer = format!("{p}-backup.timer");
            out.push(artifact(
                "systemd/backup.service.j2",
                format!("/etc/systemd/system/{service}"),
                Validator::Systemd,
                Activation::DaemonReload {
                    unit: timer.clone(),
                },
            ));
            out.push(artifact(
                "systemd/backup.timer.j2",
                format!("/etc/systemd/system/{timer}"),
                Validator::Systemd,
                Activation::DaemonReload { unit: timer },
            ));
        }
    }

    if d.pgbouncer.is_some() && host.has(Role::Pooler) {
        out.push(
            artifact(
                "pgbouncer/pgbouncer.ini.j2",
                "/etc/pgbouncer/pgbouncer.ini".into(),
                Validator::Pgbouncer,
                Activation::Reload {
                    unit: "pgbouncer.service".into(),
                },
            )
            .mode(0o640)
            .owned_by("postgres", "postgres"),
        );
    }

    if d.redis.is_some() && host.has(Role::Cache) {
        let spec = artifact(
            "redis/redis.conf.j2",
            "/etc/redis/redis.conf".into(),
            Validator::Redis,
            Activation::Restart {
                unit: "redis-server.service".into(),
            },
        )
        .mode(0o640)
        .owned_by("redis", "redis");
        out.push(spec);
    }

    if host.has(Role::Monitoring) {
        out.push(artifact(
            "prometheus/prometheus.yml.j2",
            "/etc/prometheus/prometheus.yml".into(),
            Validator::PrometheusConfig,
            Activation::Reload {
                unit: "prometheus.service".into(),
            },
        ));
        out.push(artifact(
            "prometheus/rules.yml.j2",
            format!("/etc/prometheus/rules/{p}.yml"),
            Validator::PrometheusRules,
            Activation::Reload {
                unit: "prometheus.service".into(),
            },
        ));
    }

    if d.rollout.is_some() {
        out.push(
            artifact(
                "rollout/gen-pull.sh.j2",
                "/usr/local/sbin/gen-pull".into(),
                Validator::Shell,
                Activation::None,
            )
            .mode(0o755),
        );
        out.push(artifact(
            "rollout/gen-pull.service.j2",
            "/etc/systemd/system/gen-pull.service".into(),
            Validator::Systemd,
            Activation::DaemonReload {
                unit: "gen-pull.timer".into(),
            },
        ));
        out.push(artifact(
            "rollout/gen-pull.timer.j2",
            "/etc/systemd/system/gen-pull.timer".into(),
            Validator::Systemd,
            Activation::DaemonReload {
                unit: "gen-pull.timer".into(),
            },
        ));
    }

    if has_cron_jobs(d, host) {
        out.push(artifact(
            "cron/jobs.cron.j2",
            format!("/etc/cron.d/{p}"),
            Validator::Cron,
            Activation::None,
        ));
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

fn has_cron_jobs(d: &Deployment, host: &HostSpec) -> bool {
    (host.has(Role::DatabasePrimary) && d.postgres.is_some())
        || (host.has(Role::LoadBalancer) && !d.sites.is_empty())
}
