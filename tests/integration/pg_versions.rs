//! PostgreSQL 13 to 18: every version's postgresql.conf and pg_hba.conf are
//! checked by a server of that exact version (`.ci/install-postgresql.sh`
//! installs one per version; a version not installed here is skipped with a
//! message, never under CI), a file whose server is missing fails under
//! `--strict`, and the keys that feed PGTune (version, `max_connections`,
//! `data_size`, `san` storage) are refused where PostgreSQL would refuse them
//! and give PGTune's numbers where it would not.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use serde_json::Value;

use super::support::Project;

/// A primary (32 cores: autovacuum workers, parallel settings, autovacuum_work_mem,
/// huge pages) with TLS and a synchronous replica: most of what gen can write.
fn profile(version: u32, postgres_extra: &str) -> String {
    format!(
        r#"[project]
name = "ledger"

[network]
internal = ["10.9.0.0/16"]

[hosts.db1]
address = "10.9.0.10"
roles = ["database_primary"]
hardware = {{ cores = 32, memory = "64GiB", storage = "san", disk = "1TiB" }}

[hosts.db2]
address = "10.9.0.11"
roles = ["database_replica"]
hardware = {{ cores = 4, memory = "8GiB", storage = "hdd", disk = "1TiB" }}

[postgres]
version = {version}
workload = "oltp"
database = "ledger"
users = ["ledger_app"]
extensions = ["pg_stat_statements", "uuid-ossp"]
synchronous_replicas = 1
tls_certificate = "/etc/ssl/certs/db.pem"
tls_key = "/etc/ssl/private/db.key"
{postgres_extra}"#
    )
}

/// Whether this machine has a server of `major` where `gen check` looks.
fn installed(major: u32) -> bool {
    [
        format!("/usr/lib/postgresql/{major}/bin/postgres"),
        format!("/opt/gen-validators/postgresql/{major}/bin/postgres"),
    ]
    .iter()
    .any(|p| Path::new(p).is_file())
}

fn check_json(project: &Project, args: &[&str], env: &[(&str, &Path)]) -> (i32, Value) {
    let mut cmd = super::support::gen_command();
    cmd.current_dir(project.path())
        .args(["check", "--format", "json"])
        .args(args);
    for (name, value) in env {
        cmd.env(name, value);
    }
    let run = super::support::run(&mut cmd);
    let json = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", run.stdout, run.stderr));
    (run.code, json)
}

/// The reports of the PostgreSQL files (conf and hba) in a check.
fn pg_files(report: &Value) -> Vec<&Value> {
    report["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|h| h["files"].as_array().unwrap())
        .filter(|f| matches!(f["validator"].as_str(), Some("postgresql" | "pg_hba")))
        .collect()
}

fn conf(project: &Project, profile: &str, host: &str, version: u32) -> String {
    std::fs::read_to_string(project.path().join(format!(
        "generated/{profile}/{host}/root/etc/postgresql/{version}/main/postgresql.conf"
    )))
    .expect("postgresql.conf")
}

fn value<'a>(conf: &'a str, name: &str) -> Option<&'a str> {
    conf.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(" = "))
}

#[test]
fn every_version_is_checked_by_its_own_server() {
    let mut project = Project::new();
    for version in 13..=18 {
        project = project.profile(&format!("v{version}"), &profile(version, ""));
    }
    let built = project.gen(&["build"]);
    assert_eq!(built.code, 0, "{}", built.stderr);
    // Version-dependent settings follow the version, as PGTune writes them.
    for version in 13..=18 {
        let text = conf(&project, &format!("v{version}"), "db1", version);
        assert_eq!(
            value(&text, "io_method"),
            (version >= 18).then_some("io_uring"),
            "{version}"
        );
        assert_eq!(
            value(&text, "wal_compression"),
            Some(if version >= 15 { "lz4" } else { "on" }),
            "{version}"
        );
        assert!(text.contains(&format!(
            "data_directory = '/var/lib/postgresql/{version}/main'"
        )));
    }
    for version in 13..=18 {
        if !installed(version) {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI installs a PostgreSQL {version} server (.ci/install-postgresql.sh)"
            );
            eprintln!(
                "skipped PostgreSQL {version}: no server installed (run .ci/install-postgresql.sh)"
            );
            continue;
        }
        let profile = format!("v{version}");
        let (code, report) = check_json(&project, &["--strict", "--profile", &profile], &[]);
        let files = pg_files(&report);
        assert_eq!(files.len(), 4, "two hosts, conf and hba each");
        for file in files {
            let tool = file["tools"][0].as_str().unwrap_or_default();
            let (name, rest) = tool.split_once(' ').unwrap_or_default();
            let server = rest.split_whitespace().next().unwrap_or_default();
            assert_eq!(name, "postgres", "{file}");
            assert!(
                server.starts_with(&format!("{version}.")),
                "PostgreSQL {version}'s file checked by {tool}: {file}"
            );
            let expected = match file["validator"].as_str() {
                Some("postgresql") => format!("postgres {server} (initdb + pg_ctl start) + SHOW"),
                _ => format!("postgres {server} + pg_hba_file_rules"),
            };
            assert_eq!(tool, expected);
            assert_eq!(file["status"], "passed", "{file}");
        }
        assert_eq!(code, 0, "{report:#}");
    }
}

#[test]
fn a_file_whose_server_is_missing_fails_under_strict_and_names_it() {
    let project = Project::new().profile("shop", &profile(16, ""));
    assert_eq!(project.gen(&["build"]).code, 0);
    let empty = tempfile::tempdir().unwrap();
    let env = [("GEN_PG_BIN_16", empty.path())];

    let (code, report) = check_json(&project, &["--strict", "--host", "db1"], &env);
    assert_eq!(code, 1, "{report:#}");
    for file in pg_files(&report) {
        assert_eq!(file["status"], "skipped", "{file}");
        assert_eq!(file["tools"], serde_json::json!([]), "no other server ran");
        let message = file["messages"][0].as_str().unwrap();
        assert!(
            message.starts_with("no PostgreSQL 16 server to check it with"),
            "{message}"
        );
        assert!(message.contains("has no `initdb`"), "{message}");
        assert!(message.contains(".ci/install-postgresql.sh"), "{message}");
        assert!(message.contains("GEN_PG_BIN_16"), "{message}");
    }
    // The human report says FAILED for it under --strict.
    let mut cmd = super::support::gen_command();
    cmd.current_dir(project.path())
        .args(["check", "--strict", "--host", "db1"])
        .env("GEN_PG_BIN_16", empty.path());
    let human = super::support::run(&mut cmd);
    assert_eq!(human.code, 1);
    assert!(
        human
            .stdout
            .contains("FAILED  generated/shop/db1/root/etc/postgresql/16/main/postgresql.conf"),
        "{}",
        human.stdout
    );

    // Without --strict the file is skipped with the same message, not passed.
    let (code, report) = check_json(&project, &["--host", "db1"], &env);
    assert_eq!(code, 0, "{report:#}");
    assert!(pg_files(&report).iter().all(|f| f["status"] == "skipped"));
}

#[test]
fn a_server_of_another_version_is_never_used() {
    let Some(other) = (13..=18).find(|&v| v != 16 && installed(v)) else {
        assert!(std::env::var_os("CI").is_none(), "CI installs every server");
        eprintln!("skipped: no PostgreSQL server installed");
        return;
    };
    let project = Project::new().profile("shop", &profile(16, ""));
    assert_eq!(project.gen(&["build"]).code, 0);
    let dir = [
        format!("/usr/lib/postgresql/{other}/bin"),
        format!("/opt/gen-validators/postgresql/{other}/bin"),
    ]
    .into_iter()
    .find(|d| Path::new(d).join("postgres").is_file())
    .unwrap();
    let (code, report) = check_json(
        &project,
        &["--strict", "--host", "db1"],
        &[("GEN_PG_BIN_16", Path::new(&dir))],
    );
    assert_eq!(code, 1, "{report:#}");
    for file in pg_files(&report) {
        assert_eq!(file["status"], "skipped", "{file}");
        let message = file["messages"][0].as_str().unwrap();
        assert!(
            message.contains(&format!("is PostgreSQL {other}.")) && message.contains(", not 16"),
            "{message}"
        );
    }
}

fn build_error(profile: &str) -> String {
    let project = Project::new().profile("shop", profile);
    let run = project.gen(&["build"]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    // One message per line, as miette wraps them at 80 columns.
    run.stderr.replace("\n  | ", " ")
}

#[test]
fn versions_outside_13_to_18_are_refused_at_the_key() {
    for version in [12, 19] {
        let stderr = build_error(&profile(version, ""));
        assert!(
            stderr.contains(&format!(
                "`postgres.version`: PostgreSQL {version} is not supported"
            )),
            "{stderr}"
        );
        assert!(stderr.contains("profiles/shop.toml:18:"), "{stderr}");
        assert!(
            stderr.contains("gen supports PostgreSQL 13 to 18"),
            "{stderr}"
        );
    }
}

#[test]
fn max_connections_postgresql_would_refuse_is_refused() {
    for n in [0, 300_000] {
        let stderr = build_error(&profile(16, &format!("max_connections = {n}\n")));
        assert!(
            stderr.contains(&format!("`postgres.max_connections`: {n} is out of range")),
            "{stderr}"
        );
        assert!(stderr.contains("profiles/shop.toml:26:"), "{stderr}");
        assert!(stderr.contains("1 to 262143"), "{stderr}");
    }
    // In range, but with the background processes the conf asks for it is
    // more than PostgreSQL starts: 262143 + 5 autovacuum + 32 workers + 3
    // WAL senders + the launcher.
    let stderr = build_error(&profile(16, "max_connections = 262143\n"));
    assert!(
        stderr.contains("`db1` would run 262184 server processes (max_connections 262143 + autovacuum_max_workers 5 + max_worker_processes 32 + max_wal_senders 3 + 1 special); PostgreSQL 16 starts at most 262143"),
        "{stderr}"
    );
    // 18 counts autovacuum_worker_slots (16) and two special processes.
    let stderr = build_error(&profile(18, "max_connections = 262100\n"));
    assert!(stderr.contains("262153 server processes"), "{stderr}");
    let project = Project::new().profile("shop", &profile(16, "max_connections = 262100\n"));
    assert_eq!(project.gen(&["build"]).code, 0);
    assert_eq!(
        value(&conf(&project, "shop", "db1", 16), "max_connections"),
        Some("262100")
    );
}

#[test]
fn data_size_larger_than_the_disk_is_refused() {
    let stderr = build_error(&profile(16, "data_size = \"2TiB\"\n"));
    assert!(
        stderr.contains("`postgres.data_size`: 2TiB of data does not fit on `db1`'s 1TiB disk"),
        "{stderr}"
    );
    assert!(stderr.contains("profiles/shop.toml:26:"), "{stderr}");
}

/// db1: 64 GiB, 32 cores, oltp (300 connections), shared_buffers 16 GiB =
/// 16777216 kB. PGTune's work_mem: (67108864 - 16777216) / ((300 + 32) * 3)
/// = 50331648 / 996 = 50533 kB; * 1.3 = 65692 kB when the data is less than
/// RAM, * 0.9 = 45479 kB when it is more than 3x. `san`: effective_io_concurrency
/// 300 and random_page_cost 1.1 (4 only for hdd or dw unless the data fits).
/// db2: 8 GiB on hdd: random_page_cost 4, or 1.1 when the data fits in RAM.
#[test]
fn data_size_and_san_give_pgtunes_numbers() {
    let cases = [
        ("", "50533kB", "4"),
        ("data_size = \"4GiB\"\n", "65692kB", "1.1"),
        ("data_size = \"64GiB\"\n", "50533kB", "4"),
        ("data_size = \"192GiB\"\n", "50533kB", "4"),
        ("data_size = \"193GiB\"\n", "45479kB", "4"),
    ];
    for (extra, work_mem, hdd_cost) in cases {
        let project = Project::new().profile("shop", &profile(17, extra));
        let built = project.gen(&["build"]);
        assert_eq!(built.code, 0, "{}", built.stderr);
        let db1 = conf(&project, "shop", "db1", 17);
        assert_eq!(value(&db1, "effective_io_concurrency"), Some("300"), "san");
        assert_eq!(value(&db1, "random_page_cost"), Some("1.1"), "{extra}");
        assert_eq!(value(&db1, "work_mem"), Some(work_mem), "{extra}");
        let db2 = conf(&project, "shop", "db2", 17);
        assert_eq!(value(&db2, "effective_io_concurrency"), Some("2"), "hdd");
        assert_eq!(value(&db2, "random_page_cost"), Some(hdd_cost), "{extra}");
        if !extra.is_empty() {
            assert!(db1.contains("# postgres.data_size "), "{db1}");
        }
    }
    let project = Project::new().profile("shop", &profile(17, "data_size = \"193GiB\"\n"));
    assert_eq!(project.gen(&["build"]).code, 0);
    assert!(conf(&project, "shop", "db1", 17)
        .contains("# postgres.data_size 193GiB: more than 3x the memory (PGTune `greater_ram`)."));
}
