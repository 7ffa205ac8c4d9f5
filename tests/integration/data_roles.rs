//! `postgres.roles`, `postgres.databases` and `postgres.extension_packages`:
//! the roles and databases the primary's bootstrap creates. The older keys
//! (`postgres.database`, `users`, `extensions`, `replication_user`) still
//! build, as shorthands for the same model; spelling one thing both ways,
//! and roles or databases that name what is not declared, are located errors.

use super::support::{build_fails, valid_with, Project, VALID};

const OLD_KEYS: &str = "database = \"shop\"\nusers = [\"shop\"]\n";

/// `VALID` with its data tier spelt in the new keys, plus `extra` inside `[postgres]`.
fn with_roles(extra: &str) -> String {
    valid_with(
        OLD_KEYS,
        &format!(
            "{extra}\n[postgres.roles.shop]\npassword_file = \"/etc/shop/secrets/db_password\"\n\n\
             [postgres.databases.shop]\nowner = \"shop\"\nextensions = [\"pg_stat_statements\"]\n"
        ),
    )
}

/// The files of one host, manifest aside (its input hash names the profile text).
fn files(profile: &str) -> std::collections::BTreeMap<String, Vec<u8>> {
    let project = Project::new().profile("shop", profile);
    let run = project.gen(&["build"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    super::support::tree(&project.path().join("generated/shop/web1/root"))
}

#[test]
fn the_old_keys_and_the_new_keys_build_the_same_configuration() {
    let old = files(&valid_with(
        OLD_KEYS,
        "database = \"shop\"\nusers = [\"shop\"]\nextensions = [\"pg_stat_statements\"]\n",
    ));
    let new = files(&with_roles(""));
    let conf = "etc/postgresql/15/main/postgresql.conf";
    for path in [
        conf,
        "etc/postgresql/15/main/pg_hba.conf",
        "etc/pgbouncer/pgbouncer.ini",
    ] {
        assert_eq!(
            String::from_utf8_lossy(&old[path]),
            String::from_utf8_lossy(&new[path]),
            "{path}"
        );
    }
    assert!(String::from_utf8_lossy(&new[conf]).contains("pg_stat_statements"));
}

#[test]
fn one_thing_spelt_both_ways_is_refused_at_the_shorthand() {
    let stderr = build_fails(&with_roles("database = \"shop\""));
    assert!(
        stderr.contains("`postgres.database` and `postgres.databases` both declare databases"),
        "{stderr}"
    );
    assert!(stderr.contains("profiles/shop.toml:"), "{stderr}");
    let stderr = build_fails(&with_roles("users = [\"shop\"]"));
    assert!(
        stderr.contains("`postgres.users` and `postgres.roles` both declare roles"),
        "{stderr}"
    );
}

#[test]
fn an_owner_or_grant_must_name_a_declared_role() {
    let stderr = build_fails(&with_roles("").replace("owner = \"shop\"", "owner = \"nobody\""));
    assert!(
        stderr.contains("`postgres.databases.shop.owner`: role `nobody` is not declared"),
        "{stderr}"
    );
    let stderr = build_fails(&with_roles("").replace(
        "owner = \"shop\"\n",
        "owner = \"shop\"\ngrants = { reporting = \"read\" }\n",
    ));
    assert!(
        stderr.contains(
            "`postgres.databases.shop.grants.reporting`: role `reporting` is not declared"
        ),
        "{stderr}"
    );
    let stderr = build_fails(&with_roles("").replace(
        "[postgres.databases.shop]",
        "member_of = [\"ghost\"]\n\n[postgres.databases.shop]",
    ));
    assert!(
        stderr.contains("`postgres.roles.shop.member_of[0]`: role `ghost` is not declared"),
        "{stderr}"
    );
}

#[test]
fn a_role_named_like_a_predefined_one_is_refused() {
    let stderr = build_fails(&with_roles("").replace(
        "[postgres.databases.shop]",
        "[postgres.roles.pg_app]\n\n[postgres.databases.shop]",
    ));
    assert!(
        stderr.contains("`postgres.roles.pg_app`: role names starting with `pg_` are reserved"),
        "{stderr}"
    );
}

#[test]
fn replicas_stream_as_exactly_one_role() {
    let two = with_roles("").replace(
        "[postgres.databases.shop]",
        "[postgres.roles.rep1]\nreplication = true\n\n[postgres.roles.rep2]\nreplication = true\n\n[postgres.databases.shop]",
    );
    let stderr = build_fails(&two);
    assert!(
        stderr.contains("`postgres.roles.rep2.replication`: `rep1` and `rep2` both replicate"),
        "{stderr}"
    );
    let replica = "[hosts.db2]\naddress = \"10.1.0.11\"\nroles = [\"database_replica\"]\nhardware = { cores = 4, memory = \"16GiB\", storage = \"ssd\" }\n\n[services.api]";
    let stderr = build_fails(&with_roles("").replace("[services.api]", replica));
    assert!(
        stderr.contains("no role in `postgres.roles` has `replication = true`"),
        "{stderr}"
    );
    // The shorthand keeps its default role: the old profile with a replica builds.
    let project = Project::new().profile("shop", &VALID.replace("[services.api]", replica));
    let run = project.gen(&["build"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn an_extension_gen_has_no_package_for_is_refused_unless_the_profile_names_one() {
    let unknown = with_roles("").replace("[\"pg_stat_statements\"]", "[\"pg_hashids\"]");
    let stderr = build_fails(&unknown);
    assert!(
        stderr.contains("`postgres.databases.shop.extensions[0]`: unknown-extension-package"),
        "{stderr}"
    );
    let named = unknown.replace(
        "[postgres.roles.shop]",
        "[postgres.extension_packages]\npg_hashids = \"postgresql-15-pg-hashids\"\n\n[postgres.roles.shop]",
    );
    let project = Project::new().profile("shop", &named);
    let run = project.gen(&["build"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}
