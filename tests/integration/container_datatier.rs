//! A containerised data tier (`postgres.runtime` / `redis.runtime =
//! "container"`): the database host's compose file runs the pinned images on
//! gen's own postgresql.conf, pg_hba.conf and redis.conf, mounted read-only
//! from `/etc/<project>/{postgres/<major>,redis}/`, with named data volumes,
//! healthchecks, the host's private address only, and the app containers on
//! the host waiting for them. The same tuning and validators as native
//! (`gen check --strict` on real servers), none of the native-only paths,
//! and a changed file restarts just its compose service.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use super::support::dpkg::FakeDpkg;
use super::support::Project;

const PROFILE: &str = r#"[project]
name = "shop"

[network]
internal = ["10.9.0.0/16"]

[hosts.pilot1]
address = "10.9.0.10"
roles = ["load_balancer", "api", "worker", "database_primary", "cache"]
hardware = { cores = 4, memory = "8GiB", storage = "ssd" }

[services.api]
runtime = "container"
image = "ghcr.io/shop/api:1.0.0"
port = 8000
user = "1000:1000"
database = { user = "shop_app", pooled = false, connections = 10 }
redis = true
healthcheck = { http = "/health" }
limits = { cpus = 1.0, memory = "1GiB" }
secrets = { database_password = "/etc/shop/secrets/db_password" }

[services.worker]
runtime = "container"
role = "worker"
image = "ghcr.io/shop/api:1.0.0"
command = ["celery", "worker"]
user = "1000:1000"
redis = true
limits = { memory = "512MiB" }

[postgres]
version = 18
runtime = "container"
image = "postgres:18.1-bookworm"
superuser_password_file = "/etc/shop/secrets/pg_superuser"
workload = "web"
database = "shop"
users = ["shop_app"]

[redis]
runtime = "container"
image = "redis:7.2.5-bookworm"
holds = ["sessions", "queues"]
maxmemory = "512MiB"
password_file = "/etc/shop/redis/requirepass.conf"

[sites.main]
server_names = ["shop.example.com"]
certificate = "/etc/letsencrypt/live/shop.example.com/fullchain.pem"
certificate_key = "/etc/letsencrypt/live/shop.example.com/privkey.pem"

[[sites.main.locations]]
path = "/"
service = "api"
"#;

fn built(profile: &str) -> Project {
    let project = Project::new().profile("shop", profile);
    let run = project.gen(&["build"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    project
}

fn host_dir(project: &Project) -> PathBuf {
    project.path().join("generated/shop/pilot1")
}

fn file(project: &Project, path: &str) -> String {
    std::fs::read_to_string(host_dir(project).join("root").join(path)).unwrap()
}

fn manifest(project: &Project) -> Value {
    serde_json::from_str(&std::fs::read_to_string(host_dir(project).join("manifest.json")).unwrap())
        .unwrap()
}

fn record<'a>(manifest: &'a Value, path: &str) -> &'a Value {
    manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == path)
        .unwrap_or_else(|| panic!("no {path} in {manifest}"))
}

fn build_error(profile: &str) -> String {
    let project = Project::new().profile("shop", profile);
    let run = project.gen(&["build"]);
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    run.stderr.replace("\n  | ", " ")
}

#[test]
fn the_compose_file_runs_the_data_tier_on_gens_files() {
    let project = built(PROFILE);
    let compose = file(&project, "etc/shop/compose.yaml");
    insta::assert_snapshot!("container_datatier_compose", compose);
    let m = manifest(&project);
    let paths: Vec<&str> = m["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert!(
        !paths
            .iter()
            .any(|p| p.starts_with("/etc/postgresql/") || p.starts_with("/etc/redis/")),
        "native-only paths: {paths:?}"
    );
    for (path, service) in [
        ("/etc/shop/postgres/18/postgresql.conf", "postgres"),
        ("/etc/shop/postgres/18/pg_hba.conf", "postgres"),
        ("/etc/shop/redis/redis.conf", "redis"),
    ] {
        let r = record(&m, path);
        assert_eq!(
            r["activation"],
            serde_json::json!({"action": "compose_service", "project": "shop", "service": service}),
            "{path}"
        );
        assert_eq!(
            r["owner"], "root",
            "{path}: the image's user is no host user"
        );
        assert_eq!(r["mode"], "0644", "{path}");
    }
    assert!(
        m["requires"]["files"]
            .as_array()
            .unwrap()
            .contains(&Value::from("/etc/shop/secrets/pg_superuser")),
        "the compose secret's file is the host's to provide: {}",
        m["requires"]
    );
    let conf = file(&project, "etc/shop/postgres/18/postgresql.conf");
    for line in [
        "data_directory = '/var/lib/postgresql/18/docker'",
        "hba_file = '/etc/shop/postgres/18/pg_hba.conf'",
        "listen_addresses = '*'",
        "io_method = 'worker'",
        // PGTune on 8GiB less api 1GiB, worker 512MiB and Redis 512MiB.
        "shared_buffers = 1536MB",
    ] {
        assert!(conf.contains(&format!("\n{line}\n")), "{line}\n{conf}");
    }
    let redis = file(&project, "etc/shop/redis/redis.conf");
    assert!(redis.contains("\nbind 0.0.0.0\n") && redis.contains("\ndir /data\n"));
    assert!(!redis.contains("supervised systemd"));
    // The vacuum runs in the container; the health gate probes the published address.
    assert!(file(&project, "etc/cron.d/shop").contains(
        "/usr/bin/docker compose --project-name shop exec -T --user postgres postgres vacuumdb --all --analyze --quiet"
    ));
    let gate = file(&project, "usr/local/sbin/shop-health-gate");
    assert!(
        gate.contains("10.9.0.10") && gate.contains("5432"),
        "{gate}"
    );
}

#[test]
fn postgres_before_18_mounts_its_volume_on_the_old_data_directory() {
    let project = built(
        &PROFILE
            .replace("version = 18", "version = 17")
            .replace("postgres:18.1-bookworm", "postgres:17.6-bookworm"),
    );
    let compose = file(&project, "etc/shop/compose.yaml");
    assert!(compose
        .contains("source: \"postgres-data\"\n        target: \"/var/lib/postgresql/data\"\n"));
    assert!(compose.contains("\"PGDATA\": \"/var/lib/postgresql/data\""));
    let conf = file(&project, "etc/shop/postgres/17/postgresql.conf");
    assert!(conf.contains("\ndata_directory = '/var/lib/postgresql/data'\n"));
    assert!(!conf.contains("io_method"), "no io_method before 18");
}

#[test]
fn what_a_container_tier_cannot_have_is_refused_at_its_key() {
    let cases: [(String, &str); 6] = [
        (
            PROFILE.replace("image = \"postgres:18.1-bookworm\"\n", ""),
            "`postgres.runtime` is `container` but `postgres.image` is not set",
        ),
        (
            PROFILE.replace("postgres:18.1-bookworm", "postgres:latest"),
            "`postgres.image`: `postgres:latest`",
        ),
        (
            PROFILE.replace(
                "superuser_password_file = \"/etc/shop/secrets/pg_superuser\"\n",
                "",
            ),
            "`postgres.superuser_password_file` is not set",
        ),
        (
            PROFILE.replace(
                "runtime = \"container\"\nimage = \"redis:7.2.5-bookworm\"\n",
                "image = \"redis:7.2.5-bookworm\"\n",
            ),
            "`redis.image`: a native redis runs no image",
        ),
        (
            PROFILE.to_string() + "\n[backup]\nmethod = \"pgbackrest\"\n",
            "`backup.method = \"pgbackrest\"` with `postgres.runtime = \"container\"`",
        ),
        (
            PROFILE.replace("[services.worker]", "[services.redis]"),
            "`services.redis`: `redis.runtime = \"container\"` runs the compose service `redis`",
        ),
    ];
    for (profile, says) in cases {
        let err = build_error(&profile);
        assert!(err.contains(says), "{says}\n{err}");
    }
    let replicas = PROFILE.to_string()
        + "\n[hosts.db2]\naddress = \"10.9.0.11\"\nroles = [\"database_replica\"]\nhardware = { cores = 2, memory = \"4GiB\", storage = \"ssd\" }\n";
    assert!(build_error(&replicas)
        .contains("gen sets up streaming replicas only for a native PostgreSQL"));
}

/// Behind `[firewall]` with a monitoring host: the published data-tier
/// ports are filtered where Docker forwards them (the input hook never sees
/// them), and no postgres_exporter is configured, scraped or opened, since
/// it could not reach a PostgreSQL inside its container and the host
/// installs none.
#[test]
fn a_firewalled_data_tier_is_filtered_where_docker_forwards_it() {
    let profile = PROFILE
        .replace(
            "internal = [\"10.9.0.0/16\"]\n",
            "internal = [\"10.9.0.0/16\"]\nadmin = [\"203.0.113.7/32\"]\n",
        )
        .replace(
            "[services.api]",
            "[hosts.mon1]\naddress = \"10.9.0.20\"\nroles = [\"monitoring\"]\nhardware = { cores = 2, memory = \"4GiB\", storage = \"ssd\" }\n\n[services.api]",
        )
        + "\n[alerting]\ndefault_receiver = \"ops\"\n\n[alerting.receivers.ops]\npagerduty = { routing_key_file = \"/etc/prometheus/secrets/pagerduty\" }\n\n[firewall]\n";
    let project = built(&profile);
    let nft = file(&project, "etc/gen/firewall/shop.nft");
    let (input, forward) = nft.split_once("chain forward").unwrap();
    for port in ["5432", "6379", "9187"] {
        assert!(
            !input.contains(&format!("dport {port} ")),
            "{port} on the input hook:\n{nft}"
        );
    }
    for (port, from) in [("5432", "10.9.0.10, 172.30.0.0/24"), ("6379", "10.9.0.10")] {
        assert!(
            forward.contains(&format!(
                "ct original proto-dst {port} ip saddr {{ {from} }} accept"
            )) && forward.contains(&format!("ct original proto-dst {port} drop")),
            "{port}:\n{nft}"
        );
    }
    assert!(!host_dir(&project)
        .join("root/etc/default/prometheus-postgres-exporter")
        .exists());
    let prometheus = std::fs::read_to_string(
        project
            .path()
            .join("generated/shop/mon1/root/etc/prometheus/prometheus.yml"),
    )
    .unwrap();
    assert!(!prometheus.contains(":9187"), "{prometheus}");
    assert!(prometheus.contains("\"10.9.0.10:9121\""), "{prometheus}");
    let packages = &manifest(&project)["requires"]["packages"];
    assert!(
        !packages
            .as_array()
            .unwrap()
            .contains(&Value::from("prometheus-postgres-exporter")),
        "{packages}"
    );
    let check = project.gen(&["check"]);
    assert_eq!(check.code, 0, "{}\n{}", check.stdout, check.stderr);
}

fn installed(major: u32) -> bool {
    Path::new(&format!(
        "/opt/gen-validators/postgresql/{major}/bin/postgres"
    ))
    .is_file()
        || Path::new(&format!("/usr/lib/postgresql/{major}/bin/postgres")).is_file()
}

#[test]
fn gen_check_strict_runs_the_real_servers_on_the_mounted_files() {
    if !installed(18) {
        assert!(
            std::env::var_os("CI").is_none(),
            "PostgreSQL 18 is installed in CI"
        );
        eprintln!("skipped: no PostgreSQL 18");
        return;
    }
    let project = built(PROFILE);
    let run = project.gen(&["check", "--strict"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    for line in [
        "ok      generated/shop/pilot1/root/etc/shop/postgres/18/postgresql.conf (postgres 18",
        "ok      generated/shop/pilot1/root/etc/shop/postgres/18/pg_hba.conf (postgres 18",
        "ok      generated/shop/pilot1/root/etc/shop/redis/redis.conf (redis-server",
        "ok      generated/shop/pilot1/root/etc/shop/compose.yaml (check-jsonschema",
    ] {
        assert!(run.stdout.contains(line), "{line}\n{}", run.stdout);
    }
}

/// `gen apply` with systemctl and docker recorded: a changed postgresql.conf
/// restarts the `postgres` compose service and nothing else.
#[test]
fn a_changed_postgres_conf_restarts_only_the_postgres_service() {
    let root = tempfile::tempdir().unwrap();
    let calls = root.path().join("docker-calls");
    let recorder = root.path().join("docker");
    std::fs::write(
        &recorder,
        format!("#!/bin/sh\necho \"$@\" >> {}\n", calls.display()),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&recorder, std::fs::Permissions::from_mode(0o755)).unwrap();
    let live = root.path().join("live");
    std::fs::create_dir(&live).unwrap();
    // The files the host provides (certificates, secrets).
    for path in [
        "etc/letsencrypt/live/shop.example.com/fullchain.pem",
        "etc/letsencrypt/live/shop.example.com/privkey.pem",
        "etc/shop/redis/requirepass.conf",
        "etc/shop/secrets/db_password",
        "etc/shop/secrets/pg_superuser",
    ] {
        let path = live.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "").unwrap();
    }
    // The first apply writes the tree without running anything; the second
    // runs what its change asks. The health gate cannot pass here (nothing
    // runs), so it only reports. The host has every package the manifest
    // requires (docker among them), as `dpkg-query` answers.
    let dpkg = FakeDpkg::all_installed();
    let apply = |project: &Project, run: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_gen"))
            .env("PATH", dpkg.path())
            .args(["apply", "--yes", "--skip-validation"])
            .args(run)
            .arg("--generated")
            .arg(project.path().join("generated"))
            .args(["--profile", "shop", "--host", "pilot1", "--root"])
            .arg(&live)
            .env("NO_COLOR", "1")
            .env("GEN_SYSTEMCTL", "true")
            .env("GEN_DOCKER", &recorder)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
    };
    let first = apply(&built(PROFILE), &["--no-reload"]);
    assert!(
        first
            .contains("skipped (--no-reload): docker compose --project-name shop restart postgres"),
        "{first}"
    );
    assert!(!calls.exists());
    let changed = PROFILE.replace(
        "users = [\"shop_app\"]\n",
        "users = [\"shop_app\"]\noverrides = { random_page_cost = 1.2 }\n",
    );
    let output = apply(
        &built(&changed),
        &[
            "--activate",
            "--no-health-rollback",
            "--health-timeout",
            "1",
        ],
    );
    let recorded = std::fs::read_to_string(&calls).unwrap_or_default();
    assert_eq!(
        recorded, "compose --project-name shop restart postgres\n",
        "{output}"
    );
}
