//! Load stage: the raw profile, mirroring the TOML exactly. Every struct rejects
//! unknown keys; defaults and invariants are applied later, in `validate`.
//!
//! A profile describes one deployment shape (pilot, production, ha): its hosts
//! and their hardware, the application services, the data tier, the nginx sites,
//! backups and alert thresholds. Secrets are never values here, only absolute
//! paths to files on the target host.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use crate::profile_roles::{DatabaseDecl, GrantLevel, RoleDecl};
use crate::units::{ByteSize, Cidr, Duration};

mod container;
mod nginx;
pub use crate::profile_jobs::{Job, Placement as JobPlacement, Resource};
pub use container::*;
pub use nginx::*;
mod backup;
mod firewall;
pub use crate::profile_alerting::{
    AlertRule, AlertRules, Alerting, Pagerduty, Receiver, Route, Slack, Smtp, Webhook,
};
pub use backup::{BackupMethod, BackupRepository, RestoreTest, S3Repository};
pub use firewall::{Firewall, FirewallAllow, Protocol};

/// A deployment profile (`profiles/<name>.toml`).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "gen deployment profile")]
pub struct Profile {
    /// A base profile this one extends, relative to this file. Tables merge key by
    /// key; any other value (string, number, array) in this file replaces the base's.
    pub extends: Option<String>,
    /// Names the deployment.
    pub project: Project,
    /// The deployment's private networks.
    pub network: Network,
    /// Every machine of the deployment, by host name.
    pub hosts: BTreeMap<String, Host>,
    /// Application services, run as containers or native systemd services.
    #[serde(default)]
    pub services: BTreeMap<String, Service>,
    /// PostgreSQL on the hosts with roles `database_primary` and `database_replica`.
    pub postgres: Option<Postgres>,
    /// PgBouncer on the hosts with role `pooler`.
    pub pgbouncer: Option<Pgbouncer>,
    /// Redis on the host with role `cache`.
    pub redis: Option<Redis>,
    /// Public nginx sites served by the load balancers.
    #[serde(default)]
    pub sites: BTreeMap<String, Site>,
    /// nginx's `http` level on the load balancers: compression, keep-alive.
    pub nginx: Option<NginxHttp>,
    /// Database dumps on the primary, by a systemd timer.
    pub backup: Option<Backup>,
    /// Schedules of the cron jobs (vacuum, certificate renewal, health checks).
    pub maintenance: Option<Maintenance>,
    /// Prometheus on the hosts with role `monitoring`.
    pub monitoring: Option<Monitoring>,
    /// Alert thresholds of the Prometheus rules.
    pub alerts: Option<Alerts>,
    /// Alertmanager on the monitoring hosts: who receives the alerts.
    pub alerting: Option<Alerting>,
    /// Pull-mode rollout: every host fetches the reviewed commit and applies it.
    pub rollout: Option<Rollout>,
    /// Which of gen's lints this deployment allows, and why (`gen lints` lists them).
    pub lints: Option<Lints>,
    /// Jobs: migrations that run before services, scheduled tasks, and tasks
    /// that run when their definition changes.
    #[serde(default)]
    pub jobs: BTreeMap<String, Job>,
    /// The host firewall, derived from the listeners (needs `network.admin`).
    pub firewall: Option<Firewall>,
}

/// Lints are warnings about a profile that builds but is probably wrong
/// (`docs/lints.md`). An allowance names the lint without its `gen::lint::`
/// prefix and says why it does not apply here; a lint gen does not know, or
/// an allowance without a reason, is an error.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Lints {
    /// Lint name → the reason it does not apply to this deployment, e.g.
    /// `{ "public-metrics" = "scraped over the VPN" }`.
    pub allow: Option<BTreeMap<String, String>>,
}

/// Pull-mode rollout. gen writes on every host a timer that fetches the
/// deployment repository, verifies the commit and runs `gen apply --yes` on it.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rollout {
    /// The repository holding profiles/ and generated/ (`https://` or `ssh://` URL).
    pub repository: String,
    /// The reviewed branch (default `main`).
    pub branch: Option<String>,
    /// How often hosts look for a new commit (default `15m`).
    pub interval: Option<Duration>,
    /// SSH allowed-signers file on the host: when set, only commits signed by a
    /// listed key are applied (`git verify-commit`).
    pub allowed_signers: Option<String>,
    /// Where gen keeps the checkout on the host (default `/var/lib/gen/checkout`).
    pub checkout: Option<String>,
    /// The gen binary on the host (default `/usr/local/bin/gen`).
    pub gen_binary: Option<String>,
    /// Hosts that apply a new commit first, as soon as they see it.
    #[serde(default)]
    pub canary: Vec<String>,
    /// How long each later wave waits after the commit before applying it
    /// (default `0s`: every host applies at once). With `waves = 3` and
    /// `stagger = "30m"`, the canaries apply at once and the other hosts 30,
    /// 60 or 90 minutes after the commit, each in a wave fixed by its name.
    pub stagger: Option<Duration>,
    /// How many waves the non-canary hosts are spread over (default 1).
    pub waves: Option<u32>,
    /// For an `ssh://` repository: the deploy key on the host (read by root only).
    pub ssh_key: Option<String>,
    /// For an `ssh://` repository: the known_hosts file that pins the server's key.
    pub known_hosts: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Project {
    /// Short name used in file names, unit names and metrics (`[a-z][a-z0-9-]*`).
    pub name: String,
    /// Where administrative mail and alert summaries go, e.g. `ops@example.com`.
    pub admin_email: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Network {
    /// Private networks of the deployment. Every host's `address` must lie in
    /// one of them: gen binds internal ports (database, pooler, cache,
    /// metrics) to that private address, never to a public one. Who may
    /// connect is narrower than these networks: pg_hba.conf and the firewall
    /// admit each deployment host that uses a port by its own address (`/32`),
    /// not the whole network. `@internal` in
    /// `firewall.allow` names these networks, and lints warn when a public
    /// port or metrics path reaches beyond them.
    pub internal: Vec<Cidr>,
    /// The compose `frontend` network of every host (`ipam.config.subnet`): a
    /// private IPv4 network, /16 to /28, disjoint from `internal`. pg_hba.conf
    /// admits it on a host only for the roles that host's containers use.
    /// Default `172.30.0.0/24` when containers and the database they connect
    /// to share a host.
    pub container_subnet: Option<Cidr>,
    /// Where administrators connect from: the sources SSH accepts when the
    /// firewall is on, and what `@admin` names.
    #[serde(default)]
    pub admin: Vec<Cidr>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Host {
    /// The host's private address; services bind to it and peers connect to it.
    pub address: std::net::IpAddr,
    /// What the host does. A single-host pilot lists every role.
    pub roles: Vec<Role>,
    pub hardware: Hardware,
    /// Whether `[firewall]` applies to this host (default true); false for a
    /// host filtered elsewhere, e.g. by a cloud security group.
    pub firewall: Option<bool>,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    LoadBalancer,
    Api,
    Worker,
    DatabasePrimary,
    DatabaseReplica,
    Pooler,
    Cache,
    Monitoring,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::LoadBalancer => "load_balancer",
            Role::Api => "api",
            Role::Worker => "worker",
            Role::DatabasePrimary => "database_primary",
            Role::DatabaseReplica => "database_replica",
            Role::Pooler => "pooler",
            Role::Cache => "cache",
            Role::Monitoring => "monitoring",
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Hardware {
    pub cores: u32,
    pub memory: ByteSize,
    /// The data disk: `hdd`, `ssd`, `nvme` or `san` (network storage), as PGTune's "Data Storage".
    pub storage: Storage,
    /// Size of the data disk, for capacity checks and alerts.
    pub disk: Option<ByteSize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Storage {
    Hdd,
    Ssd,
    Nvme,
    San,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Runtime {
    Container,
    Native,
}

/// Which hosts run a service: those with this role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ServiceRole {
    Api,
    Worker,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// `container` (docker compose) or `native` (a systemd service).
    pub runtime: Runtime,
    /// Hosts with this role run the service (default `api`).
    pub role: Option<ServiceRole>,
    /// Container image with a pinned tag or digest (`ghcr.io/acme/api:v1.2.1`).
    pub image: Option<String>,
    /// Container: replaces the image's command. Native: the program and its
    /// arguments (`ExecStart`), the program an absolute path.
    pub command: Option<Vec<String>>,
    /// The TCP port the service listens on, if any.
    pub port: Option<u16>,
    /// Container instances per host (default 1). Each replica gets its own host
    /// port, counting up from `port`.
    pub replicas: Option<u32>,
    /// Native: the system user the service runs as. Container: `uid:gid`.
    pub user: Option<String>,
    pub working_directory: Option<String>,
    pub healthcheck: Option<Healthcheck>,
    pub limits: Option<Limits>,
    /// Container root filesystem read-only (default true); writable paths go in `tmpfs`.
    pub read_only: Option<bool>,
    /// Container paths mounted as tmpfs (default `["/tmp"]`): a path, or
    /// `{ path, size, mode }`.
    pub tmpfs: Option<Vec<Tmpfs>>,
    /// Non-secret environment. Keys that look like credentials are rejected: use `secrets`.
    pub environment: Option<BTreeMap<String, String>>,
    /// Credentials, by name, as absolute paths of files on the host.
    pub secrets: Option<BTreeMap<String, String>>,
    /// The database role the service connects as.
    pub database: Option<ServiceDatabase>,
    /// Whether the service uses the Redis cache/queue.
    pub redis: Option<bool>,
    /// Other services on the same host that must be healthy first: a list, or
    /// a table of conditions `{ cache = "healthy", migrate = "completed" }`.
    pub depends_on: Option<DependsOn>,
    /// HTTP path where the service exposes Prometheus metrics.
    pub metrics_path: Option<String>,
    /// Native: systemd sandboxing (default true). Turn off only for a service that
    /// needs to write outside its state directory.
    pub hardening: Option<bool>,
    /// Container: publish the port on all interfaces instead of the host's private
    /// address. Needed only when something outside the internal network connects directly.
    /// The old spelling of `publish = "public"`.
    pub publish_public: Option<bool>,
    /// Container: where the port is published: `private` (default, the host's
    /// private address), `loopback`, `none` or `public`.
    pub publish: Option<Publish>,
    /// Container: capabilities added back after all are dropped.
    pub cap_add: Option<Vec<Capability>>,
    /// Container: resources guaranteed per replica, each at most its `limits`.
    pub reservations: Option<Reservations>,
    /// Container: host device paths passed through (`/dev/dri`).
    pub devices: Option<Vec<String>>,
    /// Container: NVIDIA GPUs reserved, a count or `"all"`.
    pub gpus: Option<Gpus>,
    /// Container: named volumes and bind mounts.
    pub volumes: Option<Vec<Volume>>,
    /// How long a stop waits before the process is killed (default 10s for a
    /// container, 30s for a native service).
    pub stop_grace_period: Option<Duration>,
    /// Container: log rotation.
    pub logging: Option<Logging>,
    /// Typed by hand: merged into the compose service, or written to the
    /// unit's `[Service]` section. Names gen writes are refused.
    #[schemars(with = "Option<BTreeMap<String, serde_json::Value>>")]
    pub extra: Option<Extra>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Healthcheck {
    /// HTTP path probed on the service port.
    pub http: Option<String>,
    /// Or a command run inside the container.
    pub command: Option<Vec<String>>,
    pub interval: Option<Duration>,
    pub timeout: Option<Duration>,
    pub retries: Option<u32>,
    pub start_period: Option<Duration>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// CPU cores (fractions allowed), per replica.
    pub cpus: Option<f64>,
    /// Memory, per replica.
    pub memory: Option<ByteSize>,
    /// Open files.
    pub nofile: Option<u64>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceDatabase {
    /// The PostgreSQL role the service logs in as; must be one of `postgres.users`.
    pub user: String,
    /// Connect through PgBouncer (default true when the deployment has one).
    pub pooled: Option<bool>,
    /// Direct connections the service opens per replica when not pooled.
    pub connections: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Workload {
    Web,
    Oltp,
    Dw,
    Mixed,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Postgres {
    /// Major version (13 to 18); `gen check` checks the files with a server of this version.
    #[schemars(range(min = 13, max = 18))]
    pub version: u32,
    /// `native` (Debian's packages, default) or `container`: the official
    /// image in the host's compose file, with gen's postgresql.conf and
    /// pg_hba.conf mounted read-only.
    pub runtime: Option<Runtime>,
    /// Container only: the image, pinned like service images (`postgres:18.1-bookworm`).
    pub image: Option<String>,
    /// Container only: the file on the host holding the superuser's password
    /// (`POSTGRES_PASSWORD_FILE`, read once when the data volume is created).
    pub superuser_password_file: Option<String>,
    /// What the database mostly serves; drives the derived tuning (PGTune).
    pub workload: Workload,
    /// The application database (shorthand for one `postgres.databases` entry).
    pub database: Option<String>,
    /// Roles that log in from application hosts (shorthand for `postgres.roles`).
    pub users: Option<Vec<String>>,
    pub port: Option<u16>,
    /// Extensions of `postgres.database` (shorthand for its `extensions`;
    /// preloaded where they must be).
    pub extensions: Option<Vec<String>>,
    /// Roles gen creates on the primary, by name.
    pub roles: Option<BTreeMap<String, RoleDecl>>,
    /// Databases gen creates on the primary, by name.
    pub databases: Option<BTreeMap<String, DatabaseDecl>>,
    /// Debian package of an extension gen's table does not know (extension → package).
    pub extension_packages: Option<BTreeMap<String, String>>,
    /// Overrides the derived `max_connections` (1 to 262143).
    #[schemars(range(min = 1, max = 262143))]
    pub max_connections: Option<u32>,
    /// How much data the database holds: PGTune's "Total Data Size", compared
    /// with each database host's memory (less than it, 1x to 3x, more than 3x).
    /// Default: PGTune's default, 1x to 3x the memory.
    pub data_size: Option<ByteSize>,
    /// The memory PostgreSQL is tuned for, as a cap: by default each database
    /// host's memory less its other tenants (services' memory limits, Redis's
    /// `maxmemory`); this may only lower it.
    pub memory: Option<ByteSize>,
    /// Replicas that must confirm each commit (0 = asynchronous replication).
    pub synchronous_replicas: Option<u32>,
    /// The role replicas stream as (default `replicator`; shorthand for a
    /// `postgres.roles` entry with `replication = true`).
    pub replication_user: Option<String>,
    /// Password file replicas use to connect to the primary (libpq passfile).
    pub replication_passfile: Option<String>,
    /// Server certificate for TLS connections; both or neither.
    pub tls_certificate: Option<String>,
    pub tls_key: Option<String>,
    /// Explicit settings; each wins over the derived value of the same name.
    #[schemars(with = "Option<BTreeMap<String, OverrideValue>>")]
    pub overrides: Option<BTreeMap<String, toml::Value>>,
}

/// A PostgreSQL setting value: a number, a boolean or a string.
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum OverrideValue {
    Integer(i64),
    Float(f64),
    Boolean(bool),
    String(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PoolMode {
    Session,
    Transaction,
    Statement,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Pgbouncer {
    pub port: Option<u16>,
    /// Default `transaction`.
    pub pool_mode: Option<PoolMode>,
    /// Client connections accepted per pooler (default derived from the services).
    pub max_client_conn: Option<u32>,
    /// Server connections per pool; derived from PostgreSQL's budget when absent.
    pub default_pool_size: Option<u32>,
    /// Extra server connections a pool may borrow under load (default pool size / 4).
    pub reserve_pool_size: Option<u32>,
    /// File with the SCRAM secrets of the pooled roles (default `/etc/pgbouncer/userlist.txt`).
    pub auth_file: Option<String>,
    /// The libpq password file (`*:*:pgbouncer:prometheus:<password>`, owned by
    /// user `prometheus`, mode 0600) PgBouncer's exporter logs into the admin
    /// console with, as the stats user `prometheus`, whose secret `auth_file`
    /// holds (default `/etc/pgbouncer/exporter.pgpass`).
    pub exporter_passfile: Option<String>,
    /// Settings of the `[pgbouncer]` section typed by hand. Names gen writes are refused.
    #[schemars(with = "Option<BTreeMap<String, serde_json::Value>>")]
    pub extra: Option<Extra>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum EvictionPolicy {
    Noeviction,
    AllkeysLru,
    AllkeysLfu,
    VolatileLru,
    VolatileLfu,
    AllkeysRandom,
    VolatileRandom,
    VolatileTtl,
}

impl EvictionPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            EvictionPolicy::Noeviction => "noeviction",
            EvictionPolicy::AllkeysLru => "allkeys-lru",
            EvictionPolicy::AllkeysLfu => "allkeys-lfu",
            EvictionPolicy::VolatileLru => "volatile-lru",
            EvictionPolicy::VolatileLfu => "volatile-lfu",
            EvictionPolicy::AllkeysRandom => "allkeys-random",
            EvictionPolicy::VolatileRandom => "volatile-random",
            EvictionPolicy::VolatileTtl => "volatile-ttl",
        }
    }
}

/// What a Redis's keys are, which decides what it may evict.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum RedisUse {
    Queues,
    Sessions,
    Cache,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Persistence {
    None,
    Rdb,
    Aof,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Redis {
    /// `native` (Debian's package, default) or `container`: the image in the
    /// cache host's compose file, with gen's redis.conf mounted read-only.
    pub runtime: Option<Runtime>,
    /// Container only: the image, pinned (`redis:7.2.5-bookworm`).
    pub image: Option<String>,
    pub port: Option<u16>,
    /// Memory cap (default a quarter of the host's memory).
    pub maxmemory: Option<ByteSize>,
    /// Default `noeviction` when `queues` is true, else `allkeys-lru`.
    pub maxmemory_policy: Option<EvictionPolicy>,
    /// Shorthand for `holds = ["queues"]`; not together with `holds`.
    pub queues: Option<bool>,
    /// What the keys are: `queues` (Celery, Sidekiq, BullMQ: never evicted),
    /// `sessions` (evicting one logs a user out), `cache`. The eviction
    /// policy defaults to `noeviction` when it holds queues or sessions.
    pub holds: Option<Vec<RedisUse>>,
    /// Default `aof` with queues, `rdb` otherwise.
    pub persistence: Option<Persistence>,
    /// File holding `requirepass` for Redis (included by reference).
    pub password_file: Option<String>,
    /// redis.conf directives typed by hand. Names gen writes are refused.
    #[schemars(with = "Option<BTreeMap<String, serde_json::Value>>")]
    pub extra: Option<Extra>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Site {
    /// Host names the site answers to.
    pub server_names: Vec<String>,
    pub certificate: String,
    pub certificate_key: String,
    /// Largest request body (default `10MiB`).
    pub client_max_body_size: Option<ByteSize>,
    pub rate_limit: Option<RateLimit>,
    /// Strict-Transport-Security (default true): a boolean, or
    /// `{ max_age, include_subdomains, preload }`.
    pub hsts: Option<Hsts>,
    /// Security headers: `frame_options`, `content_security_policy`,
    /// `referrer_policy`, `permissions_policy`.
    pub headers: Option<Headers>,
    /// nginx directives of the `server` block typed by hand. Names gen writes are refused.
    #[schemars(with = "Option<BTreeMap<String, serde_json::Value>>")]
    pub extra: Option<Extra>,
    /// Path answered for load-balancer health checks, proxied to the first
    /// location's service and not logged (default `/health`).
    pub health_path: Option<String>,
    pub locations: Vec<Location>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    pub requests_per_second: u32,
    pub burst: Option<u32>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Location {
    /// URL prefix (`/`, `/api/`).
    pub path: String,
    /// Service the location proxies to.
    pub service: Option<String>,
    /// The service port the location expects; checked against the service.
    pub port: Option<u16>,
    /// Or a directory of static files served directly.
    pub root: Option<String>,
    /// Only these networks may use the location (e.g. a metrics endpoint).
    pub allow: Option<Vec<Cidr>>,
    pub read_timeout: Option<Duration>,
    /// Pass WebSocket upgrades.
    pub websocket: Option<bool>,
    /// Apply the site's rate limit here (default true).
    pub rate_limited: Option<bool>,
    /// `proxy_connect_timeout` (default `5s`).
    pub connect_timeout: Option<Duration>,
    /// `proxy_send_timeout` (default `60s`).
    pub send_timeout: Option<Duration>,
    /// `proxy_buffering` (default true); off for streaming and server-sent events.
    pub buffering: Option<bool>,
    /// Static root: how long browsers may cache files, a duration or `"off"` (default `1h`).
    pub cache: Option<Cache>,
    /// nginx directives of the location typed by hand. Names gen writes are refused.
    #[schemars(with = "Option<BTreeMap<String, serde_json::Value>>")]
    pub extra: Option<Extra>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Backup {
    /// `pg_dump` (default) or `pgbackrest`.
    pub method: Option<BackupMethod>,
    /// pg_dump: systemd calendar expression (default `*-*-* 03:00:00`).
    pub schedule: Option<String>,
    /// pg_dump: days dumps are kept (required with pg_dump).
    pub retention_days: Option<u32>,
    /// pg_dump: directory the dumps go to on the database primary (required with pg_dump).
    pub destination: Option<String>,
    /// pgBackRest: systemd calendar of full backups (default `Sun *-*-* 02:00:00`).
    pub full: Option<String>,
    /// pgBackRest: systemd calendar of differential backups (default `Mon..Sat *-*-* 02:00:00`).
    pub diff: Option<String>,
    /// pgBackRest: full backups kept (`repo1-retention-full`, default 4).
    pub retention_full: Option<u32>,
    /// pgBackRest: the most data a loss may cost; WAL is archived at least
    /// every `rpo / 2` (`archive_timeout`). Default `1h`.
    pub rpo: Option<Duration>,
    /// pgBackRest: where backups go.
    pub repository: Option<BackupRepository>,
    /// A scheduled restore of the newest backup into a throw-away server,
    /// checked by a query (both methods).
    pub restore_test: Option<RestoreTest>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Maintenance {
    /// cron schedule of `VACUUM ANALYZE` (default `0 2 * * *`).
    pub vacuum_schedule: Option<String>,
    /// cron schedule of certificate renewal (default `17 3 * * *`).
    pub certificate_renewal_schedule: Option<String>,
    /// cron schedule of the HTTP health check (default `*/5 * * * *`).
    pub health_check_schedule: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Monitoring {
    /// Default `15s`.
    pub scrape_interval: Option<Duration>,
    /// Alertmanager addresses (`host:port`) alerts are sent to.
    pub alertmanagers: Option<Vec<String>>,
}

/// Alert thresholds. Every alert fires only after its condition held for `for`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Alerts {
    /// How long a condition must hold before an alert fires (default `5m`).
    #[serde(rename = "for")]
    pub for_: Option<Duration>,
    /// Share of 5xx responses (default 0.05).
    pub error_ratio: Option<f64>,
    /// p95 request latency in seconds (default 1.0).
    pub latency_p95_seconds: Option<f64>,
    /// Replica replay lag in seconds (default 30).
    pub replication_lag_seconds: Option<f64>,
    /// Share of `max_connections` in use (default 0.8).
    pub connection_saturation: Option<f64>,
    /// Share of a filesystem in use (default 0.85).
    pub disk_usage: Option<f64>,
    /// Hours since the last good backup (default 26).
    pub backup_age_hours: Option<f64>,
    /// Days since the last successful restore test (default: twice the
    /// longest gap between two runs of `backup.restore_test.schedule`, plus one day).
    pub restore_age_days: Option<f64>,
    /// Days before a certificate expires (default 14).
    pub certificate_expiry_days: Option<f64>,
    /// Custom alert rules by alert name (`[A-Za-z_][A-Za-z0-9_]*`).
    pub rules: Option<AlertRules>,
}
