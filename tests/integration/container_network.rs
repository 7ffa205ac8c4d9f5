//! `network.container_subnet`: containers on a database host reach
//! PostgreSQL from their bridge address, so pg_hba.conf admits the compose
//! subnet there, only for the roles those containers log in as; the compose
//! file pins the subnet; a subnet that is public, too wide or overlaps the
//! hosts' network is refused at the key. The admission is proven against a
//! real PostgreSQL 15 in its own network namespace: a login from an address
//! in the subnet succeeds for the containers' role and is refused for another.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

use super::support::Project;

/// One host runs an api container and the primary it connects to directly;
/// a native reporting service on another host uses a second role.
fn profile(network_extra: &str) -> String {
    format!(
        r#"[project]
name = "shop"

[network]
internal = ["10.9.0.0/16"]
{network_extra}

[hosts.app1]
address = "10.9.0.10"
roles = ["api", "database_primary"]
hardware = {{ cores = 4, memory = "8GiB", storage = "ssd" }}

[hosts.w1]
address = "10.9.0.11"
roles = ["worker"]
hardware = {{ cores = 2, memory = "4GiB", storage = "ssd" }}

[services.api]
runtime = "container"
image = "ghcr.io/shop/api:1.0.0"
port = 8000
database = {{ user = "shop_app", pooled = false, connections = 5 }}

[services.report]
runtime = "native"
role = "worker"
command = ["/usr/local/bin/report"]
user = "report"
database = {{ user = "shop_report", pooled = false, connections = 2 }}

[postgres]
version = 15
workload = "web"
database = "shop"
users = ["shop_app", "shop_report"]
"#
    )
}

fn built(project: &Project, file: &str) -> String {
    let path = project.path().join("generated/shop/app1/root").join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn build_error(network_extra: &str) -> String {
    let project = Project::new().profile("shop", &profile(network_extra));
    let run = project.gen(&["build"]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    run.stderr.replace("\n  | ", " ")
}

/// The hba lines that name `address`, as (database, user) pairs.
fn admitted(hba: &str, address: &str) -> Vec<(String, String)> {
    hba.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|f| f.len() == 5 && f[3] == address)
        .map(|f| (f[1].to_string(), f[2].to_string()))
        .collect()
}

#[test]
fn a_declared_subnet_is_admitted_for_the_containers_role_only_and_pinned_in_compose() {
    let project =
        Project::new().profile("shop", &profile("container_subnet = \"192.168.240.0/24\""));
    let run = project.gen(&["build"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let hba = built(&project, "etc/postgresql/15/main/pg_hba.conf");
    assert_eq!(
        admitted(&hba, "192.168.240.0/24"),
        vec![("shop".to_string(), "shop_app".to_string())],
        "{hba}"
    );
    assert!(hba.contains("# containers of service api on app1 (network.container_subnet)"));
    let compose = built(&project, "etc/shop/compose.yaml");
    assert!(
        compose.contains("ipam:\n      config:\n        - subnet: \"192.168.240.0/24\""),
        "{compose}"
    );
    // The worker host runs no database: its compose file (none here) and the
    // native service's role are never admitted from the subnet.
    assert!(!hba.contains("192.168.240.0/24          shop_report"));
}

#[test]
fn containers_next_to_their_database_get_the_default_subnet() {
    let project = Project::new().profile("shop", &profile(""));
    let run = project.gen(&["build"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let hba = built(&project, "etc/postgresql/15/main/pg_hba.conf");
    assert_eq!(
        admitted(&hba, "172.30.0.0/24"),
        vec![("shop".to_string(), "shop_app".to_string())]
    );
    assert!(built(&project, "etc/shop/compose.yaml").contains("- subnet: \"172.30.0.0/24\""));
}

#[test]
fn a_pooled_deployment_admits_no_subnet_since_pgbouncer_connects_from_the_host() {
    let text = profile("")
        .replace(", pooled = false, connections = 5", "")
        .replace(
            "roles = [\"api\", \"database_primary\"]",
            "roles = [\"api\", \"database_primary\", \"pooler\"]",
        )
        + "\n[pgbouncer]\n";
    let project = Project::new().profile("shop", &text);
    let run = project.gen(&["build"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let hba = built(&project, "etc/postgresql/15/main/pg_hba.conf");
    assert!(!hba.contains("172.30."), "{hba}");
    assert!(built(&project, "etc/shop/compose.yaml").contains("\"frontend\": {}"));
}

#[test]
fn a_subnet_that_is_public_too_wide_or_overlapping_is_refused_at_the_key() {
    for (value, says) in [
        ("8.8.8.0/24", "is not a private IPv4 network"),
        ("10.0.0.0/8", "is a /8, not a /16 to /28"),
        ("10.9.4.0/24", "overlaps `network.internal` `10.9.0.0/16`"),
        ("192.168.0.0/29", "is a /29, not a /16 to /28"),
    ] {
        let err = build_error(&format!("container_subnet = \"{value}\""));
        assert!(
            err.contains(&format!("`network.container_subnet`: `{value}` {says}")),
            "{value}: {err}"
        );
        assert!(err.contains("container_subnet = \""), "located: {err}");
    }
    let overlapping = profile("").replace("10.9.0.0/16", "172.16.0.0/12");
    let overlapping = overlapping
        .replace("10.9.0.10", "172.16.0.10")
        .replace("10.9.0.11", "172.16.0.11");
    let project = Project::new().profile("shop", &overlapping);
    let run = project.gen(&["build"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .replace("\n  | ", " ")
            .contains("the default `network.container_subnet` `172.30.0.0/24` overlaps"),
        "{}",
        run.stderr
    );
}

/// Where gen check looks for PostgreSQL 15 (Debian's package, else gen's validators).
fn pg15() -> Option<&'static str> {
    [
        "/usr/lib/postgresql/15/bin",
        "/opt/gen-validators/postgresql/15/bin",
    ]
    .into_iter()
    .find(|dir| Path::new(dir).join("postgres").is_file())
}

/// Runs `script` as root in a fresh network namespace (loopback only).
fn in_netns(script: &str) -> std::process::Output {
    Command::new("unshare")
        .args(["-n", "bash", "-euc", script])
        .output()
        .unwrap()
}

#[test]
fn a_real_server_admits_the_containers_role_from_the_subnet_and_refuses_another() {
    let Some(bin) = pg15() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "PostgreSQL 15 is installed in CI"
        );
        eprintln!("skipped: no PostgreSQL 15");
        return;
    };
    let project =
        Project::new().profile("shop", &profile("container_subnet = \"192.168.240.0/24\""));
    assert_eq!(project.gen(&["build"]).code, 0);
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    let root = project
        .path()
        .join("generated/shop/app1/root/etc/postgresql/15/main");
    std::fs::copy(root.join("pg_hba.conf"), dir.join("pg_hba.conf")).unwrap();
    std::fs::copy(root.join("postgresql.conf"), dir.join("postgresql.conf")).unwrap();
    std::fs::write(dir.join("pg_ident.conf"), "").unwrap();
    let d = dir.display();
    // The container's bridge address, on loopback in its own namespace: a
    // connection to it comes from it.
    let script = format!(
        r#"
ip link set lo up
ip addr add 192.168.240.7/32 dev lo
chown -R postgres: {d}
chmod 755 {d}
run() {{ runuser -u postgres -- "$@"; }}
run {bin}/initdb -D {d}/data -A trust -U postgres --no-sync -E UTF8 --locale=C.UTF-8 >/dev/null
run {bin}/pg_ctl -D {d}/data -l {d}/log -w -s start -o "-c config_file={d}/postgresql.conf -c data_directory={d}/data -c hba_file={d}/pg_hba.conf -c ident_file={d}/pg_ident.conf -c external_pid_file={d}/pid -c unix_socket_directories={d} -c logging_collector=off -c shared_buffers=128MB -c listen_addresses=192.168.240.7"
trap 'run {bin}/pg_ctl -D {d}/data -s -m immediate stop' EXIT
sql() {{ run psql -h {d} -U postgres -d postgres -Atqc "$1"; }}
sql "create role shop_app login password 'pw'"
sql "create role shop_report login password 'pw'"
sql "create database shop"
echo "rule: $(sql "select type, database, user_name, address, netmask, auth_method from pg_hba_file_rules where address = '192.168.240.0'")"
echo "errors: $(sql "select count(*) from pg_hba_file_rules where error is not null")"
export PGPASSWORD=pw PGCONNECT_TIMEOUT=5
if psql "host=192.168.240.7 user=shop_app dbname=shop" -Atqc "select 'app in: ' || inet_client_addr()"; then :; fi
psql "host=192.168.240.7 user=shop_report dbname=shop" -Atqc "select 'report in'" 2>&1 || echo "report refused"
psql "host=192.168.240.7 user=shop_app dbname=postgres" -Atqc "select 'other db in'" 2>&1 || echo "other db refused"
"#
    );
    let out = in_netns(&script);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let log = std::fs::read_to_string(dir.join("log")).unwrap_or_default();
    assert!(out.status.success(), "{stdout}\n{stderr}\n{log}");
    assert!(
        stdout.contains("rule: host|{shop}|{shop_app}|192.168.240.0|255.255.255.0|scram-sha-256"),
        "{stdout}"
    );
    assert!(stdout.contains("errors: 0"), "{stdout}");
    assert!(
        stdout.contains("app in: 192.168.240.7"),
        "{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("no pg_hba.conf entry for host \"192.168.240.7\", user \"shop_report\""),
        "{stdout}"
    );
    assert!(stdout.contains("report refused"), "{stdout}");
    assert!(stdout.contains("other db refused"), "{stdout}");
}
