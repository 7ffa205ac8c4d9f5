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

/// Every file and folder below `dir` with its mode, and symlinks flagged.
fn modes(dir: &std::path::Path) -> Vec<(String, u32)> {
    use std::os::unix::fs::PermissionsExt as _;
    walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_map(Result::ok)
        .map(|e| {
            let metadata = e.path().symlink_metadata().expect("metadata");
            let kind = if metadata.file_type().is_symlink() {
                0o120000
            } else {
                0
            };
            (
                e.path().display().to_string(),
                kind | (metadata.permissions().mode() & 0o7777),
            )
        })
        .collect()
}

#[test]
fn parallel_builds_and_rebuilds_equal_the_single_threaded_build() {
    let single = tempfile::tempdir().expect("tmp");
    let parallel = tempfile::tempdir().expect("tmp");
    copy_project(single.path());
    copy_project(parallel.path());
    let build = |dir: &std::path::Path, threads: &str| {
        let out = run(gen_command()
            .current_dir(dir)
            .env("GEN_THREADS", threads)
            .arg("build"));
        assert_eq!(out.code, 0, "{}", out.stderr);
    };
    build(single.path(), "1");
    build(parallel.path(), "7");
    let reference = tree(&single.path().join("generated"));
    assert_eq!(tree(&parallel.path().join("generated")), reference);

    // A rebuild over a tree with a hand-edited file of the same size, a
    // changed mode, a symbolic link and an extra file: reused files must be
    // exactly the unchanged ones, and the result the reference tree again.
    let generated = parallel.path().join("generated");
    let conf = generated.join("pilot/pilot1/root/etc/redis/redis.conf");
    let mut bytes = std::fs::read(&conf).expect("redis.conf");
    bytes[0] ^= 0x01;
    std::fs::write(&conf, &bytes).expect("edit");
    let manifest = generated.join("pilot/pilot1/manifest.json");
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&manifest, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
    let cron = generated.join("production/db1/root/etc/cron.d/atlas");
    let copy = parallel.path().join("cron-copy");
    std::fs::rename(&cron, &copy).expect("move");
    std::os::unix::fs::symlink(&copy, &cron).expect("symlink");
    std::fs::write(generated.join("production/extra.txt"), "x\n").expect("extra");
    build(parallel.path(), "3");
    assert_eq!(tree(&generated), reference);
    let strip = |dir: &std::path::Path| -> Vec<(String, u32)> {
        modes(dir)
            .into_iter()
            .map(|(p, m)| (p.replacen(&dir.display().to_string(), "", 1), m))
            .collect()
    };
    assert_eq!(
        strip(&generated),
        strip(&single.path().join("generated")),
        "same files, folders and modes, no symbolic links"
    );
    let check = run(gen_command()
        .current_dir(parallel.path())
        .args(["build", "--check"]));
    assert_eq!(check.code, 0, "{}{}", check.stdout, check.stderr);
}
