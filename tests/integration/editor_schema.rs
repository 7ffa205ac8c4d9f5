//! The editor schema as an editor meets it: each profile's `#:schema` line
//! leads to a schema that accepts it, and a mistake is reported by name
//! (check-jsonschema, the same Python `jsonschema` rules taplo follows),
//! never as "not valid under any of the given schemas".

use std::path::{Path, PathBuf};

use super::support::{repo, run, valid_with, FIXTURES, VALID};

/// check-jsonschema on `files` against `schema`: (passed, what it printed).
fn check_jsonschema(schema: &Path, files: &[PathBuf]) -> (bool, String) {
    let out = run(std::process::Command::new("check-jsonschema")
        .arg("--schemafile")
        .arg(schema)
        .args(files));
    (out.code == 0, format!("{}{}", out.stdout, out.stderr))
}

/// `text` as a profile file named `name`, checked against the committed
/// profile schema.
fn check_text(name: &str, text: &str) -> (bool, String) {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join(name);
    std::fs::write(&file, text).expect("write");
    check_jsonschema(&repo().join("docs/profile.schema.json"), &[file])
}

fn every_profile() -> Vec<PathBuf> {
    let mut dirs = vec![repo().join("profiles")];
    dirs.extend(
        FIXTURES
            .iter()
            .map(|f| repo().join("tests/fixtures").join(f).join("profiles")),
    );
    let mut files: Vec<PathBuf> = dirs
        .iter()
        .flat_map(|dir| std::fs::read_dir(dir).expect("profiles"))
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_profile_satisfies_the_schema_its_directive_names() {
    let files = every_profile();
    assert!(files.len() >= 9, "{files:?}");
    let mut by_schema: std::collections::BTreeMap<PathBuf, Vec<PathBuf>> = Default::default();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read");
        let first = text.lines().next().unwrap_or_default();
        let target = first
            .strip_prefix("#:schema ")
            .unwrap_or_else(|| panic!("{} lacks a `#:schema` line", file.display()));
        let schema = file.parent().expect("dir").join(target);
        let schema = schema
            .canonicalize()
            .unwrap_or_else(|_| panic!("{}: `{target}` does not exist", file.display()));
        // A base is never built alone and may leave anything to the profiles
        // that extend it; every other file is checked as a profile.
        let base = file
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('_'));
        let expected = if base {
            "docs/profile-base.schema.json"
        } else {
            "docs/profile.schema.json"
        };
        assert_eq!(
            schema,
            repo().join(expected).canonicalize().expect("schema"),
            "{}",
            file.display()
        );
        by_schema.entry(schema).or_default().push(file);
    }
    for (schema, files) in by_schema {
        let (ok, out) = check_jsonschema(&schema, &files);
        assert!(ok, "{}: {out}", schema.display());
    }
}

#[test]
fn a_misspelt_key_in_an_optional_table_is_named() {
    for (table, from, to, key) in [
        (
            "pgbouncer",
            "pool_mode = \"transaction\"",
            "pool_mod = \"transaction\"",
            "pool_mod",
        ),
        ("redis", "queues = true", "queue = true", "queue"),
        (
            "postgres",
            "workload = \"web\"",
            "workload = \"web\"\nmax_conections = 10",
            "max_conections",
        ),
    ] {
        let (ok, out) = check_text("shop.toml", &valid_with(from, to));
        assert!(!ok, "{table}: {out}");
        assert!(
            out.contains(&format!(
                "$.{table}: Additional properties are not allowed ('{key}' was unexpected)"
            )),
            "{table}: {out}"
        );
        assert!(!out.contains("not valid under any"), "{table}: {out}");
        assert!(!out.contains("'null'"), "{table}: {out}");
    }
}

#[test]
fn a_complete_profile_must_set_required_keys_an_extending_one_may_leave_them_to_its_base() {
    let (ok, out) = check_text("shop.toml", VALID);
    assert!(ok, "{out}");
    for (from, to, message) in [
        (
            "name = \"shop\"\n",
            "",
            "$.project: 'name' is a required property",
        ),
        (
            "workload = \"web\"\n",
            "",
            "$.postgres: 'workload' is a required property",
        ),
        (
            "hardware = { cores = 4, memory = \"16GiB\", storage = \"ssd\" }",
            "hardware = { cores = 4, memory = \"16GiB\" }",
            "$.hosts.web1.hardware: 'storage' is a required property",
        ),
        (
            "default_receiver = \"ops\"\n",
            "",
            "$.alerting: 'default_receiver' is a required property",
        ),
    ] {
        let complete = valid_with(from, to);
        let (ok, out) = check_text("shop.toml", &complete);
        assert!(!ok, "missing {from:?} passes");
        assert!(out.contains(message), "{out}");
        // The same file extending a base leaves the key to the base.
        let extending = format!("extends = \"_base.toml\"\n{complete}");
        let (ok, out) = check_text("shop.toml", &extending);
        assert!(ok, "extending profile without {from:?}: {out}");
    }
    // An array replaces the base's array whole, so its elements are complete
    // even in a profile that extends a base.
    let extending = format!(
        "extends = \"_base.toml\"\n{}",
        valid_with("path = \"/\"\n", "")
    );
    let (ok, out) = check_text("shop.toml", &extending);
    assert!(!ok, "a location without `path` passes");
    assert!(
        out.contains("$.sites.main.locations[0]: 'path' is a required property"),
        "{out}"
    );
    // A top-level key no complete profile can do without.
    let (ok, out) = check_text("shop.toml", "[project]\nname = \"shop\"\n");
    assert!(!ok);
    assert!(out.contains("'hosts' is a required property"), "{out}");
}

#[test]
fn bases_are_checked_against_the_base_schema() {
    let base = repo().join("profiles/_base.toml");
    let (ok, out) = check_jsonschema(
        &repo().join("docs/profile-base.schema.json"),
        std::slice::from_ref(&base),
    );
    assert!(ok, "{out}");
    // The same file as a profile of its own is incomplete: it has no hosts.
    let (ok, out) = check_jsonschema(&repo().join("docs/profile.schema.json"), &[base]);
    assert!(!ok);
    assert!(out.contains("'hosts' is a required property"), "{out}");
    // The base schema still refuses unknown keys and wrong types.
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("_base.toml");
    std::fs::write(&file, "[redis]\nqueues = \"yes\"\nport = 6379\nprt = 1\n").expect("write");
    let (ok, out) = check_jsonschema(&repo().join("docs/profile-base.schema.json"), &[file]);
    assert!(!ok);
    assert!(out.contains("'prt' was unexpected"), "{out}");
    assert!(out.contains("'yes' is not of type 'boolean'"), "{out}");
}

#[test]
fn addresses_are_ipv4_or_ipv6_and_networks_cidr() {
    for (from, to, message) in [
        (
            "address = \"10.1.0.10\"",
            "address = \"10.1.0.300\"",
            "$.hosts.web1.address: '10.1.0.300' is not a 'ipv4'",
        ),
        (
            "address = \"10.1.0.10\"",
            "address = \"fd00::1::2\"",
            "$.hosts.web1.address: 'fd00::1::2' is not a 'ipv6'",
        ),
        (
            "internal = [\"10.1.0.0/16\"]",
            "internal = [\"10.1.0.0/33\"]",
            "$.network.internal[0]: '10.1.0.0/33' does not match",
        ),
        (
            "internal = [\"10.1.0.0/16\"]",
            "internal = [\"10.1.0/16\"]",
            "$.network.internal[0]: '10.1.0/16' does not match",
        ),
        (
            "internal = [\"10.1.0.0/16\"]",
            "internal = [\"fd00::/129\"]",
            "$.network.internal[0]: 'fd00::/129' does not match",
        ),
    ] {
        let (ok, out) = check_text("shop.toml", &valid_with(from, to));
        assert!(!ok, "{to} passes");
        assert!(out.contains(message), "{out}");
    }
    for (from, to) in [
        ("address = \"10.1.0.10\"", "address = \"fd00::10\""),
        (
            "internal = [\"10.1.0.0/16\"]",
            "internal = [\"10.1.0.0/16\", \"fd00::/8\", \"192.168.1.7\", \"0.0.0.0/0\"]",
        ),
    ] {
        let (ok, out) = check_text("shop.toml", &valid_with(from, to));
        assert!(ok, "{to}: {out}");
    }
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("docs/profile.schema.json")).expect("read"),
    )
    .expect("JSON");
    assert_eq!(
        schema["$defs"]["Host"]["properties"]["address"]["else"]["format"],
        "ipv4"
    );
}

/// taplo (Even Better TOML) validates with the `jsonschema` crate as draft 7,
/// the draft it falls back to for a 2020-12 `$schema`, with formats checked:
/// the same mistakes are caught there, where keywords beside `$ref` count
/// for nothing.
#[test]
fn an_editor_validating_as_draft_7_catches_the_same_mistakes() {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("docs/profile.schema.json")).expect("read"),
    )
    .expect("JSON");
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft7)
        .should_validate_formats(true)
        .build(&schema)
        .expect("schema compiles as draft 7");
    let as_json = |text: &str| {
        let table: toml::Table = toml::from_str(text).expect("TOML");
        serde_json::to_value(table).expect("JSON")
    };
    assert!(validator.is_valid(&as_json(VALID)));
    let extending = format!(
        "extends = \"_base.toml\"\n{}",
        valid_with("name = \"shop\"\n", "")
    );
    assert!(validator.is_valid(&as_json(&extending)));
    for broken in [
        valid_with("pool_mode = \"transaction\"", "pool_mod = \"transaction\""),
        valid_with("name = \"shop\"\n", ""),
        valid_with("address = \"10.1.0.10\"", "address = \"10.1.0.300\""),
        valid_with(
            "internal = [\"10.1.0.0/16\"]",
            "internal = [\"10.1.0.0/33\"]",
        ),
        format!(
            "extends = \"_base.toml\"\n{}",
            valid_with("path = \"/\"\n", "")
        ),
    ] {
        assert!(!validator.is_valid(&as_json(&broken)), "{broken}");
    }
}

/// A project `gen init` writes carries its own copy of the schemas, where its
/// profile's `#:schema` line points, so an editor works offline from the start.
#[test]
fn an_initialised_project_points_its_editor_at_a_schema_it_holds() {
    let dir = tempfile::tempdir().expect("tmp");
    let init = run(super::support::gen_command()
        .current_dir(dir.path())
        .arg("init"));
    assert_eq!(init.code, 0, "{}", init.stderr);
    let profile = dir.path().join("profiles/pilot.toml");
    let text = std::fs::read_to_string(&profile).expect("read");
    let target = text
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("#:schema "))
        .expect("a `#:schema` line first");
    let schema = profile.parent().expect("dir").join(target);
    for name in ["profile.schema.json", "profile-base.schema.json"] {
        assert_eq!(
            std::fs::read_to_string(dir.path().join("docs").join(name)).expect("copied"),
            std::fs::read_to_string(repo().join("docs").join(name)).expect("committed"),
            "{name}"
        );
    }
    let (ok, out) = check_jsonschema(&schema, std::slice::from_ref(&profile));
    assert!(ok, "{out}");
    // Its editor formats as `gen fmt` does, and the profile is formatted.
    assert!(dir.path().join(".taplo.toml").is_file());
    let fmt = run(super::support::gen_command()
        .current_dir(dir.path())
        .args(["fmt", "--check"]));
    assert_eq!(fmt.code, 0, "{}{}", fmt.stdout, fmt.stderr);
    // And it is the profile schema, which catches a misspelt key.
    std::fs::write(
        &profile,
        text.replacen("[project]", "[project]\nnmae = \"x\"", 1),
    )
    .expect("write");
    let (ok, out) = check_jsonschema(&schema, &[profile]);
    assert!(!ok);
    assert!(out.contains("'nmae' was unexpected"), "{out}");
}
