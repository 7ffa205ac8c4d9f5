//! Derive stage: where a replica's initialisation finds things on a Debian
//! host (the `main` cluster of the version, its `pg_basebackup`), and the
//! names of its script and unit.

/// Debian's data directory of the version's `main` cluster (as postgresql.conf's `data_directory`).
pub fn data_directory(version: u32) -> String {
    format!("/var/lib/postgresql/{version}/main")
}

/// The version's own `pg_basebackup` (postgresql-client-<v>).
pub fn pg_basebackup(version: u32) -> String {
    format!("/usr/lib/postgresql/{version}/bin/pg_basebackup")
}

/// `/usr/local/sbin/<project>-replica-init`.
pub fn replica_init_script(project: &str) -> String {
    format!("/usr/local/sbin/{project}-replica-init")
}

/// `<project>-replica-init.service`.
pub fn replica_init_unit(project: &str) -> String {
    format!("{project}-replica-init.service")
}
