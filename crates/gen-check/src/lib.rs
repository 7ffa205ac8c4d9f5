//! Check stage: runs the real program that consumes each generated file on a
//! staged copy of one host's tree (`gen check`). Reads `generated/` and the
//! manifests only, never the profiles. Each validator lives in its own file;
//! this module stages a host, dispatches on [`Validator`] and collects the
//! verdicts.

pub mod compose;
pub mod cron;
pub mod nginx;
pub mod postgres;
pub mod prometheus;
pub mod redis;
pub mod report;
pub mod shell;
pub mod staging;
pub mod systemd;
pub mod tool;

use std::collections::BTreeMap;

use camino::Utf8Path;

use gen_target::error::Result;
use gen_target::layout::manifest_path;
use gen_target::manifest::Manifest;
use gen_target::Validator;

pub use report::{CheckReport, FileReport, HostReport, Status};
pub use staging::Staging;
pub use tool::Netns;

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
/// namespaces work here, a private network for the daemons they start.
pub struct HostCheck {
    pub staging: Staging,
    pub netns: Option<Netns>,
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
    let netns = Netns::new(staging.dir());
    let managed = manifest.files.iter().map(|f| f.path.clone()).collect();
    let links = manifest
        .files
        .iter()
        .filter_map(|f| Some((f.path.clone(), f.link.clone()?)))
        .collect();
    let mut host = HostCheck {
        staging,
        netns,
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
            FileReport::new(&record.path, generated, record.validator)
        })
        .collect();

    let of = |files: &mut [FileReport], kinds: &[Validator]| -> Vec<usize> {
        files
            .iter()
            .enumerate()
            .filter(|(_, f)| kinds.contains(&f.validator))
            .map(|(i, _)| i)
            .collect()
    };
    let groups: [(&[Validator], Check); 8] = [
        (&[Validator::Nginx], nginx::check),
        (
            &[
                Validator::Postgresql,
                Validator::PgHba,
                Validator::Pgbouncer,
            ],
            postgres::check,
        ),
        (&[Validator::Redis], redis::check),
        (
            &[Validator::Systemd, Validator::SystemdEnable],
            systemd::check,
        ),
        (&[Validator::Cron], cron::check),
        (&[Validator::Compose], compose::check),
        (
            &[Validator::PrometheusConfig, Validator::PrometheusRules],
            prometheus::check,
        ),
        (&[Validator::Shell], shell::check),
    ];
    for (kinds, check) in groups {
        let picked = of(&mut files, kinds);
        if picked.is_empty() {
            continue;
        }
        let mut subset: Vec<FileReport> = picked.iter().map(|&i| files[i].clone()).collect();
        check(&mut host, &mut subset)?;
        for (i, report) in picked.into_iter().zip(subset) {
            files[i] = report;
        }
    }
    drop(host.netns.take());
    host.staging.close()?;
    Ok(HostReport {
        profile: manifest.profile,
        host: manifest.host,
        files,
    })
}

/// A validator: checks its files of one host, recording verdicts in them.
/// `Err` only for gen's own failures (cannot stage), never for a bad file.
pub type Check = fn(&mut HostCheck, &mut [FileReport]) -> Result<()>;

/// The first report for a validator kind.
pub fn find(files: &mut [FileReport], kind: Validator) -> Option<&mut FileReport> {
    files.iter_mut().find(|f| f.validator == kind)
}
