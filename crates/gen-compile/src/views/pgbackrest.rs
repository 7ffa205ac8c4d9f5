//! Render stage: what pgBackRest's configuration and backup units see.

use serde::Serialize;

use super::{metric_prefix, Scope};
use crate::catalog::TEXTFILE_DIR;
use crate::derive::backup;
use crate::model::{PgbackrestSpec, RepositorySpec};

#[derive(Serialize)]
pub struct Pgbackrest<'a> {
    project: &'a str,
    stanza: &'a str,
    repository: &'a RepositorySpec,
    retention_full: u32,
    credentials_file: Option<&'a str>,
    /// Debian's data directory of the cluster.
    data_directory: String,
    port: u16,
    postgres_unit: String,
    /// `full` or `diff` (units only).
    backup_type: Option<&'a str>,
    /// The unit's calendar (timers only).
    calendar: Option<&'a str>,
    /// A posix repository's directory: the one place the unit writes.
    repository_path: Option<&'a str>,
    /// The metric a successful backup records (BackupTooOld reads it).
    metric: String,
    /// node_exporter's textfile for it, the same as pg_dump's.
    metrics_file: String,
}

pub fn pgbackrest<'a>(scope: &Scope<'a>) -> Option<Pgbackrest<'a>> {
    let b: &PgbackrestSpec = scope.d.pgbackrest.as_ref()?;
    let pg = scope.d.postgres.as_ref()?;
    let backup_type = scope.spec.service.as_deref().and_then(|t| {
        backup::BACKUP_TYPES
            .iter()
            .copied()
            .find(|known| *known == t)
    });
    Some(Pgbackrest {
        project: &scope.d.project,
        stanza: backup::stanza(scope.d),
        repository: &b.repository,
        retention_full: b.retention_full,
        credentials_file: b.credentials_file.as_deref(),
        data_directory: format!("/var/lib/postgresql/{}/main", pg.version),
        port: pg.port,
        postgres_unit: format!("postgresql@{}-main.service", pg.version),
        backup_type,
        calendar: backup_type.map(|t| {
            if t == "full" {
                b.full.as_str()
            } else {
                b.diff.as_str()
            }
        }),
        repository_path: match &b.repository {
            RepositorySpec::Posix { path } => Some(path),
            RepositorySpec::S3 { .. } => None,
        },
        metric: format!(
            "{}_backup_last_success_timestamp_seconds",
            metric_prefix(&scope.d.project)
        ),
        metrics_file: format!("{TEXTFILE_DIR}/{}_backup.prom", scope.d.project),
    })
}
