//! pgBackRest backups restore: the SmartAttend fixture's generated
//! `pgbackrest.conf` (S3 repository, stanza `smartattend`) passes `gen
//! check` (stanza-create + check against a throw-away cluster); and, with its
//! repository moved to a local directory, a full backup of a real cluster
//! restores into a scratch data directory that starts and answers a query.

use std::path::Path;
use std::process::Command;

use super::support::pgsandbox::{ok_as_postgres as as_postgres, Running, BIN};
use super::support::{gen_command, repo, run};

/// Whether this machine can run the test: root, pgBackRest and PostgreSQL 15.
fn available() -> bool {
    let tools = Command::new("sh")
        .args([
            "-c",
            "command -v pgbackrest && command -v runuser && id postgres",
        ])
        .output()
        .is_ok_and(|o| o.status.success());
    tools && rustix::process::geteuid().is_root() && Path::new(BIN).join("initdb").exists()
}

fn built() -> tempfile::TempDir {
    let project = tempfile::tempdir().expect("project");
    let profiles = project.path().join("profiles");
    std::fs::create_dir_all(&profiles).expect("profiles");
    std::fs::copy(
        repo().join("tests/fixtures/smartattend/profiles/smartattend.toml"),
        profiles.join("smartattend.toml"),
    )
    .expect("fixture");
    let out = run(gen_command().arg("-C").arg(project.path()).arg("build"));
    assert_eq!(out.code, 0, "{}", out.stderr);
    project
}

#[test]
fn gen_check_runs_stanza_create_and_check_on_the_generated_file() {
    if !available() {
        eprintln!("skipped: needs root, pgbackrest and PostgreSQL 15");
        return;
    }
    let project = built();
    let out = run(gen_command()
        .arg("-C")
        .arg(project.path())
        .args(["check", "--host", "db1"]));
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stdout
            .contains("pgbackrest.conf (pgbackrest stanza-create + check")
            && out.stdout.contains("replaced by a local posix directory"),
        "{}",
        out.stdout
    );
    // A file pgBackRest refuses fails the check.
    let conf = project
        .path()
        .join("generated/smartattend/db1/root/etc/pgbackrest/pgbackrest.conf");
    let text = std::fs::read_to_string(&conf).expect("conf");
    std::fs::write(
        &conf,
        text.replace("log-level-file=detail", "log-level-file=chatty"),
    )
    .expect("write");
    let out = run(gen_command()
        .arg("-C")
        .arg(project.path())
        .args(["check", "--host", "db1"]));
    assert_ne!(out.code, 0, "{}", out.stdout);
    assert!(
        out.stdout.contains("FAILED") && out.stdout.contains("log-level-file"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_full_backup_restores_into_a_scratch_cluster_that_answers_a_query() {
    if !available() {
        eprintln!("skipped: needs root, pgbackrest and PostgreSQL 15");
        return;
    }
    let project = built();
    let generated = std::fs::read_to_string(
        project
            .path()
            .join("generated/smartattend/db1/root/etc/pgbackrest/pgbackrest.conf"),
    )
    .expect("conf");
    let scratch = tempfile::tempdir().expect("scratch");
    let dir = scratch.path().to_str().expect("utf-8").to_string();
    for sub in ["repo", "log", "lock", "spool"] {
        std::fs::create_dir_all(scratch.path().join(sub)).expect("dir");
    }
    // The generated file, its S3 repository and the cluster's paths moved here.
    let mut conf = String::new();
    for line in generated.lines() {
        if line.starts_with("repo1-s3-")
            || line.starts_with("repo1-type")
            || line.starts_with("repo1-path")
            || line.starts_with("pg1-")
        {
            continue;
        }
        conf.push_str(line);
        conf.push('\n');
        if line == "[global]" {
            conf.push_str(&format!("repo1-type=posix\nrepo1-path={dir}/repo\nlog-path={dir}/log\nlock-path={dir}/lock\nspool-path={dir}/spool\n"));
        }
        if line == "[smartattend]" {
            conf.push_str(&format!(
                "pg1-path={dir}/data\npg1-port=54331\npg1-socket-path={dir}\n"
            ));
        }
    }
    let conf_path = format!("{dir}/pgbackrest.conf");
    std::fs::write(&conf_path, conf).expect("conf");
    let chown = Command::new("chown")
        .args(["-R", "postgres:postgres", &dir])
        .status()
        .expect("chown");
    assert!(chown.success());

    let data = format!("{dir}/data");
    as_postgres(
        &format!("{BIN}/initdb"),
        &["-D", &data, "-A", "trust", "-U", "postgres", "--no-sync"],
    );
    let options = format!(
        "-c listen_addresses='' -c port=54331 -c unix_socket_directories={dir} -c wal_level=replica -c archive_mode=on -c archive_command='pgbackrest --config={conf_path} --stanza=smartattend archive-push %p'"
    );
    as_postgres(
        &format!("{BIN}/pg_ctl"),
        &[
            "-D",
            &data,
            "-l",
            &format!("{dir}/server.log"),
            "-w",
            "-o",
            &options,
            "start",
        ],
    );
    let primary = Running(data.clone());
    let psql = |port: &str, sql: &str| {
        as_postgres(
            "psql",
            &["-h", &dir, "-p", port, "-U", "postgres", "-XAtc", sql],
        )
    };
    psql(
        "54331",
        "CREATE TABLE orders (id int); INSERT INTO orders SELECT generate_series(1, 42)",
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
    drop(primary);

    // Restore the latest backup into a scratch data directory and start it
    // on another port: it answers with the rows the backup held.
    let restored = format!("{dir}/restored");
    as_postgres(
        "pgbackrest",
        &[
            &config,
            "--stanza=smartattend",
            &format!("--pg1-path={restored}"),
            "--type=immediate",
            "--target-action=promote",
            "restore",
        ],
    );
    let options = format!(
        "-c listen_addresses='' -c port=54332 -c unix_socket_directories={dir} -c archive_mode=off"
    );
    as_postgres(
        &format!("{BIN}/pg_ctl"),
        &[
            "-D",
            &restored,
            "-l",
            &format!("{dir}/restored.log"),
            "-w",
            "-t",
            "120",
            "-o",
            &options,
            "start",
        ],
    );
    let _restored = Running(restored);
    assert_eq!(psql("54332", "SELECT count(*) FROM orders").trim(), "42");
}
