//! Render stage: what the restore-test script and its units see.

use serde::Serialize;

use super::{metric_prefix, Scope};
use crate::catalog::TEXTFILE_DIR;
use crate::derive::{backup, restore_test};
use crate::escape::shell_quote;
use crate::model::RepositorySpec;

#[derive(Serialize)]
pub struct RestoreTest<'a> {
    project: &'a str,
    metric_prefix: String,
    /// `pg_dump` or `pgbackrest`.
    method: &'static str,
    database: &'a str,
    /// The verify query, one shell word.
    verify_query: String,
    schedule: &'a str,
    /// Debian's server binaries of the cluster's major version.
    pg_bin: String,
    scratch_port: u16,
    /// pg_dump: the directory the dumps are in.
    destination: Option<&'a str>,
    /// pgBackRest: the stanza.
    stanza: Option<&'a str>,
    /// pgBackRest with a directory repository: read by the restore.
    repository_path: Option<&'a str>,
    /// The unit the live cluster runs as, which the test must not disturb.
    postgres_unit: String,
    state_dir: String,
    /// Where the script leaves the metrics of a good restore, and where
    /// node_exporter's textfile collector reads them.
    staged_metrics: String,
    metrics_file: String,
}

pub fn restore_test<'a>(scope: &Scope<'a>) -> Option<RestoreTest<'a>> {
    let d = scope.d;
    let t = d.restore_test.as_ref()?;
    let pg = d.postgres.as_ref()?;
    let state_dir = restore_test::state_dir(&d.project);
    Some(RestoreTest {
        project: &d.project,
        metric_prefix: metric_prefix(&d.project),
        method: if d.pgbackrest.is_some() {
            "pgbackrest"
        } else {
            "pg_dump"
        },
        database: &pg.database,
        verify_query: shell_quote(&t.verify_query),
        schedule: &t.schedule,
        pg_bin: format!("/usr/lib/postgresql/{}/bin", pg.version),
        scratch_port: restore_test::SCRATCH_PORT,
        destination: d.backup.as_ref().map(|b| b.destination.as_str()),
        stanza: d.pgbackrest.as_ref().map(|_| backup::stanza(d)),
        repository_path: d.pgbackrest.as_ref().and_then(|b| match &b.repository {
            RepositorySpec::Posix { path } => Some(path.as_str()),
            RepositorySpec::S3 { .. } => None,
        }),
        postgres_unit: format!("postgresql@{}-main.service", pg.version),
        staged_metrics: format!("{state_dir}/restore.prom"),
        state_dir,
        metrics_file: format!("{TEXTFILE_DIR}/{}_restore.prom", d.project),
    })
}
