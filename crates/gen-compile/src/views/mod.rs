//! Render stage support: what each template sees. One typed context per
//! artifact kind, built from the checked model and the derived values; the
//! match in [`context`] is exhaustive, so a new kind cannot render without
//! saying what its template reads. Templates only lay these values out: every
//! number, path and list they print is computed here or in `derive/`.

mod alerting;
mod bootstrap;
mod container;
mod datatier;
mod exporter_units;
mod firewall;
mod health_gate;
mod jobs;
mod monitoring;
mod nginx;
mod nginx_main;
mod pgbackrest;
mod postgres;
mod redis;
mod replica;
mod restore_test;
mod rollout;
mod scheduled;
mod services;

use serde::Serialize;

use crate::artifact_kind::ArtifactKind;
use crate::catalog::ArtifactSpec;
use crate::derive::Derived;
use crate::model::{Deployment, HostSpec};

pub use alerting::{routes as alertmanager_routes, AmRoute};
pub use nginx::upstream_name;

/// The first lines of every artifact: where it came from.
#[derive(Debug, Serialize)]
pub struct Header<'a> {
    pub profile: &'a str,
    pub profile_file: &'a str,
    pub host: &'a str,
    pub template: &'a str,
}

/// What a view is built from: one artifact of one host.
pub struct Scope<'a> {
    pub d: &'a Deployment,
    pub derived: &'a Derived,
    pub host: &'a HostSpec,
    pub spec: &'a ArtifactSpec,
    pub profile_file: &'a str,
    pub want: Want<'a>,
}

/// What a [`Context`] is built for.
#[derive(Clone, Copy, Debug)]
pub enum Want<'a> {
    /// The value alone (`build --check`, `explain`).
    Value,
    /// The key for a build that records its cache, and the value unless the
    /// key equals `reuse`, the key of the file already on disk: that file is
    /// kept as it is, and the value, which costs twice the key, is not built.
    Key { reuse: Option<&'a str> },
}

/// A template's context: the value it renders from and, when asked for,
/// the key that stands for it in the build cache.
pub struct Context {
    /// `None` when the key equals [`Want::Key`]'s `reuse`: nothing renders.
    pub value: Option<minijinja::Value>,
    /// sha256 (hex) of the template's name and the view's JSON: rendering is
    /// a pure function of the two (templates and filters are part of gen,
    /// hence of the cache's salt), so an equal key means equal bytes.
    /// `None` when not asked for, or when the view cannot be serialised.
    pub key: Option<String>,
}

/// Bytes of a view's JSON handed to the hasher at a time: many small writes
/// into the hasher cost more than the copy, and a buffer of a whole
/// fleet-wide view would stay allocated.
const KEY_CHUNK: usize = 16 * 1024;

/// The cache key of a view: hashed from the typed view as it is serialised,
/// which costs a third of serialising the template value built from it.
fn key(template: &str, view: &impl Serialize) -> Option<String> {
    use sha2::Digest as _;
    let mut hasher = sha2::Sha256::new();
    hasher.update(template.as_bytes());
    hasher.update([0]);
    let mut json = std::io::BufWriter::with_capacity(KEY_CHUNK, &mut hasher);
    serde_json::to_writer(&mut json, view).ok()?;
    std::io::Write::flush(&mut json).ok()?;
    drop(json);
    Some(gen_target::manifest::hex(&hasher.finalize()))
}

/// A kind's view with the header every template includes.
#[derive(Serialize)]
struct WithHeader<'a, T: Serialize> {
    header: Header<'a>,
    #[serde(flatten)]
    view: T,
}

impl<'a> Scope<'a> {
    fn header(&self) -> Header<'a> {
        Header {
            profile: &self.d.profile,
            profile_file: self.profile_file,
            host: &self.host.name,
            template: self.spec.template,
        }
    }

    fn value<T: Serialize>(&self, view: T) -> Context {
        let view = WithHeader {
            header: self.header(),
            view,
        };
        let (key, reuse) = match self.want {
            Want::Value => (None, None),
            Want::Key { reuse } => (key(self.spec.template, &view), reuse),
        };
        let reused = key.is_some() && key.as_deref() == reuse;
        Context {
            value: (!reused).then(|| minijinja::Value::from_serialize(&view)),
            key,
        }
    }
}

/// The template context of one artifact, or `None` when the deployment lacks
/// what the kind needs (the catalogue places no such artifact, so this is a
/// bug, reported as a render error).
pub fn context(scope: &Scope<'_>) -> Option<Context> {
    use ArtifactKind as K;
    Some(match scope.spec.kind {
        K::ComposeFile => scope.value(services::compose_file(scope)),
        K::ComposeUnit => scope.value(services::compose_unit(scope)),
        K::NativeUnit => scope.value(services::native_unit(scope)?),
        K::NginxSite => scope.value(nginx::site(scope)),
        K::HealthcheckScript => scope.value(nginx::healthcheck(scope)),
        K::HealthGate => scope.value(health_gate::gate(scope)),
        K::PostgresqlConf => scope.value(postgres::conf(scope)?),
        K::PgHba => scope.value(postgres::hba(scope)),
        K::BackupScript => scope.value(postgres::backup_script(scope)?),
        K::BackupService | K::BackupTimer => scope.value(postgres::backup_unit(scope)?),
        K::PgbouncerIni => scope.value(postgres::pgbouncer(scope)?),
        K::RedisConf => scope.value(redis::conf(scope)?),
        K::PrometheusConfig => scope.value(monitoring::prometheus(scope)),
        K::PrometheusRules => scope.value(monitoring::rules(scope)),
        K::PullScript | K::PullService | K::PullTimer => scope.value(rollout::pull(scope)?),
        K::CronJobs => scope.value(scheduled::cron(scope)),
        K::JobUnit | K::JobTimer => scope.value(jobs::job_unit(scope)?),
        K::SqlRunner => scope.value(jobs::sql_runner(scope)),
        K::DbBootstrapSql => scope.value(bootstrap::sql(scope)?),
        K::DbBootstrapUnit => scope.value(bootstrap::unit(scope)?),
        K::ReplicaInitScript | K::ReplicaInitUnit => scope.value(replica::replica_init(scope)?),
        K::FirewallRules => scope.value(firewall::firewall(scope)),
        K::FirewallUnit => scope.value(firewall::unit(scope)),
        K::PgbackrestConf | K::PgbackrestService | K::PgbackrestTimer => {
            scope.value(pgbackrest::pgbackrest(scope)?)
        }
        K::AlertmanagerConfig => scope.value(alerting::alertmanager(scope)?),
        K::ExporterDefaults => scope.value(alerting::exporter_defaults(scope)?),
        K::RestoreTestScript | K::RestoreTestService | K::RestoreTestTimer => {
            scope.value(restore_test::restore_test(scope)?)
        }
        K::ExporterUnit => scope.value(exporter_units::unit(scope)?),
        K::RedisExporterAuth => scope.value(exporter_units::redis_auth(scope)?),
        K::NginxConf => scope.value(nginx_main::conf(scope)),
    })
}

/// The project name as a Prometheus metric prefix (`-` is not allowed there).
fn metric_prefix(project: &str) -> String {
    project.replace('-', "_")
}
