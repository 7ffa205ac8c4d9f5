//! Hostile values in every profile field that reaches a generated file or a
//! path. Each one is either refused with an error that names the key, or
//! rendered inert: every generated file parses and keeps the shape (nginx
//! directives, postgresql.conf settings, pg_hba rules, cron jobs, systemd
//! keys, YAML keys) it has with a benign value.

use std::collections::BTreeMap;

use gen_compile::compile::{self, CompiledProfile};
use gen_compile::render::Renderer;

use super::shapes;
use super::support::{hostile_values, rendered, toml_string, Project, VALID};

/// `VALID` plus a native service, a static location, a backup and the
/// optional keys, so every field that reaches a file is present.
fn full_profile() -> String {
    let mut text = VALID
        .replace(
            "[project]\nname = \"shop\"\n",
            "[project]\nname = \"shop\"\nadmin_email = \"ops@example.com\"\n",
        )
        .replace(
            "limits = { memory = \"1GiB\" }\n",
            "limits = { memory = \"1GiB\" }\ncommand = [\"serve\", \"--level\", \"info\"]\nuser = \"1000:1000\"\nmetrics_path = \"/metrics\"\ntmpfs = [\"/tmp\"]\nenvironment = { LOG_LEVEL = \"info\" }\nsecrets = { api_key = \"/etc/shop/secrets/api_key\" }\n",
        )
        .replace(
            "users = [\"shop\"]\n",
            "users = [\"shop\"]\nreplication_user = \"replicator\"\nreplication_passfile = \"/var/lib/postgresql/.pgpass\"\nextensions = [\"pg_stat_statements\"]\ntls_certificate = \"/etc/ssl/pg.pem\"\ntls_key = \"/etc/ssl/pg.key\"\noverrides = { application_name = \"shop\" }\n",
        )
        .replace(
            "pool_mode = \"transaction\"\n",
            "pool_mode = \"transaction\"\nauth_file = \"/etc/pgbouncer/userlist.txt\"\n",
        )
        .replace(
            "queues = true\n",
            "queues = true\npassword_file = \"/etc/redis/password.conf\"\n",
        )
        .replace(
            "certificate_key = \"/etc/ssl/shop.key\"\n",
            "certificate_key = \"/etc/ssl/shop.key\"\nhealth_path = \"/health\"\n",
        );
    text.push_str(
        r#"
[[sites.main.locations]]
path = "/static/"
root = "/srv/static"

[services.jobs]
runtime = "native"
command = ["/opt/jobs/bin/run", "--queue", "default"]
user = "jobs"
working_directory = "/opt/jobs"
environment = { QUEUE = "default" }
secrets = { jobs_token = "/etc/shop/secrets/jobs_token" }

[backup]
schedule = "*-*-* 03:00:00"
retention_days = 7
destination = "/var/backups/shop"

[maintenance]
vacuum_schedule = "0 2 * * *"
certificate_renewal_schedule = "17 3 * * *"
health_check_schedule = "*/5 * * * *"

[monitoring]
alertmanagers = ["10.1.0.10:9093"]
"#,
    );
    text
}

/// One field: the text in `full_profile()` that holds its benign value, the
/// same text with `@` where the hostile value goes (as a TOML string), and the
/// key an error must name.
struct Field {
    key: &'static str,
    benign: &'static str,
    template: &'static str,
}

const fn field(key: &'static str, benign: &'static str, template: &'static str) -> Field {
    Field {
        key,
        benign,
        template,
    }
}

const FIELDS: &[Field] = &[
    field("project.name", "name = \"shop\"", "name = @"),
    field(
        "project.admin_email",
        "admin_email = \"ops@example.com\"",
        "admin_email = @",
    ),
    field("hosts.", "[hosts.web1]", "[hosts.@]"),
    field("services.", "[services.jobs]", "[services.@]"),
    field(
        "services.api.image",
        "image = \"ghcr.io/shop/api:1.0.0\"",
        "image = @",
    ),
    field("services.api.command[1]", "\"--level\"", "@"),
    field("services.api.user", "user = \"1000:1000\"", "user = @"),
    field(
        "services.api.metrics_path",
        "metrics_path = \"/metrics\"",
        "metrics_path = @",
    ),
    field("services.api.tmpfs[0]", "tmpfs = [\"/tmp\"]", "tmpfs = [@]"),
    field(
        "services.api.environment",
        "{ LOG_LEVEL = \"info\" }",
        "{ @ = \"info\" }",
    ),
    field(
        "services.api.environment.LOG_LEVEL",
        "{ LOG_LEVEL = \"info\" }",
        "{ LOG_LEVEL = @ }",
    ),
    field(
        "services.api.secrets",
        "{ api_key = \"/etc/shop/secrets/api_key\" }",
        "{ @ = \"/etc/shop/secrets/api_key\" }",
    ),
    field(
        "services.api.secrets.api_key",
        "{ api_key = \"/etc/shop/secrets/api_key\" }",
        "{ api_key = @ }",
    ),
    field(
        "services.api.healthcheck.http",
        "healthcheck = { http = \"/health\" }",
        "healthcheck = { http = @ }",
    ),
    field("services.jobs.command[0]", "\"/opt/jobs/bin/run\"", "@"),
    field(
        "services.jobs.command[2]",
        "\"--queue\", \"default\"]",
        "\"--queue\", @]",
    ),
    field("services.jobs.user", "user = \"jobs\"", "user = @"),
    field(
        "services.jobs.working_directory",
        "working_directory = \"/opt/jobs\"",
        "working_directory = @",
    ),
    field(
        "services.jobs.environment.QUEUE",
        "{ QUEUE = \"default\" }",
        "{ QUEUE = @ }",
    ),
    field(
        "services.jobs.secrets.jobs_token",
        "{ jobs_token = \"/etc/shop/secrets/jobs_token\" }",
        "{ jobs_token = @ }",
    ),
    field("postgres.database", "database = \"shop\"", "database = @"),
    field("postgres.users[0]", "users = [\"shop\"]", "users = [@]"),
    field(
        "postgres.replication_user",
        "replication_user = \"replicator\"",
        "replication_user = @",
    ),
    field(
        "postgres.replication_passfile",
        "replication_passfile = \"/var/lib/postgresql/.pgpass\"",
        "replication_passfile = @",
    ),
    field(
        "postgres.extensions[0]",
        "extensions = [\"pg_stat_statements\"]",
        "extensions = [@]",
    ),
    field(
        "postgres.tls_certificate",
        "tls_certificate = \"/etc/ssl/pg.pem\"",
        "tls_certificate = @",
    ),
    field(
        "postgres.overrides",
        "{ application_name = \"shop\" }",
        "{ @ = \"shop\" }",
    ),
    field(
        "postgres.overrides.application_name",
        "{ application_name = \"shop\" }",
        "{ application_name = @ }",
    ),
    field(
        "pgbouncer.auth_file",
        "auth_file = \"/etc/pgbouncer/userlist.txt\"",
        "auth_file = @",
    ),
    field(
        "redis.password_file",
        "password_file = \"/etc/redis/password.conf\"",
        "password_file = @",
    ),
    field("sites.", "[sites.main]", "[sites.@]"),
    field(
        "sites.main.server_names[0]",
        "server_names = [\"shop.example.com\"]",
        "server_names = [@]",
    ),
    field(
        "sites.main.certificate",
        "certificate = \"/etc/ssl/shop.pem\"",
        "certificate = @",
    ),
    field(
        "sites.main.certificate_key",
        "certificate_key = \"/etc/ssl/shop.key\"",
        "certificate_key = @",
    ),
    field(
        "sites.main.health_path",
        "health_path = \"/health\"",
        "health_path = @",
    ),
    field("sites.main.locations[0].path", "path = \"/\"", "path = @"),
    field(
        "sites.main.locations[1].root",
        "root = \"/srv/static\"",
        "root = @",
    ),
    field(
        "backup.schedule",
        "schedule = \"*-*-* 03:00:00\"",
        "schedule = @",
    ),
    field(
        "backup.destination",
        "destination = \"/var/backups/shop\"",
        "destination = @",
    ),
    field(
        "maintenance.vacuum_schedule",
        "vacuum_schedule = \"0 2 * * *\"",
        "vacuum_schedule = @",
    ),
    field(
        "maintenance.health_check_schedule",
        "health_check_schedule = \"*/5 * * * *\"",
        "health_check_schedule = @",
    ),
    field(
        "monitoring.alertmanagers[0]",
        "alertmanagers = [\"10.1.0.10:9093\"]",
        "alertmanagers = [@]",
    ),
];

/// `profile` with `field`'s benign text replaced by its template holding `value`.
fn with_hostile(profile: &str, field: &Field, value: &str) -> String {
    assert!(
        profile.contains(field.benign),
        "profile has no {:?}",
        field.benign
    );
    let replaced = field.template.replace('@', &toml_string(value));
    // A table header names every sub-table too (`[[sites.main.locations]]`).
    if let Some(header) = field.benign.strip_suffix(']') {
        if field.benign.starts_with('[') {
            let new_header = replaced.strip_suffix(']').expect("a header template");
            return profile
                .replace(&format!("{header}]"), &format!("{new_header}]"))
                .replace(&format!("{header}."), &format!("{new_header}."));
        }
    }
    profile.replacen(field.benign, &replaced, 1)
}

fn shapes_of(compiled: &CompiledProfile) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for host in &compiled.hosts {
        for artifact in &host.artifacts {
            let text = String::from_utf8(artifact.content.clone()).expect("UTF-8 output");
            let shape = shapes::shape(&artifact.spec.path, &text)
                .unwrap_or_else(|e| panic!("{}: {e}\n{text}", artifact.spec.path));
            out.insert(format!("{}:{}", host.host, artifact.spec.path), shape);
        }
    }
    out
}

#[test]
fn the_full_profile_builds() {
    let compiled = compile::compile_text("shop", &full_profile(), &Renderer::new())
        .unwrap_or_else(|e| panic!("{}", rendered(&e)));
    assert!(shapes_of(&compiled).len() > 10);
}

#[test]
fn hostile_values_are_refused_with_their_key_or_rendered_inert() {
    let renderer = Renderer::new();
    let profile = full_profile();
    let benign = compile::compile_text("shop", &profile, &renderer)
        .unwrap_or_else(|e| panic!("{}", rendered(&e)));
    let benign_shapes = shapes_of(&benign);
    let mut inert = Vec::new();
    for field in FIELDS {
        for (what, value) in hostile_values() {
            let text = with_hostile(&profile, field, &value);
            match compile::compile_text("shop", &text, &renderer) {
                Err(err) => {
                    let shown = rendered(&err);
                    assert!(
                        shown.contains(field.key) || shown.contains("not valid TOML"),
                        "{what} in `{}`: the error does not name the key:\n{shown}",
                        field.key
                    );
                    if value.chars().any(char::is_control) && value.len() > 1 {
                        assert!(
                            !shown.contains(value.as_str()),
                            "{what} in `{}`: the error prints the raw value",
                            field.key
                        );
                    }
                }
                Ok(compiled) => {
                    let shapes = shapes_of(&compiled);
                    assert_eq!(
                        shapes.keys().collect::<Vec<_>>(),
                        benign_shapes.keys().collect::<Vec<_>>(),
                        "{what} in `{}` changed the set of files",
                        field.key
                    );
                    for (path, shape) in &shapes {
                        assert_eq!(
                            shape, &benign_shapes[path],
                            "{what} in `{}` changed the shape of {path}",
                            field.key
                        );
                    }
                    inert.push(format!("{} <- {what}", field.key));
                }
            }
        }
    }
    // Free text is the only place a hostile value may land; everything else
    // is held to a strict shape. Pin the list so a loosened check shows up.
    insta::assert_snapshot!(inert.join("\n"));
}

/// Through the real binary: a refused value exits 2 and names its key.
#[test]
fn a_refused_value_exits_2_and_names_its_key() {
    let profile = full_profile();
    for key in [
        "services.api.image",
        "postgres.users[0]",
        "maintenance.vacuum_schedule",
    ] {
        let field = FIELDS
            .iter()
            .find(|f| f.key == key)
            .expect("a listed field");
        let text = with_hostile(&profile, field, "* * * * * root rm -rf /\n");
        let project = Project::new().profile("shop", &text);
        for format in ["human", "json"] {
            let run = project.gen(&["--format", format, "build"]);
            assert_eq!(run.code, 2, "{}", run.stderr);
            assert!(run.stderr.contains(field.key), "{}", run.stderr);
            assert!(!run.stderr.contains("rm -rf /\n"), "{}", run.stderr);
        }
    }
}
