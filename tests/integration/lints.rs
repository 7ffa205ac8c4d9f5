//! Lints and the refusals that come with them, each drawn from the mistake
//! of a deployment guide (`/work/shared/reference`, cited by guide and line)
//! made on a profile of that guide's stack that is otherwise right.
//!
//! For every lint: the exact warning (snapshot) with its code and location;
//! the guide's profile as it is draws nothing; an allowance silences it; and
//! `--deny-warnings` turns it into a refused build. Then the `[lints]` table's
//! own errors, JSON output, and the committed `docs/lints.md`.

use super::support::{gen_command, repo, run, Project, Run};

/// DocSense: native uvicorn under systemd, nginx with a static frontend,
/// PostgreSQL on the same host, no pooler (docsense-production-deployment.md).
const DOCSENSE: &str = r#"[project]
name = "docsense"

[network]
internal = ["10.0.0.0/8"]

[hosts.app1]
address = "10.0.0.5"
roles = ["load_balancer", "api", "database_primary", "monitoring"]
hardware = { cores = 4, memory = "8GiB", storage = "ssd", disk = "100GiB" }

[services.api]
runtime = "native"
command = ["/srv/docsense/app/.venv/bin/uvicorn", "src.api.main:app", "--host", "10.0.0.5", "--port", "8000", "--workers", "4"]
working_directory = "/srv/docsense/app"
user = "docsense"
port = 8000
metrics_path = "/metrics"
environment = { ENVIRONMENT = "production", DB_POOL_MAX_SIZE = "10" }
secrets = { database_url = "/etc/docsense/secrets/database_url" }
database = { user = "docsense_prod", pooled = false, connections = 40 }
healthcheck = { http = "/api/v1/health" }
limits = { cpus = 2.0, memory = "4GiB" }

[postgres]
version = 15
workload = "web"
database = "docsense_prod"
users = ["docsense_prod"]
max_connections = 100

[sites.docsense]
server_names = ["docsense.example.com"]
certificate = "/etc/letsencrypt/live/docsense.example.com/fullchain.pem"
certificate_key = "/etc/letsencrypt/live/docsense.example.com/privkey.pem"

[[sites.docsense.locations]]
path = "/api/"
service = "api"

[[sites.docsense.locations]]
path = "/metrics"
service = "api"
allow = ["10.0.0.0/8"]

[[sites.docsense.locations]]
path = "/"
root = "/srv/docsense/client/dist"

[backup]
retention_days = 30
destination = "/var/backups/docsense"

[alerting]
default_receiver = "ops"
smtp = { smarthost = "smtp.docsense.example.com:587", from = "alerts@docsense.example.com" }
[alerting.receivers.ops]
email = ["ops@docsense.example.com"]

[backup.restore_test]
schedule = "*-*-01 05:00:00"
verify_query = "SELECT 1 FROM pg_tables WHERE schemaname = 'public' LIMIT 1"
"#;

/// STET: the API as container replicas, PostgreSQL 15 with a replica and
/// PgBouncer on the database host (stet-production-deployment.md).
const STET: &str = r#"[project]
name = "stet"

[network]
internal = ["10.0.0.0/16"]

[hosts.api1]
address = "10.0.1.10"
roles = ["load_balancer", "api", "monitoring"]
hardware = { cores = 4, memory = "8GiB", storage = "ssd" }

[hosts.db1]
address = "10.0.2.10"
roles = ["database_primary", "pooler"]
hardware = { cores = 4, memory = "16GiB", storage = "nvme" }

[hosts.db2]
address = "10.0.2.11"
roles = ["database_replica"]
hardware = { cores = 4, memory = "16GiB", storage = "ssd" }

[services.api]
runtime = "container"
image = "ghcr.io/keithrawlingsbrown/stet:v1.2.1"
port = 8000
replicas = 2
metrics_path = "/metrics"
environment = { STET_ENV = "production" }
secrets = { database_url = "/etc/stet/secrets/database_url" }
database = { user = "stet" }
healthcheck = { http = "/health" }
limits = { cpus = 2.0, memory = "2GiB" }

[postgres]
version = 15
workload = "web"
database = "stet"
users = ["stet"]
max_connections = 100

[pgbouncer]
pool_mode = "transaction"
max_client_conn = 200
default_pool_size = 25

[sites.api]
server_names = ["api.stet.example.com"]
certificate = "/etc/letsencrypt/live/api.stet.example.com/fullchain.pem"
certificate_key = "/etc/letsencrypt/live/api.stet.example.com/privkey.pem"

[[sites.api.locations]]
path = "/"
service = "api"

[[sites.api.locations]]
path = "/metrics"
service = "api"
allow = ["10.0.0.0/16"]

[backup]
retention_days = 30
destination = "/var/backups/stet"

[alerting]
default_receiver = "ops"
smtp = { smarthost = "localhost:25", from = "alertmanager@stet.example.com" }
[alerting.receivers.ops]
email = ["ops@stet.example.com"]

[backup.restore_test]
schedule = "*-*-01 05:00:00"
verify_query = "SELECT 1 FROM pg_tables WHERE schemaname = 'public' LIMIT 1"
"#;

/// SignX Studio: FastAPI containers, PostgreSQL and Redis on one 4-core
/// Linux server (signx-studio-it-deployment.md).
const SIGNX: &str = r#"[project]
name = "signx"

[network]
internal = ["10.10.0.0/24"]

[hosts.signx1]
address = "10.10.0.5"
roles = ["load_balancer", "api", "database_primary", "cache", "monitoring"]
hardware = { cores = 4, memory = "16GiB", storage = "ssd" }

[services.api]
runtime = "container"
image = "registry.company.com/signx/api:1.0.0"
port = 8000
replicas = 3
user = "1000:1000"
environment = { ENV = "production", SENTRY_TRACES_SAMPLE_RATE = "0.1" }
secrets = { secret_key = "/etc/signx/secrets/secret_key", sentry_dsn = "/etc/signx/secrets/sentry_dsn" }
database = { user = "signx_app", connections = 10 }
redis = true
healthcheck = { http = "/health" }
limits = { cpus = 1.0, memory = "2GiB" }

[postgres]
version = 16
workload = "web"
database = "signx_studio"
users = ["signx_app"]

[redis]
queues = true
maxmemory = "1GiB"
password_file = "/etc/signx/redis/requirepass.conf"

[sites.main]
server_names = ["signx.company.com"]
certificate = "/etc/letsencrypt/live/signx.company.com/fullchain.pem"
certificate_key = "/etc/letsencrypt/live/signx.company.com/privkey.pem"

[[sites.main.locations]]
path = "/"
service = "api"

[backup]
retention_days = 30
destination = "/var/backups/signx"

[alerting]
default_receiver = "it"
smtp = { smarthost = "smtp.company.com:587", from = "signx@company.com" }
[alerting.receivers.it]
email = ["it@company.com"]

[backup.restore_test]
schedule = "*-*-01 05:00:00"
verify_query = "SELECT 1 FROM pg_tables WHERE schemaname = 'public' LIMIT 1"
"#;

/// SmartAttend: Django, Celery workers and beat as containers, PgBouncer,
/// Redis carrying the queues, pgAdmin behind nginx
/// (smartattend-production-deployment.md).
const SMARTATTEND: &str = r#"[project]
name = "smartattend"

[network]
internal = ["172.20.0.0/16"]

[hosts.app1]
address = "172.20.0.10"
roles = ["load_balancer", "api", "worker", "pooler", "cache", "monitoring"]
hardware = { cores = 16, memory = "32GiB", storage = "nvme" }

[hosts.db1]
address = "172.20.1.10"
roles = ["database_primary"]
hardware = { cores = 8, memory = "32GiB", storage = "nvme" }

[services.backend]
runtime = "container"
image = "registry.smartattend.example.com/backend:3.8.0"
port = 8000
replicas = 4
metrics_path = "/metrics"
secrets = { django_secret_key = "/etc/smartattend/secrets/django_secret_key", redis_password = "/etc/smartattend/secrets/redis_password" }
database = { user = "smartattend_user" }
redis = true
healthcheck = { http = "/health" }
limits = { cpus = 2.0, memory = "2GiB" }

[services.celery-beat]
runtime = "container"
role = "worker"
image = "registry.smartattend.example.com/backend:3.8.0"
command = ["celery", "-A", "smartattend", "beat", "--loglevel", "info"]
secrets = { django_secret_key = "/etc/smartattend/secrets/django_secret_key", redis_password = "/etc/smartattend/secrets/redis_password" }
database = { user = "smartattend_user" }
redis = true
limits = { cpus = 0.5, memory = "256MiB" }

[services.pgadmin]
runtime = "container"
image = "docker.io/dpage/pgadmin4:8.12"
port = 5050
read_only = false
environment = { SCRIPT_NAME = "/pgadmin" }
healthcheck = { http = "/pgadmin/misc/ping" }
limits = { cpus = 0.5, memory = "512MiB" }

[postgres]
version = 15
workload = "oltp"
database = "smartattend_prod"
users = ["smartattend_user"]
max_connections = 500

[pgbouncer]
pool_mode = "transaction"

[redis]
queues = true
maxmemory = "1GiB"
password_file = "/etc/smartattend/redis/requirepass.conf"

[sites.main]
server_names = ["smartattend.example.com"]
certificate = "/etc/letsencrypt/live/smartattend.example.com/fullchain.pem"
certificate_key = "/etc/letsencrypt/live/smartattend.example.com/privkey.pem"

[[sites.main.locations]]
path = "/"
service = "backend"

[[sites.main.locations]]
path = "/metrics"
service = "backend"
allow = ["172.20.0.0/16"]

[[sites.main.locations]]
path = "/pgadmin/"
service = "pgadmin"
allow = ["198.51.100.0/28"]

[backup]
retention_days = 30
destination = "/data/backups"

[alerting]
default_receiver = "team"
[alerting.receivers.team]
pagerduty = { routing_key_file = "/etc/prometheus/secrets/pagerduty_key" }

[backup.restore_test]
schedule = "*-*-01 05:00:00"
verify_query = "SELECT 1 FROM pg_tables WHERE schemaname = 'public' LIMIT 1"
"#;

/// SpherosegV4: React frontend, Node API, PostgreSQL and Redis as
/// containers on one host (spheroseg-production-deployment.md).
const SPHEROSEG: &str = r#"[project]
name = "spheroseg"

[network]
internal = ["10.0.0.0/8"]

[hosts.sph1]
address = "10.0.0.20"
roles = ["load_balancer", "api", "database_primary", "cache", "monitoring"]
hardware = { cores = 8, memory = "16GiB", storage = "ssd" }

[services.backend]
runtime = "container"
image = "registry.spheroseg.example.com/backend:4.0.0"
port = 5001
environment = { NODE_ENV = "production", DOMAIN = "spheroseg.example.com" }
secrets = { jwt_secret = "/etc/spheroseg/secrets/jwt_secret", redis_password = "/etc/spheroseg/secrets/redis_password" }
database = { user = "spheroseg_app" }
redis = true
healthcheck = { http = "/api/health" }
limits = { cpus = 1.0, memory = "1GiB" }

[postgres]
version = 15
workload = "web"
database = "spheroseg"
users = ["spheroseg_app"]

[redis]
maxmemory = "1GiB"
password_file = "/etc/spheroseg/redis/requirepass.conf"

[sites.web]
server_names = ["spheroseg.example.com"]
certificate = "/etc/letsencrypt/live/spheroseg.example.com/fullchain.pem"
certificate_key = "/etc/letsencrypt/live/spheroseg.example.com/privkey.pem"

[[sites.web.locations]]
path = "/api/"
service = "backend"

[backup]
retention_days = 30
destination = "/var/backups/spheroseg"

[alerting]
default_receiver = "team"
[alerting.receivers.team]
pagerduty = { routing_key_file = "/etc/prometheus/secrets/pagerduty_key" }

[backup.restore_test]
schedule = "*-*-01 05:00:00"
verify_query = "SELECT 1 FROM pg_tables WHERE schemaname = 'public' LIMIT 1"
"#;

/// `base` with each `(from, to)` replaced once; panics when `from` is
/// absent, so a test never checks the unchanged profile by mistake.
fn with(base: &str, changes: &[(&str, &str)]) -> String {
    let mut text = base.to_string();
    for (from, to) in changes {
        assert!(text.contains(from), "the profile has no {from:?}");
        text = text.replacen(from, to, 1);
    }
    text
}

fn build(profile: &str, text: &str, args: &[&str]) -> (Project, Run) {
    let project = Project::new().profile(profile, text);
    let mut all = vec!["build"];
    all.extend_from_slice(args);
    let run = project.gen(&all);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    (project, run)
}

/// The lint codes a build printed, in order.
fn codes(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter_map(|line| line.strip_prefix("gen::lint::"))
        .collect()
}

/// The whole contract of one lint on one guide's profile: `mistake` turns
/// `base` into the guide's mistake, which draws `lint` (alone) at
/// `location`; `base` itself draws nothing; an allowance silences the lint;
/// `--deny-warnings` refuses the build. Returns the warning as printed.
fn lint_case(
    profile: &str,
    base: &str,
    mistake: &[(&str, &str)],
    lint: &str,
    location: &str,
) -> String {
    let (_, fixed) = build(profile, base, &[]);
    assert_eq!(fixed.code, 0, "{}", fixed.stderr);
    assert_eq!(codes(&fixed.stderr), Vec::<&str>::new(), "{}", fixed.stderr);

    let mistaken = with(base, mistake);
    let (project, warned) = build(profile, &mistaken, &[]);
    assert_eq!(
        warned.code, 0,
        "a lint must not refuse the build: {}",
        warned.stderr
    );
    assert_eq!(codes(&warned.stderr), [lint], "{}", warned.stderr);
    assert!(
        warned.stderr.contains(&format!("[{location}]"))
            || warned.stderr.contains(&format!("at {location}\n")),
        "not located at {location}: {}",
        warned.stderr
    );
    assert!(
        warned.stderr.contains("  help: "),
        "no help: {}",
        warned.stderr
    );
    assert!(
        project.path().join("generated").is_dir(),
        "the build goes on"
    );

    let allowed = format!(
        "{mistaken}\n[lints]\nallow = {{ \"{lint}\" = \"the guide's choice, reviewed\" }}\n"
    );
    let (_, silent) = build(profile, &allowed, &["--deny-warnings"]);
    assert_eq!(silent.code, 0, "{}", silent.stderr);
    assert_eq!(
        codes(&silent.stderr),
        Vec::<&str>::new(),
        "{}",
        silent.stderr
    );

    let (project, denied) = build(profile, &mistaken, &["--deny-warnings"]);
    assert_eq!(denied.code, 2, "{}", denied.stderr);
    assert!(
        denied.stderr.contains("gen::lint::denied"),
        "{}",
        denied.stderr
    );
    assert!(
        !project.path().join("generated").exists(),
        "a denied lint wrote generated/"
    );
    warned.stderr
}

/// A refused build: exit 2, nothing written; returns the error as printed.
fn refused(profile: &str, text: &str) -> String {
    let (project, run) = build(profile, text, &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(!project.path().join("generated").exists());
    run.stderr
}

// ---- connection budget ----

#[test]
fn direct_connections() {
    // DocSense 222-223 and 255: four uvicorn workers, each with its own pool,
    // straight to PostgreSQL (max_connections 100), no pooler; here with a
    // pool of 15, so the 60 connections still fit.
    let stderr = lint_case(
        "docsense",
        DOCSENSE,
        &[
            ("DB_POOL_MAX_SIZE = \"10\"", "DB_POOL_MAX_SIZE = \"15\""),
            ("connections = 40", "connections = 60"),
        ],
        "direct-connections",
        "profiles/docsense.toml:21:68",
    );
    insta::assert_snapshot!(stderr);
}

#[test]
fn direct_connections_that_do_not_fit_are_refused() {
    // DocSense 222-223 and 255 as written: 4 workers × a pool of 50 = 200
    // direct connections on max_connections 100.
    let stderr = refused(
        "docsense",
        &with(
            DOCSENSE,
            &[
                ("DB_POOL_MAX_SIZE = \"10\"", "DB_POOL_MAX_SIZE = \"50\""),
                ("connections = 40", "connections = 200"),
            ],
        ),
    );
    assert!(
        stderr.contains("services open 200 direct connections to PostgreSQL"),
        "{stderr}"
    );
    assert!(stderr.contains("profiles/docsense.toml:21:68"), "{stderr}");
    insta::assert_snapshot!(stderr);
}

#[test]
fn pooler_bypass() {
    // STET 217 and 619: PgBouncer is set up on 6432, "update DATABASE_URL to
    // use port 6432" is a footnote, and the API stays on PostgreSQL's 5432.
    let stderr = lint_case(
        "stet",
        STET,
        &[(
            "database = { user = \"stet\" }",
            "database = { user = \"stet\", pooled = false }",
        )],
        "pooler-bypass",
        "profiles/stet.toml:30:38",
    );
    insta::assert_snapshot!(stderr);
}

#[test]
fn a_database_url_on_postgresql_s_port_bypasses_the_pooler() {
    // STET 217: `postgresql://stet:…@postgres:5432/stet`, here without the
    // password (with it the profile is refused): it is also missing one.
    let mistaken = with(
        STET,
        &[(
            "STET_ENV = \"production\"",
            "STET_ENV = \"production\", DATABASE_URL = \"postgresql://stet@10.0.2.10:5432/stet\"",
        )],
    );
    let (_, run) = build("stet", &mistaken, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        codes(&run.stderr),
        ["pooler-bypass", "url-missing-password"],
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("connects to PostgreSQL's port 5432, around the"),
        "{}",
        run.stderr
    );
}

// ---- memory and CPU ----

#[test]
fn override_exceeds_memory() {
    // STET 149 and 249: PostgreSQL in a 4G container, tuned with
    // `effective_cache_size = 6GB`.
    let stderr = lint_case(
        "stet",
        STET,
        &[
            (
                "roles = [\"database_primary\", \"pooler\"]\nhardware = { cores = 4, memory = \"16GiB\"",
                "roles = [\"database_primary\", \"pooler\"]\nhardware = { cores = 4, memory = \"4GiB\"",
            ),
            (
                "max_connections = 100\n",
                "max_connections = 100\noverrides = { shared_buffers = \"1GB\", effective_cache_size = \"6GB\" }\n",
            ),
        ],
        "override-exceeds-memory",
        "profiles/stet.toml:40:62",
    );
    insta::assert_snapshot!(stderr);
}

#[test]
fn shared_buffers_as_large_as_the_host_is_refused() {
    // STET 249, taken to the end: `shared_buffers` of the whole 16GiB host.
    let stderr = refused(
        "stet",
        &with(
            STET,
            &[(
                "max_connections = 100\n",
                "max_connections = 100\noverrides = { shared_buffers = \"16GB\" }\n",
            )],
        ),
    );
    assert!(
        stderr.contains("`postgres.overrides.shared_buffers` is 16GiB, as much as host `db1` has"),
        "{stderr}"
    );
    insta::assert_snapshot!(stderr);
}

#[test]
fn cpu_overcommit() {
    // SignX 277-285 and 741-745: `cpus: '4.0'` per replica, three replicas,
    // on the 4-core server of 94-98.
    let stderr = lint_case(
        "signx",
        SIGNX,
        &[("limits = { cpus = 1.0", "limits = { cpus = 4.0")],
        "cpu-overcommit",
        "profiles/signx.toml:23:19",
    );
    insta::assert_snapshot!(stderr);
}

#[test]
fn a_cpu_limit_beyond_the_host_s_cores_is_refused() {
    // SignX 771-776 ("vertical scaling"): `cpus: '8.0'` on the 4-core server.
    let stderr = refused(
        "signx",
        &with(SIGNX, &[("limits = { cpus = 1.0", "limits = { cpus = 8.0")]),
    );
    assert!(
        stderr.contains("8 cores per replica, but host `signx1` has 4"),
        "{stderr}"
    );
    insta::assert_snapshot!(stderr);
}

#[test]
fn memory_unbounded() {
    // SmartAttend 35-44: the application tier in one compose stack beside
    // PostgreSQL and Redis, no service with a memory limit.
    let stderr = lint_case(
        "smartattend",
        SMARTATTEND,
        &[("limits = { cpus = 0.5, memory = \"256MiB\" }\n", "")],
        "memory-unbounded",
        "profiles/smartattend.toml:29:11",
    );
    insta::assert_snapshot!(stderr);
}

// ---- exposure ----

#[test]
fn public_metrics() {
    // STET 418 and 512: `location /` proxies everything, the app serves
    // `/metrics`, nothing keeps it internal.
    let stderr = lint_case(
        "stet",
        STET,
        &[(
            "\n[[sites.api.locations]]\npath = \"/metrics\"\nservice = \"api\"\nallow = [\"10.0.0.0/16\"]\n",
            "",
        )],
        "public-metrics",
        "profiles/stet.toml:52:8",
    );
    insta::assert_snapshot!(stderr);
}

#[test]
fn public_admin_path() {
    // SmartAttend 155-157 and 168: pgAdmin at `/pgadmin/`, "uncomment and
    // configure IP restrictions".
    let stderr = lint_case(
        "smartattend",
        SMARTATTEND,
        &[(
            "service = \"pgadmin\"\nallow = [\"198.51.100.0/28\"]\n",
            "service = \"pgadmin\"\n",
        )],
        "public-admin-path",
        "profiles/smartattend.toml:78:8",
    );
    insta::assert_snapshot!(stderr);
}

#[test]
fn public_admin_tool() {
    // SmartAttend 278-281: Grafana on the public domain's port 3001.
    let grafana = "[services.grafana]\nruntime = \"container\"\nimage = \"docker.io/grafana/grafana:11.2.0\"\nport = 3001\nlimits = { memory = \"256MiB\" }\n\n[postgres]";
    let base = with(SMARTATTEND, &[("[postgres]", grafana)]);
    let stderr = lint_case(
        "smartattend",
        &base,
        &[("port = 3001\n", "port = 3001\npublish_public = true\n")],
        "public-admin-tool",
        "profiles/smartattend.toml:52:18",
    );
    insta::assert_snapshot!(stderr);
}

#[test]
fn unneeded_capability() {
    // SignX 309: `cap_add: NET_BIND_SERVICE` for a container listening on 8000.
    let stderr = lint_case(
        "signx",
        SIGNX,
        &[(
            "user = \"1000:1000\"\n",
            "user = \"1000:1000\"\ncap_add = [\"NET_BIND_SERVICE\"]\n",
        )],
        "unneeded-capability",
        "profiles/signx.toml:18:11",
    );
    insta::assert_snapshot!(stderr);
}

#[test]
fn wildcard_bind() {
    // DocSense 253 and 357-364: uvicorn `--host 0.0.0.0` while nginx
    // allow-lists `/metrics`.
    let stderr = lint_case(
        "docsense",
        DOCSENSE,
        &[("\"--host\", \"10.0.0.5\"", "\"--host\", \"0.0.0.0\"")],
        "wildcard-bind",
        "profiles/docsense.toml:14:81",
    );
    insta::assert_snapshot!(stderr);
}

#[test]
fn hsts_off() {
    // STET 401-434: the TLS server block sends no Strict-Transport-Security.
    let stderr = lint_case(
        "stet",
        STET,
        &[(
            "certificate_key = \"/etc/letsencrypt/live/api.stet.example.com/privkey.pem\"\n",
            "certificate_key = \"/etc/letsencrypt/live/api.stet.example.com/privkey.pem\"\nhsts = false\n",
        )],
        "hsts-off",
        "profiles/stet.toml:50:8",
    );
    insta::assert_snapshot!(stderr);
}

#[test]
fn ssh_open_to_world() {
    // STET 111: `ufw allow 22/tcp`, SSH from the whole Internet.
    let base = STET.replace(
        "internal = [\"10.0.0.0/16\"]\n",
        "internal = [\"10.0.0.0/16\"]\nadmin = [\"203.0.113.0/28\"]\n",
    ) + "\n[firewall]\n";
    let stderr = lint_case(
        "stet",
        &base,
        &[("admin = [\"203.0.113.0/28\"]", "admin = [\"0.0.0.0/0\"]")],
        "ssh-open-to-world",
        "profiles/stet.toml:6:9",
    );
    assert!(stderr.contains("0.0.0.0/0"), "{stderr}");
}

#[test]
fn public_database() {
    // SmartAttend 150, 163: PostgreSQL and PgBouncer on the public domain.
    let base = SMARTATTEND.replace(
        "internal = [\"172.20.0.0/16\"]\n",
        "internal = [\"172.20.0.0/16\"]\nadmin = [\"203.0.113.0/28\"]\n",
    ) + "\n[firewall]\n\n[[firewall.allow]]\nport = 6432\nfrom = [\"@admin\"]\n";
    let stderr = lint_case(
        "smartattend",
        &base,
        &[("from = [\"@admin\"]", "from = [\"@admin\", \"0.0.0.0/0\"]")],
        "public-database",
        "profiles/smartattend.toml:100:8",
    );
    assert!(
        stderr.contains("0.0.0.0/0") && !stderr.contains("203.0.113.0/28,"),
        "{stderr}"
    );
}

// ---- credentials ----

#[test]
fn credential_in_env() {
    // SignX 184: `SENTRY_DSN=https://…@sentry.io/project` in `.env`.
    let stderr = lint_case(
        "signx",
        SIGNX,
        &[(
            "ENV = \"production\"",
            "ENV = \"production\", SENTRY_DSN = \"https://0123456789abcdef0123456789abcdef@o450.ingest.sentry.io/42\"",
        )],
        "credential-in-env",
        "profiles/signx.toml:18:37",
    );
    assert!(
        !stderr.contains("0123456789abcdef"),
        "the value is not quoted: {stderr}"
    );
    insta::assert_snapshot!(stderr);
}

#[test]
fn a_profile_holding_a_likely_credential_is_never_quoted() {
    // SignX 184 and 277-285 together: every other warning on the file names
    // its position without quoting lines, since any excerpt could show the DSN.
    let mistaken = with(
        SIGNX,
        &[
            (
                "ENV = \"production\"",
                "ENV = \"production\", SENTRY_DSN = \"https://0123456789abcdef0123456789abcdef@o450.ingest.sentry.io/42\"",
            ),
            ("limits = { cpus = 1.0", "limits = { cpus = 4.0"),
        ],
    );
    let (_, run) = build("signx", &mistaken, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(codes(&run.stderr), ["cpu-overcommit", "credential-in-env"]);
    assert!(
        run.stderr.contains("at profiles/signx.toml:23:19\n"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("0123456789abcdef"), "{}", run.stderr);
    assert!(!run.stderr.contains(",-["), "no excerpt: {}", run.stderr);
}

#[test]
fn webhook_urls_and_tokens_are_refused() {
    // SpherosegV4 161: `SLACK_WEBHOOK_URL=https://hooks.slack.com/services/…`.
    let stderr = refused(
        "spheroseg",
        &with(
            SPHEROSEG,
            &[(
                "NODE_ENV = \"production\"",
                "NODE_ENV = \"production\", ALERTS = \"https://hooks.slack.com/services/T0000/B0000/XXXXXXXXXXXX\"",
            )],
        ),
    );
    assert!(
        stderr.contains("`services.backend.environment.ALERTS` looks like a credential"),
        "{stderr}"
    );
    assert!(!stderr.contains("hooks.slack.com"), "{stderr}");
    insta::assert_snapshot!(stderr);
}

#[test]
fn superuser_login() {
    // SpherosegV4 106-108 and 354: the application logs in as `postgres`.
    let stderr = lint_case(
        "spheroseg",
        SPHEROSEG,
        &[
            (
                "database = { user = \"spheroseg_app\" }",
                "database = { user = \"postgres\" }",
            ),
            ("users = [\"spheroseg_app\"]", "users = [\"postgres\"]"),
        ],
        "superuser-login",
        "profiles/spheroseg.toml:18:21",
    );
    insta::assert_snapshot!(stderr);
}

#[test]
fn redis_no_auth() {
    // SpherosegV4 115: `redis://redis:6379`, Redis without a password.
    let stderr = lint_case(
        "spheroseg",
        SPHEROSEG,
        &[(
            "password_file = \"/etc/spheroseg/redis/requirepass.conf\"\n",
            "",
        )],
        "redis-no-auth",
        "profiles/spheroseg.toml:29:2",
    );
    insta::assert_snapshot!(stderr);
}

#[test]
fn url_missing_password() {
    // SpherosegV4 115-116: `redis://redis:6379`, and the password Redis
    // requires created on the next line.
    let stderr = lint_case(
        "spheroseg",
        SPHEROSEG,
        &[(
            "DOMAIN = \"spheroseg.example.com\"",
            "DOMAIN = \"spheroseg.example.com\", REDIS_URL = \"redis://10.0.0.20:6379\"",
        )],
        "url-missing-password",
        "profiles/spheroseg.toml:16:88",
    );
    insta::assert_snapshot!(stderr);
}

// ---- singletons and schedules ----

#[test]
fn singleton_replicated() {
    // SmartAttend 38 and 243-244: Celery beat in a group of at least two.
    let stderr = lint_case(
        "smartattend",
        SMARTATTEND,
        &[(
            "command = [\"celery\", \"-A\", \"smartattend\", \"beat\", \"--loglevel\", \"info\"]\n",
            "command = [\"celery\", \"-A\", \"smartattend\", \"beat\", \"--loglevel\", \"info\"]\nreplicas = 2\n",
        )],
        "singleton-replicated",
        "profiles/smartattend.toml:34:12",
    );
    insta::assert_snapshot!(stderr);
}

#[test]
fn schedule_collision() {
    // SmartAttend 331: "Daily backups at 2 AM", the hour gen's VACUUM ANALYZE
    // runs by default (`0 2 * * *`).
    let mistake = [(
        "[backup]\nretention_days = 30",
        "[backup]\nschedule = \"*-*-* 02:00:00\"\nretention_days = 30",
    )];
    let line = with(SMARTATTEND, &mistake)
        .lines()
        .position(|l| l.starts_with("schedule = "))
        .expect("the schedule")
        + 1;
    let stderr = lint_case(
        "smartattend",
        SMARTATTEND,
        &mistake,
        "schedule-collision",
        &format!("profiles/smartattend.toml:{line}:12"),
    );
    assert!(stderr.contains("`maintenance.vacuum_schedule`"), "{stderr}");
    insta::assert_snapshot!(stderr);
}

#[test]
fn no_backup() {
    // DocSense 43 and 691: "backup strategy defined" is a checklist item;
    // nothing is configured.
    let stderr = lint_case(
        "docsense",
        DOCSENSE,
        &[
            (
                "\n[backup]\nretention_days = 30\ndestination = \"/var/backups/docsense\"\n",
                "",
            ),
            (
                "\n[backup.restore_test]\nschedule = \"*-*-01 05:00:00\"\nverify_query = \"SELECT 1 FROM pg_tables WHERE schemaname = 'public' LIMIT 1\"\n",
                "",
            ),
        ],
        "no-backup",
        "profiles/docsense.toml:25:2",
    );
    insta::assert_snapshot!(stderr);
}

#[test]
fn backup_never_restored() {
    // STET 576-580: "Test Restore Monthly", a cron line for a script that
    // was never written; SignX 466 and SpherosegV4 466 restore by hand.
    let stderr = lint_case(
        "stet",
        STET,
        &[(
            "\n[backup.restore_test]\nschedule = \"*-*-01 05:00:00\"\nverify_query = \"SELECT 1 FROM pg_tables WHERE schemaname = 'public' LIMIT 1\"\n",
            "",
        )],
        "backup-never-restored",
        "profiles/stet.toml:60:2",
    );
    insta::assert_snapshot!(stderr);
}

// ---- reachability ----

#[test]
fn static_root_unreadable() {
    // DocSense 374: `root /home/docsense/app/client/dist`.
    let stderr = lint_case(
        "docsense",
        DOCSENSE,
        &[(
            "root = \"/srv/docsense/client/dist\"",
            "root = \"/home/docsense/app/client/dist\"",
        )],
        "static-root-unreadable",
        "profiles/docsense.toml:48:8",
    );
    insta::assert_snapshot!(stderr);
}

#[test]
fn certificate_copy() {
    // SpherosegV4 255-256: certificates copied to `./ssl`, renewed in
    // `/etc/letsencrypt`.
    let stderr = lint_case(
        "spheroseg",
        SPHEROSEG,
        &[
            (
                "certificate = \"/etc/letsencrypt/live/spheroseg.example.com/fullchain.pem\"",
                "certificate = \"/opt/spheroseg/ssl/fullchain.pem\"",
            ),
            (
                "certificate_key = \"/etc/letsencrypt/live/spheroseg.example.com/privkey.pem\"",
                "certificate_key = \"/opt/spheroseg/ssl/privkey.pem\"",
            ),
        ],
        "certificate-copy",
        "profiles/spheroseg.toml:35:15",
    );
    insta::assert_snapshot!(stderr);
}

#[test]
fn no_healthcheck() {
    // SignX 741-756: three replicas behind `upstream least_conn`, no
    // container healthcheck.
    let stderr = lint_case(
        "signx",
        SIGNX,
        &[("healthcheck = { http = \"/health\" }\n", "")],
        "no-healthcheck",
        "profiles/signx.toml:12:11",
    );
    insta::assert_snapshot!(stderr);
}

// ---- the `[lints]` table ----

#[test]
fn allowing_a_lint_gen_does_not_know_is_an_error() {
    let stderr = refused(
        "stet",
        &format!("{STET}\n[lints]\nallow = {{ \"public-metric\" = \"scraped over the VPN\" }}\n"),
    );
    assert!(
        stderr.contains("`lints.allow.public-metric`: gen has no lint `public-metric`"),
        "{stderr}"
    );
    insta::assert_snapshot!(stderr);
}

#[test]
fn a_lint_is_allowed_by_its_name_not_its_code() {
    let stderr = refused(
        "stet",
        &format!("{STET}\n[lints]\nallow = {{ \"gen::lint::hsts-off\" = \"behind a TLS-terminating proxy that adds it\" }}\n"),
    );
    assert!(
        stderr.contains("name the lint without its prefix: `\"hsts-off\"`"),
        "{stderr}"
    );
}

#[test]
fn an_allowance_without_a_reason_is_an_error() {
    let stderr = refused(
        "stet",
        &format!("{STET}\n[lints]\nallow = {{ \"hsts-off\" = \" \" }}\n"),
    );
    assert!(
        stderr.contains("`lints.allow.hsts-off`: an allowance needs the reason"),
        "{stderr}"
    );
    insta::assert_snapshot!(stderr);
}

#[test]
fn a_base_profile_s_allowances_apply_to_the_profiles_that_extend_it() {
    let base = with(
        STET,
        &[("certificate_key = \"/etc/letsencrypt/live/api.stet.example.com/privkey.pem\"\n",
           "certificate_key = \"/etc/letsencrypt/live/api.stet.example.com/privkey.pem\"\nhsts = false\n")],
    );
    let base = format!("{base}\n[lints]\nallow = {{ \"hsts-off\" = \"a TLS-terminating proxy in front adds the header\" }}\n");
    let project = Project::new().profile("_base", &base).profile(
        "stet",
        "extends = \"_base.toml\"\n\n[services.api]\nenvironment = { STET_ENV = \"staging\" }\n",
    );
    let run = project.gen(&["build", "--deny-warnings"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(codes(&run.stderr), Vec::<&str>::new(), "{}", run.stderr);
}

// ---- output ----

#[test]
fn json_output_carries_the_lints() {
    let mistaken = with(STET, &[(
        "certificate_key = \"/etc/letsencrypt/live/api.stet.example.com/privkey.pem\"\n",
        "certificate_key = \"/etc/letsencrypt/live/api.stet.example.com/privkey.pem\"\nhsts = false\n",
    )]);
    let (project, built) = build("stet", &mistaken, &["--format", "json"]);
    assert_eq!(built.code, 0, "{}", built.stderr);
    assert_eq!(
        codes(&built.stderr),
        Vec::<&str>::new(),
        "JSON mode prints no report"
    );
    let json: serde_json::Value = serde_json::from_str(&built.stdout).expect("JSON");
    insta::assert_json_snapshot!(json["lints"]);
    assert_eq!(json["lints"][0]["code"], "gen::lint::hsts-off");
    assert_eq!(json["lints"][0]["file"], "profiles/stet.toml");
    assert_eq!(json["lints"][0]["line"], 50);
    assert_eq!(json["files"].as_u64().map(|n| n > 0), Some(true));

    let checked = project.gen(&["build", "--check", "--format", "json"]);
    assert_eq!(checked.code, 0, "{}", checked.stderr);
    let json: serde_json::Value = serde_json::from_str(&checked.stdout).expect("JSON");
    assert_eq!(json["up_to_date"], true);
    assert_eq!(json["lints"][0]["name"], "hsts-off");

    let (_, denied) = build("stet", &mistaken, &["--format", "json", "--deny-warnings"]);
    assert_eq!(denied.code, 2, "{}", denied.stderr);
    let json: serde_json::Value = serde_json::from_str(&denied.stdout).expect("JSON");
    assert_eq!(json["written"], false);
    assert_eq!(json["lints"][0]["key"], "sites.api.hsts");
}

#[test]
fn build_check_reports_lints_and_deny_warnings_fails_it() {
    let mistaken = with(STET, &[(
        "certificate_key = \"/etc/letsencrypt/live/api.stet.example.com/privkey.pem\"\n",
        "certificate_key = \"/etc/letsencrypt/live/api.stet.example.com/privkey.pem\"\nhsts = false\n",
    )]);
    let (project, built) = build("stet", &mistaken, &[]);
    assert_eq!(built.code, 0, "{}", built.stderr);
    assert!(
        built.stderr.ends_with("into ./generated; 1 warning\n"),
        "{}",
        built.stderr
    );
    let checked = project.gen(&["build", "--check"]);
    assert_eq!(checked.code, 0, "{}", checked.stderr);
    assert_eq!(codes(&checked.stderr), ["hsts-off"]);
    let denied = project.gen(&["build", "--check", "--deny-warnings"]);
    assert_eq!(denied.code, 2, "{}", denied.stderr);
}

// ---- the bundled profiles and the documentation ----

#[test]
fn bundled_and_fixture_profiles_build_without_warnings() {
    let out = tempfile::tempdir().expect("tmp");
    let bundled = run(gen_command()
        .arg("-C")
        .arg(repo())
        .args(["build", "--deny-warnings", "--out"])
        .arg(out.path().join("bundled")));
    assert_eq!(bundled.code, 0, "{}", bundled.stderr);
    for fixture in super::support::FIXTURES {
        let built = run(gen_command()
            .arg("-C")
            .arg(repo().join("tests/fixtures").join(fixture))
            .args(["build", "--deny-warnings", "--out"])
            .arg(out.path().join(fixture)));
        assert_eq!(built.code, 0, "{fixture}: {}", built.stderr);
    }
}

#[test]
fn committed_lint_reference_is_current() {
    let out = run(gen_command().args(["lints", "--format", "markdown"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let committed = std::fs::read_to_string(repo().join("docs/lints.md")).expect("docs/lints.md");
    assert!(
        out.stdout == committed,
        "docs/lints.md is stale: run `gen lints --format markdown > docs/lints.md`"
    );
}

#[test]
fn every_lint_has_a_test_here_and_a_section_in_the_reference() {
    let out = run(gen_command().args(["lints", "--format", "json"]));
    let json: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
    let names: Vec<String> = json["lints"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|l| l["name"].as_str().expect("a name").to_string())
        .collect();
    assert!(names.len() >= 19);
    let this_file = include_str!("lints.rs");
    let reference = std::fs::read_to_string(repo().join("docs/lints.md")).expect("docs/lints.md");
    for name in names {
        assert!(
            this_file.contains(&format!("\"{name}\",\n")),
            "no `lint_case` draws `{name}`"
        );
        assert!(
            reference.contains(&format!("### {name}\n")),
            "docs/lints.md has no section for `{name}`"
        );
    }
}

#[test]
fn gen_lints_explains_one_lint() {
    let out = run(gen_command().args(["lints", "gen::lint::public-metrics"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.starts_with("gen::lint::public-metrics (warn)\n"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("Fixed:"), "{}", out.stdout);
    let unknown = run(gen_command().args(["lints", "public-metric"]));
    assert_eq!(unknown.code, 2);
    assert!(
        unknown.stderr.contains("gen has no lint `public-metric`"),
        "{}",
        unknown.stderr
    );
}

#[test]
fn evicting_sessions() {
    // SpherosegV4 27 and 402: Redis "for session management and caching",
    // then `CONFIG SET maxmemory-policy allkeys-lru`.
    let stderr = lint_case(
        "spheroseg",
        SPHEROSEG,
        &[(
            "maxmemory = \"1GiB\"\n",
            "maxmemory = \"1GiB\"\nholds = [\"sessions\", \"cache\"]\nmaxmemory_policy = \"allkeys-lru\"\n",
        )],
        "evicting-sessions",
        "profiles/spheroseg.toml:32:20",
    );
    insta::assert_snapshot!(stderr);
}
