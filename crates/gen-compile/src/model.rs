//! Validate stage output: the deployment as a checked, resolved model. Defaults
//! are filled in and every invariant that needs no derived number has held, so
//! later stages trust what they read here and never re-check it.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use serde::Serialize;

pub use crate::job_model::{JobSpec, Trigger};
use crate::lints::LintCode;
use crate::profile::{
    EvictionPolicy, Persistence, PoolMode, RedisUse, Role, Runtime, ServiceRole, Storage, Workload,
};
use crate::units::{ByteSize, Cidr, Duration};

mod options;
pub use options::*;
mod backup;
mod firewall;
pub use backup::{PgbackrestSpec, RepositorySpec, RestoreTestSpec};
pub use firewall::{AllowSpec, FirewallSpec};

#[derive(Debug, Clone, Serialize)]
pub struct Deployment {
    /// The profile's name (`production`).
    pub profile: String,
    pub project: String,
    pub admin_email: Option<String>,
    pub internal_networks: Vec<Cidr>,
    /// The compose `frontend` network's subnet (`network.container_subnet`,
    /// or its default when containers share a host with their database).
    pub container_subnet: Option<Cidr>,
    /// `network.admin`: where administrators connect from.
    pub admin_networks: Vec<Cidr>,
    /// Sorted by name.
    pub hosts: Vec<HostSpec>,
    /// Sorted by name.
    pub services: Vec<ServiceSpec>,
    pub postgres: Option<PostgresSpec>,
    pub pgbouncer: Option<PgbouncerSpec>,
    pub redis: Option<RedisSpec>,
    /// Sorted by name.
    pub sites: Vec<SiteSpec>,
    /// `[nginx]`: the `http` level of the load balancers.
    pub nginx: NginxHttpSpec,
    pub backup: Option<BackupSpec>,
    pub maintenance: MaintenanceSpec,
    pub monitoring: MonitoringSpec,
    pub alerts: AlertSpec,
    pub rollout: Option<RolloutSpec>,
    /// Alertmanager on the monitoring hosts (`[alerting]`).
    pub alerting: Option<crate::model_alerting::AlertingSpec>,
    /// Lints the profile allows, with the reason it gives (`[lints] allow`).
    pub allowed_lints: BTreeMap<LintCode, String>,
    /// Sorted by name.
    pub jobs: Vec<JobSpec>,
    /// The host firewall (`[firewall]`), on the hosts whose `firewall` is true.
    pub firewall: Option<FirewallSpec>,
    /// `[backup]` with `method = "pgbackrest"` (`backup` is then `None`).
    pub pgbackrest: Option<PgbackrestSpec>,
    /// `[backup.restore_test]`.
    pub restore_test: Option<RestoreTestSpec>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RolloutSpec {
    pub repository: String,
    pub branch: String,
    pub interval: Duration,
    pub allowed_signers: Option<String>,
    pub checkout: String,
    pub gen_binary: String,
    pub canary: Vec<String>,
    pub stagger: Duration,
    pub waves: u32,
    /// `ssh://` access: the deploy key and the known_hosts file pinning the server.
    pub ssh: Option<SshAccess>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SshAccess {
    pub key: String,
    pub known_hosts: String,
}

impl Deployment {
    pub fn host(&self, name: &str) -> Option<&HostSpec> {
        self.hosts.iter().find(|h| h.name == name)
    }

    pub fn hosts_with(&self, role: Role) -> impl Iterator<Item = &HostSpec> {
        self.hosts.iter().filter(move |h| h.roles.contains(&role))
    }

    pub fn service(&self, name: &str) -> Option<&ServiceSpec> {
        self.services.iter().find(|s| s.name == name)
    }

    /// The services a host runs: those whose role the host has.
    pub fn services_on<'a>(&'a self, host: &'a HostSpec) -> impl Iterator<Item = &'a ServiceSpec> {
        self.services
            .iter()
            .filter(move |s| host.roles.contains(&s.role.host_role()))
    }

    /// Hosts that run `service`.
    pub fn hosts_running<'a>(
        &'a self,
        service: &'a ServiceSpec,
    ) -> impl Iterator<Item = &'a HostSpec> {
        let role = service.role.host_role();
        self.hosts.iter().filter(move |h| h.roles.contains(&role))
    }

    pub fn primary(&self) -> Option<&HostSpec> {
        self.hosts_with(Role::DatabasePrimary).next()
    }

    /// Whether `host` runs nginx: a load balancer of a deployment with sites.
    pub fn serves_sites(&self, host: &HostSpec) -> bool {
        host.has(Role::LoadBalancer) && !self.sites.is_empty()
    }

    pub fn has_replicas(&self) -> bool {
        self.hosts_with(Role::DatabaseReplica).next().is_some()
    }
}

impl ServiceRole {
    pub fn host_role(self) -> Role {
        match self {
            ServiceRole::Api => Role::Api,
            ServiceRole::Worker => Role::Worker,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct HostSpec {
    pub name: String,
    pub address: IpAddr,
    pub roles: BTreeSet<Role>,
    pub cores: u32,
    pub memory: ByteSize,
    pub storage: Storage,
    pub disk: Option<ByteSize>,
    /// `hosts.<h>.firewall` (default true): whether `[firewall]` applies here.
    pub firewall: bool,
}

impl HostSpec {
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ServiceSpec {
    pub name: String,
    pub runtime: Runtime,
    pub role: ServiceRole,
    /// Container only.
    pub image: Option<String>,
    /// Container: command override (may be empty). Native: `ExecStart` argv.
    pub command: Vec<String>,
    pub port: Option<u16>,
    pub replicas: u32,
    pub user: Option<String>,
    pub working_directory: Option<String>,
    pub healthcheck: Option<HealthcheckSpec>,
    pub cpus: Option<f64>,
    pub memory: Option<ByteSize>,
    pub nofile: Option<u64>,
    pub read_only: bool,
    pub tmpfs: Vec<String>,
    pub environment: BTreeMap<String, String>,
    pub secrets: BTreeMap<String, String>,
    pub database: Option<DatabaseUse>,
    pub redis: bool,
    pub depends_on: Vec<String>,
    pub metrics_path: Option<String>,
    pub hardening: bool,
    /// `publish == Public` (the old spelling's meaning).
    pub publish_public: bool,
    pub publish: crate::profile::Publish,
    pub options: ContainerOptions,
    /// Container: merged into the compose service; native: `[Service]` lines.
    pub extra: ExtraSpec,
}

impl ServiceSpec {
    /// The address a replica on `host` is reached at: loopback when the
    /// service publishes there only, else the host's private address.
    pub fn reached_at(&self, host: &HostSpec) -> IpAddr {
        if self.publish == crate::profile::Publish::Loopback {
            IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)
        } else {
            host.address
        }
    }

    /// Host ports the service binds: one per replica, counting up from `port`;
    /// none with `publish = "none"`.
    pub fn host_ports(&self) -> Vec<u16> {
        if self.publish == crate::profile::Publish::None {
            return Vec::new();
        }
        match self.port {
            None => Vec::new(),
            Some(port) => (0..self.replicas)
                .filter_map(|i| u16::try_from(i).ok().and_then(|i| port.checked_add(i)))
                .collect(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct HealthcheckSpec {
    pub http: Option<String>,
    pub command: Vec<String>,
    pub interval: Duration,
    pub timeout: Duration,
    pub retries: u32,
    pub start_period: Duration,
}

#[derive(Debug, Clone, Serialize)]
pub struct DatabaseUse {
    pub user: String,
    pub pooled: bool,
    /// Direct connections per replica (only when not pooled).
    pub connections: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct PostgresSpec {
    pub version: u32,
    /// Native (Debian's cluster) or a compose service on the database host.
    pub runtime: Runtime,
    /// Container only.
    pub image: Option<String>,
    /// Container only: `POSTGRES_PASSWORD_FILE`'s source on the host.
    pub superuser_password_file: Option<String>,
    pub workload: Workload,
    pub database: String,
    pub users: Vec<String>,
    pub port: u16,
    pub extensions: Vec<String>,
    pub max_connections: Option<u32>,
    /// The declared data size (`postgres.data_size`), PGTune's DB size input.
    pub data_size: Option<ByteSize>,
    /// `postgres.memory`: a cap on the memory PGTune is given.
    pub memory: Option<ByteSize>,
    pub synchronous_replicas: u32,
    pub replication_user: String,
    pub replication_passfile: String,
    /// Every role the primary's bootstrap creates, by name (`postgres.roles`,
    /// or expanded from `users` and `replication_user`).
    pub roles: BTreeMap<String, RoleSpec>,
    /// Every database the primary's bootstrap creates, by name.
    pub databases: BTreeMap<String, DatabaseSpec>,
    /// Extension → Debian package, for extensions missing from gen's table.
    pub extension_packages: BTreeMap<String, String>,
    pub tls: Option<TlsFiles>,
    /// Setting name → value exactly as it goes into postgresql.conf.
    pub overrides: BTreeMap<String, String>,
}

/// A role of the data tier, checked: its name is a SQL name, its password
/// file a safe path, every role it is a member of declared or predefined.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RoleSpec {
    pub password_file: Option<String>,
    pub connection_limit: Option<u32>,
    pub member_of: Vec<String>,
    pub replication: bool,
}

/// A database, checked: its owner and every granted role are declared roles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DatabaseSpec {
    pub owner: String,
    pub extensions: Vec<String>,
    pub grants: BTreeMap<String, crate::profile::GrantLevel>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TlsFiles {
    pub certificate: String,
    pub key: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PgbouncerSpec {
    pub port: u16,
    pub pool_mode: PoolMode,
    pub max_client_conn: Option<u32>,
    pub default_pool_size: Option<u32>,
    pub reserve_pool_size: Option<u32>,
    pub auth_file: String,
    /// PgBouncer's exporter's libpq password file.
    pub exporter_passfile: String,
    pub extra: ExtraSpec,
}

#[derive(Debug, Clone, Serialize)]
pub struct RedisSpec {
    /// Native (Debian's redis-server) or a compose service on the cache host.
    pub runtime: Runtime,
    /// Container only.
    pub image: Option<String>,
    pub port: u16,
    pub maxmemory: Option<ByteSize>,
    pub maxmemory_policy: EvictionPolicy,
    /// `holds` contains `queues`.
    pub queues: bool,
    /// What the keys are (`redis.holds`, or `queues = true`), sorted, once each.
    pub holds: Vec<RedisUse>,
    pub persistence: Persistence,
    pub password_file: Option<String>,
    pub extra: ExtraSpec,
}

#[derive(Debug, Clone, Serialize)]
pub struct SiteSpec {
    pub name: String,
    pub server_names: Vec<String>,
    pub certificate: String,
    pub certificate_key: String,
    pub client_max_body_size: ByteSize,
    pub rate_limit: Option<RateLimitSpec>,
    pub hsts: bool,
    pub health_path: String,
    pub locations: Vec<LocationSpec>,
    pub options: SiteOptions,
}

#[derive(Debug, Clone, Serialize)]
pub struct RateLimitSpec {
    pub requests_per_second: u32,
    pub burst: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct LocationSpec {
    pub path: String,
    pub target: LocationTarget,
    /// The port the profile expects the service on (checked in validation).
    pub port: Option<u16>,
    pub allow: Vec<Cidr>,
    pub read_timeout: Duration,
    pub websocket: bool,
    pub rate_limited: bool,
    pub options: LocationOptions,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LocationTarget {
    Service { service: String },
    Static { root: String },
}

#[derive(Debug, Clone, Serialize)]
pub struct BackupSpec {
    pub schedule: String,
    pub retention_days: u32,
    pub destination: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct MaintenanceSpec {
    pub vacuum_schedule: String,
    pub certificate_renewal_schedule: String,
    pub health_check_schedule: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct MonitoringSpec {
    pub scrape_interval: Duration,
    pub alertmanagers: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AlertSpec {
    #[serde(rename = "for")]
    pub for_: Duration,
    pub error_ratio: f64,
    pub latency_p95_seconds: f64,
    pub replication_lag_seconds: f64,
    pub connection_saturation: f64,
    pub disk_usage: f64,
    pub backup_age_hours: f64,
    pub certificate_expiry_days: f64,
    /// `[alerts.rules]`, sorted by name.
    pub rules: Vec<crate::model_alerting::CustomRule>,
}

/// Ports of the Prometheus exporters gen expects next to each component
/// (their Debian packages' defaults).
pub mod exporter_port {
    pub const NODE: u16 = 9100;
    pub const POSTGRES: u16 = 9187;
    pub const PGBOUNCER: u16 = 9127;
    pub const REDIS: u16 = 9121;
    pub const NGINX: u16 = 9113;
    /// nginx's own stub_status endpoint that nginx_exporter reads, on loopback.
    pub const NGINX_STUB_STATUS: u16 = 8080;
    pub const PROMETHEUS: u16 = 9090;
}

/// One TCP port a host listens on, and what listens there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Binding {
    pub port: u16,
    /// Human name of the listener (`service api`, `postgresql`).
    pub owner: String,
    /// The profile key that put it there, for error locations.
    pub key: String,
}

impl Deployment {
    /// Every port `host` listens on, in a stable order. The single source of
    /// truth for port conflicts, firewall notes and scrape targets.
    pub fn bindings(&self, host: &HostSpec) -> Vec<Binding> {
        let mut out = Vec::new();
        let mut bind = |port: u16, owner: &str, key: &str| {
            out.push(Binding {
                port,
                owner: owner.to_string(),
                key: key.to_string(),
            })
        };
        bind(
            exporter_port::NODE,
            "node exporter",
            &format!("hosts.{}", host.name),
        );
        if self.serves_sites(host) {
            bind(80, "nginx (http)", "sites");
            bind(443, "nginx (https)", "sites");
            bind(exporter_port::NGINX, "nginx exporter", "sites");
            bind(
                exporter_port::NGINX_STUB_STATUS,
                "nginx stub_status (loopback)",
                "sites",
            );
        }
        if let Some(pg) = &self.postgres {
            if host.has(Role::DatabasePrimary) || host.has(Role::DatabaseReplica) {
                bind(pg.port, "postgresql", "postgres.port");
                if crate::derive::exporters::postgres_exporter(self, host) {
                    bind(exporter_port::POSTGRES, "postgres exporter", "postgres");
                }
            }
        }
        if let Some(pgb) = &self.pgbouncer {
            if host.has(Role::Pooler) {
                bind(pgb.port, "pgbouncer", "pgbouncer.port");
                bind(exporter_port::PGBOUNCER, "pgbouncer exporter", "pgbouncer");
            }
        }
        if let Some(redis) = &self.redis {
            if host.has(Role::Cache) {
                bind(redis.port, "redis", "redis.port");
                bind(exporter_port::REDIS, "redis exporter", "redis");
            }
        }
        if host.has(Role::Monitoring) {
            bind(exporter_port::PROMETHEUS, "prometheus", "monitoring");
            if self.alerting.is_some() {
                use crate::model_alerting::{ALERTMANAGER_CLUSTER_PORT, ALERTMANAGER_PORT};
                bind(ALERTMANAGER_PORT, "alertmanager", "alerting");
                // Alertmanagers gossip only when there is a peer to gossip with.
                if self.hosts_with(Role::Monitoring).nth(1).is_some() {
                    bind(
                        ALERTMANAGER_CLUSTER_PORT,
                        "alertmanager cluster",
                        "alerting",
                    );
                }
            }
        }
        for service in self.services_on(host) {
            for port in service.host_ports() {
                bind(
                    port,
                    &format!("service `{}`", service.name),
                    &format!("services.{}.port", service.name),
                );
            }
        }
        out
    }
}
