//! Editor schema, explain, graph, completions and man page: the pieces that
//! make gen fit editors, reviews and shells.

use super::support::{gen_command, repo, run, valid_with, VALID};

fn schema() -> serde_json::Value {
    let out = run(gen_command().args(["schema"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    serde_json::from_str(&out.stdout).expect("schema is JSON")
}

fn validator() -> jsonschema::Validator {
    jsonschema::validator_for(&schema()).expect("schema compiles")
}

/// The schema of a base (`_base.toml`), which may leave anything to the
/// profiles that extend it.
fn base_validator() -> jsonschema::Validator {
    let out = run(gen_command().args(["schema", "--base"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let schema: serde_json::Value = serde_json::from_str(&out.stdout).expect("schema is JSON");
    jsonschema::validator_for(&schema).expect("schema compiles")
}

fn toml_as_json(text: &str) -> serde_json::Value {
    let table: toml::Table = toml::from_str(text).expect("valid TOML");
    serde_json::to_value(table).expect("JSON")
}

#[test]
fn committed_schema_and_reference_are_current() {
    let out = run(gen_command().args(["schema"]));
    let committed = std::fs::read_to_string(repo().join("docs/profile.schema.json"))
        .expect("docs/profile.schema.json");
    assert!(
        out.stdout == committed,
        "docs/profile.schema.json is stale: run `gen schema > docs/profile.schema.json`"
    );
    let out = run(gen_command().args(["schema", "--base"]));
    let committed = std::fs::read_to_string(repo().join("docs/profile-base.schema.json"))
        .expect("docs/profile-base.schema.json");
    assert!(
        out.stdout == committed,
        "docs/profile-base.schema.json is stale: run `gen schema --base > docs/profile-base.schema.json`"
    );
    let out = run(gen_command().args(["schema", "--markdown"]));
    let committed =
        std::fs::read_to_string(repo().join("docs/profile.md")).expect("docs/profile.md");
    assert!(
        out.stdout == committed,
        "docs/profile.md is stale: run `gen schema --markdown > docs/profile.md`"
    );
}

#[test]
fn every_bundled_and_fixture_profile_satisfies_the_schema() {
    // The Rust `jsonschema` crate, which taplo validates with; the test in
    // editor_schema.rs runs check-jsonschema over the same files.
    let validator = validator();
    let base_validator = base_validator();
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(repo().join("profiles"))
        .expect("profiles")
        .map(|e| e.expect("entry").path())
        .collect();
    for fixture in super::support::FIXTURES {
        files.extend(
            std::fs::read_dir(repo().join("tests/fixtures").join(fixture).join("profiles"))
                .expect("fixture")
                .map(|e| e.expect("entry").path()),
        );
    }
    assert!(files.len() >= 7);
    for file in files {
        let text = std::fs::read_to_string(&file).expect("readable");
        let base = file
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('_'));
        let errors: Vec<String> = if base { &base_validator } else { &validator }
            .iter_errors(&toml_as_json(&text))
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", file.display());
    }
}

#[test]
fn bundled_profiles_point_editors_at_the_schema() {
    for entry in std::fs::read_dir(repo().join("profiles")).expect("profiles") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("readable");
        let base = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('_'));
        let directive = if base {
            "#:schema ../docs/profile-base.schema.json\n"
        } else {
            "#:schema ../docs/profile.schema.json\n"
        };
        assert!(
            text.starts_with(directive),
            "{} lacks the schema directive",
            path.display()
        );
    }
}

#[test]
fn schema_rejects_what_gen_build_rejects() {
    let validator = validator();
    assert!(validator.is_valid(&toml_as_json(VALID)));
    for (from, to) in [
        ("port = 8000", "prot = 8000"),
        ("cores = 4", "cores = \"four\""),
        ("storage = \"ssd\"", "storage = \"floppy\""),
        ("memory = \"16GiB\"", "memory = \"16 gigs\""),
        ("[redis]", "[redis]\nmaxmemory_policy = \"sometimes\""),
    ] {
        let broken = valid_with(from, to);
        assert!(
            !validator.is_valid(&toml_as_json(&broken)),
            "schema accepts {to:?}"
        );
        let project = super::support::Project::new().profile("shop", &broken);
        assert_eq!(project.gen(&["build"]).code, 2, "gen build accepts {to:?}");
    }
}

#[test]
fn explain_shows_template_keys_and_formulas() {
    let out = run(gen_command().arg("-C").arg(repo()).args([
        "explain",
        "/etc/postgresql/15/main/postgresql.conf",
        "--profile",
        "production",
        "--host",
        "db1",
    ]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .contains("template    templates/postgres/postgresql.conf.j2"),
        "{}",
        out.stdout
    );
    assert!(out
        .stdout
        .contains("profile     profiles/production.toml extends profiles/_base.toml"));
    assert!(
        out.stdout.contains("hosts.db1.hardware.memory"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("(profiles/production.toml:"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("shared_buffers = 4GB  <- PGTune: memory / 4 (memory 16 GiB / 4 (web))"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("work_mem = 20560kB"), "{}", out.stdout);

    let json = run(gen_command().arg("-C").arg(repo()).args([
        "explain",
        "/etc/pgbouncer/pgbouncer.ini",
        "--profile",
        "production",
        "--host",
        "pool1",
        "--format",
        "json",
    ]));
    assert_eq!(json.code, 0, "{}", json.stderr);
    let value: serde_json::Value = serde_json::from_str(&json.stdout).expect("json");
    assert_eq!(value["template"], "pgbouncer/pgbouncer.ini.j2");
    assert!(value["derived"]
        .as_array()
        .expect("array")
        .iter()
        .any(|d| d["name"] == "default_pool_size"));

    let missing = run(gen_command().arg("-C").arg(repo()).args([
        "explain",
        "/etc/nope",
        "--profile",
        "production",
        "--host",
        "db1",
    ]));
    assert_eq!(missing.code, 2);
    assert!(
        missing
            .stderr
            .contains("gen writes no `/etc/nope` on host `db1`"),
        "{}",
        missing.stderr
    );
}

#[test]
fn graph_draws_the_request_path() {
    let out = run(gen_command()
        .arg("-C")
        .arg(repo())
        .args(["graph", "--profile", "production"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    for edge in [
        "lb1__nginx -->|\"/, /metrics\"| api1__svc_api",
        "api1__svc_api -->|\"atlas_app on atlas, atlas_readonly\"| pool1__pgbouncer",
        "pool1__pgbouncer -->|\"atlas\"| db1__postgres",
        "pool1__pgbouncer -->|\"atlas_readonly\"| db2__postgres",
        "db1__postgres -->|\"streaming\"| db2__postgres",
        "mon1__prometheus -.->|\"scrape\"| db1",
    ] {
        assert!(out.stdout.contains(edge), "missing {edge}:\n{}", out.stdout);
    }
    let dot =
        run(gen_command()
            .arg("-C")
            .arg(repo())
            .args(["graph", "--profile", "ha", "--as", "dot"]));
    assert_eq!(dot.code, 0);
    assert!(
        dot.stdout.contains("label=\"streaming (sync)\""),
        "{}",
        dot.stdout
    );
    if std::process::Command::new("dot").arg("-V").output().is_ok() {
        let svg = run(gen_command().arg("-C").arg(repo()).args([
            "graph",
            "--profile",
            "ha",
            "--as",
            "svg",
        ]));
        assert_eq!(svg.code, 0, "{}", svg.stderr);
        assert!(svg.stdout.contains("<svg"), "not SVG");
    } else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI installs Graphviz; `dot` is missing"
        );
    }
}

/// The `ha` profile's thirteen hosts: one scrape edge per scraped host from
/// the box around both monitoring hosts, not one per component and monitor.
#[test]
fn graph_of_the_ha_profile_draws_each_scrape_once_per_host() {
    let out = run(gen_command()
        .arg("-C")
        .arg(repo())
        .args(["graph", "--profile", "ha"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let scrapes: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.contains("\"scrape\""))
        .collect();
    let targets: Vec<&str> = scrapes
        .iter()
        .map(|l| {
            assert!(
                l.trim_start().starts_with("group__monitoring -.->"),
                "a scrape not from the monitoring group: {l}"
            );
            l.rsplit(' ').next().unwrap_or_default()
        })
        .collect();
    let mut expected = vec![
        "api1", "api2", "api3", "db1", "db2", "db3", "lb1", "lb2", "pool1", "pool2", "work1",
        "work2",
    ];
    let mut sorted = targets.clone();
    sorted.sort_unstable();
    expected.sort_unstable();
    assert_eq!(sorted, expected, "one scrape per non-monitoring host");
    assert!(
        out.stdout.contains("subgraph group__monitoring["),
        "{}",
        out.stdout
    );
    let edges = out
        .stdout
        .lines()
        .filter(|l| l.contains("-->") || l.contains("-.->"))
        .count();
    assert!(edges <= 42, "{edges} edges:\n{}", out.stdout);
    // dot ends host edges at the cluster border.
    let dot =
        run(gen_command()
            .arg("-C")
            .arg(repo())
            .args(["graph", "--profile", "ha", "--as", "dot"]));
    assert_eq!(dot.code, 0, "{}", dot.stderr);
    assert!(dot.stdout.contains("compound=true"), "{}", dot.stdout);
    assert!(
        dot.stdout
            .contains("ltail=\"cluster_group__monitoring\", lhead=\"cluster_db1\""),
        "{}",
        dot.stdout
    );
}

#[test]
fn completions_and_man_page_generate() {
    // A registration that asks this gen at each <TAB> (the subcommands and
    // names it then offers: `cli_surface::completion_lists_…`).
    let binary = super::support::gen_binary();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = run(gen_command().args(["completions", shell]));
        assert_eq!(out.code, 0, "{shell}: {}", out.stderr);
        assert!(
            out.stdout.contains("COMPLETE") && out.stdout.contains(&*binary.to_string_lossy()),
            "{shell} registration does not call gen back: {}",
            out.stdout
        );
    }
    let man = run(gen_command().args(["man"]));
    assert_eq!(man.code, 0);
    assert!(
        man.stdout.starts_with(".ie") || man.stdout.contains(".TH gen"),
        "{}",
        &man.stdout[..man.stdout.len().min(200)]
    );
}

#[test]
fn every_command_documents_examples_in_its_help() {
    for command in ["build", "schema", "explain", "graph", "completions", "man"] {
        let out = run(gen_command().args([command, "--help"]));
        assert_eq!(out.code, 0);
        assert!(
            out.stdout.contains("Examples:"),
            "`gen {command} --help` has no examples"
        );
    }
}
