//! Load stage: the raw `[jobs]` tables, mirroring the TOML exactly (re-exported
//! from `profile`). A job is something that runs to completion: a migration
//! that gates services, a scheduled task, or a task that runs whenever its
//! definition changes. Defaults and invariants are applied in
//! `validate::jobs`.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::profile::{Role, Runtime};
use crate::units::Duration;

/// `jobs.<name>`: one job. Its process is either inherited from a service
/// (`service = "api"`) or its own (`runtime`, `image`, `command`, `user`, …);
/// it has at most one trigger: `before` (it gates services or jobs on its
/// host), `schedule` (a systemd timer), or none (it runs when its definition
/// changes, and by hand with `systemctl start <project>-job-<name>`).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Job {
    /// Inherit the runtime, image, user, environment, secrets, database and
    /// Redis of this service; the job's own keys of the same name are refused.
    pub service: Option<String>,
    /// `container` (a compose service `job-<name>`) or `native` (a systemd
    /// oneshot unit). Required without `service`.
    pub runtime: Option<Runtime>,
    /// Container image with a pinned tag or digest.
    pub image: Option<String>,
    /// The program and its arguments (container: replaces the image's command;
    /// native: `ExecStart`, the program an absolute path).
    pub command: Option<Vec<String>>,
    /// Native: the system user the job runs as. Container: `uid:gid`.
    pub user: Option<String>,
    /// Non-secret environment. Keys that look like credentials are rejected: use `secrets`.
    pub environment: Option<BTreeMap<String, String>>,
    /// Credentials, by name, as absolute paths of files on the host.
    pub secrets: Option<BTreeMap<String, String>>,
    /// The database role the job connects as (one of `postgres.users`); the
    /// job then `uses` the database.
    pub database: Option<crate::profile::ServiceDatabase>,
    /// Whether the job uses the Redis cache/queue.
    pub redis: Option<bool>,
    /// Run on these hosts (exclusive with `role`).
    pub hosts: Option<Vec<String>>,
    /// Run on hosts with this role (exclusive with `hosts`).
    pub role: Option<Role>,
    /// `one` (default): the first of the matching hosts by name; `each`: every one.
    /// Without `hosts` and `role` the job runs where the first service it
    /// gates runs, or else where its `service` runs.
    pub placement: Option<Placement>,
    /// Services or jobs this job must complete before, on its host: their
    /// containers wait for `service_completed_successfully`, their units are
    /// ordered after it and require it.
    pub before: Option<Vec<String>>,
    /// systemd calendar expression (`*-*-01 04:00:00`), evaluated in UTC; the
    /// timer is `Persistent=true`.
    pub schedule: Option<String>,
    /// How long one run may take before it is stopped (default `15m`).
    pub timeout: Option<Duration>,
    /// How long one run is expected to take, for the schedule-collision lint
    /// (default `15m`).
    pub duration: Option<Duration>,
    /// Resources the job uses, for the schedule-collision lint: `database`
    /// (implied by `database`). Two jobs on one host that use one resource
    /// should not run at once.
    pub uses: Option<Vec<Resource>>,
    /// gen's SQL runner instead of a process: apply each `*.sql` file of
    /// `directory` once, in lexical order, one transaction each, as
    /// `postgres` over the local socket with the role of the database's
    /// owner; applied files are recorded in `gen.applied_migrations`.
    pub sql: Option<SqlMigrations>,
}

/// `jobs.<name>.sql`: a directory of SQL migrations for one database.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SqlMigrations {
    /// The database the files are applied to (`postgres.database`).
    pub database: String,
    /// The directory of `*.sql` files on the host.
    pub directory: String,
}

/// How many of a job's matching hosts run it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Placement {
    One,
    Each,
}

/// Something jobs share, whose concurrent use the schedule-collision lint flags.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Resource {
    /// The PostgreSQL primary: backups, VACUUM and heavy jobs compete for its I/O and locks.
    Database,
}

impl Resource {
    pub fn as_str(self) -> &'static str {
        match self {
            Resource::Database => "database",
        }
    }
}
