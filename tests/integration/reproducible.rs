//! Same inputs, byte-identical output: in another directory, as another
//! working directory, under another umask, time zone, locale and environment.

use super::support::{gen_command, repo, run, tree};

fn copy_project(to: &std::path::Path) {
    std::fs::create_dir_all(to.join("profiles")).expect("mkdir");
    for entry in std::fs::read_dir(repo().join("profiles")).expect("profiles") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), to.join("profiles").join(entry.file_name())).expect("copy");
    }
}

#[test]
fn two_builds_in_different_environments_are_byte_identical() {
    let a = tempfile::tempdir().expect("tmp");
    let b = tempfile::tempdir().expect("tmp");
    let b_project = b.path().join("nested/elsewhere");
    copy_project(a.path());
    copy_project(&b_project);

    let first = run(gen_command()
        .current_dir(a.path())
        .env("TZ", "UTC")
        .env("LANG", "C")
        .arg("build"));
    assert_eq!(first.code, 0, "{}", first.stderr);

    let second = run(std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "umask 077; cd / && exec '{}' -C '{}' build",
            super::support::gen_binary().display(),
            b_project.display()
        ))
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("TZ", "Pacific/Kiritimati")
        .env("LANG", "tr_TR.UTF-8")
        .env("LC_ALL", "tr_TR.UTF-8")
        .env("HOME", "/nonexistent")
        .env("USER", "someone-else"));
    assert_eq!(second.code, 0, "{}", second.stderr);

    let first_tree = tree(&a.path().join("generated"));
    let second_tree = tree(&b_project.join("generated"));
    assert!(!first_tree.is_empty());
    assert_eq!(
        first_tree.keys().collect::<Vec<_>>(),
        second_tree.keys().collect::<Vec<_>>()
    );
    for (path, content) in &first_tree {
        assert!(
            content == &second_tree[path],
            "{path} differs between the two builds"
        );
    }
    // And both equal the committed golden tree.
    assert_eq!(first_tree, tree(&repo().join("generated")));
}

#[test]
fn generated_files_carry_no_timestamps_or_machine_names() {
    let hostname = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
    let hostname = hostname.trim();
    for (path, content) in tree(&repo().join("generated")) {
        let text = String::from_utf8_lossy(&content);
        assert!(
            hostname.len() < 4 || !text.contains(hostname),
            "{path} mentions this machine's name"
        );
        assert!(
            !text.contains("2026-") && !text.contains("2025-"),
            "{path} contains a date"
        );
        assert!(
            text.ends_with('\n') && !text.ends_with("\n\n"),
            "{path} must end with exactly one newline"
        );
    }
}
