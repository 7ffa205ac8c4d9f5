//! `[backup]` with pg_dump for a containerised PostgreSQL: the backup script
//! runs the image's pg_dump and pg_restore in the PostgreSQL container
//! (`docker compose exec`) and streams the dump to the destination on the
//! host; its unit drives the docker client in the docker client's sandbox,
//! within the backup budget. pgBackRest, which needs the data directory on
//! the host, stays refused (`container_datatier`).
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use super::support::{gen_command, repo, run, tree};

fn build(fixture: &str, out: &std::path::Path) -> BTreeMap<String, Vec<u8>> {
    let result = run(gen_command()
        .arg("-C")
        .arg(repo().join("tests/fixtures").join(fixture))
        .args(["build", "--deny-warnings", "--out"])
        .arg(out));
    assert_eq!(result.code, 0, "{}", result.stderr);
    tree(out)
}

fn text(files: &BTreeMap<String, Vec<u8>>, path: &str) -> String {
    String::from_utf8(
        files
            .get(path)
            .unwrap_or_else(|| panic!("{path} not generated; have {:?}", files.keys()))
            .clone(),
    )
    .unwrap()
}

#[test]
fn the_dump_runs_in_the_container_and_lands_on_the_host() {
    let out = tempfile::tempdir().unwrap();
    let files = build("signx", out.path());
    let script = text(&files, "signx/signx1/root/usr/local/sbin/signx-backup");
    let exec =
        "/usr/bin/docker compose --file /etc/signx/compose.yaml exec -T --user postgres postgres";
    assert!(
        script.contains(&format!("readonly -a PG_DUMP=({exec} pg_dump)\n")),
        "{script}"
    );
    assert!(
        script.contains(&format!("readonly -a PG_RESTORE=({exec} pg_restore)\n")),
        "{script}"
    );
    assert!(script.contains(
        "\"${PG_DUMP[@]}\" --format=custom --compress=6 \"$DATABASE\" >\"$target.partial\"\n"
    ));
    assert!(script.contains("\"${PG_RESTORE[@]}\" --list <\"$target.partial\" >/dev/null\n"));
    assert!(script.contains("readonly DESTINATION=/var/backups/signx\n"));
    let unit = text(
        &files,
        "signx/signx1/root/etc/systemd/system/signx-backup.service",
    );
    assert!(
        unit.contains("After=docker.service signx-compose.service\n"),
        "{unit}"
    );
    assert!(
        unit.contains("ReadWritePaths=/var/backups/signx\n"),
        "{unit}"
    );
    assert!(unit.contains("CapabilityBoundingSet=\n"), "{unit}");
    assert!(
        !unit.contains("User=postgres") && !unit.contains("postgresql.service"),
        "no host postgres: {unit}"
    );
    insta::assert_snapshot!("container_backup_unit", unit);
}

/// Both containerised fixtures back up with gen's `[backup]` and pass `gen
/// check --strict`: shellcheck on the script, systemd-analyze verify and
/// the backup budget (4.5) on the unit.
#[test]
fn the_container_backup_passes_check_within_its_budget() {
    for (fixture, host, project) in [
        ("signx", "signx1", "signx"),
        ("spheroseg", "sph1", "spheroseg"),
    ] {
        let out = tempfile::tempdir().unwrap();
        let files = build(fixture, out.path());
        assert!(files.contains_key(&format!(
            "{project}/{host}/root/etc/systemd/system/{project}-backup.timer"
        )));
        let check = run(gen_command()
            .args(["check", "--strict", "--generated"])
            .arg(out.path()));
        assert_eq!(check.code, 0, "{}\n{}", check.stdout, check.stderr);
        let lines: Vec<&str> = check.stdout.lines().collect();
        let at = lines
            .iter()
            .position(|l| {
                l.starts_with("ok")
                    && l.contains(&format!("{project}-backup.service (systemd-analyze verify"))
            })
            .unwrap_or_else(|| panic!("{}", check.stdout));
        let score: f64 = lines[at + 1]
            .trim()
            .strip_prefix("exposure ")
            .and_then(|s| s.strip_suffix(" (budget 4.5)"))
            .unwrap_or_else(|| panic!("{}", lines[at + 1]))
            .parse()
            .unwrap();
        assert!(score <= 4.5, "{score}");
        assert!(
            lines.iter().any(|l| l.starts_with("ok")
                && l.contains(&format!("{project}-backup (bash -n, shellcheck"))),
            "{}",
            check.stdout
        );
    }
}
