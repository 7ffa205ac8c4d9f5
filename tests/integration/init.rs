//! `gen init`: from an empty directory to a project that builds without a
//! lint and passes every real validator, and never over someone's files.

use super::support::{gen_command, repo, run};

#[test]
fn init_writes_a_project_that_builds_and_passes_check_strict() {
    let dir = tempfile::tempdir().expect("tmp");
    let init = run(gen_command().current_dir(dir.path()).arg("init"));
    assert_eq!(init.code, 0, "{}", init.stderr);
    for file in [
        "profiles/pilot.toml",
        ".gitignore",
        ".github/workflows/gen.yml",
        ".github/workflows/gen-comment.yml",
    ] {
        assert!(dir.path().join(file).is_file(), "{file} written");
    }
    // The workflows are the documented examples, as they are.
    assert_eq!(
        std::fs::read_to_string(dir.path().join(".github/workflows/gen.yml")).expect("read"),
        std::fs::read_to_string(repo().join("docs/examples/github-actions.yml")).expect("read"),
    );
    let profile = std::fs::read_to_string(dir.path().join("profiles/pilot.toml")).expect("read");
    assert!(
        profile.lines().filter(|l| l.starts_with('#')).count() >= 20,
        "the profile explains its keys"
    );
    let build = run(gen_command()
        .current_dir(dir.path())
        .args(["build", "--deny-warnings"]));
    assert_eq!(build.code, 0, "{}", build.stderr);
    assert!(!build.stderr.contains("warning"), "{}", build.stderr);
    let check = run(gen_command()
        .current_dir(dir.path())
        .args(["check", "--strict"]));
    assert_eq!(check.code, 0, "{}\n{}", check.stdout, check.stderr);
    assert!(
        check.stderr.contains(" passed, 0 failed, 0 skipped"),
        "{}",
        check.stderr
    );
}

#[test]
fn init_refuses_to_overwrite_and_names_what_exists() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::create_dir_all(dir.path().join("profiles")).expect("mkdir");
    std::fs::write(dir.path().join("profiles/pilot.toml"), "mine").expect("write");
    std::fs::write(dir.path().join(".gitignore"), "mine too").expect("write");
    let init = run(gen_command().arg("-C").arg(dir.path()).arg("init"));
    assert_eq!(init.code, 2, "{}", init.stdout);
    assert!(
        init.stderr
            .contains("would overwrite `profiles/pilot.toml`, `.gitignore`"),
        "{}",
        init.stderr
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("profiles/pilot.toml")).expect("read"),
        "mine"
    );
    assert!(
        !dir.path().join(".github").exists(),
        "nothing is written when anything would be overwritten"
    );
}
