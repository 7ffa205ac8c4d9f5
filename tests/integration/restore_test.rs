//! The generated restore test restores real backups: the STET fixture's
//! script (pg_dump) restores a real `pg_dump -Fc` of a PostgreSQL 15 cluster
//! into a throw-away server, runs the verify query and records the metric,
//! leaving no scratch directory and no server behind; a dump whose verify
//! query returns no rows fails without recording it. The SmartAttend
//! fixture's script (pgBackRest) does the same from a real full backup.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::support::pgsandbox::{ok_as_postgres as as_postgres, Running, BIN};
use super::support::{gen_command, repo, run};

/// Whether this machine can run the test: root, runuser, a `postgres` user
/// and PostgreSQL 15's server binaries.
fn available() -> bool {
    let tools = Command::new("sh")
        .args(["-c", "command -v runuser && id postgres"])
        .output()
        .is_ok_and(|o| o.status.success());
    tools && rustix::process::geteuid().is_root() && Path::new(BIN).join("initdb").exists()
}

/// The fixture `name` built; the path of its generated restore-test script
/// on `host`, copied where `postgres` may run it.
fn script(name: &str, host: &str, dir: &Path) -> PathBuf {
    let project = tempfile::tempdir().expect("project");
    let profiles = project.path().join("profiles");
    std::fs::create_dir_all(&profiles).expect("profiles");
    std::fs::copy(
        repo().join(format!("tests/fixtures/{name}/profiles/{name}.toml")),
        profiles.join(format!("{name}.toml")),
    )
    .expect("fixture");
    let out = run(gen_command().arg("-C").arg(project.path()).arg("build"));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let generated = project.path().join(format!(
        "generated/{name}/{host}/root/usr/local/sbin/{name}-restore-test"
    ));
    let copy = dir.join("restore-test");
    std::fs::copy(&generated, &copy).expect("generated script");
    std::fs::set_permissions(&copy, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    copy
}

/// A scratch tree owned by `postgres`: `sub` directories made.
fn postgres_dir(sub: &[&str]) -> (tempfile::TempDir, String) {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().to_str().expect("utf-8").to_string();
    for s in sub {
        std::fs::create_dir_all(tmp.path().join(s)).expect("dir");
    }
    let chown = Command::new("chown")
        .args(["-R", "postgres:postgres", &dir])
        .status()
        .expect("chown");
    assert!(chown.success());
    (tmp, dir)
}

/// A source cluster on a socket in `dir`, port `port`, with `options`.
fn source_cluster(dir: &str, port: &str, options: &str) -> Running {
    let data = format!("{dir}/source");
    as_postgres(
        &format!("{BIN}/initdb"),
        &["-D", &data, "-A", "trust", "-U", "postgres", "--no-sync"],
    );
    let options =
        format!("-c listen_addresses='' -c port={port} -c unix_socket_directories={dir} {options}");
    as_postgres(
        &format!("{BIN}/pg_ctl"),
        &[
            "-D",
            &data,
            "-l",
            &format!("{dir}/source.log"),
            "-w",
            "-o",
            &options,
            "start",
        ],
    );
    Running(data)
}

fn psql(dir: &str, port: &str, database: &str, sql: &str) -> String {
    as_postgres(
        &format!("{BIN}/psql"),
        &[
            "-h", dir, "-p", port, "-U", "postgres", "-d", database, "-XAtc", sql,
        ],
    )
}

/// Runs the restore-test script as `postgres` with `env`.
fn restore_test(script: &Path, env: &[(&str, String)]) -> super::support::Run {
    let mut command = Command::new("runuser");
    command
        .args(["-u", "postgres", "--", "env"])
        .args(env.iter().map(|(k, v)| format!("{k}={v}")))
        .arg(script);
    run(&mut command)
}

/// Processes whose command line names `path`: a server left running.
fn processes_under(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        if let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) {
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            if cmdline.contains(path) {
                out.push(cmdline);
            }
        }
    }
    out
}

fn assert_clean(scratch: &str) {
    let left: Vec<_> = std::fs::read_dir(scratch)
        .expect("scratch parent")
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(left.is_empty(), "scratch left behind: {left:?}");
    assert_eq!(processes_under(scratch), Vec::<String>::new());
}

#[test]
fn the_generated_script_restores_the_newest_dump_and_records_the_metric() {
    if !available() {
        eprintln!("skipped: needs root, runuser and PostgreSQL 15");
        return;
    }
    let (_tmp, dir) = postgres_dir(&["dumps", "empty-dumps", "scratch", "metrics"]);
    let script = script("stet", "db1", Path::new(&dir));
    let source = source_cluster(&dir, "54341", "");
    psql(&dir, "54341", "postgres", "CREATE DATABASE stet");
    // Named as the backup script names its dumps: `<database>_<UTC stamp>.dump`.
    let dump = |to: &str| {
        as_postgres(
            &format!("{BIN}/pg_dump"),
            &[
                "-h", &dir, "-p", "54341", "-U", "postgres", "-Fc", "-f", to, "stet",
            ],
        )
    };
    // An older dump without the table: only the newest one is restored.
    dump(&format!("{dir}/dumps/stet_20260101T030000Z.dump"));
    dump(&format!("{dir}/empty-dumps/stet_20260101T030000Z.dump"));
    psql(
        &dir,
        "54341",
        "stet",
        "CREATE TABLE heartbeats (id int); INSERT INTO heartbeats SELECT generate_series(1, 42)",
    );
    dump(&format!("{dir}/dumps/stet_20260102T030000Z.dump"));
    drop(source);

    let env = |dumps: &str, metrics: &str| {
        vec![
            ("RESTORE_TEST_PG_BIN", BIN.to_string()),
            ("RESTORE_TEST_DESTINATION", format!("{dir}/{dumps}")),
            ("RESTORE_TEST_SCRATCH_PARENT", format!("{dir}/scratch")),
            ("RESTORE_TEST_METRICS", format!("{dir}/metrics/{metrics}")),
            ("RESTORE_TEST_PORT", "54342".to_string()),
        ]
    };
    let out = restore_test(&script, &env("dumps", "good.prom"));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("stet_20260102T030000Z.dump"),
        "{}",
        out.stdout
    );
    let metrics = std::fs::read_to_string(format!("{dir}/metrics/good.prom")).expect("metric");
    let stamp: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("stet_restore_last_success_timestamp_seconds "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no metric in {metrics}"));
    assert!(stamp > 1_700_000_000, "{metrics}");
    assert_clean(&format!("{dir}/scratch"));

    // The verify query finds no table in the empty dump: a failure, no metric.
    let out = restore_test(&script, &env("empty-dumps", "bad.prom"));
    assert_ne!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("returned no rows"), "{}", out.stderr);
    assert!(!Path::new(&format!("{dir}/metrics/bad.prom")).exists());
    assert_clean(&format!("{dir}/scratch"));

    // No dump at all is a failure too.
    let out = restore_test(&script, &env("metrics", "none.prom"));
    assert_ne!(out.code, 0, "{}", out.stdout);
    assert!(out.stderr.contains("no dump of stet"), "{}", out.stderr);
    assert_clean(&format!("{dir}/scratch"));
}

#[test]
fn the_generated_script_restores_a_real_pgbackrest_backup() {
    let pgbackrest = Command::new("sh")
        .args(["-c", "command -v pgbackrest"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !available() || !pgbackrest {
        eprintln!("skipped: needs root, runuser, pgbackrest and PostgreSQL 15");
        return;
    }
    let (_tmp, dir) = postgres_dir(&["repo", "log", "lock", "spool", "scratch", "metrics"]);
    let script = script("smartattend", "db1", Path::new(&dir));
    // A local posix repository in place of the fixture's S3 bucket.
    let conf_path = format!("{dir}/pgbackrest.conf");
    std::fs::write(
        &conf_path,
        format!(
            "[global]\nrepo1-type=posix\nrepo1-path={dir}/repo\nlog-path={dir}/log\nlock-path={dir}/lock\nspool-path={dir}/spool\n\
             [smartattend]\npg1-path={dir}/source\npg1-port=54351\npg1-socket-path={dir}\n"
        ),
    )
    .expect("conf");
    let source = source_cluster(
        &dir,
        "54351",
        &format!("-c wal_level=replica -c archive_mode=on -c archive_command='pgbackrest --config={conf_path} --stanza=smartattend archive-push %p'"),
    );
    psql(
        &dir,
        "54351",
        "postgres",
        "CREATE DATABASE smartattend_prod",
    );
    psql(
        &dir,
        "54351",
        "smartattend_prod",
        "CREATE TABLE attendance (id int); INSERT INTO attendance SELECT generate_series(1, 7)",
    );
    let config = format!("--config={conf_path}");
    as_postgres(
        "pgbackrest",
        &[&config, "--stanza=smartattend", "stanza-create"],
    );
    as_postgres(
        "pgbackrest",
        &[&config, "--stanza=smartattend", "--type=full", "backup"],
    );
    drop(source);

    let out = restore_test(
        &script,
        &[
            ("PGBACKREST_CONFIG", conf_path.clone()),
            ("RESTORE_TEST_PG_BIN", BIN.to_string()),
            ("RESTORE_TEST_SCRATCH_PARENT", format!("{dir}/scratch")),
            (
                "RESTORE_TEST_METRICS",
                format!("{dir}/metrics/restore.prom"),
            ),
            ("RESTORE_TEST_PORT", "54352".to_string()),
        ],
    );
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let metrics = std::fs::read_to_string(format!("{dir}/metrics/restore.prom")).expect("metric");
    assert!(
        metrics.contains("\nsmartattend_restore_last_success_timestamp_seconds "),
        "{metrics}"
    );
    assert_clean(&format!("{dir}/scratch"));
}
