//! `gen fmt`: the committed profiles are formatted (CI fails naming the file
//! that is not), and formatting keeps comments and never changes what a
//! profile builds.

use super::support::{gen_command, repo, run, Project, VALID};

/// Every profile gen's repository holds: bundled, bases, fixtures, and the
/// one `gen init` writes.
fn committed_profiles() -> Vec<String> {
    let mut files = Vec::new();
    let mut dirs = vec![repo().join("profiles")];
    dirs.extend(
        super::support::FIXTURES
            .iter()
            .map(|f| repo().join("tests/fixtures").join(f).join("profiles")),
    );
    dirs.push(repo().join("src/commands/init"));
    for dir in dirs {
        for entry in std::fs::read_dir(&dir).expect("dir") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "toml") {
                files.push(path.to_string_lossy().into_owned());
            }
        }
    }
    files.sort();
    files
}

#[test]
fn every_committed_profile_is_formatted() {
    let files = committed_profiles();
    assert!(files.len() >= 10, "{files:?}");
    let out = run(gen_command().arg("fmt").arg("--check").args(&files));
    assert_eq!(
        out.code, 0,
        "run `gen fmt` on these:\n{}{}",
        out.stdout, out.stderr
    );
    // And with no file named, `gen fmt --check` checks the project's profiles.
    let out = run(gen_command().arg("-C").arg(repo()).args(["fmt", "--check"]));
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
}

/// `VALID` as someone might type it: odd spacing, runs of blank lines,
/// trailing comments.
fn untidy() -> String {
    VALID
        .replacen(
            "name = \"shop\"",
            "name   =    \"shop\"    # the short name",
            1,
        )
        .replacen("[network]", "\n\n\n# where peers live\n[network]", 1)
        .replacen(
            "internal = [\"10.1.0.0/16\"]",
            "internal = [ \"10.1.0.0/16\" ,]",
            1,
        )
}

#[test]
fn check_names_the_unformatted_file_and_changes_nothing() {
    let project = Project::new().profile("shop", &untidy());
    let file = project.path().join("profiles/shop.toml");
    let out = project.gen(&["fmt", "--check"]);
    assert_eq!(out.code, 1, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("not formatted: ./profiles/shop.toml"),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr
            .contains("1 of 1 profile(s) not formatted; run `gen fmt`"),
        "{}",
        out.stderr
    );
    assert_eq!(std::fs::read_to_string(&file).expect("read"), untidy());
}

#[test]
fn fmt_keeps_comments_and_what_the_profile_builds() {
    let project = Project::new().profile("shop", &untidy());
    let file = project.path().join("profiles/shop.toml");
    let build = project.gen(&["build", "--out", "before"]);
    assert_eq!(build.code, 0, "{}", build.stderr);
    let out = project.gen(&["fmt"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("formatted ./profiles/shop.toml"),
        "{}",
        out.stdout
    );
    let formatted = std::fs::read_to_string(&file).expect("read");
    assert_ne!(formatted, untidy());
    assert!(
        formatted.contains("name = \"shop\" # the short name\n"),
        "{formatted}"
    );
    assert!(
        formatted.contains("\n# where peers live\n[network]\n"),
        "{formatted}"
    );
    assert!(!formatted.contains("\n\n\n"), "{formatted}");
    assert!(
        formatted.contains("internal = [\"10.1.0.0/16\"]\n"),
        "{formatted}"
    );
    // Formatted once, it stays as it is.
    assert_eq!(project.gen(&["fmt", "--check"]).code, 0);
    // The same tree, file for file: formatting changed no value.
    let build = project.gen(&["build", "--out", "after"]);
    assert_eq!(build.code, 0, "{}", build.stderr);
    let before = super::support::tree(&project.path().join("before/shop"));
    let after = super::support::tree(&project.path().join("after/shop"));
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>()
    );
    for (path, content) in &before {
        if path.ends_with("manifest.json") {
            continue; // its input hash is the profile's bytes
        }
        assert!(after[path] == *content, "{path} changed");
    }
}

#[test]
fn fmt_refuses_a_profile_that_is_not_toml_and_leaves_it_alone() {
    let broken = VALID.replacen("[network]", "[network", 1);
    let project = Project::new().profile("shop", &broken);
    let out = project.gen(&["fmt"]);
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("is not valid TOML"), "{}", out.stderr);
    assert!(out.stderr.contains("shop.toml"), "{}", out.stderr);
    assert_eq!(
        std::fs::read_to_string(project.path().join("profiles/shop.toml")).expect("read"),
        broken
    );
}
