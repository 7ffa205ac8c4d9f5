//! Load stage, `[backup]`'s pgBackRest keys: the method, the full and
//! differential schedules, retention, the recovery point objective and the
//! repository. `pg_dump` keeps `schedule`, `retention_days`, `destination`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BackupMethod {
    /// A nightly `pg_dump` on the primary (the default).
    PgDump,
    /// pgBackRest: full and differential physical backups plus WAL archiving
    /// (point-in-time recovery), to S3 or a directory.
    Pgbackrest,
}

/// Where pgBackRest keeps backups and archived WAL: exactly one of `s3`
/// or `path`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BackupRepository {
    /// An S3 bucket (AWS or compatible).
    pub s3: Option<S3Repository>,
    /// A pgBackRest configuration fragment on the host with `repo1-s3-key`,
    /// `repo1-s3-key-secret` (and `repo1-cipher-pass`), under
    /// `/etc/pgbackrest/conf.d/` where pgBackRest includes it.
    pub credentials_file: Option<String>,
    /// A repository host (role `backup`); not supported yet: use `s3` or `path`.
    pub host: Option<String>,
    /// A directory on the database primary (a mounted volume, another disk).
    pub path: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct S3Repository {
    /// e.g. `s3.eu-central-1.amazonaws.com`.
    pub endpoint: String,
    pub bucket: String,
    pub region: String,
    /// The repository's path inside the bucket (default `/pgbackrest`).
    pub path: Option<String>,
}

/// `[backup.restore_test]`: when the newest backup is restored into a
/// throw-away server, where, and the query that proves the data came back.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RestoreTest {
    /// systemd calendar expression, in UTC (for example `*-*-01 05:00:00`, monthly).
    pub schedule: String,
    /// Hosts that run it (default: the database primary, which holds the
    /// dumps and pgBackRest's configuration). Each must be the primary.
    pub hosts: Option<Vec<String>>,
    /// One line, a `SELECT` (or `WITH … SELECT`) without `;` that must return
    /// at least one row in the restored database, e.g. `SELECT 1 FROM orders LIMIT 1`.
    pub verify_query: String,
}
