//! Profiles are read as regular files inside `profiles/` only: a pull
//! request cannot make `gen build` read, and quote in an error, a file
//! outside the project through a symbolic link.

use std::os::unix::fs::symlink;

use super::support::Project;

const CREDENTIAL: &str = "https://deploy:ghp_0123456789abcdefghijklmnopqrstuvwxyzAB@github.com";

#[test]
fn a_symlinked_base_profile_is_refused_without_reading_it() {
    let outside = tempfile::tempdir().expect("tempdir");
    let target = outside.path().join(".git-credentials");
    std::fs::write(&target, format!("{CREDENTIAL}\n")).expect("write");
    let project = Project::new().profile("shop", "extends = \"_x.toml\"\nproject = \"shop\"\n");
    symlink(&target, project.path().join("profiles/_x.toml")).expect("symlink");

    let run = project.gen(&["build"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("profiles/_x.toml"), "{}", run.stderr);
    assert!(run.stderr.contains("is a symbolic link"), "{}", run.stderr);
    assert!(!run.stderr.contains("ghp_"), "{}", run.stderr);
    assert!(!run.stdout.contains("ghp_"), "{}", run.stdout);
    assert!(!project.path().join("generated").exists());
}

#[test]
fn a_symlinked_profile_is_refused_and_so_is_a_directory_named_like_one() {
    let outside = tempfile::tempdir().expect("tempdir");
    let target = outside.path().join("shadow");
    std::fs::write(&target, "root:$y$j9T$secret-hash:19000:0:99999:7:::\n").expect("write");
    let project = Project::new();
    symlink(&target, project.path().join("profiles/prod.toml")).expect("symlink");
    let run = project.gen(&["build", "--profile", "prod"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("is a symbolic link"), "{}", run.stderr);
    assert!(!run.stderr.contains("secret-hash"), "{}", run.stderr);

    let project = Project::new();
    std::fs::create_dir(project.path().join("profiles/odd.toml")).expect("mkdir");
    let run = project.gen(&["build", "--profile", "odd"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("is not a regular file"),
        "{}",
        run.stderr
    );
}
