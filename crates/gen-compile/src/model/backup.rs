//! Validate stage output, `[backup]` with `method = "pgbackrest"`.

use serde::Serialize;

use crate::units::Duration;

/// pgBackRest on the database primary: one stanza named after the project.
#[derive(Debug, Clone, Serialize)]
pub struct PgbackrestSpec {
    /// systemd calendar of full backups.
    pub full: String,
    /// systemd calendar of differential backups.
    pub diff: String,
    /// `repo1-retention-full`.
    pub retention_full: u32,
    /// The recovery point objective; `archive_timeout` is half of it.
    pub rpo: Duration,
    pub repository: RepositorySpec,
    /// The conf.d fragment holding the repository's keys, when it has one.
    pub credentials_file: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RepositorySpec {
    S3 {
        endpoint: String,
        bucket: String,
        region: String,
        path: String,
    },
    Posix {
        path: String,
    },
}
