//! Render stage support: which artifacts a host gets, where each one lives on
//! the host and what the host must do when it changes. The fixed facts of each
//! kind (template, validator, mode, owner) are in [`ArtifactKind`]'s table;
//! this module places the kinds on hosts, one exhaustive match.

pub use gen_target::{Activation, Validator};

pub use crate::artifact_kind::ArtifactKind;
use crate::derive::datatier;
use crate::model::{Deployment, HostSpec, ServiceSpec};
use crate::profile::{Role, Runtime};

/// One file to render for one host.
#[derive(Debug, Clone)]
pub struct ArtifactSpec {
    pub kind: ArtifactKind,
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
    /// The job this artifact is for, when there is one per job.
    pub job: Option<String>,
}

impl ArtifactSpec {
    fn new(kind: ArtifactKind, path: String, activation: Activation) -> ArtifactSpec {
        let entry = kind.entry();
        ArtifactSpec {
            kind,
            template: entry.template,
            path,
            mode: entry.mode,
            owner: entry.owner,
            group: entry.group,
            sensitive: false,
            activation,
            validator: entry.validator,
            service: None,
            job: None,
        }
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

/// The rules file Prometheus loads, as `prometheus.yml` names it.
pub fn rules_path(project: &str) -> String {
    format!("/etc/prometheus/rules/{project}.yml")
}

fn unit_path(unit: &str) -> String {
    format!("/etc/systemd/system/{unit}")
}

fn reload(unit: &str) -> Activation {
    Activation::Reload { unit: unit.into() }
}

fn restart(unit: &str) -> Activation {
    Activation::Restart { unit: unit.into() }
}

fn daemon_reload(unit: &str) -> Activation {
    Activation::DaemonReload { unit: unit.into() }
}

/// The PostgreSQL cluster's configuration directory and unit (Debian's layout).
fn postgres_cluster(version: u32) -> (String, String) {
    (
        format!("/etc/postgresql/{version}/main"),
        format!("postgresql@{version}-main.service"),
    )
}

/// Facts about a host that decide which kinds it gets.
struct Placement<'a> {
    d: &'a Deployment,
    host: &'a HostSpec,
    services: Vec<&'a ServiceSpec>,
}

impl Placement<'_> {
    /// Whether the host runs containers: a container service or job.
    fn containers(&self) -> bool {
        self.runs(Runtime::Container).next().is_some()
            || self
                .d
                .jobs_on(self.host)
                .any(|j| j.runtime() == Runtime::Container)
    }

    fn runs(&self, runtime: Runtime) -> impl Iterator<Item = &ServiceSpec> {
        self.services
            .iter()
            .copied()
            .filter(move |s| s.runtime == runtime)
    }

    fn load_balancer(&self) -> bool {
        self.d.serves_sites(self.host)
    }

    fn database(&self) -> bool {
        self.d.postgres.is_some()
            && (self.host.has(Role::DatabasePrimary) || self.host.has(Role::DatabaseReplica))
    }

    fn primary(&self) -> bool {
        self.d.postgres.is_some() && self.host.has(Role::DatabasePrimary)
    }

    fn replica(&self) -> bool {
        self.d.postgres.is_some()
            && self.host.has(Role::DatabaseReplica)
            && !self.host.has(Role::DatabasePrimary)
    }

    fn backup(&self) -> bool {
        self.d.postgres.is_some() && self.host.has(Role::DatabasePrimary) && self.d.backup.is_some()
    }

    fn cron(&self) -> bool {
        (self.host.has(Role::DatabasePrimary) && self.d.postgres.is_some()) || self.load_balancer()
    }
}

/// The artifacts of one kind on `host`: none, one, or one per service.
fn place(kind: ArtifactKind, at: &Placement<'_>) -> Vec<ArtifactSpec> {
    use ArtifactKind as K;
    let p = at.d.project.as_str();
    let one =
        |path: String, activation: Activation| vec![ArtifactSpec::new(kind, path, activation)];
    let when = |present: bool, path: &dyn Fn() -> (String, Activation)| {
        if present {
            let (path, activation) = path();
            one(path, activation)
        } else {
            Vec::new()
        }
    };
    let pg_version = at.d.postgres.as_ref().map_or(0, |pg| pg.version);
    let compose = at.containers() || datatier::any_container(at.d, at.host);
    // A containerised data tier's files: gen's directory, root-owned and
    // world-readable (the image's postgres/redis user is not a host user),
    // and a change restarts that compose service only.
    let data_file = |path: String, service: &str| {
        let mut spec = ArtifactSpec::new(
            kind,
            path,
            Activation::ComposeService {
                project: p.to_string(),
                service: service.to_string(),
            },
        );
        spec.mode = 0o644;
        spec.owner = "root";
        spec.group = "root";
        vec![spec]
    };
    let pg_container = datatier::postgres_container(at.d, at.host);
    let pg_dir = datatier::postgres_config_dir(p, pg_version);
    match kind {
        K::ComposeFile => when(compose, &|| (compose_path(p), restart(&compose_unit(p)))),
        K::ComposeUnit => when(compose, &|| {
            let unit = compose_unit(p);
            (unit_path(&unit), daemon_reload(&unit))
        }),
        K::NativeUnit => at
            .runs(Runtime::Native)
            .map(|service| {
                let unit = native_unit(p, &service.name);
                let mut spec = ArtifactSpec::new(kind, unit_path(&unit), daemon_reload(&unit));
                spec.service = Some(service.name.clone());
                spec
            })
            .collect(),
        K::NginxSite => when(at.load_balancer(), &|| {
            (
                format!("/etc/nginx/sites-enabled/{p}.conf"),
                reload("nginx.service"),
            )
        }),
        K::HealthcheckScript => when(at.load_balancer(), &|| {
            (format!("/usr/local/sbin/{p}-healthcheck"), Activation::None)
        }),
        K::HealthGate => when(
            !crate::derive::health::gate_probes(at.d, at.host).is_empty(),
            &|| (format!("/usr/local/sbin/{p}-health-gate"), Activation::None),
        ),
        K::PostgresqlConf if pg_container => data_file(
            format!("{pg_dir}/postgresql.conf"),
            datatier::POSTGRES_SERVICE,
        ),
        K::PgHba if pg_container => {
            data_file(format!("{pg_dir}/pg_hba.conf"), datatier::POSTGRES_SERVICE)
        }
        K::RedisConf if datatier::redis_container(at.d, at.host) => data_file(
            format!("{}/redis.conf", datatier::redis_config_dir(p)),
            datatier::REDIS_SERVICE,
        ),
        K::PostgresqlConf => when(at.database(), &|| {
            let (dir, unit) = postgres_cluster(pg_version);
            (format!("{dir}/postgresql.conf"), restart(&unit))
        }),
        K::PgHba => when(at.database(), &|| {
            let (dir, unit) = postgres_cluster(pg_version);
            (format!("{dir}/pg_hba.conf"), reload(&unit))
        }),
        K::BackupScript => when(at.backup(), &|| {
            (format!("/usr/local/sbin/{p}-backup"), Activation::None)
        }),
        // A changed backup service takes effect through its timer.
        K::BackupService => when(at.backup(), &|| {
            (
                unit_path(&format!("{p}-backup.service")),
                daemon_reload(&format!("{p}-backup.timer")),
            )
        }),
        K::BackupTimer => when(at.backup(), &|| {
            let timer = format!("{p}-backup.timer");
            (unit_path(&timer), daemon_reload(&timer))
        }),
        K::PgbouncerIni => when(
            at.d.pgbouncer.is_some() && at.host.has(Role::Pooler),
            &|| {
                (
                    "/etc/pgbouncer/pgbouncer.ini".into(),
                    reload("pgbouncer.service"),
                )
            },
        ),
        K::RedisConf => when(at.d.redis.is_some() && at.host.has(Role::Cache), &|| {
            (
                "/etc/redis/redis.conf".into(),
                restart("redis-server.service"),
            )
        }),
        K::PrometheusConfig => when(at.host.has(Role::Monitoring), &|| {
            (
                "/etc/prometheus/prometheus.yml".into(),
                reload("prometheus.service"),
            )
        }),
        K::PrometheusRules => when(at.host.has(Role::Monitoring), &|| {
            (rules_path(p), reload("prometheus.service"))
        }),
        K::PullScript => when(at.d.rollout.is_some(), &|| {
            ("/usr/local/sbin/gen-pull".into(), Activation::None)
        }),
        // A changed pull service takes effect through its timer.
        K::PullService => when(at.d.rollout.is_some(), &|| {
            (
                unit_path("gen-pull.service"),
                daemon_reload("gen-pull.timer"),
            )
        }),
        K::PullTimer => when(at.d.rollout.is_some(), &|| {
            (unit_path("gen-pull.timer"), daemon_reload("gen-pull.timer"))
        }),
        K::CronJobs => when(at.cron(), &|| {
            (format!("/etc/cron.d/{p}"), Activation::None)
        }),
        // A scheduled job's unit takes effect through its timer; any other
        // job runs again when its unit changes.
        K::JobUnit => {
            at.d.jobs_on(at.host)
                .filter(|j| j.has_unit())
                .map(|job| {
                    let unit = crate::derive::jobs::unit(p, &job.name);
                    let activation = match job.schedule() {
                        Some(_) => daemon_reload(&crate::derive::jobs::timer(p, &job.name)),
                        None => daemon_reload(&unit),
                    };
                    let mut spec = ArtifactSpec::new(kind, unit_path(&unit), activation);
                    spec.job = Some(job.name.clone());
                    spec
                })
                .collect()
        }
        // A new ruleset is loaded by running the unit again (`nft -f` of
        // the whole table, atomically).
        K::FirewallRules => when(crate::derive::firewall::applies(at.d, at.host), &|| {
            (
                crate::derive::firewall::rules_path(p),
                restart(&crate::derive::firewall::unit_name(p)),
            )
        }),
        K::RestoreTestScript => when(crate::derive::restore_test::runs_on(at.d, at.host), &|| {
            (
                crate::derive::restore_test::script_path(p),
                Activation::None,
            )
        }),
        // A changed unit takes effect through its timer.
        K::RestoreTestService | K::RestoreTestTimer => {
            when(crate::derive::restore_test::runs_on(at.d, at.host), &|| {
                let suffix = if kind == K::RestoreTestService {
                    "service"
                } else {
                    "timer"
                };
                (
                    unit_path(&crate::derive::restore_test::unit(p, suffix)),
                    daemon_reload(&crate::derive::restore_test::unit(p, "timer")),
                )
            })
        }
        K::PgbackrestConf => when(crate::derive::backup::runs_on(at.d, at.host), &|| {
            (crate::derive::backup::CONF_PATH.into(), Activation::None)
        }),
        // A changed backup unit takes effect through its timer.
        K::PgbackrestService | K::PgbackrestTimer => {
            if !crate::derive::backup::runs_on(at.d, at.host) {
                return Vec::new();
            }
            let suffix = if kind == K::PgbackrestService {
                "service"
            } else {
                "timer"
            };
            crate::derive::backup::BACKUP_TYPES
                .iter()
                .map(|backup_type| {
                    let unit = crate::derive::backup::unit_name(p, backup_type, suffix);
                    let timer = crate::derive::backup::unit_name(p, backup_type, "timer");
                    let mut spec = ArtifactSpec::new(kind, unit_path(&unit), daemon_reload(&timer));
                    spec.service = Some((*backup_type).to_string());
                    spec
                })
                .collect()
        }
        K::SqlRunner => when(at.d.jobs_on(at.host).any(|j| j.sql.is_some()), &|| {
            (crate::job_model::sql_runner_path(p), Activation::None)
        }),
        K::JobTimer => at
            .d
            .jobs_on(at.host)
            .filter(|j| j.schedule().is_some())
            .map(|job| {
                let timer = crate::derive::jobs::timer(p, &job.name);
                let mut spec = ArtifactSpec::new(kind, unit_path(&timer), daemon_reload(&timer));
                spec.job = Some(job.name.clone());
                spec
            })
            .collect(),
        // A changed script re-runs the bootstrap (a oneshot that remains
        // active: restarting it runs it again).
        // Run by psql on the host, or in a containerised PostgreSQL's
        // container, where the image's `postgres` user (not a host user)
        // reads it: there it is root's and world-readable (it names files,
        // it holds no secret).
        K::DbBootstrapSql => {
            let mut specs = when(at.primary(), &|| {
                (
                    crate::derive::bootstrap::bootstrap_sql_path(p),
                    restart(&crate::derive::bootstrap::bootstrap_unit(p)),
                )
            });
            if pg_container {
                for spec in &mut specs {
                    spec.mode = 0o644;
                    spec.group = "root";
                }
            }
            specs
        }
        K::DbBootstrapUnit => when(at.primary(), &|| {
            let unit = crate::derive::bootstrap::bootstrap_unit(p);
            (unit_path(&unit), daemon_reload(&unit))
        }),
        // The script runs once, before the first start: a change waits for
        // the next start of the unit.
        K::ReplicaInitScript => when(at.replica(), &|| {
            (
                crate::derive::replica::replica_init_script(p),
                Activation::None,
            )
        }),
        K::ReplicaInitUnit => when(at.replica(), &|| {
            let unit = crate::derive::replica::replica_init_unit(p);
            (unit_path(&unit), daemon_reload(&unit))
        }),
        K::FirewallUnit => when(crate::derive::firewall::applies(at.d, at.host), &|| {
            let unit = crate::derive::firewall::unit_name(p);
            (unit_path(&unit), daemon_reload(&unit))
        }),
        K::AlertmanagerConfig => when(
            at.d.alerting.is_some() && at.host.has(Role::Monitoring),
            &|| {
                (
                    "/etc/prometheus/alertmanager.yml".into(),
                    reload("prometheus-alertmanager.service"),
                )
            },
        ),
        // A changed unit: daemon-reload, then a restart of the exporter.
        K::ExporterUnit => crate::derive::exporter_units::units(at.d, at.host)
            .into_iter()
            .map(|u| {
                let mut spec = ArtifactSpec::new(kind, u.path(), daemon_reload(&u.unit()));
                spec.service = Some(u.exporter.name.to_string());
                spec
            })
            .collect(),
        // Run at the exporter's next start: a change restarts it.
        K::RedisExporterAuth => when(
            crate::derive::exporter_units::redis_auth(at.d, at.host),
            &|| {
                (
                    crate::derive::exporter_units::redis_auth_script(p),
                    restart("prometheus-redis-exporter.service"),
                )
            },
        ),
        K::NginxConf => when(at.load_balancer(), &|| {
            ("/etc/nginx/nginx.conf".into(), reload("nginx.service"))
        }),
        K::ExporterDefaults => crate::derive::exporters::exporters(at.d, at.host)
            .into_iter()
            .map(|e| {
                let mut spec = ArtifactSpec::new(kind, e.path(), restart(&e.unit()));
                spec.service = Some(e.name.to_string());
                spec
            })
            .collect(),
    }
}

/// Every artifact `host` needs, sorted by path.
pub fn artifacts_for(d: &Deployment, host: &HostSpec) -> Vec<ArtifactSpec> {
    let at = Placement {
        d,
        host,
        services: d.services_on(host).collect(),
    };
    let mut out: Vec<ArtifactSpec> = ArtifactKind::ALL
        .iter()
        .flat_map(|kind| place(*kind, &at))
        .collect();
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}
