//! Every class of bad input gives a located diagnostic (file, line, column,
//! key, help), exit 2, and writes nothing.

use super::support::{build_fails, valid_with, Project, VALID};

#[test]
fn the_valid_profile_builds() {
    let project = Project::new().profile("shop", VALID);
    let run = project.gen(&["build"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(project
        .path()
        .join("generated/shop/web1/manifest.json")
        .is_file());
}

#[test]
fn syntax_error() {
    let stderr = build_fails(&valid_with("port = 8000", "port = = 8000"));
    assert!(stderr.contains("profiles/shop.toml:"), "{stderr}");
    insta::assert_snapshot!(stderr);
}

#[test]
fn unknown_key() {
    let stderr = build_fails(&valid_with("port = 8000", "prot = 8000"));
    assert!(stderr.contains("unknown field `prot`"), "{stderr}");
    assert!(stderr.contains("profiles/shop.toml:15:1"), "{stderr}");
    insta::assert_snapshot!(stderr);
}

#[test]
fn wrong_type() {
    let stderr = build_fails(&valid_with("cores = 4", "cores = \"four\""));
    assert!(stderr.contains("`hosts.web1.hardware.cores`"), "{stderr}");
    insta::assert_snapshot!(stderr);
}

#[test]
fn malformed_size() {
    let stderr = build_fails(&valid_with("memory = \"16GiB\"", "memory = \"16 gigs\""));
    assert!(stderr.contains("expected a size like"), "{stderr}");
    insta::assert_snapshot!(stderr);
}

#[test]
fn out_of_range_value() {
    let stderr = build_fails(&valid_with("version = 15", "version = 9"));
    assert!(stderr.contains("`postgres.version`"), "{stderr}");
    insta::assert_snapshot!(stderr);
}

#[test]
fn missing_key() {
    let stderr = build_fails(&valid_with("workload = \"web\"\n", ""));
    assert!(stderr.contains("missing field `workload`"), "{stderr}");
    insta::assert_snapshot!(stderr);
}

#[test]
fn location_proxies_to_a_service_that_does_not_exist() {
    let stderr = build_fails(&valid_with(
        "path = \"/\"\nservice = \"api\"",
        "path = \"/\"\nservice = \"apu\"",
    ));
    assert!(stderr.contains("there is no service `apu`"), "{stderr}");
    insta::assert_snapshot!(stderr);
}

#[test]
fn location_port_must_match_the_service() {
    let stderr = build_fails(&format!("{VALID}port = 9000\n"));
    assert!(stderr.contains("listens on 8000, not 9000"), "{stderr}");
    insta::assert_snapshot!(stderr);
}

#[test]
fn two_things_on_one_host_bind_the_same_port() {
    let stderr = build_fails(&valid_with("port = 8000", "port = 9100"));
    assert!(
        stderr.contains(
            "port 9100 on host `web1` is claimed by both node exporter and service `api`"
        ),
        "{stderr}"
    );
    insta::assert_snapshot!(stderr);
}

#[test]
fn replica_without_primary() {
    let profile = valid_with("\"database_primary\", ", "\"database_replica\", ");
    let stderr = build_fails(&profile);
    assert!(
        stderr.contains("exactly one host with role `database_primary`, found 0"),
        "{stderr}"
    );
    insta::assert_snapshot!(stderr);
}

#[test]
fn synchronous_replication_needs_replicas() {
    let stderr = build_fails(&valid_with(
        "users = [\"shop\"]",
        "users = [\"shop\"]\nsynchronous_replicas = 1",
    ));
    assert!(
        stderr.contains("only 0 hosts have role `database_replica`"),
        "{stderr}"
    );
    insta::assert_snapshot!(stderr);
}

#[test]
fn memory_limits_exceed_the_host() {
    let stderr = build_fails(&valid_with(
        "limits = { memory = \"1GiB\" }",
        "limits = { memory = \"17GiB\" }",
    ));
    assert!(
        stderr.contains("memory limits on host `web1` add up to 17GiB, more than its 16GiB"),
        "{stderr}"
    );
    insta::assert_snapshot!(stderr);
}

#[test]
fn pgbouncer_pools_must_fit_max_connections() {
    let stderr = build_fails(&valid_with(
        "pool_mode = \"transaction\"",
        "pool_mode = \"transaction\"\ndefault_pool_size = 500",
    ));
    assert!(
        stderr.contains("PgBouncer may open 625 server connections"),
        "{stderr}"
    );
    insta::assert_snapshot!(stderr);
}

#[test]
fn max_connections_too_small_for_any_pool() {
    let stderr = build_fails(&valid_with(
        "users = [\"shop\"]",
        "users = [\"shop\"]\nmax_connections = 10",
    ));
    assert!(
        stderr.contains("leaves no server connections for PgBouncer"),
        "{stderr}"
    );
    insta::assert_snapshot!(stderr);
}

#[test]
fn secret_references_must_be_absolute_paths() {
    let stderr = build_fails(&valid_with(
        "port = 8000",
        "port = 8000\nsecrets = { db = \"secrets/db\" }",
    ));
    assert!(
        stderr.contains(
            "`services.api.secrets.db` is not a safe absolute path (the value is not shown"
        ),
        "{stderr}"
    );
    insta::assert_snapshot!(stderr);
}

#[test]
fn secret_values_are_refused_in_the_environment() {
    let stderr = build_fails(&valid_with(
        "port = 8000",
        "port = 8000\nenvironment = { DB_PASSWORD = \"hunter2\" }",
    ));
    assert!(stderr.contains("looks like a credential"), "{stderr}");
    assert!(
        !stderr.contains("hunter2"),
        "the secret value must not be echoed: {stderr}"
    );
    assert!(stderr.contains("at profiles/shop.toml:16:17"), "{stderr}");
    insta::assert_snapshot!(stderr);
}

#[test]
fn database_user_must_be_a_declared_role() {
    let stderr = build_fails(&valid_with(
        "database = { user = \"shop\" }",
        "database = { user = \"admin\" }",
    ));
    assert!(
        stderr.contains("`admin` is not one of `postgres.users`"),
        "{stderr}"
    );
    insta::assert_snapshot!(stderr);
}

#[test]
fn queue_redis_never_evicts() {
    let stderr = build_fails(&valid_with(
        "queues = true",
        "queues = true\nmaxmemory_policy = \"allkeys-lru\"",
    ));
    assert!(
        stderr.contains("evicts keys, but this Redis carries job queues"),
        "{stderr}"
    );
    insta::assert_snapshot!(stderr);
}

#[test]
fn metrics_location_needs_an_allow_list() {
    let stderr = build_fails(&format!(
        "{VALID}\n[[sites.main.locations]]\npath = \"/metrics\"\nservice = \"api\"\n"
    ));
    assert!(
        stderr.contains("a metrics location is open to the internet"),
        "{stderr}"
    );
    insta::assert_snapshot!(stderr);
}

#[test]
fn latest_tag_is_refused() {
    let stderr = build_fails(&valid_with("api:1.0.0", "api:latest"));
    assert!(stderr.contains("uses the `latest` tag"), "{stderr}");
    insta::assert_snapshot!(stderr);
}

#[test]
fn values_cannot_smuggle_syntax_into_files() {
    for (from, to, key) in [
        (
            "server_names = [\"shop.example.com\"]",
            "server_names = [\"shop.example.com; return 200\"]",
            "sites.main.server_names[0]",
        ),
        (
            "certificate = \"/etc/ssl/shop.pem\"",
            "certificate = \"/etc/ssl/shop.pem;\\ninclude /etc/passwd\"",
            "sites.main.certificate",
        ),
        (
            "certificate_key = \"/etc/ssl/shop.key\"",
            "certificate_key = \"/etc/ssl/../../root/.ssh/id_rsa\"",
            "sites.main.certificate_key",
        ),
        (
            "database = \"shop\"",
            "database = \"shop'\"",
            "postgres.database",
        ),
        (
            "path = \"/\"",
            "path = \"/ { }\"",
            "sites.main.locations[0].path",
        ),
        (
            "port = 8000",
            "port = 8000\nenvironment = { A = \"x\\ny: 1\" }",
            "services.api.environment.A",
        ),
        ("name = \"shop\"", "name = \"shop\\u0000\"", "project.name"),
    ] {
        let stderr = build_fails(&valid_with(from, to));
        assert!(stderr.contains(&format!("`{key}`")), "{key}: {stderr}");
    }
}

#[test]
fn extends_cycle_is_an_error() {
    let project = Project::new()
        .profile("_a", "extends = \"_b.toml\"\n")
        .profile("_b", "extends = \"_a.toml\"\n")
        .profile("shop", "extends = \"_a.toml\"\n");
    let run = project.gen(&["build"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("extends itself"), "{}", run.stderr);
}

#[test]
fn a_failed_build_leaves_the_previous_tree_untouched() {
    let project = Project::new().profile("shop", VALID);
    assert_eq!(project.gen(&["build"]).code, 0);
    let before = super::support::tree(&project.path().join("generated"));
    std::fs::write(
        project.path().join("profiles/shop.toml"),
        valid_with("cores = 4", "cores = 0"),
    )
    .expect("write");
    assert_eq!(project.gen(&["build"]).code, 2);
    assert_eq!(
        super::support::tree(&project.path().join("generated")),
        before
    );
}

#[test]
fn errors_in_a_base_point_at_the_base_file() {
    let project = Project::new()
        .profile("_base", &valid_with("cores = 4", "cores = 4000"))
        .profile("shop", "extends = \"_base.toml\"\n");
    let run = project.gen(&["build"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("profiles/_base.toml:10"),
        "{}",
        run.stderr
    );
}

#[test]
fn one_secret_name_means_one_file_per_host() {
    let profile = format!(
        "{}\n[services.worker]\nruntime = \"container\"\nimage = \"ghcr.io/shop/api:1.0.0\"\nsecrets = {{ db = \"/etc/shop/other\" }}\n",
        valid_with("port = 8000", "port = 8000\nsecrets = { db = \"/etc/shop/db\" }")
    );
    let stderr = build_fails(&profile);
    assert!(
        stderr.contains("secret `db` for `/etc/shop/db`"),
        "{stderr}"
    );
}

#[test]
fn backup_schedule_is_a_calendar_systemd_accepts() {
    let stderr = build_fails(&format!(
        "{VALID}\n[backup]\nschedule = \"*-*-* 25:00:00\"\nretention_days = 7\ndestination = \"/var/backups/shop\"\n"
    ));
    assert!(stderr.contains("the hour `25` is"), "{stderr}");
}

#[test]
fn extends_must_name_an_existing_base_file() {
    for (extends, expected) in [
        (
            "extends = \"_missing.toml\"\n",
            "base profile `profiles/_missing.toml` does not exist",
        ),
        (
            "extends = \"../outside.toml\"\n",
            "must name a profile file in the same directory",
        ),
        ("extends = 3\n", "`extends` must be a file name"),
    ] {
        let stderr = build_fails(&format!("{extends}{VALID}"));
        assert!(stderr.contains(expected), "{extends}: {stderr}");
        assert!(
            stderr.contains("profiles/shop.toml:1"),
            "{extends}: {stderr}"
        );
    }
}

#[test]
fn an_unknown_profile_is_a_usage_error_listing_the_known_ones() {
    let project = Project::new().profile("shop", VALID);
    let run = project.gen(&["build", "--profile", "shoop"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("no profile `shoop`; known: `shop`"),
        "{}",
        run.stderr
    );
    let run = project.gen(&["build", "--profile", "../etc/passwd"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("is not a profile name"),
        "{}",
        run.stderr
    );
}

#[test]
fn image_outside_the_reference_grammar() {
    for (image, says) in [
        (
            "ghcr.io/Shop/api:1.0.0",
            "upper-case letters in its repository path",
        ),
        ("ghcr.io/shop/api:-bad", "malformed tag"),
    ] {
        let stderr = build_fails(&valid_with("ghcr.io/shop/api:1.0.0", image));
        assert!(stderr.contains("`services.api.image`"), "{stderr}");
        assert!(stderr.contains(says), "{image}: {stderr}");
        assert!(stderr.contains("profiles/shop.toml:"), "{stderr}");
    }
}
