//! Derive stage: pgBackRest on the database primary. One stanza named after
//! the project; WAL archived by `archive_command` so a backup restores to
//! any point in time; full and differential backups by two timers.

use crate::derive::postgres::{PostgresConf, Section, Setting, SettingOrigin};
use crate::model::{Deployment, HostSpec, PgbackrestSpec};
use crate::profile::Role;

/// pgBackRest's configuration file (its default location).
pub const CONF_PATH: &str = "/etc/pgbackrest/pgbackrest.conf";

/// The two kinds of scheduled backup, in the order their units are placed.
pub const BACKUP_TYPES: [&str; 2] = ["full", "diff"];

/// The stanza: the project's name.
pub fn stanza(d: &Deployment) -> &str {
    &d.project
}

/// `<project>-backup-<type>.service` / `.timer`.
pub fn unit_name(project: &str, backup_type: &str, suffix: &str) -> String {
    format!("{project}-backup-{backup_type}.{suffix}")
}

/// Whether `host` runs pgBackRest: the primary of a deployment whose
/// backups are pgBackRest's.
pub fn runs_on(d: &Deployment, host: &HostSpec) -> bool {
    d.pgbackrest.is_some() && d.postgres.is_some() && host.has(Role::DatabasePrimary)
}

/// The Debian packages backups need on `host`: `pgbackrest` on the primary
/// when backups are pgBackRest's.
pub fn packages(d: &Deployment, host: &HostSpec) -> Vec<String> {
    if runs_on(d, host) {
        vec!["pgbackrest".to_string()]
    } else {
        Vec::new()
    }
}

/// `archive_timeout` in seconds: half the RPO, so a WAL segment that is
/// filling slowly still reaches the repository within the RPO.
pub fn archive_timeout_seconds(b: &PgbackrestSpec) -> u64 {
    b.rpo.seconds() / 2
}

/// The settings pgBackRest needs in the primary's postgresql.conf, with why.
pub fn archive_settings(d: &Deployment) -> Vec<(&'static str, String, String)> {
    let Some(b) = &d.pgbackrest else {
        return Vec::new();
    };
    vec![
        (
            "archive_mode",
            "on".into(),
            "backup.method = pgbackrest: WAL goes to the repository".into(),
        ),
        (
            "archive_command",
            format!("'pgbackrest --stanza={} archive-push %p'", stanza(d)),
            "pgBackRest's archive-push to the stanza's repository".into(),
        ),
        (
            "archive_timeout",
            format!("{}s", archive_timeout_seconds(b)),
            format!("backup.rpo / 2 = {} / 2", b.rpo),
        ),
    ]
}

/// Adds [`archive_settings`] to the primary's postgresql.conf as their own
/// section, before the overrides; a setting the profile overrides keeps
/// the override.
pub fn add_archiving(d: &Deployment, conf: &mut PostgresConf) {
    let settings: Vec<Setting> = archive_settings(d)
        .into_iter()
        .filter(|(name, _, _)| conf.setting(name).is_none())
        .map(|(name, value, reason)| Setting {
            name: name.to_string(),
            value,
            origin: SettingOrigin::Topology { reason },
        })
        .collect();
    if settings.is_empty() {
        return;
    }
    let at = conf
        .sections
        .iter()
        .position(|s| s.title.starts_with("Overrides"))
        .unwrap_or(conf.sections.len());
    conf.sections.insert(
        at,
        Section {
            title: "WAL archiving (pgBackRest)",
            settings,
        },
    );
}

#[cfg(test)]
mod tests {
    use crate::load::MemoryProfiles;
    use crate::model::Deployment;

    fn analysed(backup: &str) -> Result<(Deployment, crate::derive::Derived), String> {
        let text = format!(
            "[project]\nname = \"shop\"\n[network]\ninternal = [\"10.0.0.0/16\"]\n\
             [hosts.db1]\naddress = \"10.0.2.1\"\nroles = [\"database_primary\", \"api\"]\nhardware = {{ cores = 4, memory = \"16GiB\", storage = \"ssd\" }}\n\
             [hosts.db2]\naddress = \"10.0.2.2\"\nroles = [\"database_replica\"]\nhardware = {{ cores = 4, memory = \"16GiB\", storage = \"ssd\" }}\n\
             [postgres]\nversion = 15\nworkload = \"web\"\ndatabase = \"shop\"\nusers = [\"app\"]\n{backup}"
        );
        let files = MemoryProfiles::default().with("shop", text);
        crate::compile::analyse_from(&files, "shop")
            .map(|(_, d, derived)| (d, derived))
            .map_err(|e| format!("{e:?}"))
    }

    const S3: &str = "[backup]\nmethod = \"pgbackrest\"\nrpo = \"30m\"\n[backup.repository]\ns3 = { endpoint = \"s3.eu-central-1.amazonaws.com\", bucket = \"shop-backups\", region = \"eu-central-1\" }\ncredentials_file = \"/etc/pgbackrest/conf.d/repo1.conf\"\n";

    #[test]
    fn the_primary_archives_wal_at_half_the_rpo() {
        let (d, derived) = analysed(S3).expect("valid");
        let primary = &derived.postgres["db1"];
        let value = |name: &str| primary.setting(name).map(|s| s.value.clone());
        assert_eq!(value("archive_mode").as_deref(), Some("on"));
        assert_eq!(
            value("archive_command").as_deref(),
            Some("'pgbackrest --stanza=shop archive-push %p'")
        );
        assert_eq!(value("archive_timeout").as_deref(), Some("900s"));
        assert!(derived.postgres["db2"].setting("archive_command").is_none());
        assert!(d.backup.is_none(), "no pg_dump beside pgBackRest");
        let db1 = d.host("db1").expect("db1");
        assert_eq!(super::packages(&d, db1), ["pgbackrest"]);
        assert!(super::packages(&d, d.host("db2").expect("db2")).is_empty());
    }

    #[test]
    fn an_override_keeps_its_value() {
        let text = format!("{S3}[postgres.overrides]\narchive_timeout = \"5min\"\n");
        let (_, derived) = analysed(&text).expect("valid");
        let setting = derived.postgres["db1"]
            .setting("archive_timeout")
            .expect("set");
        assert_eq!(setting.value, "'5min'");
    }

    #[test]
    fn a_repository_needs_exactly_one_target_and_pg_dump_keys_are_refused() {
        let both = S3.replace(
            "credentials_file",
            "path = \"/srv/pgbackrest\"\ncredentials_file",
        );
        let err = analysed(&both).expect_err("two targets");
        assert!(err.contains("exactly one of `s3` and `path`"), "{err}");
        let err = analysed(&S3.replace("rpo = \"30m\"", "retention_days = 7"))
            .expect_err("a pg_dump key");
        assert!(err.contains("applies to pg_dump only"), "{err}");
        let err = analysed(&S3.replace("/etc/pgbackrest/conf.d/repo1.conf", "/root/keys"))
            .expect_err("outside conf.d");
        assert!(err.contains("conf.d"), "{err}");
    }
}
