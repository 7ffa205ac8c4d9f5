//! The CLI at its edges: `--format` only where a command writes that format,
//! errors as JSON under `--format json`, one message for an unknown profile
//! from every command, and the project found from any directory inside it.

use super::support::{gen_command, run, Project, SMALL};

#[test]
fn a_format_a_command_does_not_write_is_an_error_naming_the_ones_it_does() {
    let project = Project::new().profile("pilot", SMALL);
    let out = project.gen(&["check", "--format", "markdown"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("`gen check` does not write markdown; `--format` takes: human, json"),
        "{}",
        out.stderr
    );
    let out = project.gen(&["graph", "--profile", "pilot", "--format", "dot"]);
    assert_eq!(out.code, 2, "clap knows no `dot` format: {}", out.stderr);
    let out = project.gen(&["graph", "--profile", "pilot", "--format", "markdown"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("`gen graph` has no `--format`"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty(), "nothing drawn: {}", out.stdout);
    // Asked for JSON, the refusal is JSON too.
    let out = project.gen(&["graph", "--profile", "pilot", "--format", "json"]);
    assert_eq!(out.code, 2);
    let value: serde_json::Value = serde_json::from_str(&out.stderr).expect("JSON");
    assert_eq!(value["error"]["message"], "`gen graph` has no `--format`");
    // Where markdown exists it is taken.
    assert_eq!(project.gen(&["lints", "--format", "markdown"]).code, 0);
}

#[test]
fn with_format_json_an_error_is_a_json_document_with_its_location() {
    let project = Project::new().profile(
        "pilot",
        &SMALL.replacen("[hosts.", "surprise = 1\n\n[hosts.", 1),
    );
    let out = project.gen(&["build", "--format", "json"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    let value: serde_json::Value = serde_json::from_str(&out.stderr).expect("JSON on stderr");
    let error = &value["error"];
    assert!(
        error["code"]
            .as_str()
            .is_some_and(|c| c.starts_with("gen::")),
        "{value}"
    );
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("surprise")),
        "{value}"
    );
    assert_eq!(error["location"]["file"], "profiles/pilot.toml", "{value}");
    assert!(
        error["location"]["line"].as_u64().is_some_and(|l| l >= 1),
        "{value}"
    );
    // An error without a place has a null location.
    let out = project.gen(&[
        "explain",
        "/etc/x",
        "--profile",
        "nope",
        "--host",
        "h",
        "--format",
        "json",
    ]);
    let value: serde_json::Value = serde_json::from_str(&out.stderr).expect("JSON on stderr");
    assert_eq!(value["error"]["code"], "gen::usage");
    assert!(value["error"]["location"].is_null(), "{value}");
}

#[test]
fn every_command_names_an_unknown_profile_and_the_known_ones_alike() {
    let project = Project::new().profile("pilot", SMALL);
    assert_eq!(project.gen(&["build"]).code, 0);
    let generated = project.path().join("generated");
    let generated = generated.to_str().expect("utf-8");
    for args in [
        vec!["build", "--profile", "prod"],
        vec!["explain", "/etc/x", "--profile", "prod", "--host", "h"],
        vec!["graph", "--profile", "prod"],
        vec!["ansible", "--profile", "prod"],
        vec!["check", "--profile", "prod"],
        vec!["diff", "--profile", "prod", "--host", "h"],
        vec!["diff", "--profile", "prod", "--against", generated],
        vec!["plan", "--profile", "prod", "--host", "h"],
        vec!["apply", "--profile", "prod", "--host", "h", "--yes"],
    ] {
        let out = project.gen(&args);
        assert_eq!(out.code, 2, "{args:?}");
        assert!(
            out.stderr.contains("no profile `prod`; known: `pilot`"),
            "{args:?}: {}",
            out.stderr
        );
    }
}

#[test]
fn the_project_is_found_from_any_directory_below_it_and_init_stays_put() {
    let project = Project::new().profile("pilot", SMALL);
    let deep = project.path().join("docs/notes");
    std::fs::create_dir_all(&deep).expect("mkdir");
    let out = run(gen_command().current_dir(&deep).arg("build"));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("into ../../generated"),
        "{}",
        out.stderr
    );
    assert!(project.path().join("generated/pilot").is_dir());
    assert!(!deep.join("generated").exists());
    let out = run(gen_command().current_dir(&deep).args(["build", "--check"]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    // gen init starts a new project where it is asked to, never in a parent.
    let out = run(gen_command().current_dir(&deep).arg("init"));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(deep.join("profiles/pilot.toml").is_file());
}
