//! Check stage: runs the real program that consumes each generated file on a
//! staged copy of one host's tree (`gen check`). Reads `generated/` and the
//! manifests only, never the profiles. Each validator lives in its own file;
//! this module stages a host, dispatches on [`Validator`] and collects the
//! verdicts.

pub mod alertmanager;
pub mod compose;
pub mod cron;
pub mod environment_file;
pub mod namespaces;
pub mod nftables;
pub mod nginx;
pub mod nginx_main;
pub mod owner;
pub mod pgbackrest;
pub mod postgres;
pub mod prometheus;
pub mod redis;
pub mod report;
pub mod sandboxes;
pub mod shell;
pub mod sql;
pub mod staging;
pub mod systemd;
pub mod tool;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::process::Command;

use camino::Utf8Path;

use gen_target::error::Result;
use gen_target::layout::manifest_path;
use gen_target::manifest::Manifest;
use gen_target::Validator;

pub use namespaces::{Launcher, Namespaces};
pub use report::{CheckReport, FileReport, HostReport, Status};
pub use staging::Staging;

/// How much the sandboxes may take from the machine they run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sandbox {
    /// Run every file as written, as far as this machine allows (CI).
    Faithful,
    /// On a live host beside its running services (`gen apply`): PostgreSQL's
    /// sandbox gets a small `shared_buffers` whatever the file says; every
    /// other setting is still checked.
    Frugal,
}

/// Everything the validators of one host share: the staged files and, when
/// namespaces work here, the private network and PID namespaces every
/// program they start runs in.
pub struct HostCheck {
    pub staging: Staging,
    pub namespaces: Option<Namespaces>,
    pub launcher: Launcher,
    /// Every host path in the manifest: files that will exist on the host.
    pub managed: Vec<String>,
    /// The manifest's link records: host path → the host path it names.
    pub links: BTreeMap<String, String>,
    pub sandbox: Sandbox,
}

/// Checks every file of one host tree (`generated/<profile>/<host>`).
pub fn check_host(host_dir: &Utf8Path) -> Result<HostReport> {
    check_host_with(host_dir, Sandbox::Faithful)
}

/// [`check_host`] with the sandboxes sized for where it runs.
pub fn check_host_with(host_dir: &Utf8Path, sandbox: Sandbox) -> Result<HostReport> {
    let manifest = Manifest::read(&manifest_path(host_dir))?;
    let staging = Staging::new(host_dir)?;
    let namespaces = Namespaces::new(&staging);
    let launcher = match &namespaces {
        Some(namespaces) => namespaces.launcher().clone(),
        None => Launcher::outside(&staging),
    };
    let managed = manifest.files.iter().map(|f| f.path.clone()).collect();
    let links = manifest
        .files
        .iter()
        .filter_map(|f| Some((f.path.clone(), f.link.clone()?)))
        .collect();
    let mut host = HostCheck {
        staging,
        namespaces,
        launcher,
        managed,
        links,
        sandbox,
    };
    let mut files: Vec<FileReport> = manifest
        .files
        .iter()
        .map(|record| {
            // A link has no file in the tree: its record is in the manifest.
            let generated = match record.link {
                Some(_) => manifest_path(host_dir),
                None => host.staging.generated(&record.path),
            };
            let mut report = FileReport::new(&record.path, generated, record.validator);
            report.exposure_budget = record.exposure_budget;
            report
        })
        .collect();

    // Each program checks its files of the host together (PostgreSQL's
    // three kinds share one sandbox cluster), in a fixed order.
    for program in Program::ALL {
        let picked: Vec<usize> = files
            .iter()
            .enumerate()
            .filter(|(_, f)| Program::of(f.validator) == program)
            .map(|(i, _)| i)
            .collect();
        if picked.is_empty() {
            continue;
        }
        let mut subset: Vec<FileReport> = picked.iter().map(|&i| files[i].clone()).collect();
        program.check()(&mut host, &mut subset)?;
        for (i, report) in picked.into_iter().zip(subset) {
            files[i] = report;
        }
    }
    drop(host.namespaces.take());
    host.staging.close()?;
    Ok(HostReport {
        profile: manifest.profile,
        host: manifest.host,
        files,
    })
}

impl HostCheck {
    /// `program`, to run in this host's sandbox.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        self.launcher.command(program)
    }

    /// `program` as the user `user`, to run in this host's sandbox.
    pub fn command_as(&self, user: &str, program: impl AsRef<OsStr>) -> Command {
        self.launcher.command_as(user, program)
    }
}

/// The program behind each validator. [`Program::of`] matches every
/// [`Validator`] exhaustively: a new kind of file cannot go unchecked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Program {
    Nginx,
    Postgres,
    Redis,
    Systemd,
    Cron,
    Compose,
    Prometheus,
    Shell,
    Sql,
    Nftables,
    Pgbackrest,
    Alertmanager,
    EnvironmentFile,
}

impl Program {
    const ALL: [Program; 13] = [
        Program::Nginx,
        Program::Postgres,
        Program::Redis,
        Program::Systemd,
        Program::Cron,
        Program::Compose,
        Program::Prometheus,
        Program::Shell,
        Program::Sql,
        Program::Nftables,
        Program::Pgbackrest,
        Program::Alertmanager,
        Program::EnvironmentFile,
    ];

    fn of(validator: Validator) -> Program {
        match validator {
            Validator::Nginx => Program::Nginx,
            Validator::Postgresql | Validator::PgHba | Validator::Pgbouncer => Program::Postgres,
            Validator::Redis => Program::Redis,
            Validator::Systemd | Validator::SystemdEnable => Program::Systemd,
            Validator::Cron => Program::Cron,
            Validator::Compose => Program::Compose,
            Validator::PrometheusConfig | Validator::PrometheusRules => Program::Prometheus,
            Validator::Shell => Program::Shell,
            Validator::Sql => Program::Sql,
            Validator::Nftables => Program::Nftables,
            Validator::Pgbackrest => Program::Pgbackrest,
            Validator::Alertmanager => Program::Alertmanager,
            Validator::EnvironmentFile => Program::EnvironmentFile,
        }
    }

    fn check(self) -> Check {
        match self {
            Program::Nginx => nginx::check,
            Program::Postgres => postgres::check,
            Program::Redis => redis::check,
            Program::Systemd => systemd::check,
            Program::Cron => cron::check,
            Program::Compose => compose::check,
            Program::Prometheus => prometheus::check,
            Program::Shell => shell::check,
            Program::Sql => sql::check,
            Program::Nftables => nftables::check,
            Program::Pgbackrest => pgbackrest::check,
            Program::Alertmanager => alertmanager::check,
            Program::EnvironmentFile => environment_file::check,
        }
    }
}

/// A validator: checks its files of one host, recording verdicts in them.
/// `Err` only for gen's own failures (cannot stage), never for a bad file.
pub type Check = fn(&mut HostCheck, &mut [FileReport]) -> Result<()>;

/// The first report for a validator kind.
pub fn find(files: &mut [FileReport], kind: Validator) -> Option<&mut FileReport> {
    files.iter_mut().find(|f| f.validator == kind)
}
