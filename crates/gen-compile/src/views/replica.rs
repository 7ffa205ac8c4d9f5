//! Views of a replica's initialisation: the script that clones the primary
//! into a pristine data directory, and the oneshot unit that runs it before
//! PostgreSQL starts.

use serde::Serialize;

use super::Scope;
use crate::derive::bootstrap::cluster_unit;
use crate::derive::postgres::slot_name;
use crate::derive::replica::{data_directory, pg_basebackup, replica_init_script};

#[derive(Serialize)]
pub struct ReplicaInit<'a> {
    project: &'a str,
    primary_name: &'a str,
    primary_host: String,
    primary_port: u16,
    replication_user: &'a str,
    passfile: &'a str,
    /// The slot the bootstrap creates on the primary for this replica.
    slot: String,
    data_directory: String,
    /// `/var/lib/postgresql/<v>`: the data directory's parent.
    version_directory: String,
    pg_basebackup: String,
    script: String,
    cluster_unit: String,
}

pub fn replica_init<'a>(scope: &Scope<'a>) -> Option<ReplicaInit<'a>> {
    let d = scope.d;
    let pg = d.postgres.as_ref()?;
    let primary = d.primary()?;
    Some(ReplicaInit {
        project: &d.project,
        primary_name: &primary.name,
        primary_host: primary.address.to_string(),
        primary_port: pg.port,
        replication_user: &pg.replication_user,
        passfile: &pg.replication_passfile,
        slot: slot_name(&scope.host.name),
        data_directory: data_directory(pg.version),
        version_directory: format!("/var/lib/postgresql/{}", pg.version),
        pg_basebackup: pg_basebackup(pg.version),
        script: replica_init_script(&d.project),
        cluster_unit: cluster_unit(pg.version),
    })
}
