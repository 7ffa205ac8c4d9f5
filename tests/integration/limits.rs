//! The host's limits met half-way through: a filesystem that fills up at
//! any point of an apply, a file size limit (`ulimit -f`), a rollback stopped
//! by an immutable file. Each ends in a clear error with every managed file
//! old or new as a whole, and a state the next command finishes.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use gen_target::manifest::{sha256_hex, FileRecord, Manifest};
use gen_target::{Activation, Validator};

use super::support::crash::{live_command, temp_files};
use super::support::mount::Mount;
use super::support::SMALL;

fn build(dir: &Path, profile: &str) -> PathBuf {
    std::fs::create_dir_all(dir.join("profiles")).unwrap();
    std::fs::write(dir.join("profiles/shop.toml"), profile).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_gen"))
        .arg("-C")
        .arg(dir)
        .arg("build")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    dir.join("generated")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// miette wraps long messages: the text on one line, frame characters gone.
fn flat(text: &str) -> String {
    text.lines()
        .map(|line| line.trim_start().trim_start_matches('|').trim())
        .collect::<Vec<_>>()
        .join(" ")
}

fn apply(generated: &Path, root: &Path) -> Output {
    live_command(&["apply"], Some(generated), root, None)
        .output()
        .unwrap()
}

fn rollback(root: &Path) -> Output {
    live_command(&["rollback"], None, root, None)
        .output()
        .unwrap()
}

/// The managed files under `root` (gen's state left out), with the sha256
/// of their contents.
fn managed(root: &Path) -> BTreeMap<String, String> {
    walkdir::WalkDir::new(root)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file() && !e.path().starts_with(root.join("var")))
        .map(|e| {
            let path = e
                .path()
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (path, sha256_hex(&std::fs::read(e.path()).unwrap()))
        })
        .collect()
}

/// The host before gen: a hand-written site gen replaces.
fn hand_written(root: &Path) {
    std::fs::create_dir_all(root.join("etc/nginx/sites-enabled")).unwrap();
    std::fs::write(
        root.join("etc/nginx/sites-enabled/shop.conf"),
        "# hand-written\n",
    )
    .unwrap();
}

fn last_state(root: &Path) -> serde_json::Value {
    let out = live_command(&["--format", "json", "generations"], None, root, None)
        .output()
        .unwrap();
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    value["generations"]
        .as_array()
        .and_then(|g| g.last())
        .map(|g| g["state"].clone())
        .unwrap_or_default()
}

/// The filesystem filling up at every point of an apply in turn: a tmpfs
/// one page larger each time, from too small for anything to room for all.
/// A failed apply leaves every file old (it used to fill up at the
/// "complete" step with every file written, so the next run rolled the whole
/// apply back); with room again the next apply converges.
#[test]
fn a_filesystem_that_fills_up_at_any_point_leaves_the_old_files_and_the_next_apply_converges() {
    let work = tempfile::tempdir().unwrap();
    let generated = build(&work.path().join("project"), SMALL);
    let clean = work.path().join("clean");
    hand_written(&clean);
    let old = managed(&clean);
    let out = apply(&generated, &clean);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let new = managed(&clean);

    for (full, pages) in (2..=64).enumerate() {
        let root = work.path().join(format!("root-{pages}"));
        let Some(mount) = Mount::tmpfs(&root, &format!("size={}k", pages * 4)) else {
            return;
        };
        hand_written(&root);
        let out = apply(&generated, &root);
        if out.status.success() {
            assert_eq!(managed(&root), new, "{pages} pages");
            assert_eq!(last_state(&root), "complete", "{pages} pages");
            assert!(full > 0, "the smallest filesystem tried was large enough");
            eprintln!("{full} sizes too small, applied with {pages} pages");
            return;
        }
        assert_eq!(
            out.status.code(),
            Some(2),
            "{pages} pages: {}",
            stderr(&out)
        );
        assert!(
            stderr(&out).contains("No space left on device"),
            "{pages} pages: {}",
            stderr(&out)
        );
        assert_eq!(
            managed(&root),
            old,
            "{pages} pages: a failed apply must leave every file as it was"
        );
        assert_eq!(temp_files(&root), Vec::<PathBuf>::new(), "{pages} pages");

        mount.remount("size=4m");
        let again = apply(&generated, &root);
        assert_eq!(
            again.status.code(),
            Some(0),
            "{pages} pages: {}",
            stderr(&again)
        );
        assert_eq!(
            managed(&root),
            new,
            "{pages} pages: the next apply did not converge"
        );
        assert_eq!(last_state(&root), "complete", "{pages} pages");
    }
    panic!("64 pages were not enough for the apply");
}

/// A write past the process's file size limit used to kill gen with SIGXFSZ
/// mid-apply, without a word; now the write fails (EFBIG), gen says so and
/// restores every file.
#[test]
fn a_write_past_the_file_size_limit_is_an_error_not_a_silent_death() {
    let work = tempfile::tempdir().unwrap();
    let generated = work.path().join("generated");
    let host_dir = generated.join("p/h");
    let files = [
        ("/etc/a.conf", "new a\n".to_string()),
        ("/etc/z-big.conf", "x".repeat(64 * 1024)),
    ];
    let records = files
        .iter()
        .map(|(path, content)| {
            let file = host_dir.join("root").join(path.trim_start_matches('/'));
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(&file, content).unwrap();
            FileRecord {
                path: path.to_string(),
                sha256: sha256_hex(content.as_bytes()),
                size: content.len() as u64,
                mode: "0644".into(),
                owner: "root".into(),
                group: "root".into(),
                sensitive: false,
                template: "t.j2".into(),
                source: "profiles/p.toml".into(),
                activation: Activation::None,
                validator: Validator::Shell,
                link: None,
                health_gate: false,
                exposure_budget: None,
            }
        })
        .collect();
    let manifest = Manifest::new("p", "h", "0".repeat(64), records);
    std::fs::write(host_dir.join("manifest.json"), manifest.to_json()).unwrap();
    let root = work.path().join("root");
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::write(root.join("etc/a.conf"), "old a\n").unwrap();
    let before = managed(&root);

    // 16 blocks of 512 bytes: room for the journal, not for the big file.
    // No `trap '' XFSZ`: the signal's default action is in force.
    let script = format!(
        "ulimit -f 16; exec {} apply --yes --skip-validation --no-reload --generated {} --root {} --profile p --host h",
        env!("CARGO_BIN_EXE_gen"),
        generated.display(),
        root.display()
    );
    let out = Command::new("sh")
        .args(["-c", &script])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(
        out.status.signal(),
        None,
        "gen was killed by a signal: {}",
        stderr(&out)
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let text = flat(&stderr(&out));
    assert!(
        text.contains("apply aborted")
            && text.contains("z-big.conf")
            && text.contains("file size limit"),
        "{}",
        stderr(&out)
    );
    assert_eq!(managed(&root), before);
    assert_eq!(temp_files(&root), Vec::<PathBuf>::new());
}

/// A rollback stopped by an immutable file (`chattr +i` on a file the apply
/// replaced) names that file; every later command reports the same file
/// until it is mutable again, and the next rollback then finishes.
#[test]
fn a_rollback_stopped_by_an_immutable_file_names_it_until_the_next_run_finishes() {
    let work = tempfile::tempdir().unwrap();
    let generated = build(&work.path().join("project"), SMALL);
    let root = work.path().join("root");
    hand_written(&root);
    let original = managed(&root);
    let out = apply(&generated, &root);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let site = root.join("etc/nginx/sites-enabled/shop.conf");
    let chattr = |flag: &str| {
        Command::new("chattr")
            .arg(flag)
            .arg(&site)
            .status()
            .is_ok_and(|s| s.success())
    };
    if !chattr("+i") {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI runs as root on a filesystem with chattr"
        );
        eprintln!("skipped: cannot make a file immutable here");
        return;
    }
    let blocked = [rollback(&root), apply(&generated, &root), rollback(&root)];
    assert!(chattr("-i"), "the file must be mutable again");
    for out in &blocked {
        assert_eq!(out.status.code(), Some(2), "{}", stderr(out));
        let text = flat(&stderr(out));
        // miette may wrap inside the path: compared without spaces.
        let blocking = format!("cannot write `{}`", site.display()).replace(' ', "");
        assert!(
            text.contains("rollback of generation 1 stopped after")
                && text.replace(' ', "").contains(&blocking)
                && text.contains("Operation not permitted"),
            "{}",
            stderr(out)
        );
    }
    assert_eq!(last_state(&root), "rolling_back");
    let out = rollback(&root);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("rolled back interrupted generation 1"),
        "{}",
        stderr(&out)
    );
    assert_eq!(managed(&root), original);
}
