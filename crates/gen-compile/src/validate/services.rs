//! Validate stage, `[services]`: each application service, container or
//! native, with the defaults it runs with filled in. Every value that reaches
//! a compose file or a systemd unit (image, command, user, environment, paths)
//! is held to its shape here, and credentials are refused.

use std::collections::BTreeMap;

use super::Checker;
use crate::credential;
use crate::model::{DatabaseUse, HealthcheckSpec, ServiceSpec};
use crate::profile::{Healthcheck, Profile, Runtime, Service, ServiceRole};
use crate::shapes;
use crate::source::push_key;
use crate::units::{ByteSize, Duration};
use gen_target::host_path::shown;

impl Checker<'_> {
    pub(super) fn services(&mut self, p: &Profile) -> Vec<ServiceSpec> {
        p.services
            .iter()
            .map(|(name, service)| self.service(p, name, service))
            .collect()
    }

    /// One service, in the order its problems are reported: name, replicas
    /// and port, command, what its runtime requires, paths, environment,
    /// secrets, healthcheck, limits, database and metrics.
    fn service(&mut self, p: &Profile, name: &str, s: &Service) -> ServiceSpec {
        let key = push_key("services", name);
        self.name(&key, name, "service name");
        let role = s.role.unwrap_or(ServiceRole::Api);
        let replicas = s.replicas.unwrap_or(1);
        self.replicas_and_port(&key, s.port, replicas);
        let command = s.command.clone().unwrap_or_default();
        for (i, arg) in command.iter().enumerate() {
            self.text(&format!("{key}.command[{i}]"), arg);
        }
        match s.runtime {
            Runtime::Container => self.container(&key, s),
            Runtime::Native => self.native(&key, s, &command, replicas),
        }
        if let Some(dir) = &s.working_directory {
            self.path(&format!("{key}.working_directory"), dir);
        }
        let publish = self.publish(&key, s);
        self.publish_scrapable(&key, s, publish);
        let options = self.container_options(&key, s);
        let tmpfs = options.tmpfs.iter().map(|t| t.path.clone()).collect();
        let extra_syntax = match s.runtime {
            Runtime::Container => super::extra::Syntax::Compose,
            Runtime::Native => super::extra::Syntax::Systemd,
        };
        let extra = self.extra(&key, extra_syntax, s.extra.as_ref());
        let environment = s.environment.clone().unwrap_or_default();
        self.environment(&key, &environment);
        let secrets = s.secrets.clone().unwrap_or_default();
        self.secrets(&key, &secrets);
        let healthcheck = s
            .healthcheck
            .as_ref()
            .map(|h| self.healthcheck(&key, s.port, h));
        let limits = s.limits.as_ref();
        let cpus = limits.and_then(|l| l.cpus);
        let memory = limits.and_then(|l| l.memory);
        self.limits(&key, cpus, memory);
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
        let depends_on = match &s.depends_on {
            Some(crate::profile::DependsOn::List(names)) => names.clone(),
            _ => options.dependencies.keys().cloned().collect(),
        };
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
            publish_public: publish == crate::profile::Publish::Public,
            publish,
            options,
            extra,
        }
    }

    /// Each replica listens on its own port counting up from `port`, so the
    /// whole range must be unprivileged and exist.
    fn replicas_and_port(&mut self, key: &str, port: Option<u16>, replicas: u32) {
        self.check(
            (1..=64).contains(&replicas),
            &format!("{key}.replicas"),
            || format!("`{key}.replicas`: {replicas} is out of range"),
            "replicas is between 1 and 64 per host",
        );
        if let Some(port) = port {
            self.unprivileged_port(
                &format!("{key}.port"),
                port,
                "application services listen on ports from 1024 up; nginx owns 80 and 443",
            );
            self.check(
                u32::from(port) + replicas <= 65_536,
                &format!("{key}.port"),
                || format!("`{key}.port`: {port} + {replicas} replicas runs past port 65535"),
                "choose a lower port",
            );
        }
    }

    /// A container service runs a pinned image, as a numeric user, and is
    /// sandboxed by docker rather than by systemd's `hardening`.
    fn container(&mut self, key: &str, s: &Service) {
        match &s.image {
            None => self.fail(
                key,
                format!("`{key}`: a container service needs an `image`"),
                "add `image = \"registry/name:tag\"` with a pinned tag",
            ),
            Some(image) => {
                if let Err(problem) = shapes::check_image(image) {
                    self.fail(
                        &format!("{key}.image"),
                        format!("`{key}.image`: `{}` {problem}", shown(image)),
                        "pin the image to a version tag or digest, e.g. `ghcr.io/acme/api:v1.2.1`",
                    );
                }
            }
        }
        if let Some(user) = &s.user {
            self.check(
                shapes::is_container_user(user),
                &format!("{key}.user"),
                || format!("`{key}.user`: `{}` is not `uid` or `uid:gid`", shown(user)),
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

    /// A native service is one systemd service per host: a program at an
    /// absolute path, run as a named user that is not root. The container
    /// settings have no meaning for it.
    fn native(&mut self, key: &str, s: &Service, command: &[String], replicas: u32) {
        if s.image.is_some() {
            self.fail(
                &format!("{key}.image"),
                format!("`{key}.image`: a native service runs no image"),
                "remove `image`, or set `runtime = \"container\"`",
            );
        }
        match command.first() {
            None => self.fail(
                key,
                format!("`{key}`: a native service needs a `command`"),
                "add `command = [\"/opt/app/bin/server\", \"--port\", \"8000\"]`",
            ),
            Some(program) => self.path(&format!("{key}.command[0]"), program),
        }
        match &s.user {
            None => self.fail(
                key,
                format!("`{key}`: a native service needs a `user` to run as"),
                "services never run as root; add `user = \"<system user>\"`",
            ),
            Some(user) => {
                self.check(
                    shapes::is_unix_user(user) && user != "root",
                    &format!("{key}.user"),
                    || {
                        format!(
                            "`{key}.user`: `{}` is not a valid non-root user name",
                            shown(user)
                        )
                    },
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

    /// Environment entries are written into compose files and units, so
    /// names and values are held to their shapes; an entry that looks like a
    /// credential is refused without showing its value.
    pub(super) fn environment(&mut self, key: &str, environment: &BTreeMap<String, String>) {
        for (var, value) in environment {
            let var_key = push_key(&format!("{key}.environment"), var);
            self.check(
                shapes::is_env_name(var),
                &var_key,
                || {
                    format!(
                        "`{var_key}`: `{}` is not an environment variable name",
                        shown(var)
                    )
                },
                "letters, digits and `_`, not starting with a digit",
            );
            if !credential::looks_like_secret(var, value) {
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
    }

    /// Secrets are references: a name the service sees them under and the
    /// path of the file on the host that holds the value.
    pub(super) fn secrets(&mut self, key: &str, secrets: &BTreeMap<String, String>) {
        for (secret, path) in secrets {
            let secret_key = push_key(&format!("{key}.secrets"), secret);
            self.check(
                credential::is_secret_name(secret),
                &secret_key,
                || {
                    format!(
                        "`{secret_key}`: `{}` is not a valid secret name",
                        shown(secret)
                    )
                },
                "lowercase letters, digits and `_`, starting with a letter",
            );
            self.secret_path(&secret_key, path);
        }
    }

    /// A healthcheck probes an HTTP path on the service's port or runs a
    /// command, never both.
    fn healthcheck(&mut self, key: &str, port: Option<u16>, h: &Healthcheck) -> HealthcheckSpec {
        let hkey = format!("{key}.healthcheck");
        if let Some(path) = &h.http {
            self.url_path(&format!("{hkey}.http"), path);
            if port.is_none() {
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
    }

    /// Per-replica limits: a plausible number of cores, and no less memory
    /// than docker and systemd accept.
    fn limits(&mut self, key: &str, cpus: Option<f64>, memory: Option<ByteSize>) {
        if let Some(cpus) = cpus {
            self.check(
                (0.01..=1024.0).contains(&cpus),
                &format!("{key}.limits.cpus"),
                || format!("`{key}.limits.cpus`: {cpus} is out of range"),
                "a number of cores between 0.01 and 1024",
            );
        }
        if let Some(memory) = memory {
            self.check(
                memory >= ByteSize(6 * 1024 * 1024),
                &format!("{key}.limits.memory"),
                || format!("`{key}.limits.memory`: {memory} is below the 6MiB docker and systemd accept"),
                "for example `512MiB`",
            );
        }
    }
}
