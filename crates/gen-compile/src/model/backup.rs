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

/// `[backup.restore_test]`, checked.
#[derive(Debug, Clone, Serialize)]
pub struct RestoreTestSpec {
    /// systemd calendar of the restore test.
    pub schedule: String,
    /// The hosts that run it (the primary unless the profile says otherwise).
    pub hosts: Vec<String>,
    /// The query that must return a row in the restored database.
    pub verify_query: String,
    /// `alerts.restore_age_days`, or its default from the schedule.
    pub age_days: f64,
}
