//! Validate stage: raw [`Profile`] → checked [`Deployment`]. Defaults are filled
//! in and every invariant that does not depend on a derived number is checked
//! here, once. Values that end up inside generated files are held to the
//! syntax each file allows, so no value can smuggle a directive, a setting or a
//! path into an artifact.
//!
//! Each section of the profile is read into its part of the model by the file
//! named after it (`postgres` also reads `[pgbouncer]` and `[backup]`,
//! `monitoring` also `[alerts]`); `cross_checks` then holds the invariants
//! between sections. All of them report to one `Checker`, so a profile's
//! problems are reported together, in the order the sections are read.

mod alerting;
mod backup;
pub(crate) mod container;
mod container_subnet;
mod cross_checks;
mod datatier;
pub(crate) mod extra;
mod firewall;
mod hosts;
mod jobs;
mod lints;
mod maintenance;
mod monitoring;
mod nginx_options;
mod postgres;
mod postgres_roles;
mod redis;
mod restore_test;
mod rollout;
mod services;
mod sites;

use crate::load::LoadedProfile;
use crate::model::Deployment;
use crate::profile::Profile;
use crate::schedule;
use crate::shapes;
use crate::source::{SourceMap, Underline};
use gen_target::error::{Error, Result};
use gen_target::host_path::{is_safe_path, shown};

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

/// Reads the profile section by section and collects every problem found,
/// in the order found, with its location in the sources.
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
            shapes::is_name(value),
            key,
            || format!("`{key}`: {what} `{}` is not a valid name", shown(value)),
            "names are 1 to 63 characters: lowercase letters, digits and `-`, starting with a letter",
        );
    }

    /// A database, role or user name: like other names, `_` allowed too.
    fn sql_name(&mut self, key: &str, value: &str, what: &str) {
        self.check(
            shapes::is_sql_name(value),
            key,
            || format!("`{key}`: {what} `{}` is not a valid name", shown(value)),
            "1 to 63 characters: lowercase letters, digits, `_` and `-`, starting with a letter",
        );
    }

    fn path(&mut self, key: &str, value: &str) {
        self.check(
            is_safe_path(value),
            key,
            || format!("`{key}`: `{}` is not a safe absolute path", shown(value)),
            "paths are absolute, without `..`, `.` or empty components, and use only letters, digits and `._-@+/`",
        );
    }

    /// A path that references a credential. A value that is not a safe path
    /// may be the credential itself pasted in the wrong place, so the error
    /// shows neither the value nor its line.
    fn secret_path(&mut self, key: &str, value: &str) {
        if !is_safe_path(value) {
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
            shapes::is_url_path(value),
            key,
            || format!("`{key}`: `{}` is not a valid URL path", shown(value)),
            "URL paths start with `/` and use only letters, digits and `/._~-`",
        );
    }

    fn text(&mut self, key: &str, value: &str) {
        self.check(
            shapes::is_plain_text(value),
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
        if let Err(problem) = schedule::check_cron_schedule(value) {
            self.fail(
                key,
                format!(
                    "`{key}`: `{}` is not a cron schedule: {problem}",
                    shown(value)
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

    /// A port something other than nginx listens on: from 1024 up, since
    /// the services run as unprivileged users and nginx owns 80 and 443.
    fn unprivileged_port(&mut self, key: &str, port: u16, help: &'static str) {
        self.check(
            port >= 1024,
            key,
            || format!("`{key}`: {port} is a privileged port"),
            help,
        );
    }

    fn deployment(&mut self, profile_name: &str, p: &Profile) -> Deployment {
        self.name("project.name", &p.project.name, "project name");
        if let Some(email) = &p.project.admin_email {
            self.check(
                shapes::is_email(email),
                "project.admin_email",
                || {
                    format!(
                        "`project.admin_email`: `{}` is not an email address",
                        shown(email)
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
        let nginx = self.nginx_http(p);
        let backup = self.backup(p);
        self.container_backup(p);
        self.data_service_names(p);
        let maintenance = self.maintenance(p);
        let monitoring = self.monitoring(p);
        let alerts = self.alerts(p);
        let rollout = self.rollout(p);
        let alerting = self.alerting(p);
        let allowed_lints = self.lint_allowances(p);
        let jobs = self.jobs(p, &hosts, &services);
        let firewall = self.firewall(p, &hosts);
        let pgbackrest = self.pgbackrest(p);
        let restore_test = self.restore_test(p, &hosts);

        let deployment = Deployment {
            profile: profile_name.to_string(),
            project: p.project.name.clone(),
            admin_email: p.project.admin_email.clone(),
            internal_networks: p.network.internal.clone(),
            container_subnet: None,
            admin_networks: p.network.admin.clone(),
            hosts,
            services,
            postgres,
            pgbouncer,
            redis,
            sites,
            nginx,
            backup,
            maintenance,
            monitoring,
            alerts,
            rollout,
            alerting,
            allowed_lints,
            jobs,
            firewall,
            pgbackrest,
            restore_test,
        };
        let mut deployment = deployment;
        deployment.container_subnet = self.container_subnet(p, &deployment);
        self.cross_checks(&deployment);
        self.alerts_reachable(&deployment);
        deployment
    }
}
