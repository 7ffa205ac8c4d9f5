//! `gen explain`: for one file of one host, the template and profile keys that
//! produced it and, for every derived value in it, the formula and inputs, so a
//! reviewer can see why a number changed.

use serde::Serialize;

mod typed_by_hand;
pub use typed_by_hand::HandTyped;

use crate::artifact_kind::ArtifactKind;
use crate::catalog::{self, ArtifactSpec};
use crate::derive::environment::service_environment;
use crate::derive::{cron, hba, health, rollout, scrape, Derived, SettingOrigin};
use crate::model::{Deployment, HostSpec, LocationTarget, ServiceSpec};
use crate::profile::{Role, Runtime};
use crate::source::{KeyEntry, SourceMap};

#[derive(Debug, Serialize)]
pub struct Explanation {
    pub path: String,
    /// For a unit's `[Install]` link: the unit file it names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
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
    /// Settings written as typed (`extra`), with their keys.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub typed_by_hand: Vec<HandTyped>,
}

#[derive(Debug, Serialize)]
pub struct DerivedValue {
    pub name: String,
    pub value: String,
    pub formula: String,
    pub inputs: String,
}

/// A derived value with its formula and the inputs it came from.
fn value(
    name: impl Into<String>,
    value: impl Into<String>,
    formula: &str,
    inputs: impl Into<String>,
) -> DerivedValue {
    DerivedValue {
        name: name.into(),
        value: value.into(),
        formula: formula.to_string(),
        inputs: inputs.into(),
    }
}

fn push_unique(keys: &mut Vec<String>, key: String) {
    if !keys.contains(&key) {
        keys.push(key);
    }
}

/// The profile keys behind a service's derived environment: where its
/// database and Redis are.
fn environment_keys(d: &Deployment, service: &ServiceSpec, keys: &mut Vec<String>) {
    push_unique(keys, format!("services.{}", service.name));
    if let Some(db) = &service.database {
        push_unique(keys, "postgres.database".into());
        push_unique(keys, "postgres.port".into());
        let role = if db.pooled && d.pgbouncer.is_some() {
            push_unique(keys, "pgbouncer.port".into());
            Role::Pooler
        } else {
            Role::DatabasePrimary
        };
        for h in d.hosts_with(role) {
            push_unique(keys, format!("hosts.{}.address", h.name));
        }
    }
    if service.redis && d.redis.is_some() {
        push_unique(keys, "redis.port".into());
        for h in d.hosts_with(Role::Cache) {
            push_unique(keys, format!("hosts.{}.address", h.name));
        }
    }
}

/// `services.<name>.database` of every service that uses the database.
fn database_use_keys(d: &Deployment) -> impl Iterator<Item = String> + '_ {
    d.services
        .iter()
        .filter(|s| s.database.is_some())
        .map(|s| format!("services.{}.database", s.name))
}

/// `hosts.<name>.address` of every host with one of `roles`.
fn address_keys<'a>(d: &'a Deployment, roles: &'a [Role]) -> impl Iterator<Item = String> + 'a {
    d.hosts
        .iter()
        .filter(|h| roles.iter().any(|r| h.has(*r)))
        .map(|h| format!("hosts.{}.address", h.name))
}

/// The profile key prefixes an artifact reads.
pub fn input_keys(d: &Deployment, host: &HostSpec, spec: &ArtifactSpec) -> Vec<String> {
    use ArtifactKind as K;
    let mut keys = vec!["project".to_string()];
    let host_key = format!("hosts.{}", host.name);
    match spec.kind {
        K::ComposeFile => {
            for service in d
                .services_on(host)
                .filter(|s| s.runtime == Runtime::Container)
            {
                environment_keys(d, service, &mut keys);
            }
            push_unique(&mut keys, format!("{host_key}.address"));
            if crate::derive::datatier::postgres_container(d, host) {
                for key in [
                    "postgres.runtime",
                    "postgres.image",
                    "postgres.superuser_password_file",
                    "postgres.version",
                    "postgres.port",
                ] {
                    push_unique(&mut keys, key.into());
                }
            }
            if crate::derive::datatier::redis_container(d, host) {
                for key in [
                    "redis.runtime",
                    "redis.image",
                    "redis.port",
                    "redis.password_file",
                ] {
                    push_unique(&mut keys, key.into());
                }
            }
            if d.container_subnet.is_some() {
                push_unique(&mut keys, "network.container_subnet".into());
            }
            for job in d
                .jobs_on(host)
                .filter(|j| j.runtime() == Runtime::Container)
            {
                push_unique(&mut keys, format!("jobs.{}", job.name));
            }
        }
        K::ComposeUnit => keys.extend(
            d.services_on(host)
                .filter(|s| s.runtime == Runtime::Container)
                .map(|s| format!("services.{}.runtime", s.name)),
        ),
        K::NativeUnit => {
            if let Some(service) = spec.service.as_deref().and_then(|s| d.service(s)) {
                environment_keys(d, service, &mut keys);
            }
        }
        K::NginxSite | K::HealthcheckScript => {
            keys.push("sites".into());
            for site in &d.sites {
                for location in &site.locations {
                    if let LocationTarget::Service { service } = &location.target {
                        for field in ["port", "replicas", "role", "healthcheck"] {
                            push_unique(&mut keys, format!("services.{service}.{field}"));
                        }
                        if let Some(s) = d.service(service) {
                            for h in d.hosts_running(s) {
                                push_unique(&mut keys, format!("hosts.{}.address", h.name));
                            }
                        }
                    }
                }
            }
            keys.push("maintenance".into());
        }
        K::HealthGate => {
            push_unique(&mut keys, format!("{host_key}.address"));
            push_unique(&mut keys, format!("{host_key}.roles"));
            for service in d.services_on(host) {
                for field in ["port", "replicas", "healthcheck"] {
                    push_unique(&mut keys, format!("services.{}.{field}", service.name));
                }
            }
            if d.serves_sites(host) {
                push_unique(&mut keys, "sites".into());
            }
            for (role, key) in [
                (Role::DatabasePrimary, "postgres.port"),
                (Role::DatabaseReplica, "postgres.port"),
                (Role::Pooler, "pgbouncer.port"),
                (Role::Cache, "redis.port"),
            ] {
                if host.has(role) {
                    push_unique(&mut keys, key.into());
                }
            }
        }
        K::PostgresqlConf => {
            keys.extend([
                "postgres".into(),
                format!("{host_key}.hardware"),
                format!("{host_key}.address"),
            ]);
            if host.has(Role::DatabaseReplica) {
                keys.extend(d.primary().map(|p| format!("hosts.{}", p.name)));
            }
            // The other tenants of the host, subtracted from PGTune's memory.
            for tenant in crate::derive::pg_memory::budget(d, host).tenants {
                keys.push(tenant.key);
            }
            if crate::derive::backup::runs_on(d, host) {
                keys.extend(["backup.method".into(), "backup.rpo".into()]);
            }
        }
        K::PgHba => {
            keys.extend([
                "postgres.database".into(),
                "postgres.users".into(),
                "postgres.replication_user".into(),
                "postgres.tls_certificate".into(),
            ]);
            keys.extend(database_use_keys(d));
            keys.extend(address_keys(
                d,
                &[Role::Pooler, Role::DatabaseReplica, Role::DatabasePrimary],
            ));
        }
        K::PgbouncerIni => {
            keys.extend([
                "pgbouncer".into(),
                "postgres.max_connections".into(),
                "postgres.workload".into(),
                "postgres.database".into(),
                "postgres.port".into(),
                format!("{host_key}.address"),
            ]);
            keys.extend(database_use_keys(d));
            keys.extend(address_keys(
                d,
                &[Role::DatabaseReplica, Role::DatabasePrimary],
            ));
        }
        K::RedisConf => keys.extend([
            "redis".into(),
            format!("{host_key}.hardware.memory"),
            format!("{host_key}.address"),
        ]),
        K::BackupScript | K::BackupService | K::BackupTimer => {
            keys.extend(["backup".into(), "postgres.database".into()]);
        }
        K::PrometheusConfig => {
            keys.push("monitoring".into());
            keys.extend(
                d.services
                    .iter()
                    .filter(|s| s.metrics_path.is_some())
                    .map(|s| format!("services.{}.metrics_path", s.name)),
            );
            keys.extend(d.hosts.iter().map(|h| format!("hosts.{}.address", h.name)));
        }
        K::PrometheusRules => keys.push("alerts".into()),
        K::PullScript | K::PullService | K::PullTimer => keys.push("rollout".into()),
        K::CronJobs => keys.extend(["maintenance".into(), "admin_email".into()]),
        K::SqlRunner => keys.extend(
            d.jobs_on(host)
                .filter(|j| j.sql.is_some())
                .map(|j| format!("jobs.{}.sql", j.name)),
        ),
        K::JobUnit | K::JobTimer => {
            if let Some(job) = spec.job.as_deref().and_then(|j| d.job(j)) {
                keys.push(format!("jobs.{}", job.name));
                if let Some(service) = &job.service {
                    keys.push(format!("services.{service}"));
                }
            }
        }
        K::DbBootstrapSql => {
            keys.extend([
                "postgres.roles".into(),
                "postgres.databases".into(),
                "postgres.database".into(),
                "postgres.users".into(),
                "postgres.extensions".into(),
                "postgres.replication_user".into(),
            ]);
            keys.extend(
                d.hosts_with(Role::DatabaseReplica)
                    .map(|h| format!("hosts.{}", h.name)),
            );
        }
        K::ReplicaInitScript | K::ReplicaInitUnit => {
            keys.extend([
                "postgres.version".into(),
                "postgres.port".into(),
                "postgres.roles".into(),
                "postgres.replication_user".into(),
                "postgres.replication_passfile".into(),
            ]);
            keys.extend(d.primary().map(|p| format!("hosts.{}.address", p.name)));
        }
        K::DbBootstrapUnit => {
            keys.extend(["postgres.version".into(), "postgres.port".into()]);
            if crate::derive::datatier::postgres_container(d, host) {
                keys.push("postgres.runtime".into());
            }
            keys.extend(d.services_on(host).map(|s| format!("services.{}", s.name)));
            if host.has(Role::Pooler) {
                keys.push("pgbouncer".into());
            }
        }
        K::FirewallRules => {
            keys.extend([
                "firewall".into(),
                "network.admin".into(),
                format!("{host_key}.firewall"),
                format!("{host_key}.roles"),
            ]);
            keys.extend(d.hosts.iter().map(|h| format!("hosts.{}.address", h.name)));
        }
        K::FirewallUnit => keys.extend(["firewall".into(), format!("{host_key}.firewall")]),
        K::PgbackrestConf | K::PgbackrestService | K::PgbackrestTimer => {
            keys.extend([
                "backup".into(),
                "postgres.version".into(),
                "postgres.port".into(),
            ]);
        }
        K::AlertmanagerConfig => keys.push("alerting".into()),
        K::RestoreTestScript | K::RestoreTestService | K::RestoreTestTimer => {
            keys.extend([
                "backup".into(),
                "postgres.database".into(),
                "postgres.version".into(),
            ]);
        }
        K::ExporterUnit => match spec.service.as_deref() {
            Some("redis-exporter") => keys.extend([
                format!("{host_key}.address"),
                "redis.port".into(),
                "redis.password_file".into(),
            ]),
            _ => keys.push("pgbouncer.exporter_passfile".into()),
        },
        K::RedisExporterAuth => keys.push("redis.password_file".into()),
        K::NginxConf => keys.push(format!("{host_key}.hardware.cores")),
        K::ExporterDefaults => {
            keys.push(format!("{host_key}.address"));
            match spec.service.as_deref() {
                Some("postgres-exporter") => keys.push("postgres.port".into()),
                Some("redis-exporter") => {
                    keys.extend(["redis.port".into(), "redis.password_file".into()])
                }
                Some("pgbouncer-exporter") => keys.extend([
                    "pgbouncer.port".into(),
                    "pgbouncer.exporter_passfile".into(),
                ]),
                Some("alertmanager") => keys.push("alerting".into()),
                _ => {}
            }
        }
    }
    keys
}

/// The environment gen adds to a service, with where each value comes from.
fn environment_values(d: &Deployment, service: &ServiceSpec, out: &mut Vec<DerivedValue>) {
    let environment = service_environment(d, service);
    let pooled = service
        .database
        .as_ref()
        .is_some_and(|db| db.pooled && d.pgbouncer.is_some());
    for (var, formula) in [
        (
            "DATABASE_HOST",
            if pooled {
                "every pooler host's address (the service is pooled)"
            } else {
                "the primary's address (the service connects directly)"
            },
        ),
        (
            "DATABASE_PORT",
            if pooled {
                "pgbouncer.port"
            } else {
                "postgres.port"
            },
        ),
        ("DATABASE_NAME", "postgres.database"),
        ("DATABASE_USER", "the service's database.user"),
        (
            "DATABASE_READONLY_NAME",
            "<postgres.database>_readonly: PgBouncer's pool on the replicas",
        ),
        ("REDIS_HOST", "the cache host's address"),
        ("REDIS_PORT", "redis.port"),
    ] {
        if let Some(v) = environment.get(var) {
            out.push(value(
                format!("{} {var}", service.name),
                v.clone(),
                formula,
                format!("services.{}", service.name),
            ));
        }
    }
    for name in service.secrets.keys() {
        let var = format!("{}_FILE", name.to_ascii_uppercase());
        if let Some(v) = environment.get(&var) {
            out.push(value(
                format!("{} {var}", service.name),
                v.clone(),
                "where the secret file appears to the service",
                format!("services.{}.secrets.{name}", service.name),
            ));
        }
    }
}

fn joined<T>(items: &[T], each: impl Fn(&T) -> String) -> String {
    items.iter().map(each).collect::<Vec<_>>().join(", ")
}

/// Derived values that appear in the artifact.
pub fn derived_values(
    d: &Deployment,
    host: &HostSpec,
    spec: &ArtifactSpec,
    derived: &Derived,
) -> Vec<DerivedValue> {
    use ArtifactKind as K;
    let mut out = Vec::new();
    match spec.kind {
        K::ComposeFile => {
            for service in d
                .services_on(host)
                .filter(|s| s.runtime == Runtime::Container)
            {
                environment_values(d, service, &mut out);
            }
            if let Some(pg) = d
                .postgres
                .as_ref()
                .filter(|_| crate::derive::datatier::postgres_container(d, host))
            {
                let budget = crate::derive::pg_memory::budget(d, host);
                out.push(value(
                    "postgres memory limit",
                    budget.memory.compose(),
                    "the memory its postgresql.conf is tuned for",
                    budget.line(),
                ));
                out.push(value(
                    "postgres data volume target",
                    crate::derive::datatier::postgres_volume_target(pg.version),
                    "/var/lib/postgresql from 18 (PGDATA /var/lib/postgresql/<major>/docker), /var/lib/postgresql/data before",
                    format!("postgres.version {}", pg.version),
                ));
            }
        }
        K::ComposeUnit => out.push(value(
            "compose file",
            catalog::compose_path(&d.project),
            "/etc/<project>/compose.yaml",
            "project",
        )),
        K::NativeUnit => {
            if let Some(service) = spec.service.as_deref().and_then(|s| d.service(s)) {
                environment_values(d, service, &mut out);
            }
        }
        K::PostgresqlConf => {
            let budget = crate::derive::pg_memory::budget(d, host);
            out.push(value(
                "memory (PGTune input)",
                budget.memory.to_string(),
                "host memory - services' memory limits x replicas - redis maxmemory on this host, at most postgres.memory",
                budget.line(),
            ));
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
                out.push(value(&setting.name, &setting.value, &formula, inputs));
            }
        }
        K::PgHba => {
            for entry in hba::entries(d, host) {
                out.push(value(
                    format!("{} {} {}", entry.kind, entry.database, entry.user),
                    entry.address,
                    "admitted only from the hosts that use the role",
                    entry.comment,
                ));
            }
        }
        K::PgbouncerIni => {
            if let Some(pools) = &derived.pools {
                let b = &pools.budget;
                let available = format!(
                    "max_connections {} - {} reserved - {} WAL senders - {} maintenance - {} direct = {}",
                    b.max_connections, b.superuser_reserved, b.max_wal_senders, b.maintenance, b.direct, b.available
                );
                out.push(value(
                    "default_pool_size",
                    pools.default_pool_size.to_string(),
                    "min(4/5 of the budget share, 4 per primary core, at least 10)",
                    format!(
                        "{available}; share = {} / ({} poolers x {} pools)",
                        b.available, b.poolers, b.pools
                    ),
                ));
                out.push(value(
                    "reserve_pool_size",
                    pools.reserve_pool_size.to_string(),
                    "min(share - default_pool_size, default_pool_size / 4)",
                    available.clone(),
                ));
                out.push(value(
                    "max_client_conn",
                    pools.max_client_conn.to_string(),
                    "25 per pooled service instance, rounded up to 100",
                    "services with `database.pooled`",
                ));
                out.push(value(
                    "max_db_connections",
                    pools.max_db_connections().to_string(),
                    "pools x (default_pool_size + reserve_pool_size)",
                    format!(
                        "{} pools x ({} + {})",
                        b.pools, pools.default_pool_size, pools.reserve_pool_size
                    ),
                ));
                for db in &pools.databases {
                    out.push(value(
                        format!("[databases] {}", db.name),
                        format!("host={} port={} dbname={}", db.hosts, db.port, db.dbname),
                        if db.read_only {
                            "the replicas' addresses: read-only pool"
                        } else {
                            "the primary's address"
                        },
                        "hosts with the database roles",
                    ));
                }
            }
        }
        K::RedisConf => {
            if let Some(memory) = derived.redis_maxmemory {
                out.push(value(
                    "maxmemory",
                    memory.redis(),
                    "redis.maxmemory, else host memory / 4",
                    format!("host memory {}", host.memory),
                ));
            }
        }
        K::NginxSite => {
            for (service, upstreams) in &derived.upstreams {
                out.push(value(
                    format!("upstream {service}"),
                    joined(upstreams, |u| format!("{}:{}", u.address, u.port)),
                    "every host with the service's role x one port per replica",
                    joined(upstreams, |u| u.host.clone()),
                ));
            }
        }
        K::HealthcheckScript => {
            for target in health::targets(d, derived) {
                out.push(value(
                    format!("probe {}", target.service),
                    target.url,
                    "every upstream server of the service x its healthcheck.http path",
                    format!("services.{}.healthcheck.http", target.service),
                ));
            }
        }
        K::HealthGate => {
            for (n, probe) in health::gate_probes(d, host).into_iter().enumerate() {
                out.push(value(
                    format!("probe {}", n + 1),
                    probe.name,
                    "each HTTP health check of a service on the host (every replica's port), each site through nginx on loopback, pg_isready / redis PING on loopback for the database, pooler and cache roles, Prometheus /-/ready",
                    format!("{} {}", probe.check, probe.args.join(" ")),
                ));
            }
        }
        K::PrometheusConfig => {
            for job in scrape::jobs(d) {
                out.push(value(
                    format!("scrape {}", job.name),
                    joined(&job.targets, |t| t.address.clone()),
                    "the hosts whose roles run the exporter, at its standard port",
                    joined(&job.targets, |t| t.host.clone()),
                ));
            }
        }
        K::PrometheusRules => {
            let a = &d.alerts;
            out.push(value(
                "CertificateExpiring threshold",
                format!("{} s", a.certificate_expiry_days * 86400.0),
                "alerts.certificate_expiry_days x 86400",
                format!("{} days", a.certificate_expiry_days),
            ));
            if let Some(r) = &d.rollout {
                out.push(value(
                    "GenPullStale threshold",
                    rollout::stale_after_seconds(r).to_string(),
                    "3 x rollout.interval + rollout.waves x rollout.stagger",
                    format!(
                        "interval {}, {} wave(s) of {}",
                        r.interval, r.waves, r.stagger
                    ),
                ));
            }
            if d.backup.is_some() || d.pgbackrest.is_some() {
                out.push(value(
                    "BackupTooOld threshold",
                    format!("{} s", a.backup_age_hours * 3600.0),
                    "alerts.backup_age_hours x 3600",
                    format!("{} hours", a.backup_age_hours),
                ));
            }
            if let Some(t) = &d.restore_test {
                out.push(value(
                    "RestoreTestTooOld threshold",
                    format!("{} s", t.age_days * 86400.0),
                    "alerts.restore_age_days x 86400 (default: 2 x the longest gap between restore tests + 1 day)",
                    format!("{} days, schedule {}", t.age_days, t.schedule),
                ));
            }
        }
        K::CronJobs => {
            for job in cron::jobs(d, host) {
                out.push(value(
                    format!("{} {}", job.schedule, job.user),
                    job.command,
                    "locked with flock, logged under its own tag",
                    job.comment,
                ));
            }
        }
        K::PullScript => {
            if let Some(r) = &d.rollout {
                out.push(value(
                    "DELAY_SECONDS",
                    rollout::delay_seconds(r, &host.name).to_string(),
                    "wave x rollout.stagger; wave 0 for a canary, else 1 + FNV-1a(host name) mod rollout.waves",
                    format!(
                        "wave {}, stagger {}, {} wave(s)",
                        rollout::wave(r, &host.name),
                        r.stagger,
                        r.waves
                    ),
                ));
                if let Some(gate) = rollout::canary_gate(d, &host.name) {
                    out.push(value(
                        "PROMETHEUS, CANARIES, CANARY_COUNT",
                        format!("{}, {}, {}", gate.prometheus, gate.hosts, gate.count),
                        "the first monitoring host's Prometheus; a later wave applies a commit only once every canary reports it applied and healthy (gen_pull_applied_commit_info); without canaries or a monitoring host the waves are timed only",
                        "rollout.canary, hosts with role monitoring",
                    ));
                }
            }
        }
        K::BackupScript | K::BackupService | K::BackupTimer => {}
        K::PullService | K::PullTimer => {}
        K::SqlRunner => {}
        K::JobUnit | K::JobTimer => {
            if let Some(job) = spec.job.as_deref().and_then(|j| d.job(j)) {
                for (name, shown, formula, inputs) in crate::derive::jobs::explained(job) {
                    out.push(value(name, shown, formula, inputs));
                }
            }
        }
        K::DbBootstrapSql => {
            if let Some(pg) = &d.postgres {
                for (name, db) in &pg.databases {
                    out.push(value(
                        format!("owner of database {name}"),
                        db.owner.clone(),
                        "postgres.databases.<name>.owner, else the only login role",
                        "postgres.databases (or postgres.database + users)",
                    ));
                }
            }
            for slot in crate::derive::bootstrap::slots(d) {
                out.push(value(
                    format!("slot {slot}"),
                    slot.clone(),
                    "one physical slot per replica: the replica's host name with `-` as `_`",
                    "hosts with role database_replica",
                ));
            }
        }
        K::ReplicaInitScript => {
            out.push(value(
                "SLOT",
                crate::derive::postgres::slot_name(&host.name),
                "this host's name with `-` as `_`: the slot the primary's bootstrap creates",
                format!("hosts.{}", host.name),
            ));
            if let Some(primary) = d.primary() {
                out.push(value(
                    "PRIMARY_HOST",
                    primary.address.to_string(),
                    "the primary's address",
                    format!("hosts.{}.address", primary.name),
                ));
            }
        }
        K::ReplicaInitUnit => {
            if let Some(pg) = &d.postgres {
                out.push(value(
                    "Before",
                    crate::derive::bootstrap::cluster_unit(pg.version),
                    "Debian's unit of the version's `main` cluster: the clone is made before it first starts",
                    "postgres.version",
                ));
            }
        }
        K::DbBootstrapUnit => {
            if let Some(pg) = &d.postgres {
                if crate::derive::datatier::postgres_container(d, host) {
                    out.push(value(
                        "ExecStart",
                        crate::derive::bootstrap::container_command(&d.project, pg.port).join(" "),
                        "the image's psql in the PostgreSQL container (started alone and healthy first), on the script and password files mounted read-only",
                        "postgres.runtime = \"container\", postgres.port",
                    ));
                } else {
                    out.push(value(
                        "After",
                        crate::derive::bootstrap::cluster_unit(pg.version),
                        "Debian's unit of the version's `main` cluster",
                        "postgres.version",
                    ));
                }
            }
            out.push(value(
                "Before",
                crate::derive::bootstrap::ordered_before(d, host).join(" "),
                "PgBouncer and this host's services: they log in as the roles it creates",
                "hosts' roles and services",
            ));
        }
        K::FirewallRules => {
            let rules = crate::derive::firewall::ruleset(d, host);
            for rule in rules.input.iter().chain(&rules.forward) {
                let from = &rule.from;
                // As the file prints it.
                let sources = if from.anywhere {
                    format!("{} dport {} accept", rule.protocol, rule.port)
                } else if from.is_empty() {
                    format!("{} {} stays closed", rule.protocol, rule.port)
                } else {
                    from.v4
                        .iter()
                        .chain(&from.v6)
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                out.push(value(
                    format!("{} {}", rule.protocol, rule.port),
                    sources,
                    "the listener's clients: pg_hba.conf's for PostgreSQL, the hosts of the services that use PgBouncer or Redis, the load balancers (and monitoring hosts for metrics) for a service, the monitoring hosts for exporters, network.admin for SSH",
                    rule.comment.clone(),
                ));
            }
        }
        K::FirewallUnit => {}
        K::PgbackrestConf | K::PgbackrestService | K::PgbackrestTimer => {}
        K::RestoreTestScript | K::RestoreTestService | K::RestoreTestTimer => {}
        K::AlertmanagerConfig => {
            if let Some(a) = &d.alerting {
                for route in crate::views::alertmanager_routes(a) {
                    out.push(value(
                        "route",
                        route.receiver.clone(),
                        "one route per receiver of each `[[alerting.routes]]`, in order; all but the last continue",
                        format!("{}, continue = {}", route.matchers.join(", "), route.continue_),
                    ));
                }
            }
        }
        K::ExporterUnit | K::RedisExporterAuth => {}
        K::NginxConf => {
            let w = crate::derive::nginx_main::workers(host);
            out.push(value(
                "worker_processes",
                w.processes.to_string(),
                "the host's cores: one single-threaded worker per core",
                format!("hosts.{}.hardware.cores = {}", host.name, w.cores),
            ));
            out.push(value(
                "worker_connections",
                w.connections.to_string(),
                "4096 per worker (the SmartAttend guide's); a proxied request holds two, so the host serves worker_processes x worker_connections / 2 clients at once",
                format!("{} x {} / 2 = {} clients", w.processes, w.connections, w.proxied_clients),
            ));
            out.push(value(
                "worker_rlimit_nofile",
                w.rlimit_nofile.to_string(),
                "2 x worker_connections: a descriptor per connection, and room for served files and logs",
                format!("2 x {}", w.connections),
            ));
        }
        K::ExporterDefaults => {
            let exporters = crate::derive::exporters::exporters(d, host);
            if let Some(e) = exporters
                .iter()
                .find(|e| Some(e.name) == spec.service.as_deref())
            {
                out.push(value(
                    "ARGS",
                    e.args.join(" "),
                    "listens on the host's private address at the port the scrape configuration targets",
                    e.listen(host),
                ));
            }
        }
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
        link: None,
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
        derived: derived_values(d, host, spec, derived),
        typed_by_hand: typed_by_hand::typed_by_hand(d, host, spec),
    }
}

/// The `[Install]` link that enables `unit`'s unit file, if `path` is one:
/// the unit's profile keys decide whether it exists; it holds no derived
/// value.
pub fn explain_link(
    d: &Deployment,
    derived: &Derived,
    sources: &SourceMap,
    host: &HostSpec,
    unit: &ArtifactSpec,
    path: &str,
) -> Option<Explanation> {
    let wanted_by = unit.kind.entry().enables?;
    if gen_target::manifest::wants_link(&unit.path, wanted_by).as_deref() != Some(path) {
        return None;
    }
    let mut explanation = explain(d, derived, sources, host, unit);
    explanation.path = path.to_string();
    explanation.link = Some(unit.path.clone());
    explanation.mode = gen_target::manifest::LINK_MODE.to_string();
    explanation.owner = "root".into();
    explanation.group = "root".into();
    explanation.derived = Vec::new();
    explanation.typed_by_hand = Vec::new();
    Some(explanation)
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
    match &e.link {
        Some(unit) => {
            let _ = writeln!(
                out,
                "  link        -> {unit} (enables it at boot, as its [Install] section says)"
            );
        }
        None => {
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
        }
    }
    let action = match &e.activation {
        catalog::Activation::DaemonReload { .. } if e.link.is_some() => {
            "systemctl daemon-reload".to_string()
        }
        catalog::Activation::None => "nothing (read at its next use)".to_string(),
        catalog::Activation::Reload { unit } => format!("systemctl reload {unit}"),
        catalog::Activation::Restart { unit } => format!("systemctl restart {unit}"),
        catalog::Activation::DaemonReload { unit } => {
            format!("systemctl daemon-reload, then restart {unit}")
        }
        catalog::Activation::ComposeService { project, service } => {
            format!("docker compose --project-name {project} restart {service}")
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
    if !e.typed_by_hand.is_empty() {
        let _ = writeln!(out, "\ntyped by hand (extra, written as is):");
        for t in &e.typed_by_hand {
            let _ = writeln!(out, "  {} = {}", t.key, t.value);
        }
    }
    out
}
