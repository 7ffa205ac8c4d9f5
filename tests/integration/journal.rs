//! gen's journal (`<root>/var/lib/gen/generations`) cannot be wedged or
//! fooled: a record missing, unreadable or under another number, a stray
//! directory, a hand-set unfinished state on an old generation, a number at
//! the end of u64. Each is refused with what to do, or reported and ignored;
//! none makes gen delete kept contents or roll back over newer files.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use gen_target::manifest::sha256_hex;

use super::support::crash::live_command;
use super::support::{small_changed, SMALL};

struct Host {
    _work: tempfile::TempDir,
    before: PathBuf,
    after: PathBuf,
    root: PathBuf,
}

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

/// A root holding a hand-written site gen replaces, with `applies` trees
/// applied: 1 is [`SMALL`], 2 then [`small_changed`].
fn host(applies: usize) -> Host {
    let work = tempfile::tempdir().unwrap();
    let before = build(&work.path().join("before"), SMALL);
    let after = build(&work.path().join("after"), &small_changed());
    let root = work.path().join("root");
    std::fs::create_dir_all(root.join("etc/nginx/sites-enabled")).unwrap();
    std::fs::write(
        root.join("etc/nginx/sites-enabled/shop.conf"),
        "# hand-written\n",
    )
    .unwrap();
    let host = Host {
        _work: work,
        before,
        after,
        root,
    };
    for tree in [&host.before, &host.after].into_iter().take(applies) {
        let out = apply(tree, &host.root, &[]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    host
}

fn apply(generated: &Path, root: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["apply"];
    args.extend_from_slice(extra);
    live_command(&args, Some(generated), root, None)
        .output()
        .unwrap()
}

fn gen(root: &Path, args: &[&str]) -> Output {
    live_command(args, None, root, None).output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn journal(root: &Path) -> PathBuf {
    root.join("var/lib/gen/generations")
}

/// Every file under the root, gen's state included, with its content's sha256.
fn files(root: &Path) -> BTreeMap<PathBuf, String> {
    walkdir::WalkDir::new(root)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file() && e.file_name() != "lock")
        .map(|e| {
            let content = std::fs::read(e.path()).unwrap();
            (e.path().to_path_buf(), sha256_hex(&content))
        })
        .collect()
}

/// The managed files only (gen's state left out).
fn managed(root: &Path) -> BTreeMap<PathBuf, String> {
    let state = root.join("var");
    files(root)
        .into_iter()
        .filter(|(path, _)| !path.starts_with(&state))
        .collect()
}

#[track_caller]
fn assert_refused(out: &Output, says: &[&str]) {
    assert_eq!(out.status.code(), Some(2), "{}", stderr(out));
    // miette wraps long messages and prefixes the continuation lines.
    let text = stderr(out)
        .lines()
        .map(|line| line.trim_start().trim_start_matches('|').trim())
        .collect::<Vec<_>>()
        .join(" ");
    for part in says {
        assert!(text.contains(part), "missing {part:?} in: {}", stderr(out));
    }
}

/// `gen generations --verify`: exit 2 naming every part given.
#[track_caller]
fn assert_verify_reports(root: &Path, says: &[&str]) {
    let out = gen(root, &["generations", "--verify"]);
    assert_refused(&out, says);
    let json = gen(root, &["--format", "json", "generations", "--verify"]);
    assert_eq!(json.status.code(), Some(2), "{}", stderr(&json));
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(value["healthy"], false, "{value}");
}

fn set_state(root: &Path, number: u64, state: &str) {
    let record = journal(root)
        .join(number.to_string())
        .join("generation.json");
    let mut value: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&record).unwrap()).unwrap();
    value["state"] = state.into();
    std::fs::write(&record, serde_json::to_vec_pretty(&value).unwrap()).unwrap();
}

#[test]
fn a_healthy_journal_verifies() {
    let host = host(2);
    let out = gen(&host.root, &["generations", "--verify"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("is healthy: 2 generation(s)"),
        "{}",
        stderr(&out)
    );
}

/// A generation whose `generation.json` is gone: rollback used to take it
/// for an apply that died while starting and delete it, kept contents and
/// all. Now apply and rollback refuse, and nothing in the journal is removed.
#[test]
fn a_missing_record_is_refused_and_its_kept_contents_stay() {
    let host = host(1);
    let dir = journal(&host.root).join("1");
    std::fs::remove_file(dir.join("generation.json")).unwrap();
    let before = files(&host.root);

    let out = gen(&host.root, &["rollback"]);
    assert_refused(
        &out,
        &[
            "generations/1/generation.json",
            "is missing",
            "kept contents stay",
        ],
    );
    assert_eq!(
        files(&host.root),
        before,
        "the rollback deleted or changed something"
    );

    // An apply that would prune everything older is refused too.
    let out = apply(&host.after, &host.root, &["--keep", "1"]);
    assert_refused(&out, &["generations/1/generation.json", "is missing"]);
    assert_eq!(
        files(&host.root),
        before,
        "the apply deleted or changed something"
    );
    assert!(dir.join("contents").is_file());
    assert_verify_reports(&host.root, &["generations/1/generation.json"]);
}

/// A generation whose kept contents are gone: rollback used to mark it
/// `rolling_back` before finding out, and every later apply then failed.
/// Now the rollback refuses before changing anything, and applies go on.
#[test]
fn missing_kept_contents_stop_a_rollback_without_wedging_the_journal() {
    let host = host(1);
    std::fs::remove_file(journal(&host.root).join("1/contents")).unwrap();
    let before = files(&host.root);
    let out = gen(&host.root, &["rollback"]);
    assert_refused(&out, &["contents", "missing"]);
    assert_eq!(
        files(&host.root),
        before,
        "a rollback that cannot finish must not start"
    );
    assert_verify_reports(
        &host.root,
        &["generations/1/contents", "restore it from a backup"],
    );

    let out = apply(&host.after, &host.root, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = gen(&host.root, &["rollback"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

/// Stray directories (`002`, `+2`: copies of generation 2 an operator kept,
/// `x`) used to be read as generation 2 again, so rollback could never walk
/// past it. They are reported and ignored, and never deleted.
#[test]
fn stray_names_in_the_journal_are_reported_ignored_and_kept() {
    let host = host(0);
    let original = managed(&host.root);
    let out = apply(&host.before, &host.root, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let first = managed(&host.root);
    let out = apply(&host.after, &host.root, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let generations = journal(&host.root);
    for stray in ["002", "+2"] {
        let status = Command::new("cp")
            .arg("-a")
            .arg(generations.join("2"))
            .arg(generations.join(stray))
            .status()
            .unwrap();
        assert!(status.success());
    }
    std::fs::create_dir(generations.join("x")).unwrap();

    let out = gen(&host.root, &["rollback"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("generations/+2`: not a generation"),
        "{}",
        stderr(&out)
    );
    assert_eq!(managed(&host.root), first);
    let out = gen(&host.root, &["rollback"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        managed(&host.root),
        original,
        "rollback did not walk back past generation 2"
    );

    let out = apply(&host.after, &host.root, &["--keep", "1"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("as generation 3"), "{}", stderr(&out));
    for stray in ["002", "+2", "x"] {
        assert!(generations.join(stray).is_dir(), "`{stray}` was removed");
    }
    assert_verify_reports(
        &host.root,
        &["generations/002", "generations/+2", "generations/x"],
    );
}

/// A record under another generation's number is refused, not read twice.
#[test]
fn a_record_under_another_number_is_refused() {
    let host = host(1);
    let generations = journal(&host.root);
    let status = Command::new("cp")
        .arg("-a")
        .arg(generations.join("1"))
        .arg(generations.join("5"))
        .status()
        .unwrap();
    assert!(status.success());
    let before = files(&host.root);
    let out = gen(&host.root, &["rollback"]);
    assert_refused(
        &out,
        &["generations/5/generation.json", "records generation 1"],
    );
    assert_eq!(files(&host.root), before);
    assert_verify_reports(&host.root, &["records generation 1"]);
}

/// `in_progress` set by hand on an old generation: the next apply used to
/// roll it back over the newer generation's files.
#[test]
fn an_unfinished_state_on_an_old_generation_is_refused() {
    let host = host(2);
    set_state(&host.root, 1, "in_progress");
    let before = files(&host.root);
    for out in [
        apply(&host.after, &host.root, &[]),
        gen(&host.root, &["rollback"]),
    ] {
        assert_refused(
            &out,
            &[
                "generation 1 is `in_progress`",
                "generation 2 is `complete` after it",
            ],
        );
        assert_eq!(files(&host.root), before, "nothing may change");
    }
    assert_verify_reports(
        &host.root,
        &["only the newest generation can be unfinished"],
    );

    // `rolling_back` below a generation that is not rolled back: refused too.
    set_state(&host.root, 1, "rolling_back");
    assert_refused(
        &gen(&host.root, &["rollback"]),
        &["generation 1 is `rolling_back`"],
    );
    // The same state below rolled-back generations is a rollback under way.
    set_state(&host.root, 1, "complete");
    let out = gen(&host.root, &["rollback"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    set_state(&host.root, 1, "rolling_back");
    let out = gen(&host.root, &["rollback"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("rolled back interrupted generation 1"),
        "{}",
        stderr(&out)
    );
}

/// A generation numbered 2^64 - 1: the next number used to wrap to 0 (or
/// abort gen). It is an error that says what to do, with nothing written.
#[test]
fn the_largest_generation_number_is_an_error_not_a_wrap() {
    let host = host(1);
    let generations = journal(&host.root);
    let last = u64::MAX.to_string();
    std::fs::rename(generations.join("1"), generations.join(&last)).unwrap();
    let record = generations.join(&last).join("generation.json");
    let mut value: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&record).unwrap()).unwrap();
    value["number"] = u64::MAX.into();
    std::fs::write(&record, serde_json::to_vec_pretty(&value).unwrap()).unwrap();
    let before = files(&host.root);
    let out = apply(&host.after, &host.root, &[]);
    assert_refused(&out, &[&last, "no generation can follow it"]);
    assert_eq!(files(&host.root), before);
    assert_verify_reports(&host.root, &["no generation can follow it"]);
    // Rolling it back needs no new number.
    let out = gen(&host.root, &["rollback"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}
