//! Replicas that replicate, for real: a PostgreSQL 15 primary bootstrapped
//! with the generated SQL (replication role, slot per replica), the
//! generated replica-init script run against an empty or a freshly
//! initdb'd data directory (paths and ports pointed at the sandbox through
//! its `GEN_REPLICA_*` variables), the replica started with the generated
//! replication settings: `pg_stat_replication` on the primary shows it and
//! a row written on the primary appears on the replica. With the `ha`
//! profile's synchronous replication, a commit on the primary succeeds with
//! the synchronous replica attached. A data directory that holds data is
//! refused and left as it was.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use super::support::pgsandbox::{self, ok, PgServer};
use super::support::Project;

const REPLICATION_PASSWORD: &str = "replication-s3cret";

fn profile(secrets: &Path, synchronous_replicas: u32) -> String {
    let s = secrets.display();
    format!(
        r#"[project]
name = "shop"

[network]
internal = ["10.1.0.0/16"]

[hosts.db1]
address = "10.1.0.10"
roles = ["database_primary"]
hardware = {{ cores = 4, memory = "8GiB", storage = "ssd" }}

[hosts.db2]
address = "10.1.0.11"
roles = ["database_replica"]
hardware = {{ cores = 4, memory = "8GiB", storage = "ssd" }}

[hosts.db3]
address = "10.1.0.12"
roles = ["database_replica"]
hardware = {{ cores = 4, memory = "8GiB", storage = "ssd" }}

[postgres]
version = 15
workload = "web"
synchronous_replicas = {synchronous_replicas}
replication_passfile = "{s}/pgpass"

[postgres.roles.shop]
password_file = "{s}/shop_password"

[postgres.roles.replicator]
replication = true
password_file = "{s}/replication_password"

[postgres.databases.shop]
owner = "shop"
"#
    )
}

/// The settings of a generated postgresql.conf whose names are listed.
fn settings(conf: &str, names: &[&str]) -> String {
    conf.lines()
        .filter(|l| {
            let name = l.split('=').next().unwrap_or("").trim();
            names.contains(&name)
        })
        .map(|l| format!("{l}\n"))
        .collect()
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

struct Setup {
    _sandbox: tempfile::TempDir,
    dir: std::path::PathBuf,
    project: Project,
    secrets: std::path::PathBuf,
    primary: PgServer,
}

/// A built profile and its primary, bootstrapped with the generated SQL and
/// configured with the generated primary's replication settings.
fn primary(synchronous_replicas: u32) -> Setup {
    let sandbox = tempfile::tempdir().unwrap();
    let dir = sandbox.path().to_path_buf();
    pgsandbox::postgres_dir(&dir);
    let secrets = dir.join("secrets");
    std::fs::create_dir_all(&secrets).unwrap();
    std::fs::write(secrets.join("shop_password"), "shop-s3cret\n").unwrap();
    std::fs::write(
        secrets.join("replication_password"),
        format!("{REPLICATION_PASSWORD}\n"),
    )
    .unwrap();
    let project = Project::new().profile("shop", &profile(&secrets, synchronous_replicas));
    let run = project.gen(&["build"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let conf = std::fs::read_to_string(
        project
            .path()
            .join("generated/shop/db1/root/etc/postgresql/15/main/postgresql.conf"),
    )
    .unwrap();
    let replication = settings(
        &conf,
        &[
            "wal_level",
            "max_wal_senders",
            "max_replication_slots",
            "synchronous_standby_names",
            "synchronous_commit",
        ],
    );
    assert_eq!(
        replication.contains("synchronous_standby_names"),
        synchronous_replicas > 0,
        "{replication}"
    );
    pgsandbox::own(&secrets);
    let primary = PgServer::start(
        &dir.join("primary"),
        true,
        &replication,
        "local all postgres trust\nhost replication replicator 127.0.0.1/32 scram-sha-256\nhost all all 127.0.0.1/32 scram-sha-256\n",
    );
    let script = dir.join("bootstrap.sql");
    std::fs::copy(
        project
            .path()
            .join("generated/shop/db1/root/etc/shop/postgres/bootstrap.sql"),
        &script,
    )
    .unwrap();
    pgsandbox::own(&script);
    ok(primary.psql("postgres").arg("-f").arg(&script));
    assert_eq!(
        primary.query(
            "postgres",
            "select string_agg(slot_name, ',' order by slot_name) from pg_replication_slots"
        ),
        "db2,db3"
    );
    // The replica's passfile (libpq format), as the host provides it.
    std::fs::write(
        secrets.join("pgpass"),
        format!(
            "127.0.0.1:{}:*:replicator:{REPLICATION_PASSWORD}\n",
            primary.port
        ),
    )
    .unwrap();
    pgsandbox::own(&secrets);
    ok(Command::new("chmod")
        .arg("0600")
        .arg(secrets.join("pgpass")));
    Setup {
        _sandbox: sandbox,
        dir,
        project,
        secrets,
        primary,
    }
}

/// The generated replica-init script of `host`, run as postgres against `data`.
fn replica_init(setup: &Setup, host: &str, data: &Path) -> std::process::Output {
    let script = setup.dir.join(format!("{host}-replica-init"));
    std::fs::copy(
        setup.project.path().join(format!(
            "generated/shop/{host}/root/usr/local/sbin/shop-replica-init"
        )),
        &script,
    )
    .unwrap();
    pgsandbox::own(&script);
    pgsandbox::as_postgres("bash")
        .arg(&script)
        .env("GEN_REPLICA_DATA", data)
        .env("GEN_REPLICA_PRIMARY_HOST", "127.0.0.1")
        .env("GEN_REPLICA_PRIMARY_PORT", setup.primary.port.to_string())
        .output()
        .unwrap()
}

/// Clones and starts replica `host` with its generated replication settings
/// pointed at the sandbox primary.
fn start_replica(setup: &Setup, host: &str, initdb_first: bool) -> PgServer {
    let dir = setup.dir.join(host);
    let data = dir.join("data");
    pgsandbox::postgres_dir(&dir);
    if initdb_first {
        // What Debian's package leaves: a fresh cluster, never started.
        ok(
            pgsandbox::as_postgres(Path::new(pgsandbox::BIN).join("initdb"))
                .arg("-D")
                .arg(&data)
                .args(["-A", "trust", "-U", "postgres", "--no-sync"]),
        );
    } else {
        pgsandbox::postgres_dir(&data);
    }
    let out = replica_init(setup, host, &data);
    assert!(
        out.status.success(),
        "replica-init failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(data.join("standby.signal").is_file());
    assert!(
        !std::fs::read_to_string(data.join("postgresql.auto.conf"))
            .unwrap_or_default()
            .contains("primary_conninfo"),
        "the connection settings stay in gen's postgresql.conf"
    );
    let conf = std::fs::read_to_string(setup.project.path().join(format!(
        "generated/shop/{host}/root/etc/postgresql/15/main/postgresql.conf"
    )))
    .unwrap();
    let replication = settings(
        &conf,
        &[
            "hot_standby",
            "hot_standby_feedback",
            "primary_conninfo",
            "primary_slot_name",
        ],
    )
    .replace(
        "host=10.1.0.10 port=5432",
        &format!("host=127.0.0.1 port={}", setup.primary.port),
    );
    assert!(
        replication.contains(&format!("passfile={}/pgpass", setup.secrets.display())),
        "{replication}"
    );
    PgServer::start(&dir, false, &replication, "local all postgres trust\n")
}

#[test]
fn a_replica_cloned_by_the_generated_script_streams_from_the_primary() {
    if !pgsandbox::available() {
        return;
    }
    let setup = primary(0);
    let replica = start_replica(&setup, "db2", false);
    let primary = &setup.primary;
    wait_for("db2 in pg_stat_replication", || {
        primary.query("postgres", "select count(*) from pg_stat_replication where application_name = 'db2' and state = 'streaming'") == "1"
    });
    assert_eq!(
        primary.query(
            "postgres",
            "select active from pg_replication_slots where slot_name = 'db2'"
        ),
        "t"
    );
    primary.query(
        "shop",
        "create table orders (id int primary key); insert into orders values (42)",
    );
    wait_for("the row on the replica", || {
        replica
            .psql("shop")
            .args(["-c", "select id from orders"])
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "42")
    });
    assert_eq!(replica.query("postgres", "select pg_is_in_recovery()"), "t");

    // Run again on the running replica: nothing to do.
    let again = replica_init(&setup, "db2", &replica.data);
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stdout).contains("is a replica already"));
}

#[test]
fn with_synchronous_replication_a_commit_succeeds_with_the_replica_attached() {
    if !pgsandbox::available() {
        return;
    }
    let setup = primary(1);
    let primary = &setup.primary;
    assert_eq!(
        primary.query("postgres", "show synchronous_standby_names"),
        "ANY 1 (db2, db3)"
    );
    let _replica = start_replica(&setup, "db3", true);
    wait_for("db3 as a synchronous standby", || {
        primary.query(
            "postgres",
            "select sync_state from pg_stat_replication where application_name = 'db3'",
        ) == "quorum"
    });
    let commit = Command::new("timeout")
        .args(["30", "runuser", "-u", "postgres", "--"])
        .arg(Path::new(pgsandbox::BIN).join("psql"))
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h"])
        .arg(&primary.socket)
        .args([
            "-p",
            &primary.port.to_string(),
            "-U",
            "postgres",
            "-d",
            "shop",
        ])
        .args(["-c", "create table t (x int); insert into t values (1)"])
        .output()
        .unwrap();
    assert!(
        commit.status.success(),
        "a synchronous commit did not complete: {}",
        String::from_utf8_lossy(&commit.stderr)
    );
}

#[test]
fn a_data_directory_holding_data_is_refused_and_left_alone() {
    if !pgsandbox::available() {
        return;
    }
    let setup = primary(0);
    // A primary's data directory, stopped: four databases in base/.
    let other = PgServer::start(
        &setup.dir.join("other"),
        true,
        "",
        "local all postgres trust\n",
    );
    other.query("postgres", "create database precious");
    let data = other.data.clone();
    let running = replica_init(&setup, "db2", &data);
    assert!(!running.status.success());
    assert!(
        String::from_utf8_lossy(&running.stderr).contains("is running on"),
        "{}",
        String::from_utf8_lossy(&running.stderr)
    );
    drop(other);
    let before = super::support::tree(&data);
    let out = replica_init(&setup, "db2", &data);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("holds data and is not a replica"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        super::support::tree(&data),
        before,
        "the data directory was touched"
    );
}
