//! Render stage support: what each template sees. Lists that need decisions
//! (environment, pg_hba entries, scrape targets, cron jobs) are built here in
//! Rust, from the checked model and derived values, so templates only lay text
//! out and never decide anything.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::catalog::{self, ArtifactSpec};
use crate::derive::{Derived, PostgresConf, Upstream};
use crate::escape as syntax;
use crate::model::{exporter_port, Deployment, HostSpec, LocationTarget, ServiceSpec};
use crate::profile::{Role, Runtime};

/// The template context for one artifact on one host.
#[derive(Debug, Serialize)]
pub struct Context<'a> {
    pub header: Header<'a>,
    pub project: &'a str,
    pub host: &'a HostSpec,
    /// The whole deployment and its derived values, converted for the
    /// templates once per profile (see `Shared`) and shared by every render.
    pub d: minijinja::Value,
    pub derived: minijinja::Value,
    /// This host's postgresql.conf settings, on database hosts.
    pub pg: Option<&'a PostgresConf>,
    pub containers: Vec<ServiceView>,
    /// The service of a per-service artifact (native unit).
    pub item: Option<ServiceView>,
    pub sites: Vec<SiteView>,
    pub hba: Vec<HbaEntry>,
    pub scrape_jobs: Vec<ScrapeJob>,
    pub cron_jobs: Vec<CronJob>,
    pub health_targets: Vec<HealthTarget>,
    pub textfile_dir: &'static str,
    pub compose_path: String,
    /// Compose `secrets:` entries of the containers on this host.
    pub compose_secrets: Vec<NamedPath>,
    /// Redis `maxmemory` as redis.conf spells it.
    pub redis_maxmemory: String,
    pub has_replicas: bool,
}

#[derive(Debug, Serialize)]
pub struct NamedPath {
    pub name: String,
    pub path: String,
}

#[derive(Debug, Serialize)]
pub struct Header<'a> {
    pub profile: &'a str,
    pub profile_file: &'a str,
    pub host: &'a str,
    pub template: &'a str,
}

#[derive(Debug, Serialize)]
pub struct ServiceView {
    pub name: String,
    pub spec: ServiceSpec,
    /// Environment as rendered: the profile's plus the connection settings gen derives.
    pub environment: BTreeMap<String, String>,
    /// Native: `Environment=` arguments, already quoted for systemd.
    pub systemd_environment: Vec<String>,
    /// Native: `ExecStart=` line, already quoted for systemd.
    pub exec_start: String,
    /// Container: the `ports:` entry.
    pub publish: Option<String>,
    /// Container: networks it joins.
    pub networks: Vec<&'static str>,
    /// Container: healthcheck test array.
    pub healthcheck_test: Vec<String>,
    /// Native: `ProtectHome=` value (`read-only` when the service lives under /home).
    pub protect_home: &'static str,
    pub unit: String,
    /// Memory limit as compose spells it (`2g`).
    pub memory: Option<String>,
    /// Memory limit as systemd spells it (`2G`).
    pub memory_systemd: Option<String>,
    /// `CPUQuota=` value (`150%`).
    pub cpu_quota: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct SiteView {
    pub name: String,
    pub server_names: String,
    pub zone: String,
    pub upgrade_map: String,
    pub spec: crate::model::SiteSpec,
    /// `client_max_body_size` as nginx spells it.
    pub body_size: String,
    pub locations: Vec<LocationView>,
    /// Upstream that answers the health path, if any location proxies.
    pub health_upstream: Option<String>,
    pub health_service_path: String,
    pub upstreams: Vec<UpstreamView>,
}

#[derive(Debug, Serialize)]
pub struct LocationView {
    pub path: String,
    pub upstream: Option<String>,
    pub root: Option<String>,
    pub allow: Vec<String>,
    pub read_timeout: String,
    pub websocket: bool,
    pub rate_limited: bool,
}

#[derive(Debug, Serialize)]
pub struct UpstreamView {
    pub name: String,
    pub service: String,
    pub servers: Vec<Upstream>,
}

#[derive(Debug, Serialize)]
pub struct HbaEntry {
    pub kind: &'static str,
    pub database: String,
    pub user: String,
    pub address: String,
    pub method: &'static str,
    pub comment: String,
}

#[derive(Debug, Serialize)]
pub struct ScrapeJob {
    pub name: String,
    pub metrics_path: Option<String>,
    pub targets: Vec<ScrapeTarget>,
}

#[derive(Debug, Serialize)]
pub struct ScrapeTarget {
    pub address: String,
    pub host: String,
}

#[derive(Debug, Serialize)]
pub struct CronJob {
    pub comment: String,
    pub schedule: String,
    pub user: &'static str,
    pub command: String,
}

#[derive(Debug, Serialize)]
pub struct HealthTarget {
    pub service: String,
    pub url: String,
}

pub fn upstream_name(project: &str, service: &str) -> String {
    format!(
        "{}_{}",
        project.replace('-', "_"),
        service.replace('-', "_")
    )
}

/// The deployment and derived values as template values. Converting them is
/// proportional to the fleet; done once per profile, each render then shares
/// them by reference instead of converting the fleet again for every file
/// (which made a build quadratic in the number of hosts).
#[derive(Debug, Clone)]
pub struct Shared {
    pub d: minijinja::Value,
    pub derived: minijinja::Value,
}

impl Shared {
    pub fn new(d: &Deployment, derived: &Derived) -> Shared {
        Shared {
            d: minijinja::Value::from_serialize(d),
            derived: minijinja::Value::from_serialize(derived),
        }
    }
}

pub fn build<'a>(
    d: &'a Deployment,
    derived: &'a Derived,
    shared: &Shared,
    host: &'a HostSpec,
    artifact: &'a ArtifactSpec,
    profile_file: &'a str,
) -> Context<'a> {
    let wants = |template: &str| artifact.template == template;
    // Only the compose file lists the containers: other files skip the work.
    let containers: Vec<ServiceView> = if wants("compose/compose.yaml.j2") {
        d.services_on(host)
            .filter(|s| s.runtime == Runtime::Container)
            .map(|s| service_view(d, host, s))
            .collect()
    } else {
        Vec::new()
    };
    let mut compose_secrets: Vec<NamedPath> = Vec::new();
    for container in &containers {
        for (name, path) in &container.spec.secrets {
            if !compose_secrets.iter().any(|s| &s.name == name) {
                compose_secrets.push(NamedPath {
                    name: name.clone(),
                    path: path.clone(),
                });
            }
        }
    }
    compose_secrets.sort_by(|a, b| a.name.cmp(&b.name));
    let item = artifact
        .service
        .as_deref()
        .and_then(|name| d.service(name))
        .map(|s| service_view(d, host, s));
    Context {
        header: Header {
            profile: &d.profile,
            profile_file,
            host: &host.name,
            template: artifact.template,
        },
        project: &d.project,
        host,
        d: shared.d.clone(),
        derived: shared.derived.clone(),
        pg: derived.postgres.get(&host.name),
        containers,
        item,
        sites: if wants("nginx/site.conf.j2") {
            sites(d, derived)
        } else {
            Vec::new()
        },
        hba: if wants("postgres/pg_hba.conf.j2") {
            hba(d, host)
        } else {
            Vec::new()
        },
        // The rules need the jobs too: the HTTP alerts exist only when a
        // service exposes metrics.
        scrape_jobs: if wants("prometheus/prometheus.yml.j2") || wants("prometheus/rules.yml.j2") {
            scrape_jobs(d)
        } else {
            Vec::new()
        },
        cron_jobs: if wants("cron/jobs.cron.j2") {
            cron_jobs(d, host)
        } else {
            Vec::new()
        },
        // Proportional to the fleet: built only for the file that lists it.
        health_targets: if wants("scripts/healthcheck.sh.j2") {
            health_targets(d, derived)
        } else {
            Vec::new()
        },
        textfile_dir: catalog::TEXTFILE_DIR,
        compose_path: catalog::compose_path(&d.project),
        compose_secrets,
        redis_maxmemory: derived
            .redis_maxmemory
            .map(|m| m.redis())
            .unwrap_or_default(),
        has_replicas: d.hosts_with(Role::DatabaseReplica).next().is_some(),
    }
}

fn join_addresses(hosts: impl Iterator<Item = String>) -> String {
    hosts.collect::<Vec<_>>().join(",")
}

fn service_view(d: &Deployment, host: &HostSpec, s: &ServiceSpec) -> ServiceView {
    let mut environment = s.environment.clone();
    let container = s.runtime == Runtime::Container;
    if let (Some(db), Some(pg)) = (&s.database, &d.postgres) {
        let (hosts, port) = match (&d.pgbouncer, db.pooled) {
            (Some(pgb), true) => (
                join_addresses(d.hosts_with(Role::Pooler).map(|h| h.address.to_string())),
                pgb.port,
            ),
            _ => (
                join_addresses(d.primary().into_iter().map(|h| h.address.to_string())),
                pg.port,
            ),
        };
        environment.insert("DATABASE_HOST".into(), hosts);
        environment.insert("DATABASE_PORT".into(), port.to_string());
        environment.insert("DATABASE_NAME".into(), pg.database.clone());
        environment.insert("DATABASE_USER".into(), db.user.clone());
        if db.pooled && d.hosts_with(Role::DatabaseReplica).next().is_some() {
            environment.insert(
                "DATABASE_READONLY_NAME".into(),
                format!("{}_readonly", pg.database),
            );
        }
    }
    if let Some(redis) = d.redis.as_ref().filter(|_| s.redis) {
        let address = d
            .hosts_with(Role::Cache)
            .next()
            .map(|h| h.address.to_string())
            .unwrap_or_default();
        environment.insert("REDIS_HOST".into(), address);
        environment.insert("REDIS_PORT".into(), redis.port.to_string());
    }
    for name in s.secrets.keys() {
        let var = format!("{}_FILE", name.to_ascii_uppercase());
        let path = if container {
            format!("/run/secrets/{name}")
        } else {
            format!("%d/{name}")
        };
        environment.insert(var, path);
    }
    let systemd_environment = environment
        .iter()
        .map(|(k, v)| {
            // `%d` is systemd's credentials directory specifier and must stay unescaped.
            if let Some(name) = v.strip_prefix("%d/").filter(|n| s.secrets.contains_key(*n)) {
                format!("\"{k}=%d/{name}\"")
            } else {
                syntax::systemd_environment(k, v)
            }
        })
        .collect();
    let exec_start = s
        .command
        .iter()
        .map(|a| syntax::systemd_quote(a))
        .collect::<Vec<_>>()
        .join(" ");
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
            format!("{}:{range}:{port}", host.address)
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
    let under_home = s.command.first().is_some_and(|c| c.starts_with("/home/"))
        || s.working_directory
            .as_deref()
            .is_some_and(|w| w.starts_with("/home/"));
    ServiceView {
        name: s.name.clone(),
        spec: s.clone(),
        environment,
        systemd_environment,
        exec_start,
        publish,
        networks,
        healthcheck_test,
        protect_home: if under_home { "read-only" } else { "yes" },
        unit: catalog::native_unit(&d.project, &s.name),
        memory: s.memory.map(|m| m.compose()),
        memory_systemd: s.memory.map(|m| m.systemd()),
        cpu_quota: s.cpus.map(|c| format!("{}%", (c * 100.0).round() as u64)),
    }
}

fn sites(d: &Deployment, derived: &Derived) -> Vec<SiteView> {
    d.sites
        .iter()
        .map(|site| {
            let site_id = format!(
                "{}_{}",
                d.project.replace('-', "_"),
                site.name.replace('-', "_")
            );
            let mut upstream_services: Vec<String> = Vec::new();
            let locations = site
                .locations
                .iter()
                .map(|l| {
                    let (upstream, root) = match &l.target {
                        LocationTarget::Service { service } => {
                            if !upstream_services.contains(service) {
                                upstream_services.push(service.clone());
                            }
                            (Some(upstream_name(&d.project, service)), None)
                        }
                        LocationTarget::Static { root } => (None, Some(root.clone())),
                    };
                    LocationView {
                        path: l.path.clone(),
                        upstream,
                        root,
                        allow: l.allow.iter().map(ToString::to_string).collect(),
                        read_timeout: l.read_timeout.to_string(),
                        websocket: l.websocket,
                        rate_limited: l.rate_limited && site.rate_limit.is_some(),
                    }
                })
                .collect();
            let health_service = upstream_services.first().and_then(|name| d.service(name));
            SiteView {
                name: site.name.clone(),
                server_names: site.server_names.join(" "),
                zone: site_id.clone(),
                upgrade_map: format!("{site_id}_connection_upgrade"),
                spec: site.clone(),
                body_size: site.client_max_body_size.nginx(),
                locations,
                health_upstream: health_service.map(|s| upstream_name(&d.project, &s.name)),
                health_service_path: health_service
                    .and_then(|s| s.healthcheck.as_ref())
                    .and_then(|h| h.http.clone())
                    .unwrap_or_else(|| site.health_path.clone()),
                upstreams: upstream_services
                    .iter()
                    .map(|service| UpstreamView {
                        name: upstream_name(&d.project, service),
                        service: service.clone(),
                        servers: derived.upstreams.get(service).cloned().unwrap_or_default(),
                    })
                    .collect(),
            }
        })
        .collect()
}

fn hba(d: &Deployment, host: &HostSpec) -> Vec<HbaEntry> {
    let Some(pg) = &d.postgres else {
        return Vec::new();
    };
    let kind = if pg.tls.is_some() { "hostssl" } else { "host" };
    let mut entries: Vec<HbaEntry> = Vec::new();
    let mut push = |database: &str, user: &str, address: String, comment: String| {
        if !entries
            .iter()
            .any(|e| e.database == database && e.user == user && e.address == address)
        {
            entries.push(HbaEntry {
                kind,
                database: database.into(),
                user: user.into(),
                address,
                method: "scram-sha-256",
                comment,
            });
        }
    };
    for service in &d.services {
        let Some(db) = &service.database else {
            continue;
        };
        if db.pooled && d.pgbouncer.is_some() {
            for pooler in d.hosts_with(Role::Pooler) {
                push(
                    &pg.database,
                    &db.user,
                    format!("{}/32", pooler.address),
                    format!("pgbouncer on {} for service {}", pooler.name, service.name),
                );
            }
        } else {
            for app in d.hosts_running(service) {
                push(
                    &pg.database,
                    &db.user,
                    format!("{}/32", app.address),
                    format!("service {} on {}", service.name, app.name),
                );
            }
        }
    }
    // Replication entries on every database host, so a promoted replica already admits the others.
    for replica in d
        .hosts_with(Role::DatabaseReplica)
        .chain(d.hosts_with(Role::DatabasePrimary))
    {
        if replica.name != host.name {
            push(
                "replication",
                &pg.replication_user,
                format!("{}/32", replica.address),
                format!("streaming replication to {}", replica.name),
            );
        }
    }
    entries
}

fn scrape_jobs(d: &Deployment) -> Vec<ScrapeJob> {
    let target = |h: &HostSpec, port: u16| ScrapeTarget {
        address: format!("{}:{port}", h.address),
        host: h.name.clone(),
    };
    let mut jobs = vec![ScrapeJob {
        name: "node".into(),
        metrics_path: None,
        targets: d
            .hosts
            .iter()
            .map(|h| target(h, exporter_port::NODE))
            .collect(),
    }];
    let mut role_job = |name: &str, enabled: bool, roles: &[Role], port: u16| {
        let targets: Vec<ScrapeTarget> = d
            .hosts
            .iter()
            .filter(|h| roles.iter().any(|r| h.has(*r)))
            .map(|h| target(h, port))
            .collect();
        if enabled && !targets.is_empty() {
            jobs.push(ScrapeJob {
                name: name.into(),
                metrics_path: None,
                targets,
            });
        }
    };
    role_job(
        "postgres",
        d.postgres.is_some(),
        &[Role::DatabasePrimary, Role::DatabaseReplica],
        exporter_port::POSTGRES,
    );
    role_job(
        "pgbouncer",
        d.pgbouncer.is_some(),
        &[Role::Pooler],
        exporter_port::PGBOUNCER,
    );
    role_job(
        "redis",
        d.redis.is_some(),
        &[Role::Cache],
        exporter_port::REDIS,
    );
    role_job(
        "nginx",
        !d.sites.is_empty(),
        &[Role::LoadBalancer],
        exporter_port::NGINX,
    );
    role_job(
        "prometheus",
        true,
        &[Role::Monitoring],
        exporter_port::PROMETHEUS,
    );
    for service in &d.services {
        let (Some(path), Some(_)) = (&service.metrics_path, service.port) else {
            continue;
        };
        let targets = d
            .hosts_running(service)
            .flat_map(|h| {
                service
                    .host_ports()
                    .into_iter()
                    .map(move |port| ScrapeTarget {
                        address: format!("{}:{port}", h.address),
                        host: h.name.clone(),
                    })
            })
            .collect();
        jobs.push(ScrapeJob {
            name: format!("service-{}", service.name),
            metrics_path: Some(path.clone()),
            targets,
        });
    }
    jobs
}

fn cron_jobs(d: &Deployment, host: &HostSpec) -> Vec<CronJob> {
    let p = &d.project;
    let guarded = |name: &str, command: String| {
        format!("/usr/bin/flock --nonblock /run/lock/{p}-{name}.lock {command} 2>&1 | /usr/bin/logger --tag {p}-{name}")
    };
    let mut jobs = Vec::new();
    if host.has(Role::DatabasePrimary) && d.postgres.is_some() {
        jobs.push(CronJob {
            comment: "VACUUM ANALYZE every database (statistics and dead rows); overlapping runs are skipped".into(),
            schedule: d.maintenance.vacuum_schedule.clone(),
            user: "postgres",
            command: guarded("vacuum", "/usr/bin/vacuumdb --all --analyze --quiet".into()),
        });
    }
    if host.has(Role::LoadBalancer) && !d.sites.is_empty() {
        jobs.push(CronJob {
            comment: "renew TLS certificates; nginx reloads only when one changed".into(),
            schedule: d.maintenance.certificate_renewal_schedule.clone(),
            user: "root",
            command: guarded("certbot", "/usr/bin/certbot renew --quiet --deploy-hook '/usr/bin/systemctl reload nginx.service'".into()),
        });
        jobs.push(CronJob {
            comment: "probe every upstream's health endpoint and certificate expiry; results go to node_exporter".into(),
            schedule: d.maintenance.health_check_schedule.clone(),
            user: "root",
            command: guarded("healthcheck", format!("/usr/local/sbin/{p}-healthcheck")),
        });
    }
    jobs
}

fn health_targets(d: &Deployment, derived: &Derived) -> Vec<HealthTarget> {
    let mut out = Vec::new();
    for service in &d.services {
        let Some(path) = service.healthcheck.as_ref().and_then(|h| h.http.as_ref()) else {
            continue;
        };
        for upstream in derived.upstreams.get(&service.name).into_iter().flatten() {
            out.push(HealthTarget {
                service: service.name.clone(),
                url: format!("http://{}:{}{}", upstream.address, upstream.port, path),
            });
        }
    }
    out
}
