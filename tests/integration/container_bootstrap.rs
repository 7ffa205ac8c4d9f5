//! The bootstrap of a containerised PostgreSQL (`postgres.runtime =
//! "container"`): the same `bootstrap.sql` a native primary runs, mounted
//! read-only into the PostgreSQL container with every role password file it
//! reads, and run there by `<p>-db-bootstrap.service` through `docker
//! compose exec` once the container is healthy, before the compose unit
//! starts the containers that log in as its roles.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use super::support::{gen_command, repo, run, tree};

const UNIT: &str = "signx/signx1/root/etc/systemd/system/signx-db-bootstrap.service";
const SQL: &str = "signx/signx1/root/etc/signx/postgres/bootstrap.sql";
const COMPOSE: &str = "signx/signx1/root/etc/signx/compose.yaml";

fn build(out: &std::path::Path) -> BTreeMap<String, Vec<u8>> {
    let result = run(gen_command()
        .arg("-C")
        .arg(repo().join("tests/fixtures/signx"))
        .args(["build", "--out"])
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
fn the_postgres_container_mounts_the_script_and_the_role_password_read_only() {
    let out = tempfile::tempdir().unwrap();
    let files = build(out.path());
    let compose: serde_norway::Value = serde_norway::from_str(&text(&files, COMPOSE)).unwrap();
    let volumes = compose["services"]["postgres"]["volumes"]
        .as_sequence()
        .unwrap();
    for path in ["/etc/signx/postgres", "/etc/signx/secrets/db_password"] {
        let mount = volumes
            .iter()
            .find(|m| m["source"].as_str() == Some(path))
            .unwrap_or_else(|| panic!("no mount of {path} in {volumes:?}"));
        assert_eq!(mount["type"].as_str(), Some("bind"), "{mount:?}");
        assert_eq!(mount["target"].as_str(), Some(path), "{mount:?}");
        assert_eq!(mount["read_only"].as_bool(), Some(true), "{mount:?}");
    }
    // The script reads the password file at the path that is mounted.
    let sql = text(&files, SQL);
    assert!(
        sql.contains("\\set password `cat /etc/signx/secrets/db_password`\n"),
        "{sql}"
    );
    assert!(sql.contains("CREATE EXTENSION IF NOT EXISTS \"vector\";\n"));
    // The image's postgres user is not a host user: the script is
    // world-readable (it names files, it holds no secret), and the manifest
    // asks the host for the password file.
    let manifest: serde_json::Value =
        serde_json::from_slice(files.get("signx/signx1/manifest.json").expect("manifest")).unwrap();
    let record = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "/etc/signx/postgres/bootstrap.sql")
        .expect("bootstrap.sql in the manifest");
    assert_eq!(record["mode"], "0644", "{record}");
    assert_eq!(record["group"], "root", "{record}");
    assert!(
        manifest
            .to_string()
            .contains("\"/etc/signx/secrets/db_password\""),
        "the manifest names the role password file the host must hold"
    );
}

#[test]
fn the_bootstrap_unit_runs_psql_in_the_healthy_container_before_the_apps() {
    let out = tempfile::tempdir().unwrap();
    let files = build(out.path());
    let unit = text(&files, UNIT);
    assert!(unit.contains(
        "ExecStartPre=/usr/bin/docker compose --file /etc/signx/compose.yaml up --detach --wait postgres\n"
    ), "{unit}");
    assert!(unit.contains(
        "ExecStart=/usr/bin/docker compose --file /etc/signx/compose.yaml exec -T --user postgres postgres psql -X -q -v ON_ERROR_STOP=1 -U postgres -p 5432 -d postgres -f /etc/signx/postgres/bootstrap.sql\n"
    ), "{unit}");
    assert!(unit.contains("Before=signx-compose.service\n"), "{unit}");
    assert!(unit.contains("Requires=docker.service\n"), "{unit}");
    assert!(
        !unit.contains("postgresql@") && !unit.contains("User=postgres"),
        "no host cluster, no host postgres user: {unit}"
    );
    insta::assert_snapshot!("container_bootstrap_unit", unit);
}

/// systemd-analyze verify and the DbBootstrapUnit budget (4.5), by `gen
/// check --strict`, and the script run twice on a real PostgreSQL 16.
#[test]
fn gen_check_verifies_the_unit_within_its_budget_and_runs_the_script() {
    let out = tempfile::tempdir().unwrap();
    build(out.path());
    let check = run(gen_command()
        .args(["check", "--strict", "--generated"])
        .arg(out.path()));
    assert_eq!(check.code, 0, "{}\n{}", check.stdout, check.stderr);
    let lines: Vec<&str> = check.stdout.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("ok") && l.ends_with("signx-db-bootstrap.service (systemd-analyze verify, systemd-analyze security --offline=yes)"))
        .unwrap_or_else(|| panic!("{}", check.stdout));
    let exposure = lines[at + 1].trim();
    let score: f64 = exposure
        .strip_prefix("exposure ")
        .and_then(|s| s.strip_suffix(" (budget 4.5)"))
        .unwrap_or_else(|| panic!("{exposure}"))
        .parse()
        .unwrap();
    assert!(score <= 4.5, "{exposure}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("ok") && l.contains("bootstrap.sql (postgres 16")),
        "{}",
        check.stdout
    );
}
