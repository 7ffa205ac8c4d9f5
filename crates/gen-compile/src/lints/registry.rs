//! Validate stage, lints: the one table of gen's lints. Each lint is a variant
//! of [`LintCode`] with one entry here (its name, class, default level, a
//! one-line summary, why it matters, and an example with its fix) and one arm
//! in `lints::checker`, the function that looks for it. `docs/lints.md` and
//! `gen lints` are rendered from this table, and every example is built by
//! the tests: it must draw its lint and nothing else, and its fix must not.

use std::fmt::Write as _;

use serde::Serialize;

/// Every lint gen knows. The order is the order of `docs/lints.md` and of the
/// warnings of one profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LintCode {
    DirectConnections,
    PoolerBypass,
    OverrideExceedsMemory,
    CpuOvercommit,
    MemoryUnbounded,
    PublicMetrics,
    PublicAdminPath,
    PublicAdminTool,
    UnneededCapability,
    WildcardBind,
    HstsOff,
    CredentialInEnv,
    SuperuserLogin,
    RedisNoAuth,
    UrlMissingPassword,
    SingletonReplicated,
    NoBackup,
    BackupNeverRestored,
    StaticRootUnreadable,
    CertificateCopy,
    NoHealthcheck,
    EvictingSessions,
    ScheduleCollision,
    SshOpenToWorld,
    PublicDatabase,
}

/// A code is written by its name, as in `[lints] allow`.
impl Serialize for LintCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// What a lint does when it fires and is not allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// A located warning; the build goes on (exit 2 with `--deny-warnings`).
    Warn,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Warn => "warn",
        }
    }
}

/// The kind of mistake a lint catches; `docs/lints.md` groups lints by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    ConnectionBudget,
    MemoryAndCpu,
    Exposure,
    Credentials,
    SingletonsAndSchedules,
    Reachability,
}

impl Class {
    pub const ALL: [Class; 6] = [
        Class::ConnectionBudget,
        Class::MemoryAndCpu,
        Class::Exposure,
        Class::Credentials,
        Class::SingletonsAndSchedules,
        Class::Reachability,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Class::ConnectionBudget => "Connection budget",
            Class::MemoryAndCpu => "Memory and CPU",
            Class::Exposure => "Exposure",
            Class::Credentials => "Credentials",
            Class::SingletonsAndSchedules => "Singletons and schedules",
            Class::Reachability => "Reachability",
        }
    }
}

/// The fixed facts of a lint.
#[derive(Debug, Clone, Copy)]
pub struct LintInfo {
    /// The name an allowance uses; the code is `gen::lint::<name>`.
    pub name: &'static str,
    pub class: Class,
    pub level: Level,
    /// One line: what the lint finds.
    pub summary: &'static str,
    /// Why it matters, in a few sentences.
    pub why: &'static str,
    /// Profile text that draws the lint, over [`EXAMPLE_BASE`] (see [`Example`]).
    pub example: Example,
    /// The same profile fixed.
    pub fix: Example,
    /// The deployment guides where the mistake was found, with their lines.
    pub found_in: &'static str,
}

/// A profile that extends [`EXAMPLE_BASE`] (`extends = "_base.toml"`): the
/// tables it names merge into the base's, key by key. `omit` lists tables of
/// the base left out first, for lints about something missing.
#[derive(Debug, Clone, Copy)]
pub struct Example {
    pub omit: &'static [&'static str],
    pub toml: &'static str,
}

const fn example(toml: &'static str) -> Example {
    Example { omit: &[], toml }
}

/// The small one-host profile every example in the table extends. It draws
/// no lint itself.
pub const EXAMPLE_BASE: &str = r#"[project]
name = "shop"

[network]
internal = ["10.0.0.0/16"]

[hosts.web1]
address = "10.0.0.10"
roles = ["load_balancer", "api", "database_primary", "cache"]
hardware = { cores = 4, memory = "8GiB", storage = "ssd" }

[services.api]
runtime = "container"
image = "registry.example.com/shop/api:1.0.0"
port = 8000
metrics_path = "/metrics"
database = { user = "shop" }
redis = true
healthcheck = { http = "/health" }
limits = { cpus = 1.0, memory = "1GiB" }

[postgres]
version = 15
workload = "web"
database = "shop"
users = ["shop"]
max_connections = 100

[redis]
password_file = "/etc/redis/shop-requirepass.conf"

[sites.main]
server_names = ["shop.example.com"]
certificate = "/etc/letsencrypt/live/shop.example.com/fullchain.pem"
certificate_key = "/etc/letsencrypt/live/shop.example.com/privkey.pem"
locations = [
  { path = "/api/", service = "api" },
  { path = "/metrics", service = "api", allow = ["10.0.0.0/16"] },
]

[backup]
retention_days = 14
destination = "/var/backups/shop"

[backup.restore_test]
schedule = "*-*-01 05:00:00"
verify_query = "SELECT 1 FROM orders LIMIT 1"
"#;

impl LintCode {
    pub const ALL: [LintCode; 25] = [
        LintCode::DirectConnections,
        LintCode::PoolerBypass,
        LintCode::OverrideExceedsMemory,
        LintCode::CpuOvercommit,
        LintCode::MemoryUnbounded,
        LintCode::PublicMetrics,
        LintCode::PublicAdminPath,
        LintCode::PublicAdminTool,
        LintCode::UnneededCapability,
        LintCode::WildcardBind,
        LintCode::HstsOff,
        LintCode::CredentialInEnv,
        LintCode::SuperuserLogin,
        LintCode::RedisNoAuth,
        LintCode::UrlMissingPassword,
        LintCode::SingletonReplicated,
        LintCode::NoBackup,
        LintCode::BackupNeverRestored,
        LintCode::StaticRootUnreadable,
        LintCode::CertificateCopy,
        LintCode::NoHealthcheck,
        LintCode::EvictingSessions,
        LintCode::ScheduleCollision,
        LintCode::SshOpenToWorld,
        LintCode::PublicDatabase,
    ];

    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// `gen::lint::<name>`: the code printed with every warning.
    pub fn code(self) -> String {
        format!("gen::lint::{}", self.name())
    }

    pub fn from_name(name: &str) -> Option<LintCode> {
        LintCode::ALL.into_iter().find(|code| code.name() == name)
    }

    pub fn info(self) -> LintInfo {
        match self {
            LintCode::DirectConnections => LintInfo {
                name: "direct-connections",
                class: Class::ConnectionBudget,
                level: Level::Warn,
                summary: "services hold more than half of PostgreSQL's connections directly, with no pooler",
                why: "Every connection is a PostgreSQL process with its own memory. Without PgBouncer each \
                      service instance keeps its whole pool open, so a few more replicas or one slow query \
                      that makes every pool grow runs the server out of connections. (Direct connections \
                      that do not fit at all are an error.)",
                example: example(
                    "[services.api]\n\
                     replicas = 4\n\
                     database = { user = \"shop\", connections = 15 }   # 4 × 15 = 60 of max_connections 100\n",
                ),
                fix: example(
                    "[hosts.web1]\n\
                     roles = [\"load_balancer\", \"api\", \"database_primary\", \"pooler\", \"cache\"]\n\
                     \n\
                     [pgbouncer]\n\
                     pool_mode = \"transaction\"\n\
                     \n\
                     [services.api]\n\
                     replicas = 4\n",
                ),
                found_in: "DocSense 222-223 and 255: four uvicorn workers with a pool of 50 each, \
                           `max_connections` 100, no pooler",
            },
            LintCode::PoolerBypass => LintInfo {
                name: "pooler-bypass",
                class: Class::ConnectionBudget,
                level: Level::Warn,
                summary: "a service connects to PostgreSQL's own port while PgBouncer pools the others",
                why: "Its connections do not go through the pools: each one is a server process taken \
                      from the budget the pools were sized for, and it loses the pooler's queueing when \
                      PostgreSQL is busy. A session-level feature (LISTEN/NOTIFY, advisory locks, \
                      prepared statements in transaction mode) is a reason to allow it.",
                example: example(
                    "[hosts.web1]\n\
                     roles = [\"load_balancer\", \"api\", \"database_primary\", \"pooler\", \"cache\"]\n\
                     \n\
                     [pgbouncer]\n\
                     pool_mode = \"transaction\"\n\
                     \n\
                     [services.api]\n\
                     database = { user = \"shop\", pooled = false }\n",
                ),
                fix: example(
                    "[hosts.web1]\n\
                     roles = [\"load_balancer\", \"api\", \"database_primary\", \"pooler\", \"cache\"]\n\
                     \n\
                     [pgbouncer]\n\
                     pool_mode = \"transaction\"\n\
                     \n\
                     [services.api]\n\
                     database = { user = \"shop\" }   # DATABASE_HOST and DATABASE_PORT name the pooler\n",
                ),
                found_in: "STET 217 and 619: `DATABASE_URL` names `postgres:5432` after PgBouncer was \
                           set up on 6432",
            },
            LintCode::OverrideExceedsMemory => LintInfo {
                name: "override-exceeds-memory",
                class: Class::MemoryAndCpu,
                level: Level::Warn,
                summary: "a PostgreSQL memory override is larger than the memory PostgreSQL has on its host",
                why: "`shared_buffers`, `effective_cache_size`, `work_mem` and `maintenance_work_mem` \
                      describe memory the server can use. PostgreSQL has its host's memory less the \
                      limits of the services and Redis beside it; a value beyond that makes the planner \
                      count on a cache that does not exist, or the kernel kill the server under load. \
                      (`shared_buffers` as large as the whole host is an error: the server cannot start.)",
                example: example(
                    "[postgres.overrides]\n\
                     effective_cache_size = \"6GB\"   # web1 has 8GiB, 3GiB of it for the api and Redis\n",
                ),
                fix: example("[postgres.overrides]\neffective_cache_size = \"4GB\"\n"),
                found_in: "STET 149 and 249: a 4G container limit under `shared_buffers = 2GB` and \
                           `effective_cache_size = 6GB`",
            },
            LintCode::CpuOvercommit => LintInfo {
                name: "cpu-overcommit",
                class: Class::MemoryAndCpu,
                level: Level::Warn,
                summary: "the CPU limits of a host's services add up to more cores than it has",
                why: "A limit that cannot be met is no limit: when the services peak together they \
                      compete for the same cores and each gets less than its limit promises, PostgreSQL \
                      and nginx on the same host included. Allow it when the limits are deliberately \
                      caps, not reservations. (One replica asking for more cores than the host has is \
                      an error: docker refuses to start it.)",
                example: example(
                    "[services.api]\n\
                     replicas = 3\n\
                     limits = { cpus = 2.0, memory = \"1GiB\" }   # 3 × 2 cores on web1's 4\n",
                ),
                fix: example(
                    "[services.api]\n\
                     replicas = 3\n\
                     limits = { cpus = 1.0, memory = \"1GiB\" }\n",
                ),
                found_in: "SignX 277-285 and 741-745: `cpus: 4.0` per replica, three replicas, a 4-core \
                           server; SmartAttend 35-38: 17.5 cores of limits on 16",
            },
            LintCode::MemoryUnbounded => LintInfo {
                name: "memory-unbounded",
                class: Class::MemoryAndCpu,
                level: Level::Warn,
                summary: "a service without a memory limit shares a host with PostgreSQL or Redis",
                why: "gen sizes PostgreSQL and Redis from the host's memory less the services' limits. \
                      A service with no limit can grow into that memory, and the kernel's OOM killer \
                      then picks the largest process: usually the database.",
                example: example(
                    "[services.web]\n\
                     runtime = \"container\"\n\
                     image = \"registry.example.com/shop/web:1.0.0\"\n\
                     port = 3000\n",
                ),
                fix: example(
                    "[services.web]\n\
                     runtime = \"container\"\n\
                     image = \"registry.example.com/shop/web:1.0.0\"\n\
                     port = 3000\n\
                     limits = { memory = \"512MiB\" }\n",
                ),
                found_in: "DocSense 53 and 266: the service limit and PostgreSQL tuned for the whole \
                           8 GB host",
            },
            LintCode::PublicMetrics => LintInfo {
                name: "public-metrics",
                class: Class::Exposure,
                level: Level::Warn,
                summary: "a public location's prefix covers a service's `metrics_path`",
                why: "nginx answers a path from the longest location prefix that matches it. A \
                      catch-all `/` proxying to a service publishes everything the service serves, \
                      its Prometheus metrics included: request paths, user counts, versions, internal \
                      host names.",
                example: example(
                    "[sites.main]\n\
                     locations = [{ path = \"/\", service = \"api\" }]   # `/` covers the api's /metrics\n",
                ),
                fix: example(
                    "[sites.main]\n\
                     locations = [\n  \
                       { path = \"/\", service = \"api\" },\n  \
                       { path = \"/metrics\", service = \"api\", allow = [\"10.0.0.0/16\"] },\n\
                     ]\n",
                ),
                found_in: "STET 418 and 512: `location /` proxies everything and the app serves `/metrics`",
            },
            LintCode::PublicAdminPath => LintInfo {
                name: "public-admin-path",
                class: Class::Exposure,
                level: Level::Warn,
                summary: "an administration path (`/admin`, `/pgadmin`, `/flower`, …) has no `allow` list",
                why: "Admin interfaces are the most valuable target on a site and are guarded by one \
                      password; an `allow` list keeps them off the internet altogether.",
                example: example(
                    "[sites.main]\n\
                     locations = [\n  \
                       { path = \"/api/\", service = \"api\" },\n  \
                       { path = \"/metrics\", service = \"api\", allow = [\"10.0.0.0/16\"] },\n  \
                       { path = \"/admin/\", service = \"api\" },\n\
                     ]\n",
                ),
                fix: example(
                    "[sites.main]\n\
                     locations = [\n  \
                       { path = \"/api/\", service = \"api\" },\n  \
                       { path = \"/metrics\", service = \"api\", allow = [\"10.0.0.0/16\"] },\n  \
                       { path = \"/admin/\", service = \"api\", allow = [\"10.0.0.0/16\"] },\n\
                     ]\n",
                ),
                found_in: "SmartAttend 155-157 and 168: pgAdmin at `/pgadmin/` with its IP allow-list \
                           commented out",
            },
            LintCode::PublicAdminTool => LintInfo {
                name: "public-admin-tool",
                class: Class::Exposure,
                level: Level::Warn,
                summary: "a monitoring or admin tool (Grafana, Prometheus, pgAdmin, …) is published on every interface",
                why: "`publish = \"public\"` (or the older `publish_public = true`) binds the \
                      container's port on all interfaces, around nginx, its \
                      TLS and its allow lists; Docker's published ports also bypass a host firewall \
                      such as ufw. These tools ship default logins and show the whole deployment.",
                example: example(
                    "[services.grafana]\n\
                     runtime = \"container\"\n\
                     image = \"docker.io/grafana/grafana:11.2.0\"\n\
                     port = 3000\n\
                     publish = \"public\"\n\
                     limits = { memory = \"256MiB\" }\n",
                ),
                fix: example(
                    "[services.grafana]\n\
                     runtime = \"container\"\n\
                     image = \"docker.io/grafana/grafana:11.2.0\"\n\
                     port = 3000   # on the private address; reach it over the VPN\n\
                     limits = { memory = \"256MiB\" }\n",
                ),
                found_in: "SmartAttend 278-281: Grafana, Prometheus, Jaeger and Alertmanager on public \
                           ports; SpherosegV4 89-91 and 274-282: \"restricted\" by ufw, which published \
                           container ports bypass",
            },
            LintCode::UnneededCapability => LintInfo {
                name: "unneeded-capability",
                class: Class::Exposure,
                level: Level::Warn,
                summary: "a container adds back a capability it does not need (`NET_BIND_SERVICE` above port 1024) or one that controls the host (`SYS_ADMIN`, `NET_ADMIN`, …)",
                why: "gen drops every capability and adds back only `cap_add`. `NET_BIND_SERVICE` is \
                      needed only below port 1024, which application services never use (nginx owns \
                      80 and 443). `SYS_ADMIN` is close to root on the host (mounts, namespaces), \
                      `NET_ADMIN` rewrites the host's firewall and routes when the container shares its \
                      network, `SYS_TIME` sets the host's clock: an escape from the container is then \
                      an escape onto the host.",
                example: example(
                    "[services.api]\n\
                     cap_add = [\"NET_BIND_SERVICE\"]\n",
                ),
                fix: example(
                    "[services.api]\n\
                     cap_add = []\n",
                ),
                found_in: "SignX 309: `cap_add: NET_BIND_SERVICE` for a service on port 8000",
            },
            LintCode::WildcardBind => LintInfo {
                name: "wildcard-bind",
                class: Class::Exposure,
                level: Level::Warn,
                summary: "a native service binds every interface (`0.0.0.0`, `::`)",
                why: "A native service shares the host's network: on `0.0.0.0` it answers on public \
                      interfaces too, and clients reach it around nginx, its TLS, rate limit and `allow` \
                      lists. (Containers are different: gen publishes their ports on the private address.)",
                example: example(
                    "[services.web]\n\
                     runtime = \"native\"\n\
                     command = [\"/opt/shop/bin/uvicorn\", \"shop.main:app\", \"--host\", \"0.0.0.0\", \"--port\", \"8100\"]\n\
                     user = \"shop\"\n\
                     port = 8100\n\
                     limits = { memory = \"512MiB\" }\n",
                ),
                fix: example(
                    "[services.web]\n\
                     runtime = \"native\"\n\
                     command = [\"/opt/shop/bin/uvicorn\", \"shop.main:app\", \"--host\", \"10.0.0.10\", \"--port\", \"8100\"]\n\
                     user = \"shop\"\n\
                     port = 8100\n\
                     limits = { memory = \"512MiB\" }\n",
                ),
                found_in: "DocSense 253 and 357-364: uvicorn on `0.0.0.0:8000` while nginx allow-lists \
                           `/metrics` to 10.0.0.0/8",
            },
            LintCode::SshOpenToWorld => LintInfo {
                name: "ssh-open-to-world",
                class: Class::Exposure,
                level: Level::Warn,
                summary: "the firewall admits SSH from anywhere (`network.admin` contains a /0)",
                why: "SSH open to the Internet is scanned and password-guessed within minutes of a \
                      host coming up; one weak key or an sshd bug away from the whole deployment. \
                      The firewall's SSH rule is only as narrow as `network.admin`.",
                example: example("[network]\nadmin = [\"0.0.0.0/0\"]\n\n[firewall]\n"),
                fix: example("[network]\nadmin = [\"203.0.113.7/32\"]   # the office, a VPN or a bastion\n\n[firewall]\n"),
                found_in: "STET 111: `ufw allow 22/tcp` from anywhere",
            },
            LintCode::PublicDatabase => LintInfo {
                name: "public-database",
                class: Class::Exposure,
                level: Level::Warn,
                summary: "`firewall.allow` opens PostgreSQL, PgBouncer or Redis beyond `@internal` and `@admin`",
                why: "A database port reachable from the Internet is found by scanners at once and \
                      attacked with password guessing and protocol bugs; PostgreSQL and Redis \
                      were never meant to face it.",
                example: example(
                    "[network]\nadmin = [\"203.0.113.7/32\"]\n\n[firewall]\n\n[[firewall.allow]]\nport = 5432\nfrom = [\"0.0.0.0/0\"]\n",
                ),
                fix: example(
                    "[network]\nadmin = [\"203.0.113.7/32\"]\n\n[firewall]\n\n[[firewall.allow]]\nport = 5432\nfrom = [\"@admin\"]\n",
                ),
                found_in: "SmartAttend 150, 163: PostgreSQL and PgBouncer on the public domain",
            },
            LintCode::HstsOff => LintInfo {
                name: "hsts-off",
                class: Class::Exposure,
                level: Level::Warn,
                summary: "a public site does not send `Strict-Transport-Security`",
                why: "Without HSTS a browser that once typed `http://` (or followed an old link) makes \
                      a plain request first, which anyone on the path can answer with a page of their \
                      own before the redirect to HTTPS.",
                example: example("[sites.main]\nhsts = false\n"),
                fix: example("[sites.main]\nhsts = true   # the default\n"),
                found_in: "STET 401-434 and SignX 335-351: TLS server blocks without the header",
            },
            LintCode::CredentialInEnv => LintInfo {
                name: "credential-in-env",
                class: Class::Credentials,
                level: Level::Warn,
                summary: "an environment value looks like it carries a credential (a DSN, a key, a webhook)",
                why: "Environment values are written into the compose file or unit, committed in \
                      `generated/` and shown by `docker inspect`. A Sentry DSN carries the project's \
                      key; names ending in `_KEY` or `_DSN` usually hold one. (Values that certainly \
                      are credentials — passwords, tokens, `user:password@` URLs, webhook URLs — are \
                      errors.)",
                example: example(
                    "[services.api]\n\
                     environment = { SENTRY_DSN = \"https://0123456789abcdef0123456789abcdef@o1.ingest.sentry.io/42\" }\n",
                ),
                fix: example(
                    "[services.api]\n\
                     secrets = { sentry_dsn = \"/etc/shop/secrets/sentry_dsn\" }   # the service reads SENTRY_DSN_FILE\n",
                ),
                found_in: "SignX 184: `SENTRY_DSN=https://…@sentry.io/…` in `.env`",
            },
            LintCode::SuperuserLogin => LintInfo {
                name: "superuser-login",
                class: Class::Credentials,
                level: Level::Warn,
                summary: "a service logs in to PostgreSQL as the superuser `postgres`",
                why: "A superuser bypasses every permission: one SQL injection in the application can \
                      read other databases, drop the cluster or run programs on the server \
                      (`COPY … FROM PROGRAM`).",
                example: example(
                    "[postgres]\n\
                     users = [\"postgres\"]\n\
                     \n\
                     [services.api]\n\
                     database = { user = \"postgres\" }\n",
                ),
                fix: example(
                    "[postgres]\n\
                     users = [\"shop\"]   # a role that owns the application's database\n\
                     \n\
                     [services.api]\n\
                     database = { user = \"shop\" }\n",
                ),
                found_in: "SpherosegV4 106-108 and 354: the application's URL logs in as `postgres`",
            },
            LintCode::RedisNoAuth => LintInfo {
                name: "redis-no-auth",
                class: Class::Credentials,
                level: Level::Warn,
                summary: "Redis has no password but listens on the host's private address",
                why: "gen binds Redis to loopback and the cache host's private address, so every host \
                      of the internal network can read and rewrite sessions, queued jobs and cached \
                      data; one compromised host becomes all of them.",
                example: Example {
                    omit: &["redis"],
                    toml: "[redis]\nmaxmemory = \"1GiB\"\n",
                },
                fix: Example {
                    omit: &["redis"],
                    toml: "[redis]\n\
                           maxmemory = \"1GiB\"\n\
                           password_file = \"/etc/redis/shop-requirepass.conf\"   # holds `requirepass <secret>`\n",
                },
                found_in: "SpherosegV4 115: `redis://redis:6379` with no password",
            },
            LintCode::UrlMissingPassword => LintInfo {
                name: "url-missing-password",
                class: Class::Credentials,
                level: Level::Warn,
                summary: "a client URL in the environment lacks the password its server requires",
                why: "gen's PostgreSQL accepts network logins only with a password, and Redis with \
                      `password_file` requires one: the service fails to connect at its first request, \
                      not at deploy time.",
                example: example(
                    "[services.api]\n\
                     environment = { CACHE_URL = \"redis://10.0.0.10:6379/1\" }\n",
                ),
                fix: example(
                    "[services.api]\n\
                     secrets = { cache_url = \"/etc/shop/secrets/cache_url\" }   # the whole URL, password included\n",
                ),
                found_in: "SpherosegV4 115-116: `redis://redis:6379`, and the Redis password created on \
                           the next line",
            },
            LintCode::SingletonReplicated => LintInfo {
                name: "singleton-replicated",
                class: Class::SingletonsAndSchedules,
                level: Level::Warn,
                summary: "a scheduler (celery beat, rqscheduler, cron) runs more than once",
                why: "A scheduler sends each periodic task once per running copy: two copies send every \
                      e-mail, invoice and cleanup twice. gen runs a service on every host with its role, \
                      `replicas` times on each.",
                example: example(
                    "[services.beat]\n\
                     runtime = \"container\"\n\
                     image = \"registry.example.com/shop/api:1.0.0\"\n\
                     command = [\"celery\", \"-A\", \"shop\", \"beat\"]\n\
                     replicas = 2\n\
                     limits = { memory = \"256MiB\" }\n",
                ),
                fix: example(
                    "[services.beat]\n\
                     runtime = \"container\"\n\
                     image = \"registry.example.com/shop/api:1.0.0\"\n\
                     command = [\"celery\", \"-A\", \"shop\", \"beat\"]\n\
                     limits = { memory = \"256MiB\" }\n",
                ),
                found_in: "SmartAttend 38 and 243-244: Celery beat in an autoscaled group of at least two",
            },
            LintCode::NoBackup => LintInfo {
                name: "no-backup",
                class: Class::SingletonsAndSchedules,
                level: Level::Warn,
                summary: "a PostgreSQL primary has no `[backup]`",
                why: "A replica copies a `DROP TABLE` within a second; only a backup brings the data \
                      back after a bad migration, a lost disk or an operator's mistake.",
                example: Example {
                    omit: &["backup", "backup.restore_test"],
                    toml: "# a host with role `database_primary`, and no `[backup]`\n",
                },
                fix: Example {
                    omit: &["backup", "backup.restore_test"],
                    toml: "[backup]\n\
                     retention_days = 14\n\
                     destination = \"/var/backups/shop\"\n\
                     \n\
                     [backup.restore_test]\n\
                     schedule = \"*-*-01 05:00:00\"\n\
                     verify_query = \"SELECT 1 FROM orders LIMIT 1\"\n",
                },
                found_in: "DocSense 43 and 691: \"backup strategy defined\" is a checklist item, nothing \
                           is configured",
            },
            LintCode::BackupNeverRestored => LintInfo {
                name: "backup-never-restored",
                class: Class::SingletonsAndSchedules,
                level: Level::Warn,
                summary: "`[backup]` has no `restore_test`",
                why: "A backup is only as good as its last restore. A dump that does not load (a missing \
                      extension, a role it names, a truncated file) or a pgBackRest repository with a gap \
                      in its WAL is found when it is needed, unless something restores it regularly: \
                      with `restore_test` a timer restores the newest backup into a throw-away server, \
                      runs a query, and an alert fires when that has not succeeded for a while.",
                example: Example {
                    omit: &["backup.restore_test"],
                    toml: "# `[backup]` and no `[backup.restore_test]`\n",
                },
                fix: example(
                    "[backup.restore_test]\n\
                     schedule = \"*-*-01 05:00:00\"   # monthly\n\
                     verify_query = \"SELECT 1 FROM orders LIMIT 1\"\n",
                ),
                found_in: "STET 576-580: \"test restore on staging\" monthly, never scripted; SignX Studio \
                           466 and 576, SpherosegV4 466: quarterly and monthly restore tests by hand; DocSense 691",
            },
            LintCode::StaticRootUnreadable => LintInfo {
                name: "static-root-unreadable",
                class: Class::Reachability,
                level: Level::Warn,
                summary: "a static `root` lies under a home directory nginx cannot enter",
                why: "nginx's workers run as `www-data`. Home directories are created 0750 on Ubuntu \
                      21.04 and later and 0700 on Debian 12, so every file under `/home/<user>` (or \
                      `/root`) answers 403 Forbidden.",
                example: example(
                    "[sites.main]\n\
                     locations = [\n  \
                       { path = \"/api/\", service = \"api\" },\n  \
                       { path = \"/metrics\", service = \"api\", allow = [\"10.0.0.0/16\"] },\n  \
                       { path = \"/\", root = \"/home/shop/app/dist\" },\n\
                     ]\n",
                ),
                fix: example(
                    "[sites.main]\n\
                     locations = [\n  \
                       { path = \"/api/\", service = \"api\" },\n  \
                       { path = \"/metrics\", service = \"api\", allow = [\"10.0.0.0/16\"] },\n  \
                       { path = \"/\", root = \"/srv/shop/dist\" },\n\
                     ]\n",
                ),
                found_in: "DocSense 374: `root /home/docsense/app/client/dist`",
            },
            LintCode::CertificateCopy => LintInfo {
                name: "certificate-copy",
                class: Class::Reachability,
                level: Level::Warn,
                summary: "a site serves a certificate from outside certbot's live directory",
                why: "gen renews certificates with `certbot renew`, which writes \
                      `/etc/letsencrypt/live/<name>/`. A copy elsewhere is never renewed: the site \
                      serves it until it expires. Allow the lint when another process renews that file \
                      (a company CA).",
                example: example(
                    "[sites.main]\n\
                     certificate = \"/etc/nginx/ssl/shop.example.com.pem\"   # copied from /etc/letsencrypt\n\
                     certificate_key = \"/etc/nginx/ssl/shop.example.com.key\"\n",
                ),
                fix: example(
                    "[sites.main]\n\
                     certificate = \"/etc/letsencrypt/live/shop.example.com/fullchain.pem\"\n\
                     certificate_key = \"/etc/letsencrypt/live/shop.example.com/privkey.pem\"\n",
                ),
                found_in: "SmartAttend 116-117 and 263, SpherosegV4 255-256: certificates copied to \
                           `./ssl`, renewed in `/etc/letsencrypt`",
            },
            LintCode::NoHealthcheck => LintInfo {
                name: "no-healthcheck",
                class: Class::Reachability,
                level: Level::Warn,
                summary: "a service behind a load-balanced upstream of several servers has no `healthcheck`",
                why: "nginx only notices an instance that refuses connections. One that accepts them \
                      but hangs or answers 500 keeps its share of requests; with a healthcheck docker \
                      marks it unhealthy and gen's probes report it.",
                example: example(
                    "[services.web]\n\
                     runtime = \"container\"\n\
                     image = \"registry.example.com/shop/web:1.0.0\"\n\
                     port = 3000\n\
                     replicas = 2\n\
                     limits = { memory = \"512MiB\" }\n\
                     \n\
                     [sites.main]\n\
                     locations = [\n  \
                       { path = \"/api/\", service = \"api\" },\n  \
                       { path = \"/metrics\", service = \"api\", allow = [\"10.0.0.0/16\"] },\n  \
                       { path = \"/\", service = \"web\" },\n\
                     ]\n",
                ),
                fix: example(
                    "[services.web]\n\
                     runtime = \"container\"\n\
                     image = \"registry.example.com/shop/web:1.0.0\"\n\
                     port = 3000\n\
                     replicas = 2\n\
                     limits = { memory = \"512MiB\" }\n\
                     healthcheck = { http = \"/\" }\n\
                     \n\
                     [sites.main]\n\
                     locations = [\n  \
                       { path = \"/api/\", service = \"api\" },\n  \
                       { path = \"/metrics\", service = \"api\", allow = [\"10.0.0.0/16\"] },\n  \
                       { path = \"/\", service = \"web\" },\n\
                     ]\n",
                ),
                found_in: "SignX 741-756: three replicas behind `upstream least_conn` and no container \
                           healthcheck",
            },
            LintCode::EvictingSessions => LintInfo {
                name: "evicting-sessions",
                class: Class::MemoryAndCpu,
                level: Level::Warn,
                summary: "Redis holds sessions under a `maxmemory_policy` that evicts keys",
                why: "When Redis reaches `maxmemory`, an evicting policy deletes keys to make room: \
                      with sessions among them, users are logged out at random (or the least \
                      recently active first), mid-form or mid-checkout, and nothing logs why.",
                example: Example {
                    omit: &["redis"],
                    toml: "[redis]\n\
                           password_file = \"/etc/redis/shop-requirepass.conf\"\n\
                           holds = [\"sessions\", \"cache\"]\n\
                           maxmemory_policy = \"allkeys-lru\"\n",
                },
                fix: Example {
                    omit: &["redis"],
                    toml: "[redis]\n\
                           password_file = \"/etc/redis/shop-requirepass.conf\"\n\
                           holds = [\"sessions\", \"cache\"]   # noeviction by default\n\
                           maxmemory = \"2GiB\"\n",
                },
                found_in: "SpherosegV4 27 and 402: Redis \"for session management and caching\", then \
                           `CONFIG SET maxmemory-policy allkeys-lru`",
            },
            LintCode::ScheduleCollision => LintInfo {
                name: "schedule-collision",
                class: Class::SingletonsAndSchedules,
                level: Level::Warn,
                summary: "two scheduled runs that use the database are expected to run at the same time",
                why: "A backup, VACUUM and a heavy job started together compete for the same disk, \
                      locks and connections: each takes longer, the backup may see a long \
                      transaction's bloat, and a night's window is gone. gen expands every schedule \
                      over a (leap) year in UTC and takes each run as [start, start + expected \
                      duration): the backup 1h, VACUUM 30m, a job its `duration` (default 15m). A job \
                      starting when another is expected to end does not collide.",
                example: example(
                    "[jobs.full-backup]\n\
                     runtime = \"native\"\n\
                     hosts = [\"web1\"]\n\
                     user = \"postgres\"\n\
                     command = [\"/usr/local/bin/backup.sh\", \"--full\"]\n\
                     schedule = \"Sun 03:00\"   # the daily backup also starts at 03:00\n\
                     duration = \"1h\"\n\
                     uses = [\"database\"]\n",
                ),
                fix: example(
                    "[jobs.full-backup]\n\
                     runtime = \"native\"\n\
                     hosts = [\"web1\"]\n\
                     user = \"postgres\"\n\
                     command = [\"/usr/local/bin/backup.sh\", \"--full\"]\n\
                     schedule = \"Sun 04:00\"   # after the daily backup's hour\n\
                     duration = \"1h\"\n\
                     uses = [\"database\"]\n",
                ),
                found_in: "SmartAttend 331, 334 and 337: the daily backup, the weekly full backup and \
                           the monthly archive all start at 02:00",
            },
        }
    }
}

/// `docs/lints.md`, generated from the table (`gen lints --format markdown`).
pub fn reference_markdown() -> String {
    let mut out = String::new();
    out.push_str("# Lints\n\n");
    out.push_str(
        "Generated from gen's lint table by `gen lints --format markdown`; a test keeps this file\n\
         current, and builds every example below.\n\n\
         gen has two kinds of diagnostics. An **error** is a profile that cannot work: `gen build`\n\
         exits 2 and writes nothing. A **lint** is a profile that builds but is probably wrong: a\n\
         located warning (file, line, column, key, why, how to fix) with a stable code\n\
         `gen::lint::<name>`, and the build goes on. `gen build --deny-warnings` (what CI runs)\n\
         exits 2 when a lint fires, and `--format json` lists them under `lints`.\n\n\
         A profile allows a lint by name, with the reason it does not apply there:\n\n\
         ```toml\n\
         [lints]\n\
         allow = { \"public-metrics\" = \"scraped over the VPN; the load balancer is not public\" }\n\
         ```\n\n\
         A name gen does not know, or an empty reason, is an error. Allowances merge like other\n\
         tables: a base profile's apply to every profile that extends it.\n\n",
    );
    out.push_str("| lint | level | what it finds |\n|---|---|---|\n");
    for code in LintCode::ALL {
        let info = code.info();
        let _ = writeln!(
            out,
            "| [`{}`](#{}) | {} | {} |",
            info.name,
            info.name,
            info.level.as_str(),
            info.summary
        );
    }
    out.push('\n');
    for class in Class::ALL {
        let _ = writeln!(out, "## {}\n", class.title());
        for code in LintCode::ALL
            .into_iter()
            .filter(|c| c.info().class == class)
        {
            let info = code.info();
            let _ = writeln!(out, "### {}\n", info.name);
            let _ = writeln!(
                out,
                "`{}` ({}): {}.\n",
                code.code(),
                info.level.as_str(),
                info.summary
            );
            let _ = writeln!(out, "{}\n", info.why);
            let _ = writeln!(out, "Found in: {}.\n", info.found_in);
            let _ = writeln!(out, "Draws the lint:\n\n{}", fenced(&info.example));
            let _ = writeln!(out, "Fixed:\n\n{}", fenced(&info.fix));
        }
    }
    out.push_str("## Errors with a code of their own\n\n");
    out.push_str(
        "Shape problems (types, ranges, syntax) are `gen::profile::invalid`. These profiles break\n\
         an invariant that has its own stable code, `gen::error::<name>`; `gen build` exits 2.\n\n",
    );
    for code in gen_target::error_code::ErrorCode::ALL {
        let _ = writeln!(out, "### {}\n", code.as_str());
        let _ = writeln!(out, "`{code}` (error): {}.\n", code.summary());
    }
    out.push_str("## The profile the examples extend\n\n");
    out.push_str(
        "Each example above is `profiles/example.toml` with `extends = \"_base.toml\"`, and this is\n\
         `_base.toml` (an example that says it leaves a table out is built without it). It draws no\n\
         lint itself.\n\n",
    );
    let _ = writeln!(out, "```toml\n{EXAMPLE_BASE}```");
    out
}

fn fenced(example: &Example) -> String {
    let mut out = String::from("```toml\n");
    if !example.omit.is_empty() {
        let tables: Vec<String> = example.omit.iter().map(|t| format!("[{t}]")).collect();
        let _ = writeln!(out, "# the base's {} left out", tables.join(", "));
    }
    out.push_str(example.toml);
    out.push_str("```\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_round_trip() {
        let mut names: Vec<&str> = LintCode::ALL.iter().map(|c| c.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), LintCode::ALL.len());
        for code in LintCode::ALL {
            assert_eq!(LintCode::from_name(code.name()), Some(code));
            assert!(crate::shapes::is_name(code.name()), "{}", code.name());
        }
        assert_eq!(LintCode::from_name("gen::lint::hsts-off"), None);
    }

    #[test]
    fn every_class_has_a_lint() {
        for class in Class::ALL {
            assert!(
                LintCode::ALL.iter().any(|c| c.info().class == class),
                "{class:?}"
            );
        }
    }
}
