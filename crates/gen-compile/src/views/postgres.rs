//! Views of the data tier's files: postgresql.conf and pg_hba.conf on each
//! database host, the backup script and its units on the primary, and
//! pgbouncer.ini on each pooler.

use serde::Serialize;

use super::{metric_prefix, Scope};
use crate::catalog::TEXTFILE_DIR;
use crate::derive::hba::{self, HbaEntry};
use crate::derive::{PoolPlan, PostgresConf};
use crate::model::{BackupSpec, HostSpec, PgbouncerSpec, PostgresSpec};

#[derive(Serialize)]
pub struct Conf<'a> {
    host: &'a HostSpec,
    postgres: &'a PostgresSpec,
    /// This host's settings, each with where its value comes from.
    pg: &'a PostgresConf,
}

pub fn conf<'a>(scope: &Scope<'a>) -> Option<Conf<'a>> {
    Some(Conf {
        host: scope.host,
        postgres: scope.d.postgres.as_ref()?,
        pg: scope.derived.postgres.get(&scope.host.name)?,
    })
}

#[derive(Serialize)]
pub struct Hba<'a> {
    host: &'a HostSpec,
    hba: Vec<HbaEntry>,
}

pub fn hba<'a>(scope: &Scope<'a>) -> Hba<'a> {
    Hba {
        host: scope.host,
        hba: hba::entries(scope.d, scope.host),
    }
}

#[derive(Serialize)]
pub struct BackupScript<'a> {
    project: &'a str,
    metric_prefix: String,
    database: &'a str,
    backup: &'a BackupSpec,
    /// Where the script, running as `postgres`, leaves the metrics of a good
    /// backup: the service's own state directory.
    staged_metrics: String,
    /// pg_dump and pg_restore as the script runs them (words of a bash
    /// array): the host's, or the image's in a containerised PostgreSQL's
    /// container (`docker compose exec`), reading and writing through
    /// stdin and stdout so that the dump lands on the host.
    pg_dump: String,
    pg_restore: String,
    /// A containerised PostgreSQL: the script runs as root (the docker
    /// client), not as `postgres`.
    container: bool,
}

pub fn backup_script<'a>(scope: &Scope<'a>) -> Option<BackupScript<'a>> {
    let d = scope.d;
    Some(BackupScript {
        project: &d.project,
        metric_prefix: metric_prefix(&d.project),
        database: &d.postgres.as_ref()?.database,
        backup: d.backup.as_ref()?,
        staged_metrics: format!("{}/backup.prom", backup_state_dir(&d.project)),
        pg_dump: pg_client(scope, "pg_dump"),
        pg_restore: pg_client(scope, "pg_restore"),
        container: crate::derive::datatier::postgres_container(d, scope.host),
    })
}

/// A PostgreSQL client program of the backup script, as the words of a
/// bash array (no word holds a space or a shell metacharacter: a program
/// name, a docker option, a path under `/etc/<project>`).
fn pg_client(scope: &Scope<'_>, program: &str) -> String {
    if crate::derive::datatier::postgres_container(scope.d, scope.host) {
        crate::derive::bootstrap::container_exec(&scope.d.project, program).join(" ")
    } else {
        program.to_string()
    }
}

/// The backup service's state directory (`StateDirectory=`), owned by `postgres`.
fn backup_state_dir(project: &str) -> String {
    format!("/var/lib/{project}-backup")
}

/// The backup service and its timer.
#[derive(Serialize)]
pub struct BackupUnit<'a> {
    project: &'a str,
    backup: &'a BackupSpec,
    /// The metrics the script leaves in its state directory, and where
    /// node_exporter's textfile collector reads them
    /// (`<textfile dir>/<project>_backup.prom`, a root-owned directory).
    staged_metrics: String,
    metrics_file: String,
    /// A containerised PostgreSQL: the compose unit it runs under.
    compose_unit: Option<String>,
}

pub fn backup_unit<'a>(scope: &Scope<'a>) -> Option<BackupUnit<'a>> {
    let project = &scope.d.project;
    Some(BackupUnit {
        project,
        backup: scope.d.backup.as_ref()?,
        staged_metrics: format!("{}/backup.prom", backup_state_dir(project)),
        metrics_file: format!("{TEXTFILE_DIR}/{project}_backup.prom"),
        compose_unit: crate::derive::datatier::postgres_container(scope.d, scope.host)
            .then(|| crate::catalog::compose_unit(project)),
    })
}

#[derive(Serialize)]
pub struct Pgbouncer<'a> {
    host: &'a HostSpec,
    pgbouncer: &'a PgbouncerSpec,
    pools: &'a PoolPlan,
    /// `max_db_connections`: pools × (default + reserve), what one pooler
    /// may open to a database server at most.
    max_db_connections: u64,
    /// `pgbouncer.extra` as `[pgbouncer]` settings.
    extra: Vec<String>,
    /// The exporter's login, one of `stats_users`.
    stats_user: &'static str,
}

pub fn pgbouncer<'a>(scope: &Scope<'a>) -> Option<Pgbouncer<'a>> {
    let pools = scope.derived.pools.as_ref()?;
    let pgbouncer = scope.d.pgbouncer.as_ref()?;
    Some(Pgbouncer {
        host: scope.host,
        pgbouncer,
        extra: crate::validate::extra::ini_lines(&pgbouncer.extra),
        max_db_connections: pools.max_db_connections(),
        pools,
        stats_user: crate::derive::exporters::PGBOUNCER_STATS_USER,
    })
}
