//! Load stage: the raw `[postgres.roles.<name>]` and `[postgres.databases.<name>]`
//! tables, mirroring the TOML. They replace the older `postgres.database`,
//! `postgres.users`, `postgres.extensions` and `postgres.replication_user`
//! keys, which `validate::postgres_roles` still reads as shorthands.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A PostgreSQL role gen creates (if missing) on the primary.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleDecl {
    /// File on every database host holding the role's password (read by
    /// `postgres` when the bootstrap runs; the password never enters the tree).
    /// With `postgres.runtime = "container"` it is mounted read-only into the
    /// container and read by the image's `postgres` user.
    pub password_file: Option<String>,
    /// `CONNECTION LIMIT` of the role (default: no limit, -1).
    #[schemars(range(min = 1))]
    pub connection_limit: Option<u32>,
    /// Roles this role is granted membership of (`pg_read_all_stats`, another declared role).
    pub member_of: Option<Vec<String>>,
    /// The role replicas stream as: at most one role says so.
    pub replication: Option<bool>,
}

/// What a role may do in a database.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum GrantLevel {
    /// `CONNECT` on the database.
    Connect,
    /// `CONNECT`, `USAGE` on schema `public`, `SELECT` on its tables (also future ones of the owner).
    Read,
    /// `read` plus `INSERT`, `UPDATE`, `DELETE` and sequence use.
    Write,
}

impl GrantLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            GrantLevel::Connect => "connect",
            GrantLevel::Read => "read",
            GrantLevel::Write => "write",
        }
    }
}

/// A database gen creates (if missing) on the primary.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DatabaseDecl {
    /// The owning role, one of `postgres.roles` (default: the only login role declared).
    pub owner: Option<String>,
    /// `CREATE EXTENSION IF NOT EXISTS` in this database.
    pub extensions: Option<Vec<String>>,
    /// Other roles' access: role → `connect` | `read` | `write`.
    pub grants: Option<BTreeMap<String, GrantLevel>>,
}
