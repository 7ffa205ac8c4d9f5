//! Derive stage: what the primary's bootstrap creates and in which order
//! (`DbBootstrapSql`, `DbBootstrapUnit`). Roles before the databases they
//! own, each database's extensions and grants inside it, then one physical
//! replication slot per replica, named as the replica's `primary_slot_name`.
//!
//! A containerised primary runs the same script with the psql of its image
//! (`docker compose exec`): the script's directory and every password file
//! it reads are mounted read-only into the PostgreSQL container at their
//! host paths, so the script is byte for byte the one a native primary runs
//! and `gen check` validates.

use crate::catalog;
use crate::derive::datatier;
use crate::derive::postgres::slot_name;
use crate::model::{Deployment, HostSpec};
use crate::profile::{Role, Runtime};

/// The Debian cluster unit of a PostgreSQL major (`postgresql@<v>-main.service`).
pub fn cluster_unit(version: u32) -> String {
    format!("postgresql@{version}-main.service")
}

/// The bootstrap's unit: `<project>-db-bootstrap.service`.
pub fn bootstrap_unit(project: &str) -> String {
    format!("{project}-db-bootstrap.service")
}

/// Where the bootstrap script lives on the primary.
pub fn bootstrap_sql_path(project: &str) -> String {
    format!("/etc/{project}/postgres/bootstrap.sql")
}

/// The directory of the bootstrap script, mounted read-only into a
/// containerised PostgreSQL. The directory rather than the file: `gen apply`
/// replaces the script by renaming a new file over it, which a bind mount
/// of the file itself would not see (it keeps the old inode).
pub fn bootstrap_dir(project: &str) -> String {
    format!("/etc/{project}/postgres")
}

/// What a containerised primary's PostgreSQL container mounts read-only for
/// the bootstrap, at the same paths as on the host: the script's directory,
/// then each role's password file not already under it, sorted.
pub fn container_mounts(d: &Deployment) -> Vec<String> {
    let dir = bootstrap_dir(&d.project);
    let mut files: Vec<String> = d
        .postgres
        .iter()
        .flat_map(|pg| pg.roles.values())
        .filter_map(|r| r.password_file.clone())
        .filter(|f| !f.starts_with(&format!("{dir}/")))
        .collect();
    files.sort();
    files.dedup();
    let mut out = vec![dir];
    out.extend(files);
    out
}

/// A client program of the image run in a containerised PostgreSQL's
/// container, as argv: as the image's `postgres` user, so that the local
/// socket's peer authentication (`local all postgres peer`) admits it, with
/// stdin and stdout passed through (`-T`: no terminal).
pub fn container_exec(project: &str, program: &str) -> Vec<String> {
    let mut argv = compose_client(project);
    argv.extend(
        [
            "exec",
            "-T",
            "--user",
            "postgres",
            datatier::POSTGRES_SERVICE,
            program,
        ]
        .map(String::from),
    );
    argv
}

/// The bootstrap of a containerised primary, as argv (no shell): psql of
/// the image in the PostgreSQL container, reading the mounted script.
pub fn container_command(project: &str, port: u16) -> Vec<String> {
    let mut argv = container_exec(project, "psql");
    argv.extend(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-U", "postgres", "-p"].map(String::from));
    argv.push(port.to_string());
    argv.extend(["-d", "postgres", "-f"].map(String::from));
    argv.push(bootstrap_sql_path(project));
    argv
}

/// Starts (when not running) the PostgreSQL container alone and waits for
/// its healthcheck (`pg_isready`), before the bootstrap and before the
/// application containers that log in as the roles it creates.
pub fn container_start(project: &str) -> Vec<String> {
    let mut argv = compose_client(project);
    argv.extend(["up", "--detach", "--wait", datatier::POSTGRES_SERVICE].map(String::from));
    argv
}

fn compose_client(project: &str) -> Vec<String> {
    vec![
        "/usr/bin/docker".into(),
        "compose".into(),
        "--file".into(),
        catalog::compose_path(project),
    ]
}

/// The slots the primary keeps: one per replica, `slot_name(replica)`,
/// sorted by replica name.
pub fn slots(d: &Deployment) -> Vec<String> {
    d.hosts_with(Role::DatabaseReplica)
        .map(|h| slot_name(&h.name))
        .collect()
}

/// The units on `host` that must start after the bootstrap: PgBouncer and
/// the host's own services, which log in as the roles it creates.
pub fn ordered_before(d: &Deployment, host: &HostSpec) -> Vec<String> {
    let mut out = Vec::new();
    if d.pgbouncer.is_some() && host.has(Role::Pooler) {
        out.push("pgbouncer.service".to_string());
    }
    let services: Vec<_> = d.services_on(host).collect();
    // A containerised primary's bootstrap starts its PostgreSQL container
    // itself: the compose unit, which starts the rest, comes after it.
    if services.iter().any(|s| s.runtime == Runtime::Container)
        || datatier::postgres_container(d, host)
    {
        out.push(catalog::compose_unit(&d.project));
    }
    out.extend(
        services
            .iter()
            .filter(|s| s.runtime == Runtime::Native)
            .map(|s| catalog::native_unit(&d.project, &s.name)),
    );
    out
}
