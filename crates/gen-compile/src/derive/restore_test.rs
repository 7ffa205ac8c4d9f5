//! Derive stage: the scheduled restore test. It runs on the hosts of
//! `backup.restore_test` (the primary: the dumps and pgBackRest's
//! configuration are there), restores the newest backup of either method
//! into a scratch directory and starts a throw-away server on a Unix socket
//! in it — so a backup nobody could restore is found by a timer, not during
//! an outage.

use crate::model::{Deployment, HostSpec};

/// The Unix-socket "port" of the throw-away server: only the socket's file
/// name in the scratch directory (`.s.PGSQL.<port>`), as it listens on no
/// TCP address, so it cannot collide with the live server.
pub const SCRATCH_PORT: u16 = 55432;

/// Whether `host` runs the restore test: it is one of the test's hosts and
/// has a backup to restore.
pub fn runs_on(d: &Deployment, host: &HostSpec) -> bool {
    d.postgres.is_some()
        && (d.backup.is_some() || d.pgbackrest.is_some())
        && d.restore_test
            .as_ref()
            .is_some_and(|t| t.hosts.contains(&host.name))
}

/// `/usr/local/sbin/<project>-restore-test`.
pub fn script_path(project: &str) -> String {
    format!("/usr/local/sbin/{project}-restore-test")
}

/// `<project>-restore-test.<suffix>`.
pub fn unit(project: &str, suffix: &str) -> String {
    format!("{project}-restore-test.{suffix}")
}

/// The service's state directory (`StateDirectory=`): the scratch
/// directories and the staged metrics.
pub fn state_dir(project: &str) -> String {
    format!("/var/lib/{project}-restore-test")
}

/// The Debian packages the restore test needs on `host`: the server
/// binaries of the cluster's major version (`initdb`, `pg_ctl`), and
/// pgBackRest when it restores pgBackRest's backups.
pub fn packages(d: &Deployment, host: &HostSpec) -> Vec<String> {
    let Some(pg) = d.postgres.as_ref().filter(|_| runs_on(d, host)) else {
        return Vec::new();
    };
    let mut out = vec![format!("postgresql-{}", pg.version)];
    if d.pgbackrest.is_some() {
        out.push("pgbackrest".into());
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::load::MemoryProfiles;
    use crate::model::Deployment;

    fn deployment(backup: &str) -> Result<Deployment, String> {
        let text = format!(
            "[project]\nname = \"shop\"\n[network]\ninternal = [\"10.0.0.0/16\"]\n\
             [hosts.db1]\naddress = \"10.0.2.1\"\nroles = [\"database_primary\", \"api\"]\nhardware = {{ cores = 4, memory = \"16GiB\", storage = \"ssd\" }}\n\
             [hosts.db2]\naddress = \"10.0.2.2\"\nroles = [\"database_replica\"]\nhardware = {{ cores = 4, memory = \"16GiB\", storage = \"ssd\" }}\n\
             [postgres]\nversion = 15\nworkload = \"web\"\ndatabase = \"shop\"\nusers = [\"app\"]\n{backup}"
        );
        let files = MemoryProfiles::default().with("shop", text);
        crate::compile::analyse_from(&files, "shop")
            .map(|(_, d, _)| d)
            .map_err(|e| format!("{e:?}"))
    }

    const DUMP: &str = "[backup]\nretention_days = 7\ndestination = \"/var/backups/shop\"\n";

    #[test]
    fn the_primary_runs_it_and_needs_the_server_binaries() {
        let d = deployment(&format!(
            "{DUMP}[backup.restore_test]\nschedule = \"*-*-01 05:00:00\"\nverify_query = \"SELECT 1 FROM orders LIMIT 1\"\n"
        ))
        .expect("valid");
        let t = d.restore_test.as_ref().expect("restore test");
        assert_eq!(t.hosts, ["db1"]);
        assert_eq!(t.age_days, 63.0);
        let db1 = d.host("db1").expect("db1");
        let db2 = d.host("db2").expect("db2");
        assert!(super::runs_on(&d, db1) && !super::runs_on(&d, db2));
        assert_eq!(super::packages(&d, db1), ["postgresql-15"]);
        assert!(super::packages(&d, db2).is_empty());
    }

    #[test]
    fn a_replica_a_bad_schedule_and_a_write_are_refused_where_written() {
        let err = deployment(&format!(
            "{DUMP}[backup.restore_test]\nschedule = \"monthly at five\"\nhosts = [\"db2\"]\nverify_query = \"DELETE FROM orders\"\n"
        ))
        .expect_err("invalid");
        for key in [
            "backup.restore_test.schedule",
            "backup.restore_test.hosts",
            "backup.restore_test.verify_query",
        ] {
            assert!(err.contains(key), "{key} in {err}");
        }
        let err = deployment(&format!("{DUMP}[alerts]\nrestore_age_days = 10\n"))
            .expect_err("no restore test");
        assert!(err.contains("alerts.restore_age_days"), "{err}");
    }

    #[test]
    fn an_explicit_age_wins() {
        let d = deployment(&format!(
            "{DUMP}[backup.restore_test]\nschedule = \"Sat *-*-* 05:00:00\"\nverify_query = \"SELECT 1\"\n[alerts]\nrestore_age_days = 9\n"
        ))
        .expect("valid");
        assert_eq!(d.restore_test.expect("test").age_days, 9.0);
    }
}
