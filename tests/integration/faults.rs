//! Failures on the live side, each ending in a clear error or a clean
//! recovery, never in a silently wrong host.
//!
//! Power-loss simulation: `gen apply` and `gen rollback` are stopped dead
//! (abort, no cleanup) right after each of their filesystem steps in turn —
//! every write, fsync, rename and removal, of the files and of the generation
//! record. After each crash every managed file must be entirely old or
//! entirely new, and the next `gen apply` (or `gen rollback`) must bring the
//! root to exactly the state a clean run gives, with no temporary file left.
//!
//! Then the faults around them: a full filesystem, a read-only one, a FIFO or
//! a directory where a file belongs, a lock left by a killed process, a
//! corrupted generation record.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::process::ExitStatusExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use super::support::crash::{copy_root, each_crash_point, live_command, temp_files, Trial};
use super::support::mount::Mount;
use super::support::{small_changed, SMALL};

fn gen() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gen"));
    command
        .env("NO_COLOR", "1")
        .env("GEN_SYSTEMCTL", "true")
        .stdin(Stdio::null());
    command
}

fn build(dir: &Path, profile: &str) -> PathBuf {
    std::fs::create_dir_all(dir.join("profiles")).unwrap();
    std::fs::write(dir.join("profiles/shop.toml"), profile).unwrap();
    let out = gen().arg("-C").arg(dir).arg("build").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir.join("generated")
}

fn apply(generated: &Path, root: &Path, crash_after: Option<u64>) -> Output {
    live_command(&["apply"], Some(generated), root, crash_after)
        .output()
        .unwrap()
}

fn rollback(root: &Path) -> Output {
    rollback_crashing(root, None)
}

fn rollback_crashing(root: &Path, crash_after: Option<u64>) -> Output {
    live_command(&["rollback"], None, root, crash_after)
        .output()
        .unwrap()
}

/// Everything under the root but gen's own journal: path → mode and the
/// content's hash (directories have none).
fn listing(root: &Path) -> BTreeMap<String, (u32, Option<String>)> {
    walkdir::WalkDir::new(root)
        .min_depth(1)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| {
            !e.path().starts_with(root.join("var/lib/gen"))
                && e.path() != root.join("var/lib")
                && e.path() != root.join("var")
        })
        .map(|e| {
            let rel = e
                .path()
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let meta = e.metadata().unwrap();
            let content = e.file_type().is_file().then(|| {
                let bytes = std::fs::read(e.path()).unwrap();
                format!("{} bytes, {:016x}", bytes.len(), fxhash(&bytes))
            });
            (rel, (meta.permissions().mode() & 0o7777, content))
        })
        .collect()
}

/// A content fingerprint for readable failure messages (FNV-1a).
fn fxhash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
    })
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The regular files of [`listing`], with their content fingerprints.
fn files(root: &Path) -> Vec<(String, String)> {
    listing(root)
        .into_iter()
        .filter_map(|(path, (_, content))| content.map(|c| (path, c)))
        .collect()
}

#[test]
fn a_crash_after_any_step_leaves_old_or_new_files_and_the_next_run_recovers() {
    let work = tempfile::tempdir().unwrap();
    let before_tree = build(&work.path().join("before"), SMALL);
    let after_tree = build(&work.path().join("after"), &small_changed());

    // The host as it is: an unmanaged file, and a hand-written site gen replaces.
    let base = work.path().join("base");
    std::fs::create_dir_all(base.join("etc/nginx/sites-enabled")).unwrap();
    std::fs::write(
        base.join("etc/nginx/sites-enabled/shop.conf"),
        "# hand-written\n",
    )
    .unwrap();
    std::fs::write(base.join("etc/motd"), "unmanaged\n").unwrap();
    assert!(apply(&before_tree, &base, None).status.success());
    let old = listing(&base);

    let clean = work.path().join("clean");
    std::fs::create_dir_all(&clean).unwrap();
    copy_root(&base, &clean);
    assert!(apply(&after_tree, &clean, None).status.success());
    let new = listing(&clean);
    assert_ne!(old, new, "the change must change something");

    let crashes = each_crash_point(work.path(), &base, 400, |n, root| {
        let out = apply(&after_tree, root, Some(n));
        if out.status.success() {
            // Step n is past the last step: every crash point has been tried.
            assert_eq!(listing(root), new);
            return Trial::Finished;
        }
        assert_eq!(
            out.status.signal(),
            Some(6),
            "step {n}: expected an abort, got {:?}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );

        // Old or new, path by path, never torn.
        let now = listing(root);
        for path in old.keys().chain(new.keys()).chain(now.keys()) {
            // A staged temporary file beside its destination; the next run removes it.
            if path
                .rsplit('/')
                .next()
                .is_some_and(|name| name.starts_with(".gen-tmp-"))
            {
                continue;
            }
            let state = now.get(path);
            let ok = state == old.get(path) || state == new.get(path);
            // A directory an apply creates exists with or without its files.
            let dir_in_progress = state.is_some_and(|(_, c)| c.is_none())
                && (old.contains_key(path) || new.contains_key(path));
            assert!(
                ok || dir_in_progress,
                "step {n}: `{path}` is neither old nor new: {state:?}"
            );
        }

        // Recover: every other crash by applying again, the rest by rolling back.
        if n % 2 == 1 {
            let again = apply(&after_tree, root, None);
            assert!(
                again.status.success(),
                "step {n}: {}",
                String::from_utf8_lossy(&again.stderr)
            );
            assert_eq!(
                listing(root),
                new,
                "step {n}: apply after the crash did not converge"
            );
        } else {
            let back = rollback(root);
            assert!(
                back.status.success(),
                "step {n}: {}",
                String::from_utf8_lossy(&back.stderr)
            );
            assert_eq!(
                listing(root),
                old,
                "step {n}: rollback after the crash did not restore the old state"
            );
        }
        assert_eq!(
            temp_files(root),
            Vec::<PathBuf>::new(),
            "step {n}: temporary files left"
        );
        Trial::Crashed
    });
    eprintln!("{crashes} crash points tried");
    assert!(
        crashes >= 20,
        "only {crashes} crash points: the apply has more steps than that"
    );
}

#[test]
fn a_crash_during_rollback_is_finished_by_the_next_rollback() {
    let work = tempfile::tempdir().unwrap();
    let before_tree = build(&work.path().join("before"), SMALL);
    let after_tree = build(&work.path().join("after"), &small_changed());
    let base = work.path().join("base");
    std::fs::create_dir_all(base.join("etc")).unwrap();
    std::fs::write(base.join("etc/motd"), "unmanaged\n").unwrap();
    assert!(apply(&before_tree, &base, None).status.success());
    let old = listing(&base);
    assert!(apply(&after_tree, &base, None).status.success());

    let crashes = each_crash_point(work.path(), &base, 400, |n, root| {
        let out = rollback_crashing(root, Some(n));
        if out.status.success() {
            assert_eq!(listing(root), old);
            return Trial::Finished;
        }
        assert_eq!(
            out.status.signal(),
            Some(6),
            "step {n}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // A crash after the record says `rolled_back` came after the rollback
        // was complete and durable: nothing is left to finish.
        let list = gen()
            .args(["--format", "json", "generations", "--root"])
            .arg(root)
            .output()
            .unwrap();
        let generations: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
        let finished = generations["generations"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()["state"]
            == "rolled_back";
        if !finished {
            let again = rollback(root);
            assert!(
                again.status.success(),
                "step {n}: {}",
                String::from_utf8_lossy(&again.stderr)
            );
        }
        assert_eq!(
            listing(root),
            old,
            "step {n}: the rollback was not finished"
        );
        assert_eq!(
            temp_files(root),
            Vec::<PathBuf>::new(),
            "step {n}: temporary files left"
        );
        Trial::Crashed
    });
    assert!(crashes >= 10, "only {crashes} crash points in a rollback");
}

#[test]
fn a_full_filesystem_fails_cleanly_and_leaves_the_old_files() {
    let work = tempfile::tempdir().unwrap();
    let generated = build(&work.path().join("project"), SMALL);
    let root = work.path().join("root");
    // Room for gen's journal and a few files, not for the whole tree.
    let Some(_mount) = Mount::tmpfs(&root, "size=24k") else {
        return;
    };
    std::fs::create_dir_all(root.join("etc/nginx/sites-enabled")).unwrap();
    std::fs::write(
        root.join("etc/nginx/sites-enabled/shop.conf"),
        "# old site\n",
    )
    .unwrap();
    let before = files(&root);
    let out = apply(&generated, &root, None);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("No space left on device"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        files(&root),
        before,
        "a failed apply must leave every file as it was"
    );
    let temp: Vec<_> = walkdir::WalkDir::new(&root)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(".gen-tmp-"))
        .collect();
    assert!(temp.is_empty(), "temporary files left: {temp:?}");
}

#[test]
fn a_read_only_filesystem_is_refused_with_nothing_changed() {
    let work = tempfile::tempdir().unwrap();
    let generated = build(&work.path().join("project"), SMALL);
    let root = work.path().join("root");
    let Some(_mount) = Mount::tmpfs(&root, "ro,size=1m") else {
        return;
    };
    let out = apply(&generated, &root, None);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Read-only file system"),
        "{}",
        stderr(&out)
    );
    assert!(files(&root).is_empty());
}

#[test]
fn a_fifo_where_a_file_belongs_is_refused_without_blocking() {
    let work = tempfile::tempdir().unwrap();
    let generated = build(&work.path().join("project"), SMALL);
    let root = work.path().join("root");
    std::fs::create_dir_all(root.join("etc/cron.d")).unwrap();
    let fifo = root.join("etc/cron.d/shop");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let started = std::time::Instant::now();
    let out = apply(&generated, &root, None);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "gen blocked on a FIFO"
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("etc/cron.d/shop"), "{}", stderr(&out));
    assert!(
        files(&root).is_empty(),
        "nothing may be written when a managed path is not a file"
    );
}

#[test]
fn a_directory_where_a_file_belongs_is_refused() {
    let work = tempfile::tempdir().unwrap();
    let generated = build(&work.path().join("project"), SMALL);
    let root = work.path().join("root");
    std::fs::create_dir_all(root.join("etc/cron.d/shop/inside")).unwrap();
    let out = apply(&generated, &root, None);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("etc/cron.d/shop"), "{}", stderr(&out));
    assert!(
        root.join("etc/cron.d/shop/inside").is_dir(),
        "the directory must be left alone"
    );
}

#[test]
fn a_lock_left_by_a_killed_process_does_not_block() {
    let work = tempfile::tempdir().unwrap();
    let generated = build(&work.path().join("project"), SMALL);
    let root = work.path().join("root");
    std::fs::create_dir_all(root.join("var/lib/gen")).unwrap();
    let lock = root.join("var/lib/gen/lock");
    // `-o`: the lock belongs to flock itself, not to the command it runs, so
    // killing flock is the death of the lock's holder.
    let mut holder = Command::new("flock")
        .arg("-o")
        .arg(&lock)
        .args(["sleep", "60"])
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    holder.kill().unwrap();
    holder.wait().unwrap();
    assert!(lock.exists(), "the lock file stays behind");
    let started = std::time::Instant::now();
    let out = apply(&generated, &root, None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "waited on a dead process's lock"
    );
}

#[test]
fn a_corrupted_generation_record_is_reported_and_nothing_is_written() {
    let work = tempfile::tempdir().unwrap();
    let generated = build(&work.path().join("project"), SMALL);
    let root = work.path().join("root");
    std::fs::create_dir_all(&root).unwrap();
    assert!(apply(&generated, &root, None).status.success());
    let record = walkdir::WalkDir::new(root.join("var/lib/gen/generations"))
        .into_iter()
        .filter_map(Result::ok)
        .find(|e| e.file_name() == "generation.json")
        .expect("a generation record")
        .into_path();
    std::fs::write(&record, "{ not json").unwrap();
    std::fs::set_permissions(&record, std::fs::Permissions::from_mode(0o600)).unwrap();
    let before = files(&root);

    let back = rollback(&root);
    assert_eq!(back.status.code(), Some(2), "{}", stderr(&back));
    assert!(
        stderr(&back).contains("generation.json"),
        "{}",
        stderr(&back)
    );
    assert_eq!(files(&root), before);

    std::fs::write(root.join("etc/cron.d/shop"), "edited\n").unwrap();
    let before = files(&root);
    let again = apply(&generated, &root, None);
    assert_eq!(again.status.code(), Some(2), "{}", stderr(&again));
    assert!(
        stderr(&again).contains("generation.json"),
        "{}",
        stderr(&again)
    );
    assert_eq!(
        files(&root),
        before,
        "no write while the journal cannot be trusted"
    );
}

#[test]
fn corrupted_kept_contents_stop_a_rollback_before_any_change() {
    let work = tempfile::tempdir().unwrap();
    let generated = build(&work.path().join("project"), SMALL);
    let root = work.path().join("root");
    std::fs::create_dir_all(root.join("etc/nginx/sites-enabled")).unwrap();
    std::fs::write(
        root.join("etc/nginx/sites-enabled/shop.conf"),
        "# hand-written\n",
    )
    .unwrap();
    assert!(apply(&generated, &root, None).status.success());
    let kept = walkdir::WalkDir::new(root.join("var/lib/gen/generations"))
        .into_iter()
        .filter_map(Result::ok)
        .find(|e| e.file_name() == "contents")
        .expect("kept contents")
        .into_path();
    let mut bytes = std::fs::read(&kept).unwrap();
    let last = bytes.len() - 2;
    bytes[last] ^= 0x20;
    std::fs::write(&kept, bytes).unwrap();
    let before = files(&root);
    let back = rollback(&root);
    assert_eq!(back.status.code(), Some(2), "{}", stderr(&back));
    assert!(
        stderr(&back).contains("does not match its hash"),
        "{}",
        stderr(&back)
    );
    assert_eq!(
        files(&root),
        before,
        "a rollback that cannot restore must not start"
    );
}

/// On a terminal, `gen apply` shows the diff and asks; only `y` or `yes`
/// applies. (`script` gives the process a terminal.)
#[test]
fn on_a_terminal_apply_asks_and_only_yes_applies() {
    let work = tempfile::tempdir().unwrap();
    let generated = build(&work.path().join("project"), SMALL);
    let ask = |root: &Path, answer: &str| -> Output {
        let command = format!(
            "{} apply --skip-validation --no-reload --profile shop --host web1 --generated {} --root {}",
            env!("CARGO_BIN_EXE_gen"),
            generated.display(),
            root.display()
        );
        let mut child = Command::new("script")
            .args(["--quiet", "--return", "--command", &command, "/dev/null"])
            .env("NO_COLOR", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write as _;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(answer.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };

    let declined = work.path().join("declined");
    std::fs::create_dir_all(&declined).unwrap();
    let out = ask(&declined, "n\n");
    let shown = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(shown.contains("? [y/N]"), "no question asked: {shown}");
    assert!(
        shown.contains("+++ b/etc/nginx/sites-enabled/shop.conf"),
        "the diff is shown before asking: {shown}"
    );
    assert_eq!(out.status.code(), Some(2), "{shown}");
    assert!(
        files(&declined).is_empty(),
        "a declined apply writes nothing"
    );

    let accepted = work.path().join("accepted");
    std::fs::create_dir_all(&accepted).unwrap();
    let out = ask(&accepted, "yes\n");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(accepted.join("etc/nginx/sites-enabled/shop.conf").is_file());
}
