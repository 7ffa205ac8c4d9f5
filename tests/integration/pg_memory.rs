//! PostgreSQL is tuned for the memory its host leaves it: host memory less
//! the other tenants (services' memory limits times replicas, Redis's
//! `maxmemory` on the cache host), capped by `postgres.memory`; too little
//! left is refused. Settings PGTune derives from `shared_buffers` follow an
//! overridden value. The expected numbers are PGTune's formulas applied here
//! to the inputs, not copied from a build.
#![allow(clippy::unwrap_used)]

use super::support::Project;

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;
const GIB: u64 = 1024 * MIB;

/// A pilot host running everything: two api replicas of 1536MiB, a worker of
/// 512MiB, Redis with 2GiB, on a 12GiB, 6-core machine.
fn pilot(postgres_extra: &str) -> String {
    format!(
        r#"[project]
name = "shop"

[network]
internal = ["10.9.0.0/16"]

[hosts.pilot1]
address = "10.9.0.10"
roles = ["api", "worker", "database_primary", "pooler", "cache"]
hardware = {{ cores = 6, memory = "12GiB", storage = "nvme" }}

[services.api]
runtime = "container"
image = "ghcr.io/shop/api:1.0.0"
port = 8000
replicas = 2
limits = {{ memory = "1536MiB" }}
database = {{ user = "shop_app" }}
redis = true

[services.worker]
runtime = "container"
role = "worker"
image = "ghcr.io/shop/api:1.0.0"
limits = {{ memory = "512MiB" }}
database = {{ user = "shop_app" }}
redis = true

[postgres]
version = 16
workload = "oltp"
database = "shop"
users = ["shop_app"]
{postgres_extra}

[pgbouncer]

[redis]
maxmemory = "2GiB"
"#
    )
}

fn built_conf(profile: &str) -> String {
    let project = Project::new().profile("shop", profile);
    let run = project.gen(&["build"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    std::fs::read_to_string(
        project
            .path()
            .join("generated/shop/pilot1/root/etc/postgresql/16/main/postgresql.conf"),
    )
    .unwrap()
}

fn setting<'a>(conf: &'a str, name: &str) -> &'a str {
    conf.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} = ")))
        .unwrap_or_else(|| panic!("no {name} in\n{conf}"))
}

/// The comment line just above a setting.
fn reason<'a>(conf: &'a str, name: &str) -> &'a str {
    let lines: Vec<&str> = conf.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with(&format!("{name} = ")))
        .unwrap();
    lines[at - 1]
}

/// PGTune's spelling of a kB amount (formatValue): GB, MB or kB, the largest
/// unit that divides it.
fn pgtune_kb(kb: u64) -> String {
    if kb.is_multiple_of(1024 * 1024) {
        format!("{}GB", kb / (1024 * 1024))
    } else if kb.is_multiple_of(1024) {
        format!("{}MB", kb / 1024)
    } else {
        format!("{kb}kB")
    }
}

#[test]
fn a_pilot_host_is_tuned_for_its_memory_less_its_tenants() {
    let conf = built_conf(&pilot(""));
    let memory_kb = (12 * GIB - 2 * 1536 * MIB - 512 * MIB - 2 * GIB) / KIB;
    // PGTune, oltp, 6 cores: shared_buffers = memory / 4; effective_cache_size
    // = memory * 3 / 4; maintenance_work_mem = memory / 16; work_mem =
    // (memory - shared_buffers) / ((max_connections 300 + cores 6) * 3).
    let shared_buffers = memory_kb / 4;
    assert_eq!(setting(&conf, "shared_buffers"), pgtune_kb(shared_buffers));
    assert_eq!(
        setting(&conf, "effective_cache_size"),
        pgtune_kb(memory_kb * 3 / 4)
    );
    assert_eq!(
        setting(&conf, "maintenance_work_mem"),
        pgtune_kb(memory_kb / 16)
    );
    assert_eq!(
        setting(&conf, "work_mem"),
        pgtune_kb((memory_kb - shared_buffers) / ((300 + 6) * 3))
    );
    assert!(
        conf.contains("# Memory PGTune is given: host memory 12GiB - service api (2 x 1536MiB) 3GiB - service worker 512MiB - redis maxmemory 2GiB = 6656MiB."),
        "{conf}"
    );
}

#[test]
fn postgres_memory_caps_what_the_host_leaves_and_may_not_raise_it() {
    let conf = built_conf(&pilot("memory = \"4GiB\""));
    assert_eq!(
        setting(&conf, "shared_buffers"),
        pgtune_kb(4 * GIB / KIB / 4)
    );
    assert!(conf.contains("= 6656MiB; capped at postgres.memory 4GiB."));

    let project = Project::new().profile("shop", &pilot("memory = \"8GiB\""));
    let run = project.gen(&["build"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let err = run.stderr.replace("\n  | ", " ");
    assert!(
        err.contains("`postgres.memory`: 8GiB is more than host `pilot1` leaves PostgreSQL"),
        "{err}"
    );
    assert!(err.contains("memory = \"8GiB\""), "located: {err}");
}

#[test]
fn a_host_that_leaves_postgres_less_than_512mib_is_refused_at_the_last_tenant() {
    let project = Project::new().profile(
        "shop",
        &pilot("").replace("maxmemory = \"2GiB\"", "maxmemory = \"8448MiB\""),
    );
    let run = project.gen(&["build"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let err = run.stderr.replace("\n  | ", " ");
    assert!(
        err.contains("PostgreSQL on host `pilot1` would have 256MiB, less than 512MiB"),
        "{err}"
    );
    assert!(
        err.contains("maxmemory = \"8448MiB\""),
        "located at redis.maxmemory: {err}"
    );
}

#[test]
fn a_host_with_no_tenants_keeps_pgtunes_numbers() {
    let profile = pilot("")
        .replace("roles = [\"api\", \"worker\", \"database_primary\", \"pooler\", \"cache\"]", "roles = [\"database_primary\", \"pooler\"]")
        + "\n[hosts.app1]\naddress = \"10.9.0.20\"\nroles = [\"api\", \"worker\", \"cache\"]\nhardware = { cores = 4, memory = \"12GiB\", storage = \"ssd\" }\n";
    let conf = built_conf(&profile);
    assert_eq!(setting(&conf, "shared_buffers"), "3GB");
    assert!(!conf.contains("Memory PGTune is given"));
}

#[test]
fn an_overridden_shared_buffers_drives_huge_pages_wal_buffers_and_work_mem() {
    let profile = pilot("overrides = { shared_buffers = \"256MB\" }");
    let conf = built_conf(&profile);
    assert_eq!(setting(&conf, "shared_buffers"), "'256MB'");
    // Without the override: 6656MiB / 4 = 1664MiB, also off; a 12GiB host with no
    // tenants would say `try`. The reasoning names the override's value.
    assert_eq!(setting(&conf, "huge_pages"), "off");
    assert!(
        reason(&conf, "huge_pages").contains("(shared_buffers 256 MiB < 2 GiB)"),
        "{}",
        reason(&conf, "huge_pages")
    );
    // 3% of 256MB = 7864kB.
    assert_eq!(
        setting(&conf, "wal_buffers"),
        pgtune_kb(256 * 1024 * 3 / 100)
    );
    let memory_kb = 6656 * 1024;
    assert_eq!(
        setting(&conf, "work_mem"),
        pgtune_kb((memory_kb - 256 * 1024) / ((300 + 6) * 3))
    );

    // A big host, where PGTune says `try`: the override turns it off.
    let big = pilot("overrides = { shared_buffers = \"512MB\" }")
        .replace("memory = \"12GiB\"", "memory = \"64GiB\"");
    let overridden = built_conf(&big);
    assert_eq!(
        setting(&overridden, "huge_pages"),
        "off",
        "{}",
        reason(&overridden, "huge_pages")
    );
    let without = conf_of_big_without_override();
    assert_eq!(setting(&without, "huge_pages"), "try");
}

fn conf_of_big_without_override() -> String {
    built_conf(&pilot("").replace("memory = \"12GiB\"", "memory = \"64GiB\""))
}
