//! Validate stage: raw [`Profile`] → checked [`Deployment`]. Defaults are filled
//! in and every invariant that does not depend on a derived number is checked
//! here, once. Values that end up inside generated files are held to the
//! syntax each file allows, so no value can smuggle a directive, a setting or a
//! path into an artifact.

use std::collections::{BTreeMap, BTreeSet};

use crate::load::LoadedProfile;
use crate::model::{
    AlertSpec, BackupSpec, DatabaseUse, Deployment, HealthcheckSpec, HostSpec, LocationSpec,
    LocationTarget, MaintenanceSpec, MonitoringSpec, PgbouncerSpec, PostgresSpec, RateLimitSpec,
    RedisSpec, RolloutSpec, ServiceSpec, SiteSpec, TlsFiles,
};
use crate::profile::{
    EvictionPolicy, Persistence, PoolMode, Profile, Role, Runtime, Service, ServiceRole,
};
use crate::source::{push_key, SourceMap, Underline};
use crate::syntax;
use crate::units::{ByteSize, Duration};
use gen_target::error::{Error, Result};

/// Validates a loaded profile, reporting every problem found, not just the first.
pub fn validate(loaded: &LoadedProfile) -> Result<Deployment> {
    let mut checker = Checker {
        sources: &loaded.sources,
        errors: Vec::new(),
    };
    let deployment = checker.deployment(&loaded.name, &loaded.profile);
    Error::collect(&loaded.name, checker.errors)?;
    Ok(deployment)
}

struct Checker<'a> {
    sources: &'a SourceMap,
    errors: Vec<Error>,
}

impl Checker<'_> {
    fn fail(
        &mut self,
        key: &str,
        message: impl Into<String>,
        help: impl Into<Option<&'static str>>,
    ) {
        let help: Option<&'static str> = help.into();
        self.errors.push(crate::profile_error::invalid(
            self.sources,
            key,
            Underline::Value,
            message,
            help.map(str::to_string),
        ));
    }

    fn check(&mut self, ok: bool, key: &str, message: impl FnOnce() -> String, help: &'static str) {
        if !ok {
            self.fail(key, message(), help);
        }
    }

    fn name(&mut self, key: &str, value: &str, what: &str) {
        self.check(
            syntax::is_name(value),
            key,
            || format!("`{key}`: {what} `{}` is not a valid name", syntax::shown(value)),
            "names are 1 to 63 characters: lowercase letters, digits and `-`, starting with a letter",
        );
    }

    /// A database, role or user name: like other names, `_` allowed too.
    fn sql_name(&mut self, key: &str, value: &str, what: &str) {
        self.check(
            syntax::is_sql_name(value),
            key,
            || {
                format!(
                    "`{key}`: {what} `{}` is not a valid name",
                    syntax::shown(value)
                )
            },
            "1 to 63 characters: lowercase letters, digits, `_` and `-`, starting with a letter",
        );
    }

    fn path(&mut self, key: &str, value: &str) {
        self.check(
            syntax::is_safe_path(value),
            key,
            || format!("`{key}`: `{}` is not a safe absolute path", syntax::shown(value)),
            "paths are absolute, without `..`, `.` or empty components, and use only letters, digits and `._-@+/`",
        );
    }

    /// A path that references a credential. A value that is not a safe path
    /// may be the credential itself pasted in the wrong place, so the error
    /// shows neither the value nor its line.
    fn secret_path(&mut self, key: &str, value: &str) {
        if !syntax::is_safe_path(value) {
            self.errors.push(crate::profile_error::invalid_redacted(
                self.sources,
                key,
                format!("`{key}` is not a safe absolute path (the value is not shown: it may be a credential)"),
                Some("secrets are referenced by the absolute path of a file on the host; the value never goes in the profile".into()),
            ));
        }
    }

    fn url_path(&mut self, key: &str, value: &str) {
        self.check(
            syntax::is_url_path(value),
            key,
            || {
                format!(
                    "`{key}`: `{}` is not a valid URL path",
                    syntax::shown(value)
                )
            },
            "URL paths start with `/` and use only letters, digits and `/._~-`",
        );
    }

    fn text(&mut self, key: &str, value: &str) {
        self.check(
            syntax::is_plain_text(value),
            key,
            || {
                format!(
                    "`{key}`: the value contains control characters or is longer than 4096 bytes"
                )
            },
            "newlines, tabs, NUL and other control characters are not allowed in values",
        );
    }

    fn cron(&mut self, key: &str, value: &str) {
        if let Err(problem) = syntax::check_cron_schedule(value) {
            self.fail(
                key,
                format!(
                    "`{key}`: `{}` is not a cron schedule: {problem}",
                    syntax::shown(value)
                ),
                "five fields: minute hour day-of-month month day-of-week, e.g. `0 2 * * *`",
            );
        }
    }

    fn fraction(&mut self, key: &str, value: f64) {
        self.check(
            value.is_finite() && value > 0.0 && value < 1.0,
            key,
            || format!("`{key}`: {value} must be a fraction between 0 and 1"),
            "for example 0.05 for 5%",
        );
    }

    fn positive(&mut self, key: &str, value: f64) {
        self.check(
            value.is_finite() && value > 0.0 && value < 1e9,
            key,
            || format!("`{key}`: {value} must be a positive number"),
            "thresholds are positive and finite",
        );
    }

    fn deployment(&mut self, profile_name: &str, p: &Profile) -> Deployment {
        self.name("project.name", &p.project.name, "project name");
        if let Some(email) = &p.project.admin_email {
            self.check(
                syntax::is_email(email),
                "project.admin_email",
                || {
                    format!(
                        "`project.admin_email`: `{}` is not an email address",
                        syntax::shown(email)
                    )
                },
                "for example `ops@example.com`",
            );
        }
        self.check(
            !p.network.internal.is_empty(),
            "network.internal",
            || "`network.internal` lists no network".into(),
            "list the private networks of the deployment, e.g. `[\"10.0.0.0/16\"]`",
        );

        let hosts = self.hosts(p);
        let services = self.services(p);
        let postgres = self.postgres(p, &hosts);
        let pgbouncer = self.pgbouncer(p, &hosts);
        let redis = self.redis(p, &hosts);
        let sites = self.sites(p, &hosts);
        let backup = self.backup(p);
        let maintenance = self.maintenance(p);
        let monitoring = self.monitoring(p);
        let alerts = self.alerts(p);
        let rollout = self.rollout(p);

        let deployment = Deployment {
            profile: profile_name.to_string(),
            project: p.project.name.clone(),
            admin_email: p.project.admin_email.clone(),
            internal_networks: p.network.internal.clone(),
            hosts,
            services,
            postgres,
            pgbouncer,
            redis,
            sites,
            backup,
            maintenance,
            monitoring,
            alerts,
            rollout,
        };
        self.cross_checks(&deployment);
        deployment
    }

    fn hosts(&mut self, p: &Profile) -> Vec<HostSpec> {
        let mut seen_addresses: BTreeMap<std::net::IpAddr, &str> = BTreeMap::new();
        let mut hosts = Vec::new();
        if p.hosts.is_empty() {
            self.fail(
                "hosts",
                "the profile declares no hosts",
                "add at least one `[hosts.<name>]` table",
            );
        }
        for (name, host) in &p.hosts {
            let key = push_key("hosts", name);
            self.name(&key, name, "host name");
            if let Some(other) = seen_addresses.insert(host.address, name) {
                self.fail(
                    &format!("{key}.address"),
                    format!(
                        "`{key}.address`: {} is already the address of host `{other}`",
                        host.address
                    ),
                    "every host needs its own address",
                );
            }
            if !p
                .network
                .internal
                .iter()
                .any(|net| net.contains(host.address))
            {
                self.fail(
                    &format!("{key}.address"),
                    format!("`{key}.address`: {} is outside every `network.internal` network", host.address),
                    "hosts bind internal services to this address; add its network to `network.internal`",
                );
            }
            if host.roles.is_empty() {
                self.fail(
                    &format!("{key}.roles"),
                    format!("`{key}.roles` is empty"),
                    "give the host at least one role",
                );
            }
            let roles: BTreeSet<Role> = host.roles.iter().copied().collect();
            if roles.contains(&Role::DatabasePrimary) && roles.contains(&Role::DatabaseReplica) {
                self.fail(
                    &format!("{key}.roles"),
                    format!("`{key}.roles`: a host cannot be both `database_primary` and `database_replica`"),
                    "put the replica on another host",
                );
            }
            let hw = &host.hardware;
            self.check(
                (1..=1024).contains(&hw.cores),
                &format!("{key}.hardware.cores"),
                || format!("`{key}.hardware.cores`: {} is out of range", hw.cores),
                "cores is between 1 and 1024",
            );
            self.check(
                hw.memory >= ByteSize(256 * 1024 * 1024) && hw.memory <= ByteSize(64 << 40),
                &format!("{key}.hardware.memory"),
                || format!("`{key}.hardware.memory`: {} is out of range", hw.memory),
                "memory is between 256MiB and 64TiB",
            );
            hosts.push(HostSpec {
                name: name.clone(),
                address: host.address,
                roles,
                cores: hw.cores,
                memory: hw.memory,
                storage: hw.storage,
                disk: hw.disk,
            });
        }
        hosts
    }

    fn services(&mut self, p: &Profile) -> Vec<ServiceSpec> {
        p.services
            .iter()
            .map(|(name, service)| self.service(p, name, service))
            .collect()
    }

    fn service(&mut self, p: &Profile, name: &str, s: &Service) -> ServiceSpec {
        let key = push_key("services", name);
        self.name(&key, name, "service name");
        let role = s.role.unwrap_or(ServiceRole::Api);
        let replicas = s.replicas.unwrap_or(1);
        self.check(
            (1..=64).contains(&replicas),
            &format!("{key}.replicas"),
            || format!("`{key}.replicas`: {replicas} is out of range"),
            "replicas is between 1 and 64 per host",
        );
        if let Some(port) = s.port {
            self.check(
                port >= 1024,
                &format!("{key}.port"),
                || format!("`{key}.port`: {port} is a privileged port"),
                "application services listen on ports from 1024 up; nginx owns 80 and 443",
            );
            self.check(
                u32::from(port) + replicas <= 65_536,
                &format!("{key}.port"),
                || format!("`{key}.port`: {port} + {replicas} replicas runs past port 65535"),
                "choose a lower port",
            );
        }
        let command = s.command.clone().unwrap_or_default();
        for (i, arg) in command.iter().enumerate() {
            self.text(&format!("{key}.command[{i}]"), arg);
        }
        match s.runtime {
            Runtime::Container => {
                match &s.image {
                    None => self.fail(
                        &key,
                        format!("`{key}`: a container service needs an `image`"),
                        "add `image = \"registry/name:tag\"` with a pinned tag",
                    ),
                    Some(image) => {
                        if let Err(problem) = syntax::check_image(image) {
                            self.fail(
                                &format!("{key}.image"),
                                format!("`{key}.image`: `{}` {problem}", syntax::shown(image)),
                                "pin the image to a version tag or digest, e.g. `ghcr.io/acme/api:v1.2.1`",
                            );
                        }
                    }
                }
                if let Some(user) = &s.user {
                    self.check(
                        syntax::is_container_user(user),
                        &format!("{key}.user"),
                        || {
                            format!(
                                "`{key}.user`: `{}` is not `uid` or `uid:gid`",
                                syntax::shown(user)
                            )
                        },
                        "for example `1000:1000`",
                    );
                }
                if s.hardening.is_some() {
                    self.fail(
                        &format!("{key}.hardening"),
                        format!("`{key}.hardening` applies to native services only"),
                        "containers are always run read-only with all capabilities dropped unless `read_only = false`",
                    );
                }
            }
            Runtime::Native => {
                if s.image.is_some() {
                    self.fail(
                        &format!("{key}.image"),
                        format!("`{key}.image`: a native service runs no image"),
                        "remove `image`, or set `runtime = \"container\"`",
                    );
                }
                match command.first() {
                    None => self.fail(
                        &key,
                        format!("`{key}`: a native service needs a `command`"),
                        "add `command = [\"/opt/app/bin/server\", \"--port\", \"8000\"]`",
                    ),
                    Some(program) => self.path(&format!("{key}.command[0]"), program),
                }
                match &s.user {
                    None => self.fail(
                        &key,
                        format!("`{key}`: a native service needs a `user` to run as"),
                        "services never run as root; add `user = \"<system user>\"`",
                    ),
                    Some(user) => {
                        self.check(
                            syntax::is_unix_user(user) && user != "root",
                            &format!("{key}.user"),
                            || format!("`{key}.user`: `{}` is not a valid non-root user name", syntax::shown(user)),
                            "lowercase letters, digits, `_` and `-`, starting with a letter; not `root`",
                        );
                    }
                }
                if replicas != 1 {
                    self.fail(
                        &format!("{key}.replicas"),
                        format!("`{key}.replicas`: a native service runs once per host"),
                        "use a container service for several instances per host",
                    );
                }
                for field in [
                    ("read_only", s.read_only.is_some()),
                    ("tmpfs", s.tmpfs.is_some()),
                    ("publish_public", s.publish_public.is_some()),
                ] {
                    if field.1 {
                        self.fail(
                            &format!("{key}.{}", field.0),
                            format!("`{key}.{}` applies to container services only", field.0),
                            "native services are sandboxed by `hardening`",
                        );
                    }
                }
            }
        }
        if let Some(dir) = &s.working_directory {
            self.path(&format!("{key}.working_directory"), dir);
        }
        let tmpfs = s.tmpfs.clone().unwrap_or_else(|| vec!["/tmp".to_string()]);
        for (i, path) in tmpfs.iter().enumerate() {
            self.path(&format!("{key}.tmpfs[{i}]"), path);
        }
        let environment = s.environment.clone().unwrap_or_default();
        for (var, value) in &environment {
            let var_key = push_key(&format!("{key}.environment"), var);
            self.check(
                syntax::is_env_name(var),
                &var_key,
                || {
                    format!(
                        "`{var_key}`: `{}` is not an environment variable name",
                        syntax::shown(var)
                    )
                },
                "letters, digits and `_`, not starting with a digit",
            );
            if !syntax::looks_like_secret(var, value) {
                self.text(&var_key, value);
            } else {
                self.errors.push(crate::profile_error::invalid_redacted(
                    self.sources,
                    &var_key,
                    format!(
                        "`{var_key}` looks like a credential; profiles never hold secret values"
                    ),
                    Some(
                        "put the value in a file on the host and reference it under `secrets`"
                            .into(),
                    ),
                ));
            }
        }
        let secrets = s.secrets.clone().unwrap_or_default();
        for (secret, path) in &secrets {
            let secret_key = push_key(&format!("{key}.secrets"), secret);
            self.check(
                syntax::is_secret_name(secret),
                &secret_key,
                || {
                    format!(
                        "`{secret_key}`: `{}` is not a valid secret name",
                        syntax::shown(secret)
                    )
                },
                "lowercase letters, digits and `_`, starting with a letter",
            );
            self.secret_path(&secret_key, path);
        }
        let healthcheck = s.healthcheck.as_ref().map(|h| {
            let hkey = format!("{key}.healthcheck");
            if let Some(path) = &h.http {
                self.url_path(&format!("{hkey}.http"), path);
                if s.port.is_none() {
                    self.fail(
                        &format!("{hkey}.http"),
                        format!("`{hkey}.http` needs the service to have a `port`"),
                        None,
                    );
                }
            }
            let command = h.command.clone().unwrap_or_default();
            for (i, arg) in command.iter().enumerate() {
                self.text(&format!("{hkey}.command[{i}]"), arg);
            }
            if h.http.is_some() != command.is_empty() {
                self.fail(
                    &hkey,
                    format!("`{hkey}` needs exactly one of `http` or `command`"),
                    None,
                );
            }
            let spec = HealthcheckSpec {
                http: h.http.clone(),
                command,
                interval: h.interval.unwrap_or(Duration(30)),
                timeout: h.timeout.unwrap_or(Duration(5)),
                retries: h.retries.unwrap_or(3),
                start_period: h.start_period.unwrap_or(Duration(30)),
            };
            self.check(
                spec.interval.seconds() >= 1
                    && spec.timeout.seconds() >= 1
                    && spec.timeout < spec.interval,
                &hkey,
                || format!("`{hkey}`: `timeout` must be at least 1s and shorter than `interval`"),
                "for example interval `30s`, timeout `5s`",
            );
            self.check(
                (1..=100).contains(&spec.retries),
                &format!("{hkey}.retries"),
                || format!("`{hkey}.retries` must be between 1 and 100"),
                "for example 3",
            );
            spec
        });
        let limits = s.limits.as_ref();
        let cpus = limits.and_then(|l| l.cpus);
        if let Some(cpus) = cpus {
            self.check(
                (0.01..=1024.0).contains(&cpus),
                &format!("{key}.limits.cpus"),
                || format!("`{key}.limits.cpus`: {cpus} is out of range"),
                "a number of cores between 0.01 and 1024",
            );
        }
        let memory = limits.and_then(|l| l.memory);
        if let Some(memory) = memory {
            self.check(
                memory >= ByteSize(6 * 1024 * 1024),
                &format!("{key}.limits.memory"),
                || format!("`{key}.limits.memory`: {memory} is below the 6MiB docker and systemd accept"),
                "for example `512MiB`",
            );
        }
        let database = s.database.as_ref().map(|db| {
            self.sql_name(&format!("{key}.database.user"), &db.user, "database user");
            DatabaseUse {
                user: db.user.clone(),
                pooled: db.pooled.unwrap_or(p.pgbouncer.is_some()),
                connections: db.connections.unwrap_or(10),
            }
        });
        if let Some(path) = &s.metrics_path {
            self.url_path(&format!("{key}.metrics_path"), path);
            if s.port.is_none() {
                self.fail(
                    &format!("{key}.metrics_path"),
                    format!("`{key}.metrics_path` needs the service to have a `port`"),
                    None,
                );
            }
        }
        let depends_on = s.depends_on.clone().unwrap_or_default();
        ServiceSpec {
            name: name.to_string(),
            runtime: s.runtime,
            role,
            image: s.image.clone(),
            command,
            port: s.port,
            replicas,
            user: s.user.clone(),
            working_directory: s.working_directory.clone(),
            healthcheck,
            cpus,
            memory,
            nofile: limits.and_then(|l| l.nofile),
            read_only: s.read_only.unwrap_or(true),
            tmpfs,
            environment,
            secrets,
            database,
            redis: s.redis.unwrap_or(false),
            depends_on,
            metrics_path: s.metrics_path.clone(),
            hardening: s.hardening.unwrap_or(true),
            publish_public: s.publish_public.unwrap_or(false),
        }
    }

    fn postgres(&mut self, p: &Profile, hosts: &[HostSpec]) -> Option<PostgresSpec> {
        let has_db_hosts = hosts
            .iter()
            .any(|h| h.has(Role::DatabasePrimary) || h.has(Role::DatabaseReplica));
        let Some(pg) = &p.postgres else {
            if has_db_hosts {
                self.fail(
                    "hosts",
                    "hosts have database roles but the profile has no `[postgres]` table",
                    "add `[postgres]`",
                );
            }
            return None;
        };
        self.check(
            (13..=17).contains(&pg.version),
            "postgres.version",
            || {
                format!(
                    "`postgres.version`: PostgreSQL {} is not supported",
                    pg.version
                )
            },
            "gen supports PostgreSQL 13 to 17",
        );
        let primaries = hosts
            .iter()
            .filter(|h| h.has(Role::DatabasePrimary))
            .count();
        let replicas = hosts
            .iter()
            .filter(|h| h.has(Role::DatabaseReplica))
            .count();
        if primaries != 1 {
            self.fail(
                "postgres",
                format!("`[postgres]` needs exactly one host with role `database_primary`, found {primaries}"),
                if replicas > 0 { "every replica streams from the primary: declare one" } else { "give one host the role `database_primary`" },
            );
        }
        let sync = pg.synchronous_replicas.unwrap_or(0);
        if sync as usize > replicas {
            self.fail(
                "postgres.synchronous_replicas",
                format!("`postgres.synchronous_replicas` is {sync} but only {replicas} hosts have role `database_replica`"),
                "a commit would wait forever for replicas that do not exist",
            );
        }
        self.sql_name("postgres.database", &pg.database, "database");
        if pg.users.is_empty() {
            self.fail(
                "postgres.users",
                "`postgres.users` lists no role",
                "list the roles the services log in as",
            );
        }
        for (i, user) in pg.users.iter().enumerate() {
            self.sql_name(&format!("postgres.users[{i}]"), user, "role");
        }
        let replication_user = pg
            .replication_user
            .clone()
            .unwrap_or_else(|| "replicator".into());
        self.sql_name("postgres.replication_user", &replication_user, "role");
        let replication_passfile = pg
            .replication_passfile
            .clone()
            .unwrap_or_else(|| "/var/lib/postgresql/.pgpass".into());
        self.secret_path("postgres.replication_passfile", &replication_passfile);
        let extensions = pg.extensions.clone().unwrap_or_default();
        for (i, ext) in extensions.iter().enumerate() {
            self.check(
                syntax::is_extension_name(ext),
                &format!("postgres.extensions[{i}]"),
                || {
                    format!(
                        "`postgres.extensions[{i}]`: `{}` is not an extension name",
                        syntax::shown(ext)
                    )
                },
                "for example `pg_stat_statements`, `uuid-ossp`, `vector`",
            );
        }
        let tls = match (&pg.tls_certificate, &pg.tls_key) {
            (Some(certificate), Some(key)) => {
                self.path("postgres.tls_certificate", certificate);
                self.secret_path("postgres.tls_key", key);
                Some(TlsFiles {
                    certificate: certificate.clone(),
                    key: key.clone(),
                })
            }
            (None, None) => None,
            _ => {
                self.fail(
                    "postgres",
                    "`postgres.tls_certificate` and `postgres.tls_key` go together",
                    "set both or neither",
                );
                None
            }
        };
        let mut overrides = BTreeMap::new();
        for (name, value) in pg.overrides.iter().flatten() {
            let okey = push_key("postgres.overrides", name);
            if !syntax::is_postgres_setting(name) {
                self.fail(
                    &okey,
                    format!(
                        "`{okey}`: `{}` is not a PostgreSQL setting name",
                        syntax::shown(name)
                    ),
                    "lowercase letters, digits, `_` and `.`",
                );
                continue;
            }
            if syntax::GEN_OWNED_POSTGRES_SETTINGS.contains(&name.as_str()) {
                self.fail(
                    &okey,
                    format!("`{okey}`: gen owns `{name}`; it follows from the topology"),
                    "change the profile's hosts, replicas or ports instead",
                );
                continue;
            }
            match syntax::postgres_value(value) {
                Ok(rendered) => {
                    overrides.insert(name.clone(), rendered);
                }
                Err(problem) => self.fail(
                    &okey,
                    format!("`{okey}`: {problem}"),
                    "use a number, a boolean or a string without control characters",
                ),
            }
        }
        let port = pg.port.unwrap_or(5432);
        self.check(
            port >= 1024,
            "postgres.port",
            || format!("`postgres.port`: {port} is a privileged port"),
            "PostgreSQL listens on 5432 by default",
        );
        Some(PostgresSpec {
            version: pg.version,
            workload: pg.workload,
            database: pg.database.clone(),
            users: pg.users.clone(),
            port,
            extensions,
            max_connections: pg.max_connections,
            synchronous_replicas: sync,
            replication_user,
            replication_passfile,
            tls,
            overrides,
        })
    }

    fn pgbouncer(&mut self, p: &Profile, hosts: &[HostSpec]) -> Option<PgbouncerSpec> {
        let poolers = hosts.iter().filter(|h| h.has(Role::Pooler)).count();
        let Some(b) = &p.pgbouncer else {
            if poolers > 0 {
                self.fail(
                    "hosts",
                    "hosts have role `pooler` but the profile has no `[pgbouncer]` table",
                    "add `[pgbouncer]`",
                );
            }
            return None;
        };
        if poolers == 0 {
            self.fail(
                "pgbouncer",
                "`[pgbouncer]` is declared but no host has role `pooler`",
                "give a host the role `pooler`",
            );
        }
        if p.postgres.is_none() {
            self.fail(
                "pgbouncer",
                "`[pgbouncer]` needs a `[postgres]` to pool",
                None,
            );
        }
        let auth_file = b
            .auth_file
            .clone()
            .unwrap_or_else(|| "/etc/pgbouncer/userlist.txt".into());
        self.secret_path("pgbouncer.auth_file", &auth_file);
        let port = b.port.unwrap_or(6432);
        self.check(
            port >= 1024,
            "pgbouncer.port",
            || format!("`pgbouncer.port`: {port} is a privileged port"),
            "PgBouncer listens on 6432 by default",
        );
        for (key, value) in [
            ("pgbouncer.default_pool_size", b.default_pool_size),
            ("pgbouncer.max_client_conn", b.max_client_conn),
        ] {
            if value == Some(0) {
                self.fail(key, format!("`{key}` must be at least 1"), None);
            }
        }
        Some(PgbouncerSpec {
            port,
            pool_mode: b.pool_mode.unwrap_or(PoolMode::Transaction),
            max_client_conn: b.max_client_conn,
            default_pool_size: b.default_pool_size,
            reserve_pool_size: b.reserve_pool_size,
            auth_file,
        })
    }

    fn redis(&mut self, p: &Profile, hosts: &[HostSpec]) -> Option<RedisSpec> {
        let caches = hosts.iter().filter(|h| h.has(Role::Cache)).count();
        let Some(r) = &p.redis else {
            if caches > 0 {
                self.fail(
                    "hosts",
                    "hosts have role `cache` but the profile has no `[redis]` table",
                    "add `[redis]`",
                );
            }
            return None;
        };
        if caches != 1 {
            self.fail(
                "redis",
                format!("`[redis]` needs exactly one host with role `cache`, found {caches}"),
                "gen runs one Redis per deployment",
            );
        }
        let queues = r.queues.unwrap_or(false);
        let policy = r.maxmemory_policy.unwrap_or(if queues {
            EvictionPolicy::Noeviction
        } else {
            EvictionPolicy::AllkeysLru
        });
        if queues && policy != EvictionPolicy::Noeviction {
            self.fail(
                "redis.maxmemory_policy",
                format!(
                    "`redis.maxmemory_policy`: `{}` evicts keys, but this Redis carries job queues",
                    policy.as_str()
                ),
                "queued jobs would silently disappear under memory pressure; use `noeviction`",
            );
        }
        if let Some(path) = &r.password_file {
            self.secret_path("redis.password_file", path);
        }
        let port = r.port.unwrap_or(6379);
        self.check(
            port >= 1024,
            "redis.port",
            || format!("`redis.port`: {port} is a privileged port"),
            "Redis listens on 6379 by default",
        );
        Some(RedisSpec {
            port,
            maxmemory: r.maxmemory,
            maxmemory_policy: policy,
            queues,
            persistence: r.persistence.unwrap_or(if queues {
                Persistence::Aof
            } else {
                Persistence::Rdb
            }),
            password_file: r.password_file.clone(),
        })
    }

    fn sites(&mut self, p: &Profile, hosts: &[HostSpec]) -> Vec<SiteSpec> {
        if !p.sites.is_empty() && !hosts.iter().any(|h| h.has(Role::LoadBalancer)) {
            self.fail(
                "sites",
                "sites are declared but no host has role `load_balancer`",
                "give the nginx hosts the role `load_balancer`",
            );
        }
        let mut all_names: BTreeMap<String, String> = BTreeMap::new();
        let mut sites = Vec::new();
        for (name, site) in &p.sites {
            let key = push_key("sites", name);
            self.name(&key, name, "site name");
            if site.server_names.is_empty() {
                self.fail(
                    &format!("{key}.server_names"),
                    format!("`{key}.server_names` is empty"),
                    "list the host names the site answers to",
                );
            }
            for (i, server_name) in site.server_names.iter().enumerate() {
                let skey = format!("{key}.server_names[{i}]");
                self.check(
                    syntax::is_dns_name(server_name),
                    &skey,
                    || {
                        format!(
                            "`{skey}`: `{}` is not a host name",
                            syntax::shown(server_name)
                        )
                    },
                    "lowercase DNS labels separated by dots, optionally starting with `*.`",
                );
                if let Some(other) = all_names.insert(server_name.clone(), name.clone()) {
                    self.fail(
                        &skey,
                        format!("`{skey}`: `{server_name}` is already served by site `{other}`"),
                        "nginx would answer with only one of them",
                    );
                }
            }
            self.path(&format!("{key}.certificate"), &site.certificate);
            self.secret_path(&format!("{key}.certificate_key"), &site.certificate_key);
            let health_path = site.health_path.clone().unwrap_or_else(|| "/health".into());
            self.url_path(&format!("{key}.health_path"), &health_path);
            let rate_limit = site.rate_limit.as_ref().map(|r| {
                self.check(
                    (1..=100_000).contains(&r.requests_per_second),
                    &format!("{key}.rate_limit.requests_per_second"),
                    || {
                        format!(
                            "`{key}.rate_limit.requests_per_second`: {} is out of range",
                            r.requests_per_second
                        )
                    },
                    "between 1 and 100000",
                );
                RateLimitSpec {
                    requests_per_second: r.requests_per_second,
                    burst: r.burst.unwrap_or(r.requests_per_second.saturating_mul(2)),
                }
            });
            if site.locations.is_empty() {
                self.fail(
                    &format!("{key}.locations"),
                    format!("`{key}` has no `locations`"),
                    "add `[[sites.<name>.locations]]` with a `path` and a `service`",
                );
            }
            let mut paths = BTreeSet::new();
            let mut locations = Vec::new();
            for (i, location) in site.locations.iter().enumerate() {
                let lkey = format!("{key}.locations[{i}]");
                self.url_path(&format!("{lkey}.path"), &location.path);
                if !paths.insert(location.path.clone()) {
                    self.fail(
                        &format!("{lkey}.path"),
                        format!(
                            "`{lkey}.path`: `{}` is declared twice in site `{name}`",
                            location.path
                        ),
                        "nginx refuses duplicate locations",
                    );
                }
                if location.path == health_path {
                    self.fail(
                        &format!("{lkey}.path"),
                        format!(
                            "`{lkey}.path`: `{}` is the site's health path",
                            location.path
                        ),
                        "gen writes the health location itself; change `health_path` or this path",
                    );
                }
                let target = match (&location.service, &location.root) {
                    (Some(service), None) => LocationTarget::Service {
                        service: service.clone(),
                    },
                    (None, Some(root)) => {
                        self.path(&format!("{lkey}.root"), root);
                        if location.port.is_some() {
                            self.fail(
                                &format!("{lkey}.port"),
                                format!(
                                    "`{lkey}.port` only applies to a location with a `service`"
                                ),
                                None,
                            );
                        }
                        LocationTarget::Static { root: root.clone() }
                    }
                    _ => {
                        self.fail(
                            &lkey,
                            format!("`{lkey}` needs exactly one of `service` or `root`"),
                            None,
                        );
                        LocationTarget::Static { root: "/".into() }
                    }
                };
                let allow = location.allow.clone().unwrap_or_default();
                if location.path.starts_with("/metrics") && allow.is_empty() {
                    self.fail(
                        &format!("{lkey}.path"),
                        format!("`{lkey}`: a metrics location is open to the internet"),
                        "add `allow = [\"10.0.0.0/8\"]` with the monitoring networks",
                    );
                }
                locations.push(LocationSpec {
                    path: location.path.clone(),
                    target,
                    port: location.port,
                    allow,
                    read_timeout: location.read_timeout.unwrap_or(Duration(60)),
                    websocket: location.websocket.unwrap_or(false),
                    rate_limited: location.rate_limited.unwrap_or(true),
                });
            }
            sites.push(SiteSpec {
                name: name.clone(),
                server_names: site.server_names.clone(),
                certificate: site.certificate.clone(),
                certificate_key: site.certificate_key.clone(),
                client_max_body_size: site
                    .client_max_body_size
                    .unwrap_or(ByteSize(10 * 1024 * 1024)),
                rate_limit,
                hsts: site.hsts.unwrap_or(true),
                health_path,
                locations,
            });
        }
        sites
    }

    fn backup(&mut self, p: &Profile) -> Option<BackupSpec> {
        let b = p.backup.as_ref()?;
        if p.postgres.is_none() {
            self.fail("backup", "`[backup]` needs a `[postgres]` to back up", None);
        }
        let schedule = b
            .schedule
            .clone()
            .unwrap_or_else(|| "*-*-* 03:00:00".into());
        if let Err(problem) = syntax::check_calendar(&schedule) {
            self.fail(
                "backup.schedule",
                format!(
                    "`backup.schedule`: `{}` is not a systemd calendar expression: {problem}",
                    syntax::shown(&schedule)
                ),
                "for example `*-*-* 03:00:00` or `daily`",
            );
        }
        self.check(
            (1..=3650).contains(&b.retention_days),
            "backup.retention_days",
            || {
                format!(
                    "`backup.retention_days`: {} is out of range",
                    b.retention_days
                )
            },
            "between 1 and 3650 days",
        );
        self.path("backup.destination", &b.destination);
        Some(BackupSpec {
            schedule,
            retention_days: b.retention_days,
            destination: b.destination.clone(),
        })
    }

    fn maintenance(&mut self, p: &Profile) -> MaintenanceSpec {
        let m = p.maintenance.as_ref();
        let spec = MaintenanceSpec {
            vacuum_schedule: m
                .and_then(|m| m.vacuum_schedule.clone())
                .unwrap_or_else(|| "0 2 * * *".into()),
            certificate_renewal_schedule: m
                .and_then(|m| m.certificate_renewal_schedule.clone())
                .unwrap_or_else(|| "17 3 * * *".into()),
            health_check_schedule: m
                .and_then(|m| m.health_check_schedule.clone())
                .unwrap_or_else(|| "*/5 * * * *".into()),
        };
        self.cron("maintenance.vacuum_schedule", &spec.vacuum_schedule);
        self.cron(
            "maintenance.certificate_renewal_schedule",
            &spec.certificate_renewal_schedule,
        );
        self.cron(
            "maintenance.health_check_schedule",
            &spec.health_check_schedule,
        );
        spec
    }

    fn monitoring(&mut self, p: &Profile) -> MonitoringSpec {
        let m = p.monitoring.as_ref();
        let scrape_interval = m.and_then(|m| m.scrape_interval).unwrap_or(Duration(15));
        self.check(
            (5..=300).contains(&scrape_interval.seconds()),
            "monitoring.scrape_interval",
            || format!("`monitoring.scrape_interval`: {scrape_interval} is out of range"),
            "between 5s and 5m",
        );
        let alertmanagers = m.and_then(|m| m.alertmanagers.clone()).unwrap_or_default();
        for (i, target) in alertmanagers.iter().enumerate() {
            self.check(
                syntax::is_host_port(target),
                &format!("monitoring.alertmanagers[{i}]"),
                || {
                    format!(
                        "`monitoring.alertmanagers[{i}]`: `{}` is not `host:port`",
                        syntax::shown(target)
                    )
                },
                "for example `10.0.3.10:9093`",
            );
        }
        MonitoringSpec {
            scrape_interval,
            alertmanagers,
        }
    }

    fn alerts(&mut self, p: &Profile) -> AlertSpec {
        let a = p.alerts.as_ref();
        let get = |f: fn(&crate::profile::Alerts) -> Option<f64>, default: f64| {
            a.and_then(f).unwrap_or(default)
        };
        let spec = AlertSpec {
            for_: a.and_then(|a| a.for_).unwrap_or(Duration(300)),
            error_ratio: get(|a| a.error_ratio, 0.05),
            latency_p95_seconds: get(|a| a.latency_p95_seconds, 1.0),
            replication_lag_seconds: get(|a| a.replication_lag_seconds, 30.0),
            connection_saturation: get(|a| a.connection_saturation, 0.8),
            disk_usage: get(|a| a.disk_usage, 0.85),
            backup_age_hours: get(|a| a.backup_age_hours, 26.0),
            certificate_expiry_days: get(|a| a.certificate_expiry_days, 14.0),
        };
        self.fraction("alerts.error_ratio", spec.error_ratio);
        self.fraction("alerts.connection_saturation", spec.connection_saturation);
        self.fraction("alerts.disk_usage", spec.disk_usage);
        self.positive("alerts.latency_p95_seconds", spec.latency_p95_seconds);
        self.positive(
            "alerts.replication_lag_seconds",
            spec.replication_lag_seconds,
        );
        self.positive("alerts.backup_age_hours", spec.backup_age_hours);
        self.positive(
            "alerts.certificate_expiry_days",
            spec.certificate_expiry_days,
        );
        self.check(
            (60..=86_400).contains(&spec.for_.seconds()),
            "alerts.for",
            || format!("`alerts.for`: {} is out of range", spec.for_),
            "between 1m and 1d",
        );
        spec
    }

    fn rollout(&mut self, p: &Profile) -> Option<RolloutSpec> {
        let r = p.rollout.as_ref()?;
        self.check(
            syntax::is_repository_url(&r.repository),
            "rollout.repository",
            || format!("`rollout.repository`: `{}` is not an https:// or ssh:// repository URL", syntax::shown(&r.repository)),
            "for example `https://git.example.com/ops/deploy.git`; URLs with credentials are refused",
        );
        let branch = r.branch.clone().unwrap_or_else(|| "main".into());
        self.check(
            syntax::is_branch_name(&branch),
            "rollout.branch",
            || {
                format!(
                    "`rollout.branch`: `{}` is not a branch name",
                    syntax::shown(&branch)
                )
            },
            "letters, digits and `/._-`, not starting with `-`",
        );
        let interval = r.interval.unwrap_or(Duration(900));
        self.check(
            (60..=86_400).contains(&interval.seconds()),
            "rollout.interval",
            || format!("`rollout.interval`: {interval} is out of range"),
            "between 1m and 1d",
        );
        if let Some(path) = &r.allowed_signers {
            self.path("rollout.allowed_signers", path);
        }
        let checkout = r
            .checkout
            .clone()
            .unwrap_or_else(|| "/var/lib/gen/checkout".into());
        self.path("rollout.checkout", &checkout);
        let gen_binary = r
            .gen_binary
            .clone()
            .unwrap_or_else(|| "/usr/local/bin/gen".into());
        self.path("rollout.gen_binary", &gen_binary);
        Some(RolloutSpec {
            repository: r.repository.clone(),
            branch,
            interval,
            allowed_signers: r.allowed_signers.clone(),
            checkout,
            gen_binary,
        })
    }

    /// Invariants between sections, once every section has been read.
    fn cross_checks(&mut self, d: &Deployment) {
        for service in &d.services {
            let key = push_key("services", &service.name);
            if d.hosts_running(service).next().is_none() {
                self.fail(
                    &format!("{key}.role"),
                    format!(
                        "`{key}`: no host has role `{}` to run it",
                        service.role.host_role().as_str()
                    ),
                    "give a host that role, or change the service's `role`",
                );
            }
            if let Some(db) = &service.database {
                match &d.postgres {
                    None => self.fail(
                        &format!("{key}.database"),
                        format!("`{key}.database`: the profile has no `[postgres]`"),
                        None,
                    ),
                    Some(pg) if !pg.users.contains(&db.user) => self.fail(
                        &format!("{key}.database.user"),
                        format!(
                            "`{key}.database.user`: `{}` is not one of `postgres.users`",
                            db.user
                        ),
                        "pg_hba.conf admits only declared roles; add it to `postgres.users`",
                    ),
                    Some(_) => {}
                }
                if db.pooled && d.pgbouncer.is_none() {
                    self.fail(
                        &format!("{key}.database.pooled"),
                        format!("`{key}.database.pooled`: the profile has no `[pgbouncer]`"),
                        "set `pooled = false` or add `[pgbouncer]`",
                    );
                }
            }
            if service.redis && d.redis.is_none() {
                self.fail(
                    &format!("{key}.redis"),
                    format!("`{key}.redis`: the profile has no `[redis]`"),
                    None,
                );
            }
            for (i, dependency) in service.depends_on.iter().enumerate() {
                let dkey = format!("{key}.depends_on[{i}]");
                match d.service(dependency) {
                    None => self.fail(
                        &dkey,
                        format!(
                            "`{dkey}`: there is no service `{}`",
                            syntax::shown(dependency)
                        ),
                        None,
                    ),
                    Some(other)
                        if other.runtime != Runtime::Container
                            || service.runtime != Runtime::Container
                            || other.role != service.role =>
                    {
                        self.fail(
                            &dkey,
                            format!(
                                "`{dkey}`: `{dependency}` does not run in the same compose project"
                            ),
                            "`depends_on` orders containers of the same host role",
                        )
                    }
                    Some(other) if other.healthcheck.is_none() => self.fail(
                        &dkey,
                        format!("`{dkey}`: `{dependency}` has no healthcheck to wait for"),
                        "add a `healthcheck` to it",
                    ),
                    Some(other) if other.name == service.name => self.fail(
                        &dkey,
                        format!("`{dkey}`: a service cannot depend on itself"),
                        None,
                    ),
                    Some(_) => {}
                }
            }
        }
        self.dependency_cycles(d);
        self.secret_names(d);

        for site in &d.sites {
            for (i, location) in site.locations.iter().enumerate() {
                let lkey = format!("{}.locations[{i}]", push_key("sites", &site.name));
                let LocationTarget::Service { service: name } = &location.target else {
                    continue;
                };
                let Some(service) = d.service(name) else {
                    self.fail(
                        &format!("{lkey}.service"),
                        format!(
                            "`{lkey}.service`: there is no service `{}`",
                            syntax::shown(name)
                        ),
                        "name a service declared under `[services]`",
                    );
                    continue;
                };
                let Some(port) = service.port else {
                    self.fail(
                        &format!("{lkey}.service"),
                        format!("`{lkey}.service`: service `{name}` listens on no port"),
                        "give the service a `port`",
                    );
                    continue;
                };
                if let Some(wanted) = location.port {
                    if wanted != port {
                        self.fail(
                            &format!("{lkey}.port"),
                            format!(
                                "`{lkey}.port`: service `{name}` listens on {port}, not {wanted}"
                            ),
                            "fix the port here or on the service",
                        );
                    }
                }
                if service.role != ServiceRole::Api {
                    self.fail(
                        &format!("{lkey}.service"),
                        format!(
                            "`{lkey}.service`: `{name}` is a worker; nginx proxies to api services"
                        ),
                        "set the service's `role = \"api\"`",
                    );
                }
            }
        }

        for host in &d.hosts {
            let mut seen: BTreeMap<u16, String> = BTreeMap::new();
            for binding in d.bindings(host) {
                if let Some(owner) = seen.insert(binding.port, binding.owner.clone()) {
                    self.fail(
                        &binding.key,
                        format!(
                            "port {} on host `{}` is claimed by both {owner} and {}",
                            binding.port, host.name, binding.owner
                        ),
                        "no two things on one host may listen on the same port",
                    );
                }
            }
            let mut used: u64 = 0;
            let mut last_key = format!("{}.hardware.memory", push_key("hosts", &host.name));
            for service in d.services_on(host) {
                if let Some(memory) = service.memory {
                    used = used
                        .saturating_add(memory.bytes().saturating_mul(u64::from(service.replicas)));
                    last_key = format!("{}.limits.memory", push_key("services", &service.name));
                }
            }
            if host.has(Role::Cache) {
                if let Some(maxmemory) = d.redis.as_ref().and_then(|r| r.maxmemory) {
                    used = used.saturating_add(maxmemory.bytes());
                    last_key = "redis.maxmemory".into();
                }
            }
            if used > host.memory.bytes() {
                self.fail(
                    &last_key,
                    format!(
                        "memory limits on host `{}` add up to {}, more than its {}",
                        host.name,
                        ByteSize(used),
                        host.memory
                    ),
                    "lower the limits or replicas, or declare more memory",
                );
            }
        }
    }

    /// Compose names secrets per project: two containers on one host that use
    /// the same secret name must mean the same file.
    fn secret_names(&mut self, d: &Deployment) {
        for host in &d.hosts {
            let mut seen: BTreeMap<&str, (&str, &str)> = BTreeMap::new();
            for service in d
                .services_on(host)
                .filter(|s| s.runtime == Runtime::Container)
            {
                for (name, path) in &service.secrets {
                    match seen.get(name.as_str()) {
                        Some((other, other_path)) if other_path != path => {
                            let key = format!("services.{}.secrets.{name}", service.name);
                            self.fail(
                                &key,
                                format!("`{key}` is `{path}`, but service `{other}` on host `{}` uses secret `{name}` for `{other_path}`", host.name),
                                "containers on one host share secret names; give one of them another name",
                            );
                        }
                        Some(_) => {}
                        None => {
                            seen.insert(name, (&service.name, path));
                        }
                    }
                }
            }
        }
    }

    fn dependency_cycles(&mut self, d: &Deployment) {
        // Depth-first search over `depends_on`; a back edge is a cycle.
        fn visit<'a>(
            d: &'a Deployment,
            name: &'a str,
            stack: &mut Vec<&'a str>,
            done: &mut BTreeSet<&'a str>,
        ) -> Option<Vec<String>> {
            if let Some(pos) = stack.iter().position(|n| *n == name) {
                return Some(
                    stack[pos..]
                        .iter()
                        .map(|s| s.to_string())
                        .chain([name.to_string()])
                        .collect(),
                );
            }
            if !done.insert(name) {
                return None;
            }
            stack.push(name);
            if let Some(service) = d.service(name) {
                for dep in &service.depends_on {
                    if let Some(cycle) = visit(d, dep, stack, done) {
                        return Some(cycle);
                    }
                }
            }
            stack.pop();
            None
        }
        let mut done = BTreeSet::new();
        for service in &d.services {
            let mut stack = Vec::new();
            if let Some(cycle) = visit(d, &service.name, &mut stack, &mut done) {
                self.fail(
                    &format!("services.{}.depends_on", cycle[0]),
                    format!(
                        "services depend on each other in a cycle: {}",
                        cycle.join(" → ")
                    ),
                    "compose could never start them",
                );
                return;
            }
        }
    }
}
