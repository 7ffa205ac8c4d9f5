//! Views of the primary's bootstrap: the SQL script that creates the data
//! tier's roles, databases, extensions, grants and replication slots when
//! missing, and the oneshot unit that runs it. Names reach the script quoted
//! here (identifiers and literals), so the template only lays them out.

use serde::Serialize;

use super::Scope;
use crate::derive::bootstrap::{
    bootstrap_sql_path, cluster_unit, container_command, container_start, ordered_before, slots,
};
use crate::derive::datatier;
use crate::escape::{sql_ident, sql_literal};
use crate::profile::GrantLevel;

/// A name as the script writes it: as an identifier and as a string literal.
#[derive(Serialize)]
pub struct SqlName {
    name: String,
    ident: String,
    literal: String,
}

fn sql_name(name: &str) -> SqlName {
    SqlName {
        name: name.to_string(),
        ident: sql_ident(name),
        literal: sql_literal(name),
    }
}

#[derive(Serialize)]
pub struct RoleView {
    role: SqlName,
    replication: bool,
    /// `CONNECTION LIMIT`: the declared one, or -1 (none).
    connection_limit: i64,
    /// Read by psql on the host (`\set pw \`cat FILE\``); never in the tree.
    password_file: Option<String>,
    member_of: Vec<SqlName>,
}

#[derive(Serialize)]
pub struct GrantView {
    role: SqlName,
    level: &'static str,
}

#[derive(Serialize)]
pub struct DatabaseView {
    database: SqlName,
    owner: SqlName,
    extensions: Vec<SqlName>,
    grants: Vec<GrantView>,
}

#[derive(Serialize)]
pub struct BootstrapSql<'a> {
    project: &'a str,
    roles: Vec<RoleView>,
    databases: Vec<DatabaseView>,
    slots: Vec<SqlName>,
}

pub fn sql<'a>(scope: &Scope<'a>) -> Option<BootstrapSql<'a>> {
    let d = scope.d;
    let pg = d.postgres.as_ref()?;
    let roles = pg
        .roles
        .iter()
        .map(|(name, role)| RoleView {
            role: sql_name(name),
            replication: role.replication,
            connection_limit: role.connection_limit.map_or(-1, i64::from),
            password_file: role.password_file.clone(),
            member_of: role.member_of.iter().map(|m| sql_name(m)).collect(),
        })
        .collect();
    let databases = pg
        .databases
        .iter()
        .map(|(name, db)| DatabaseView {
            database: sql_name(name),
            owner: sql_name(&db.owner),
            extensions: db.extensions.iter().map(|e| sql_name(e)).collect(),
            grants: db
                .grants
                .iter()
                .map(|(role, level)| GrantView {
                    role: sql_name(role),
                    level: GrantLevel::as_str(*level),
                })
                .collect(),
        })
        .collect();
    Some(BootstrapSql {
        project: &d.project,
        roles,
        databases,
        slots: slots(d).iter().map(|s| sql_name(s)).collect(),
    })
}

#[derive(Serialize)]
pub struct BootstrapUnit<'a> {
    project: &'a str,
    cluster_unit: String,
    before: Vec<String>,
    script: String,
    port: u16,
    /// A containerised primary: how the unit starts the PostgreSQL
    /// container and runs psql in it (argv, joined by spaces: no word
    /// contains one).
    container: Option<ContainerRun>,
}

#[derive(Serialize)]
pub struct ContainerRun {
    start: String,
    exec: String,
}

pub fn unit<'a>(scope: &Scope<'a>) -> Option<BootstrapUnit<'a>> {
    let d = scope.d;
    let pg = d.postgres.as_ref()?;
    Some(BootstrapUnit {
        project: &d.project,
        cluster_unit: cluster_unit(pg.version),
        before: ordered_before(d, scope.host),
        script: bootstrap_sql_path(&d.project),
        port: pg.port,
        container: datatier::postgres_container(d, scope.host).then(|| ContainerRun {
            start: container_start(&d.project).join(" "),
            exec: container_command(&d.project, pg.port).join(" "),
        }),
    })
}
