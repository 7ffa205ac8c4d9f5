//! Failures on the live side, each ending in a clear error or a clean
//! recovery, never in a silently wrong host: a full filesystem, a read-only
//! one, a FIFO or a directory where a file belongs, a lock left by a killed
//! process, a corrupted generation record.

#![allow(clippy::unwrap_used)]

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const PROFILE: &str = r#"[project]
name = "shop"

[network]
internal = ["10.1.0.0/16"]

[hosts.web1]
address = "10.1.0.10"
roles = ["load_balancer", "api"]
hardware = { cores = 2, memory = "4GiB", storage = "ssd" }

[services.api]
runtime = "container"
image = "ghcr.io/shop/api:1.0.0"
port = 8000
healthcheck = { http = "/health" }

[sites.main]
server_names = ["shop.example.com"]
certificate = "/etc/ssl/shop.pem"
certificate_key = "/etc/ssl/shop.key"

[[sites.main.locations]]
path = "/"
service = "api"
"#;

fn gen() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gen"));
    command
        .env("NO_COLOR", "1")
        .env("GEN_SYSTEMCTL", "true")
        .stdin(Stdio::null());
    command
}

fn build(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir.join("profiles")).unwrap();
    std::fs::write(dir.join("profiles/shop.toml"), PROFILE).unwrap();
    assert!(gen()
        .arg("-C")
        .arg(dir)
        .arg("build")
        .output()
        .unwrap()
        .status
        .success());
    dir.join("generated")
}

fn apply(generated: &Path, root: &Path) -> Output {
    gen()
        .args([
            "apply",
            "--yes",
            "--skip-validation",
            "--profile",
            "shop",
            "--host",
            "web1",
            "--generated",
        ])
        .arg(generated)
        .arg("--root")
        .arg(root)
        .output()
        .unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Files under `root` (gen's journal excluded) with their size and a
/// fingerprint of their content.
fn files(root: &Path) -> Vec<(String, String)> {
    walkdir::WalkDir::new(root)
        .sort_by_file_name()
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file() && !e.path().starts_with(root.join("var/lib/gen")))
        .map(|e| {
            let bytes = std::fs::read(e.path()).unwrap();
            let fingerprint = bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
            });
            (
                e.path().strip_prefix(root).unwrap().display().to_string(),
                format!("{} bytes {fingerprint:016x}", bytes.len()),
            )
        })
        .collect()
}

/// A tmpfs mounted for the test, unmounted when dropped.
struct Mount(PathBuf);

impl Mount {
    fn tmpfs(at: &Path, options: &str) -> Option<Mount> {
        std::fs::create_dir_all(at).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(at)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI runs as root and can mount a tmpfs"
            );
            eprintln!("skipped: cannot mount a tmpfs here");
        }
        ok.then(|| Mount(at.to_path_buf()))
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_filesystem_fails_cleanly_and_leaves_the_old_files() {
    let work = tempfile::tempdir().unwrap();
    let generated = build(&work.path().join("project"));
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
    let out = apply(&generated, &root);
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
    let generated = build(&work.path().join("project"));
    let root = work.path().join("root");
    let Some(_mount) = Mount::tmpfs(&root, "ro,size=1m") else {
        return;
    };
    let out = apply(&generated, &root);
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
    let generated = build(&work.path().join("project"));
    let root = work.path().join("root");
    std::fs::create_dir_all(root.join("etc/cron.d")).unwrap();
    let fifo = root.join("etc/cron.d/shop");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let started = std::time::Instant::now();
    let out = apply(&generated, &root);
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
    let generated = build(&work.path().join("project"));
    let root = work.path().join("root");
    std::fs::create_dir_all(root.join("etc/cron.d/shop/inside")).unwrap();
    let out = apply(&generated, &root);
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
    let generated = build(&work.path().join("project"));
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
    let out = apply(&generated, &root);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "waited on a dead process's lock"
    );
}

#[test]
fn a_corrupted_generation_record_is_reported_and_nothing_is_written() {
    let work = tempfile::tempdir().unwrap();
    let generated = build(&work.path().join("project"));
    let root = work.path().join("root");
    std::fs::create_dir_all(&root).unwrap();
    assert!(apply(&generated, &root).status.success());
    let record = walkdir::WalkDir::new(root.join("var/lib/gen/generations"))
        .into_iter()
        .filter_map(Result::ok)
        .find(|e| e.file_name() == "generation.json")
        .expect("a generation record")
        .into_path();
    std::fs::write(&record, "{ not json").unwrap();
    std::fs::set_permissions(&record, std::fs::Permissions::from_mode(0o600)).unwrap();
    let before = files(&root);

    let back = gen()
        .args(["rollback", "--root"])
        .arg(&root)
        .output()
        .unwrap();
    assert_eq!(back.status.code(), Some(2), "{}", stderr(&back));
    assert!(
        stderr(&back).contains("generation.json"),
        "{}",
        stderr(&back)
    );
    assert_eq!(files(&root), before);

    std::fs::write(root.join("etc/cron.d/shop"), "edited\n").unwrap();
    let before = files(&root);
    let again = apply(&generated, &root);
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
