//! Validate stage, `[backup]` with `method = "pgbackrest"`: the schedules,
//! retention, RPO and exactly one repository. The values go into
//! pgbackrest.conf and unit files, so they are held to plain shapes.

use super::Checker;
use crate::model::{PgbackrestSpec, RepositorySpec};
use crate::profile::{BackupMethod, Profile};
use crate::schedule::check_calendar;
use crate::shapes;
use crate::units::Duration;
use gen_target::host_path::shown;

/// Where pgBackRest includes configuration fragments from (its default
/// `--config-include-path`).
pub const CONF_D: &str = "/etc/pgbackrest/conf.d/";

impl Checker<'_> {
    pub(super) fn pgbackrest(&mut self, p: &Profile) -> Option<PgbackrestSpec> {
        let b = p.backup.as_ref()?;
        if b.method != Some(BackupMethod::Pgbackrest) {
            for (set, key) in [
                (b.full.is_some(), "backup.full"),
                (b.diff.is_some(), "backup.diff"),
                (b.retention_full.is_some(), "backup.retention_full"),
                (b.rpo.is_some(), "backup.rpo"),
                (b.repository.is_some(), "backup.repository"),
            ] {
                if set {
                    self.fail(
                        key,
                        format!("`{key}` applies to pgBackRest only"),
                        "set `backup.method = \"pgbackrest\"`, or remove the key",
                    );
                }
            }
            return None;
        }
        for (set, key) in [
            (b.schedule.is_some(), "backup.schedule"),
            (b.retention_days.is_some(), "backup.retention_days"),
            (b.destination.is_some(), "backup.destination"),
        ] {
            if set {
                self.fail(
                    key,
                    format!("`{key}` applies to pg_dump only"),
                    "pgBackRest uses `full`, `diff`, `retention_full` and `repository`",
                );
            }
        }
        let mut calendar = |key: &str, value: Option<&String>, default: &str| {
            let value = value.cloned().unwrap_or_else(|| default.to_string());
            if let Err(problem) = check_calendar(&value) {
                self.fail(
                    key,
                    format!(
                        "`{key}`: `{}` is not a systemd calendar expression: {problem}",
                        shown(&value)
                    ),
                    "for example `Sun *-*-* 02:00:00`",
                );
            }
            value
        };
        let full = calendar("backup.full", b.full.as_ref(), "Sun *-*-* 02:00:00");
        let diff = calendar("backup.diff", b.diff.as_ref(), "Mon..Sat *-*-* 02:00:00");
        let retention_full = b.retention_full.unwrap_or(4);
        self.check(
            (1..=100).contains(&retention_full),
            "backup.retention_full",
            || format!("`backup.retention_full`: {retention_full} is out of range"),
            "between 1 and 100 full backups",
        );
        let rpo = b.rpo.unwrap_or(Duration(3600));
        self.check(
            (120..=86_400).contains(&rpo.seconds()),
            "backup.rpo",
            || format!("`backup.rpo`: {rpo} is out of range"),
            "between 2m and 1d",
        );
        let Some(repo) = &b.repository else {
            self.fail(
                "backup",
                "`backup.repository` is missing: pgBackRest needs somewhere to keep backups",
                "add `[backup.repository]` with `s3 = { endpoint, bucket, region }` or `path`",
            );
            return None;
        };
        if let Some(file) = &repo.credentials_file {
            self.secret_path("backup.repository.credentials_file", file);
            self.check(
                file.starts_with(CONF_D) && file.ends_with(".conf"),
                "backup.repository.credentials_file",
                || "`backup.repository.credentials_file` is not a `.conf` file under `/etc/pgbackrest/conf.d/`, where pgBackRest reads it".into(),
                "for example `/etc/pgbackrest/conf.d/repo1-credentials.conf`",
            );
        }
        if repo.host.is_some() {
            self.fail(
                "backup.repository.host",
                "`backup.repository.host`: a repository host is not supported yet",
                "use `s3 = { … }`, or `path` on a mounted volume",
            );
            return None;
        }
        let repository = match (&repo.s3, &repo.path) {
            (Some(s3), None) => {
                for (key, value) in [
                    ("endpoint", &s3.endpoint),
                    ("bucket", &s3.bucket),
                    ("region", &s3.region),
                ] {
                    self.check(
                        shapes::is_plain_text(value)
                            && !value.is_empty()
                            && value
                                .chars()
                                .all(|c| c.is_ascii_alphanumeric() || ".-_:".contains(c)),
                        &format!("backup.repository.s3.{key}"),
                        || {
                            format!(
                                "`backup.repository.s3.{key}`: `{}` is not a plain name",
                                shown(value)
                            )
                        },
                        "letters, digits and `.-_:` only",
                    );
                }
                let path = s3.path.clone().unwrap_or_else(|| "/pgbackrest".into());
                self.path("backup.repository.s3.path", &path);
                RepositorySpec::S3 {
                    endpoint: s3.endpoint.clone(),
                    bucket: s3.bucket.clone(),
                    region: s3.region.clone(),
                    path,
                }
            }
            (None, Some(path)) => {
                self.path("backup.repository.path", path);
                RepositorySpec::Posix { path: path.clone() }
            }
            _ => {
                self.fail(
                    "backup.repository",
                    "`backup.repository` needs exactly one of `s3` and `path`",
                    "an S3 bucket (`s3 = { endpoint, bucket, region }`) or a directory (`path`)",
                );
                return None;
            }
        };
        Some(PgbackrestSpec {
            full,
            diff,
            retention_full,
            rpo,
            repository,
            credentials_file: repo.credentials_file.clone(),
        })
    }
}
