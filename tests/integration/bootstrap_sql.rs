//! The primary's bootstrap (`bootstrap.sql` + `<p>-db-bootstrap.service`),
//! against real servers: `gen check` runs it twice on a throw-away server of
//! the host's major version and refuses a script whose second run changes
//! the catalog or whose passwords reach the server log; run by hand twice on
//! a real PostgreSQL 15 with real password files, it creates the roles,
//! database, extensions and grants once, and an application role then logs
//! in through a real PgBouncer with the password from its file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

use super::support::pgsandbox::{self, ok, PgServer};
use super::support::Project;

/// One primary with a pooler, two app roles with password files under
/// `secrets`, a replica (so a slot and a replication role), a database
/// with extensions and a read grant.
fn profile(secrets: &Path, extensions: &str) -> String {
    let s = secrets.display();
    format!(
        r#"[project]
name = "shop"

[network]
internal = ["10.1.0.0/16"]

[hosts.db1]
address = "10.1.0.10"
roles = ["database_primary", "pooler"]
hardware = {{ cores = 4, memory = "16GiB", storage = "ssd" }}

[hosts.db-2]
address = "10.1.0.11"
roles = ["database_replica"]
hardware = {{ cores = 4, memory = "16GiB", storage = "ssd" }}

[hosts.app1]
address = "10.1.0.20"
roles = ["api"]
hardware = {{ cores = 2, memory = "4GiB", storage = "ssd" }}

[services.api]
runtime = "container"
image = "ghcr.io/shop/api:1.0.0"
port = 8000
database = {{ user = "shop" }}
healthcheck = {{ http = "/health" }}
limits = {{ memory = "1GiB" }}

[postgres]
version = 15
workload = "web"

[postgres.roles.shop]
password_file = "{s}/shop_password"
connection_limit = 50
member_of = ["pg_read_all_stats"]

[postgres.roles.reporting]
password_file = "{s}/reporting_password"

[postgres.roles.replicator]
replication = true
password_file = "{s}/replication_password"

[postgres.databases.shop]
owner = "shop"
extensions = {extensions}
grants = {{ reporting = "read" }}

[pgbouncer]
pool_mode = "transaction"
"#
    )
}

const SQL: &str = "generated/shop/db1/root/etc/shop/postgres/bootstrap.sql";

fn built(extensions: &str) -> Project {
    let project =
        Project::new().profile("shop", &profile(Path::new("/etc/shop/secrets"), extensions));
    let run = project.gen(&["build"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    project
}

fn check(project: &Project) -> super::support::Run {
    project.gen(&["check", "--host", "db1"])
}

#[test]
fn gen_check_runs_the_bootstrap_twice_and_says_what_it_could_not_create() {
    if !pgsandbox::available() {
        return;
    }
    let project = built(r#"["pg_stat_statements", "uuid-ossp", "vector"]"#);
    let run = check(&project);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let line = run
        .stdout
        .lines()
        .find(|l| l.contains("bootstrap.sql"))
        .expect("the script is checked");
    assert!(line.starts_with("ok"), "{line}");
    assert!(line.contains("psql -f, twice"), "{line}");
    // Debian's 15 has contrib but no pgvector: said, not hidden.
    assert!(
        run.stdout
            .contains("extension `vector` is not available in the check server"),
        "{}",
        run.stdout
    );
    assert!(
        !run.stdout.contains("extension `uuid-ossp` is not"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_script_whose_second_run_changes_the_catalog_fails() {
    if !pgsandbox::available() {
        return;
    }
    let project = built(r#"["pg_stat_statements"]"#);
    let path = project.path().join(SQL);
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("SELECT pg_create_physical_replication_slot('extra_' || count(*)) FROM pg_replication_slots;\n");
    std::fs::write(&path, text).unwrap();
    let run = check(&project);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout
            .contains("the second run changed the catalog: now `slot extra_2|physical`"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_password_that_would_reach_the_server_log_fails() {
    if !pgsandbox::available() {
        return;
    }
    let project = built(r#"["pg_stat_statements"]"#);
    let path = project.path().join(SQL);
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("SET log_statement = 'none';", "");
    std::fs::write(&path, text).unwrap();
    let run = check(&project);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.contains(
            "the password read from `/etc/shop/secrets/shop_password` reached the server log"
        ),
        "{}",
        run.stdout
    );
}

/// The catalog rows the bootstrap owns, for comparing two runs.
fn catalog(server: &PgServer) -> String {
    [
        server.query("postgres", "select rolname, rolcanlogin, rolreplication, rolconnlimit, rolpassword is not null from pg_authid order by 1"),
        server.query("postgres", "select r.rolname, m.rolname from pg_auth_members a join pg_roles r on r.oid = a.member join pg_roles m on m.oid = a.roleid order by 1, 2"),
        server.query("postgres", "select datname, pg_get_userbyid(datdba), datacl from pg_database order by 1"),
        server.query("postgres", "select slot_name from pg_replication_slots order by 1"),
        server.query("shop", "select extname from pg_extension order by 1"),
        server.query("shop", "select defaclacl from pg_default_acl"),
    ]
    .join("\n")
}

#[test]
fn the_bootstrap_runs_twice_on_a_real_server_and_the_app_logs_in_through_pgbouncer() {
    if !pgsandbox::available() {
        return;
    }
    let sandbox = tempfile::tempdir().unwrap();
    let dir = sandbox.path();
    pgsandbox::postgres_dir(dir);
    let secrets = dir.join("secrets");
    pgsandbox::postgres_dir(&secrets);
    for (name, password) in [
        ("shop_password", "shop-s3cret"),
        ("reporting_password", "reporting-s3cret"),
        ("replication_password", "replication-s3cret"),
    ] {
        std::fs::write(secrets.join(name), format!("{password}\n")).unwrap();
    }
    pgsandbox::own(&secrets);
    let project = Project::new().profile(
        "shop",
        &profile(&secrets, r#"["pg_stat_statements", "uuid-ossp"]"#),
    );
    let run = project.gen(&["build"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // The tree names the password files and holds no password; the
    // primary's manifest requires the files.
    for (path, content) in super::support::tree(&project.path().join("generated")) {
        assert!(
            !String::from_utf8_lossy(&content).contains("s3cret"),
            "{path} holds a password"
        );
    }
    let manifest =
        std::fs::read_to_string(project.path().join("generated/shop/db1/manifest.json")).unwrap();
    assert!(
        manifest.contains(&format!("\"{}/shop_password\"", secrets.display())),
        "{manifest}"
    );
    let script = dir.join("bootstrap.sql");
    std::fs::copy(project.path().join(SQL), &script).unwrap();
    pgsandbox::own(&script);

    let server = PgServer::start(
        &dir.join("pg"),
        true,
        "log_statement = 'all'\n",
        "local all postgres trust\nhost all all 127.0.0.1/32 scram-sha-256\n",
    );
    let bootstrap = || {
        ok(server.psql("postgres").arg("-f").arg(&script));
    };
    bootstrap();
    let first = catalog(&server);
    bootstrap();
    assert_eq!(
        catalog(&server),
        first,
        "the second run changed the catalog"
    );
    assert!(first.contains("shop|t|f|50|t"), "{first}");
    assert!(first.contains("replicator|t|t|-1|t"), "{first}");
    assert!(first.contains("shop|pg_read_all_stats"), "{first}");
    assert!(first.contains("db_2"), "the replica's slot: {first}");
    assert!(first.contains("uuid-ossp"), "{first}");
    let log = std::fs::read_to_string(dir.join("pg/server.log")).unwrap();
    assert!(
        !log.contains("s3cret"),
        "a password reached the log:\n{log}"
    );

    // The reporting role may read what the owner creates later, not write it.
    ok(Command::new(Path::new(pgsandbox::BIN).join("psql"))
        .args([
            "-X",
            "-q",
            "-h",
            "127.0.0.1",
            "-p",
            &server.port.to_string(),
            "-U",
            "shop",
            "-d",
            "shop",
        ])
        .args([
            "-c",
            "create table orders (id int); insert into orders values (1)",
        ])
        .env("PGPASSWORD", "shop-s3cret"));
    let reporting = |sql: &str| {
        Command::new(Path::new(pgsandbox::BIN).join("psql"))
            .args([
                "-X",
                "-q",
                "-A",
                "-t",
                "-h",
                "127.0.0.1",
                "-p",
                &server.port.to_string(),
                "-U",
                "reporting",
                "-d",
                "shop",
                "-c",
                sql,
            ])
            .env("PGPASSWORD", "reporting-s3cret")
            .output()
            .unwrap()
    };
    let read = reporting("select count(*) from orders");
    assert!(
        read.status.success(),
        "{}",
        String::from_utf8_lossy(&read.stderr)
    );
    assert!(!reporting("insert into orders values (2)").status.success());

    // PgBouncer, the generated ini pointed at the sandbox's ports and files.
    let ini = std::fs::read_to_string(
        project
            .path()
            .join("generated/shop/db1/root/etc/pgbouncer/pgbouncer.ini"),
    )
    .unwrap();
    let bouncer_dir = dir.join("pgbouncer");
    pgsandbox::postgres_dir(&bouncer_dir);
    let secret = server.query(
        "postgres",
        "select rolpassword from pg_authid where rolname = 'shop'",
    );
    std::fs::write(
        bouncer_dir.join("userlist.txt"),
        format!("\"shop\" \"{secret}\"\n"),
    )
    .unwrap();
    let bouncer_port = pgsandbox::free_port();
    let adapted: String = ini
        .lines()
        .filter(|l| !l.starts_with("user ") && !l.contains("_readonly"))
        .map(|line| {
            let key = line.split('=').next().unwrap_or("").trim();
            match key {
                "listen_addr" => "listen_addr = 127.0.0.1".to_string(),
                "listen_port" => format!("listen_port = {bouncer_port}"),
                "unix_socket_dir" => format!("unix_socket_dir = {}", bouncer_dir.display()),
                "auth_file" => format!("auth_file = {}/userlist.txt", bouncer_dir.display()),
                "logfile" => format!("logfile = {}/pgbouncer.log", bouncer_dir.display()),
                "pidfile" => format!("pidfile = {}/pgbouncer.pid", bouncer_dir.display()),
                "shop" => line
                    .replace("host=10.1.0.10", "host=127.0.0.1")
                    .replace("port=5432", &format!("port={}", server.port)),
                _ => line.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert!(adapted.contains("auth_type = scram-sha-256"), "{adapted}");
    std::fs::write(bouncer_dir.join("pgbouncer.ini"), adapted).unwrap();
    pgsandbox::postgres_dir(&bouncer_dir);
    ok(pgsandbox::as_postgres("pgbouncer")
        .arg("-d")
        .arg(bouncer_dir.join("pgbouncer.ini")));
    let _stop = StopBouncer(bouncer_dir.join("pgbouncer.pid"));
    let password = std::fs::read_to_string(secrets.join("shop_password")).unwrap();
    let mut login = Command::new(Path::new(pgsandbox::BIN).join("psql"));
    login
        .args([
            "-X",
            "-A",
            "-t",
            "-h",
            "127.0.0.1",
            "-p",
            &bouncer_port.to_string(),
            "-U",
            "shop",
            "-d",
            "shop",
        ])
        .args(["-c", "select current_user || ' ' || count(*) from orders"])
        .env("PGPASSWORD", password.trim())
        .env("PGCONNECT_TIMEOUT", "10");
    let mut out = String::new();
    for _ in 0..50 {
        match login.output() {
            Ok(o) if o.status.success() => {
                out = String::from_utf8_lossy(&o.stdout).trim().to_string();
                break;
            }
            Ok(o) => out = String::from_utf8_lossy(&o.stderr).into_owned(),
            Err(e) => out = e.to_string(),
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(out, "shop 1", "login through pgbouncer");
}

/// Stops the test's PgBouncer when dropped.
struct StopBouncer(std::path::PathBuf);

impl Drop for StopBouncer {
    fn drop(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(&self.0) {
            let _ = Command::new("kill").args(["-INT", pid.trim()]).output();
        }
    }
}
