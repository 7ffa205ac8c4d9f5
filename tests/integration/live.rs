//! The live-host commands driven through the real binary against temporary
//! roots: diff, plan, apply, rollback, and what they must refuse.

// Fixture helpers outside `#[test]` functions panic on setup failure by design.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use camino::Utf8Path;
use gen_compile::catalog::{Activation, Validator};
use gen_target::manifest::{sha256_hex, FileRecord, Manifest};
use tempfile::TempDir;

use super::support::assert_exit;

const PROFILE: &str = "p";
const HOST: &str = "h";

/// One file of a fixture tree.
#[derive(Clone)]
struct Artifact {
    path: String,
    content: Vec<u8>,
    mode: &'static str,
    sensitive: bool,
    activation: Activation,
}

fn artifact(path: &str, content: &str) -> Artifact {
    Artifact {
        path: path.into(),
        content: content.as_bytes().to_vec(),
        mode: "0644",
        sensitive: false,
        activation: Activation::Reload {
            unit: "app.service".into(),
        },
    }
}

/// Writes `generated/p/h/{root/…,manifest.json}` under a new temp dir.
fn tree(artifacts: &[Artifact]) -> TempDir {
    let dir = TempDir::new().unwrap();
    write_tree(dir.path(), artifacts);
    dir
}

fn write_tree(generated: &Path, artifacts: &[Artifact]) {
    let host_dir = generated.join(PROFILE).join(HOST);
    let records = artifacts
        .iter()
        .map(|a| {
            let path = host_dir.join("root").join(a.path.trim_start_matches('/'));
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, &a.content).unwrap();
            FileRecord {
                path: a.path.clone(),
                link: None,
                sha256: sha256_hex(&a.content),
                size: a.content.len() as u64,
                mode: a.mode.into(),
                owner: "root".into(),
                group: "root".into(),
                sensitive: a.sensitive,
                template: "t.j2".into(),
                source: "profiles/p.toml".into(),
                activation: a.activation.clone(),
                validator: Validator::Shell,
                health_gate: false,
                exposure_budget: None,
            }
        })
        .collect();
    let manifest = Manifest::new(PROFILE, HOST, "0".repeat(64), records);
    fs::write(host_dir.join("manifest.json"), manifest.to_json()).unwrap();
}

fn gen_command(generated: &Path, root: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gen"));
    command.args(args);
    // These trees hold stand-in content; the validators' own refusal is tested
    // in `apply_refuses_a_tree_a_validator_rejects`.
    if args.first() == Some(&"apply") {
        command.arg("--skip-validation");
    }
    command
        .arg("--generated")
        .arg(generated)
        .arg("--root")
        .arg(root)
        .args(["--profile", PROFILE, "--host", HOST])
        .env("NO_COLOR", "1")
        .env("GEN_SYSTEMCTL", "true")
        .stdin(Stdio::null());
    command
}

fn gen(generated: &Path, root: &Path, args: &[&str]) -> Output {
    gen_command(generated, root, args).output().unwrap()
}

fn apply(generated: &Path, root: &Path) -> Output {
    gen(generated, root, &["apply", "--yes"])
}

fn rollback(root: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gen"))
        .args(["rollback", "--root"])
        .arg(root)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Every path under `root` (gen's own state excluded) with its kind, mode,
/// owner and content.
/// Mode (with file type), uid, gid and content (files only) of one path.
type Entry = (u32, u32, u32, Option<Vec<u8>>);

fn listing(root: &Path) -> BTreeMap<PathBuf, Entry> {
    let mut out = BTreeMap::new();
    for entry in walkdir::WalkDir::new(root).min_depth(1) {
        let entry = entry.unwrap();
        let relative = entry.path().strip_prefix(root).unwrap().to_path_buf();
        // gen's own state lives under var/lib/gen; these tests use no other /var.
        if relative.starts_with("var") {
            continue;
        }
        let metadata = fs::symlink_metadata(entry.path()).unwrap();
        let content = metadata.is_file().then(|| fs::read(entry.path()).unwrap());
        out.insert(
            relative,
            (metadata.mode(), metadata.uid(), metadata.gid(), content),
        );
    }
    out
}

fn temp_files(root: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(root)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".gen-tmp-"))
        .filter(|e| !e.path().starts_with(root.join("var/lib/gen")))
        .map(|e| e.path().to_path_buf())
        .collect()
}

#[test]
fn apply_to_an_empty_root_then_diff_is_clean_and_services_are_reloaded() {
    let generated = tree(&[
        artifact("/etc/app/app.conf", "listen 80;\n"),
        Artifact {
            activation: Activation::DaemonReload {
                unit: "app.service".into(),
            },
            ..artifact("/etc/systemd/system/app.service", "[Service]\n")
        },
    ]);
    let root = TempDir::new().unwrap();
    let diff = gen(generated.path(), root.path(), &["diff"]);
    assert_exit(&diff, 1);
    assert!(stdout(&diff).contains("+listen 80;"), "{}", stdout(&diff));

    let (_recorder, script, calls) = systemctl_recorder();
    let output = gen_command(
        generated.path(),
        root.path(),
        &["apply", "--yes", "--activate"],
    )
    .env("GEN_SYSTEMCTL", &script)
    .output()
    .unwrap();
    assert_exit(&output, 0);
    // The unit is restarted after daemon-reload, so it is not also reloaded.
    assert_eq!(
        fs::read_to_string(&calls).unwrap(),
        "daemon-reload\nrestart app.service\n"
    );

    assert_eq!(
        fs::read(root.path().join("etc/app/app.conf")).unwrap(),
        b"listen 80;\n"
    );
    let mode = fs::metadata(root.path().join("etc/app/app.conf"))
        .unwrap()
        .mode()
        & 0o7777;
    assert_eq!(mode, 0o644);
    assert_exit(&gen(generated.path(), root.path(), &["diff"]), 0);
    // Nothing to do: no new generation.
    assert_exit(&apply(generated.path(), root.path()), 0);
    let list = Command::new(env!("CARGO_BIN_EXE_gen"))
        .args(["generations", "--format", "json", "--root"])
        .arg(root.path())
        .output()
        .unwrap();
    let value: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(value["generations"].as_array().unwrap().len(), 1);
    assert_eq!(value["generations"][0]["state"], "complete");
}

#[test]
fn rollback_restores_the_root_byte_for_byte_and_walks_back() {
    let root = TempDir::new().unwrap();
    fs::create_dir_all(root.path().join("etc/app")).unwrap();
    fs::write(root.path().join("etc/app/a.conf"), "old a\n").unwrap();
    fs::set_permissions(
        root.path().join("etc/app/a.conf"),
        fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    fs::write(root.path().join("etc/app/unmanaged"), "mine\n").unwrap();
    let before = listing(root.path());

    let first = tree(&[
        artifact("/etc/app/a.conf", "new a\n"),
        artifact("/etc/app/b.conf", "b\n"),
        artifact("/opt/new/deep/c.conf", "c\n"),
    ]);
    assert_exit(&apply(first.path(), root.path()), 0);
    let after_first = listing(root.path());
    assert_ne!(before, after_first);

    let second = tree(&[artifact("/etc/app/a.conf", "newer a\n")]);
    assert_exit(&apply(second.path(), root.path()), 0);
    // Files the first apply managed and the second no longer lists are removed.
    assert!(!root.path().join("etc/app/b.conf").exists());
    assert!(!root.path().join("opt/new/deep/c.conf").exists());
    assert_eq!(
        fs::read(root.path().join("etc/app/unmanaged")).unwrap(),
        b"mine\n"
    );

    assert_exit(&rollback(root.path()), 0);
    assert_eq!(listing(root.path()), after_first);
    assert_exit(&rollback(root.path()), 0);
    assert_eq!(listing(root.path()), before);
    let nothing = rollback(root.path());
    assert_exit(&nothing, 2);
    assert!(stderr(&nothing).contains("no applied generation to roll back"));
}

#[test]
fn a_symlinked_directory_pointing_outside_is_refused() {
    let root = TempDir::new().unwrap();
    let outside = TempDir::new().unwrap();
    std::os::unix::fs::symlink(outside.path(), root.path().join("etc")).unwrap();
    let generated = tree(&[artifact("/etc/app/app.conf", "x\n")]);
    let output = apply(generated.path(), root.path());
    assert_exit(&output, 2);
    assert!(
        stderr(&output).contains("is a symbolic link inside the root"),
        "{}",
        stderr(&output)
    );
    assert_eq!(fs::read_dir(outside.path()).unwrap().count(), 0);
    assert_exit(&gen(generated.path(), root.path(), &["diff"]), 2);
}

#[test]
fn a_symlinked_managed_file_is_refused() {
    let root = TempDir::new().unwrap();
    let outside = TempDir::new().unwrap();
    let victim = outside.path().join("victim");
    fs::write(&victim, "keep\n").unwrap();
    fs::create_dir_all(root.path().join("etc")).unwrap();
    std::os::unix::fs::symlink(&victim, root.path().join("etc/app.conf")).unwrap();
    let generated = tree(&[
        artifact("/etc/app.conf", "x\n"),
        artifact("/etc/b.conf", "b\n"),
    ]);
    let output = apply(generated.path(), root.path());
    assert_exit(&output, 2);
    assert!(
        stderr(&output).contains("etc/app.conf` is a symbolic link"),
        "{}",
        stderr(&output)
    );
    assert_eq!(fs::read(&victim).unwrap(), b"keep\n");
    assert!(!root.path().join("etc/b.conf").exists());
}

#[test]
fn a_tampered_artifact_is_refused_with_nothing_written() {
    let generated = tree(&[
        artifact("/etc/a.conf", "a\n"),
        artifact("/etc/b.conf", "b\n"),
    ]);
    fs::write(generated.path().join("p/h/root/etc/b.conf"), "evil\n").unwrap();
    let root = TempDir::new().unwrap();
    let output = apply(generated.path(), root.path());
    assert_exit(&output, 2);
    assert!(
        stderr(&output).contains("do not match the manifest"),
        "{}",
        stderr(&output)
    );
    assert!(stderr(&output).contains("b.conf"));
    assert_eq!(fs::read_dir(root.path()).unwrap().count(), 0);
}

#[test]
fn unknown_owners_are_refused_by_name() {
    let generated = tree(&[artifact("/etc/a.conf", "a\n")]);
    let manifest_path = generated.path().join("p/h/manifest.json");
    let mut manifest: Manifest =
        serde_json::from_slice(&fs::read(&manifest_path).unwrap()).unwrap();
    manifest.files[0].owner = "no-such-user-gen".into();
    let manifest = Manifest::new(PROFILE, HOST, manifest.input_hash, manifest.files);
    fs::write(&manifest_path, manifest.to_json()).unwrap();
    let root = TempDir::new().unwrap();
    let output = apply(generated.path(), root.path());
    assert_exit(&output, 2);
    assert!(
        stderr(&output).contains("user `no-such-user-gen`"),
        "{}",
        stderr(&output)
    );
    assert_eq!(fs::read_dir(root.path()).unwrap().count(), 0);
}

#[test]
fn a_stale_plan_is_refused_and_a_fresh_one_applies() {
    let root = TempDir::new().unwrap();
    fs::create_dir_all(root.path().join("etc")).unwrap();
    fs::write(root.path().join("etc/a.conf"), "live\n").unwrap();
    let generated = tree(&[artifact("/etc/a.conf", "target\n")]);
    let plan_dir = TempDir::new().unwrap();
    let plan_file = plan_dir.path().join("plan.json");
    let out = gen(
        generated.path(),
        root.path(),
        &["plan", "--out", plan_file.to_str().unwrap()],
    );
    assert_exit(&out, 0);
    let value: serde_json::Value = serde_json::from_slice(&fs::read(&plan_file).unwrap()).unwrap();
    assert_eq!(
        value["changes"][0]["expected_sha256"],
        sha256_hex(b"live\n")
    );
    assert_eq!(
        value["changes"][0]["target_sha256"],
        sha256_hex(b"target\n")
    );

    fs::write(root.path().join("etc/a.conf"), "drifted\n").unwrap();
    let output = gen(
        generated.path(),
        root.path(),
        &["apply", "--yes", "--plan", plan_file.to_str().unwrap()],
    );
    assert_exit(&output, 2);
    assert!(
        stderr(&output).contains("drifted since the plan"),
        "{}",
        stderr(&output)
    );
    assert_eq!(
        fs::read(root.path().join("etc/a.conf")).unwrap(),
        b"drifted\n"
    );

    assert_exit(
        &gen(
            generated.path(),
            root.path(),
            &["plan", "--out", plan_file.to_str().unwrap()],
        ),
        0,
    );
    // A plan made from another tree is refused too.
    let other = tree(&[artifact("/etc/a.conf", "other\n")]);
    let output = gen(
        other.path(),
        root.path(),
        &["apply", "--yes", "--plan", plan_file.to_str().unwrap()],
    );
    assert_exit(&output, 2);
    assert!(stderr(&output).contains("tree hash"), "{}", stderr(&output));
    assert_exit(
        &gen(
            generated.path(),
            root.path(),
            &["apply", "--yes", "--plan", plan_file.to_str().unwrap()],
        ),
        0,
    );
    assert_eq!(
        fs::read(root.path().join("etc/a.conf")).unwrap(),
        b"target\n"
    );
}

#[test]
fn without_a_terminal_apply_needs_yes() {
    let generated = tree(&[artifact("/etc/a.conf", "a\n")]);
    let root = TempDir::new().unwrap();
    let output = gen(generated.path(), root.path(), &["apply"]);
    assert_exit(&output, 2);
    assert!(stderr(&output).contains("refusing to apply without confirmation"));
    assert_eq!(fs::read_dir(root.path()).unwrap().count(), 0);
}

#[test]
fn credentials_are_never_printed_and_markdown_and_against_work() {
    let old = tree(&[
        Artifact {
            mode: "0600",
            ..artifact("/etc/secret.ini", "password_file = /run/a\n")
        },
        artifact("/etc/same.conf", "same\n"),
        artifact("/etc/gone.conf", "gone\n"),
    ]);
    let new = tree(&[
        Artifact {
            mode: "0600",
            ..artifact("/etc/secret.ini", "password_file = /run/b\n")
        },
        artifact("/etc/same.conf", "same\n"),
        artifact("/etc/new.conf", "new\n"),
    ]);
    // Unchanged files are never read: removing one from the old tree changes nothing.
    fs::remove_file(old.path().join("p/h/root/etc/same.conf")).unwrap();
    let root = TempDir::new().unwrap();
    for format in ["human", "json", "markdown"] {
        let output = gen_command(new.path(), root.path(), &["diff", "--format", format])
            .arg("--against")
            .arg(old.path())
            .output()
            .unwrap();
        assert_exit(&output, 1);
        let text = stdout(&output);
        assert!(!text.contains("/run/"), "{format}: {text}");
        assert!(text.contains("content changed"), "{format}: {text}");
        assert!(
            text.contains("gone.conf") && text.contains("new.conf"),
            "{format}: {text}"
        );
        if format == "markdown" {
            assert!(text.contains("\n| host | |"), "{text}");
            assert!(text.contains("<details>"), "{text}");
        }
    }
    let same = gen_command(new.path(), root.path(), &["diff"])
        .arg("--against")
        .arg(new.path())
        .output()
        .unwrap();
    assert_exit(&same, 0);
}

#[test]
fn two_concurrent_applies_never_interleave() {
    let paths: Vec<String> = (0..40).map(|i| format!("/etc/c/f{i:02}.conf")).collect();
    let a = tree(
        &paths
            .iter()
            .map(|p| artifact(p, &format!("A {p}\n")))
            .collect::<Vec<_>>(),
    );
    let b = tree(
        &paths
            .iter()
            .map(|p| artifact(p, &format!("B {p}\n")))
            .collect::<Vec<_>>(),
    );
    let root = TempDir::new().unwrap();
    for _ in 0..3 {
        let first = gen_command(a.path(), root.path(), &["apply", "--yes"])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let second = gen_command(b.path(), root.path(), &["apply", "--yes"])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let first = first.wait_with_output().unwrap();
        let second = second.wait_with_output().unwrap();
        assert_exit(&first, 0);
        assert_exit(&second, 0);
        let contents: Vec<Vec<u8>> = paths
            .iter()
            .map(|p| fs::read(root.path().join(p.trim_start_matches('/'))).unwrap())
            .collect();
        let all_a = contents
            .iter()
            .zip(&paths)
            .all(|(c, p)| c == format!("A {p}\n").as_bytes());
        let all_b = contents
            .iter()
            .zip(&paths)
            .all(|(c, p)| c == format!("B {p}\n").as_bytes());
        assert!(all_a || all_b, "mixed state after concurrent applies");
    }
}

#[test]
fn an_apply_killed_at_any_instant_leaves_no_torn_file_and_converges() {
    let paths: Vec<String> = (0..100)
        .map(|i| format!("/etc/k{}/f{i:03}.conf", i % 7))
        .collect();
    let content = |tag: &str, p: &str| format!("{tag} {p}\n").repeat(20).into_bytes();
    let a = tree(
        &paths
            .iter()
            .map(|p| artifact(p, std::str::from_utf8(&content("A", p)).unwrap()))
            .collect::<Vec<_>>(),
    );
    let b = tree(
        &paths
            .iter()
            .map(|p| artifact(p, std::str::from_utf8(&content("B", p)).unwrap()))
            .collect::<Vec<_>>(),
    );
    let root = TempDir::new().unwrap();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15 ^ u64::from(std::process::id());
    for round in 0..30 {
        let target = if round % 2 == 0 { a.path() } else { b.path() };
        let mut child = gen_command(target, root.path(), &["apply", "--yes"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(Duration::from_micros(seed % 50_000));
        let _ = child.kill();
        let _ = child.wait();
        for p in &paths {
            let live = root.path().join(p.trim_start_matches('/'));
            match fs::read(&live) {
                Ok(bytes) => assert!(
                    bytes == content("A", p) || bytes == content("B", p),
                    "round {round}: {p} is torn"
                ),
                Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::NotFound),
            }
        }
    }
    for (tree, tag) in [(a.path(), "A"), (b.path(), "B")] {
        assert_exit(&apply(tree, root.path()), 0);
        for p in &paths {
            assert_eq!(
                fs::read(root.path().join(p.trim_start_matches('/'))).unwrap(),
                content(tag, p)
            );
        }
        assert_exit(&gen(tree, root.path(), &["diff"]), 0);
        assert_eq!(temp_files(root.path()), Vec::<PathBuf>::new());
    }
    let list = Command::new(env!("CARGO_BIN_EXE_gen"))
        .args(["generations", "--format", "json", "--root"])
        .arg(root.path())
        .output()
        .unwrap();
    let value: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    let generations = value["generations"].as_array().unwrap();
    assert!(generations.len() <= 10, "pruned to the default of 10");
    assert!(generations
        .iter()
        .all(|g| g["state"] == "complete" || g["state"] == "rolled_back"));
}

#[test]
fn a_write_failure_is_reported_and_rolled_back() {
    let root = TempDir::new().unwrap();
    fs::create_dir_all(root.path().join("etc")).unwrap();
    fs::write(root.path().join("etc/a.conf"), "old a\n").unwrap();
    let before = listing(root.path());
    let big = "x".repeat(64 * 1024);
    let generated = tree(&[
        artifact("/etc/a.conf", "new a\n"),
        artifact("/etc/z-big.conf", &big),
    ]);
    let gen_path = env!("CARGO_BIN_EXE_gen");
    // 16 blocks of 512 bytes: enough for the journal, too little for the big file.
    let script = format!(
        "trap '' XFSZ; ulimit -f 16; exec {gen_path} apply --yes --skip-validation --generated {} --root {} --profile p --host h",
        generated.path().display(),
        root.path().display()
    );
    let output = Command::new("sh")
        .args(["-c", &script])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_exit(&output, 2);
    let text = stderr(&output);
    assert!(
        text.contains("apply aborted") && text.contains("z-big.conf"),
        "{text}"
    );
    assert_eq!(listing(root.path()), before);
    assert_eq!(temp_files(root.path()), Vec::<PathBuf>::new());
    let list = Command::new(gen_path)
        .args(["generations", "--format", "json", "--root"])
        .arg(root.path())
        .output()
        .unwrap();
    let value: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    assert_eq!(value["generations"][0]["state"], "rolled_back");
    // Without the limit it applies.
    assert_exit(&apply(generated.path(), root.path()), 0);
    assert_eq!(
        fs::read(root.path().join("etc/z-big.conf")).unwrap(),
        big.as_bytes()
    );
}

#[test]
fn the_build_tree_of_a_project_applies() {
    let project = Utf8Path::new(env!("CARGO_MANIFEST_DIR"));
    let generated = project.join("generated");
    let root = TempDir::new().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_gen"))
        .args([
            "apply",
            "--yes",
            "--no-reload",
            "--profile",
            "pilot",
            "--host",
            "pilot1",
            "--root",
        ])
        .arg(root.path())
        .arg("--generated")
        .arg(generated.as_str())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    // Owners such as `postgres` may not exist where the tests run: then the
    // refusal must name them and nothing be written.
    if output.status.code() == Some(2) {
        assert!(
            stderr(&output).contains("does not exist")
                || stderr(&output).contains("do(es) not exist")
        );
        assert_eq!(fs::read_dir(root.path()).unwrap().count(), 0);
        return;
    }
    assert_exit(&output, 0);
    assert!(stderr(&output).contains("skipped (--no-reload)"));
}

#[test]
fn apply_refuses_a_tree_a_validator_rejects() {
    let generated = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    write_tree(
        generated.path(),
        &[artifact(
            "/usr/local/sbin/broken",
            "#!/bin/bash\nif then fi\n",
        )],
    );
    let output = Command::new(env!("CARGO_BIN_EXE_gen"))
        .args(["apply", "--yes", "--generated"])
        .arg(generated.path())
        .arg("--root")
        .arg(root.path())
        .args(["--profile", PROFILE, "--host", HOST])
        .env("NO_COLOR", "1")
        .env("GEN_SYSTEMCTL", "true")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("`/usr/local/sbin/broken` failed validation, nothing was written"),
        "{stderr}"
    );
    assert!(!root.path().join("usr/local/sbin/broken").exists());
    assert!(
        !root.path().join("var/lib/gen/generations").exists()
            || fs::read_dir(root.path().join("var/lib/gen/generations"))
                .unwrap()
                .next()
                .is_none()
    );
}

/// A `systemctl` stand-in that records its arguments, one call per line.
fn systemctl_recorder() -> (TempDir, PathBuf, PathBuf) {
    let recorder = TempDir::new().unwrap();
    let calls = recorder.path().join("calls");
    let script = recorder.path().join("systemctl");
    fs::write(
        &script,
        format!("#!/bin/sh\necho \"$@\" >> {}\n", calls.display()),
    )
    .unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    (recorder, script, calls)
}

/// Services belong to the real host: applying into a scratch root must not
/// restart them (the README's example once restarted the host's PostgreSQL).
#[test]
fn apply_and_rollback_on_a_scratch_root_leave_services_alone_unless_asked() {
    let root = TempDir::new().unwrap();
    let generated = tree(&[Artifact {
        activation: Activation::Restart {
            unit: "postgresql@15-main.service".into(),
        },
        ..artifact("/etc/app/app.conf", "listen 80;\n")
    }]);
    let (_recorder, script, calls) = systemctl_recorder();
    let output = gen_command(generated.path(), root.path(), &["apply", "--yes"])
        .env("GEN_SYSTEMCTL", &script)
        .output()
        .unwrap();
    assert_exit(&output, 0);
    assert!(!calls.exists(), "systemctl ran on a scratch root");
    assert!(
        stderr(&output).contains(
            "skipped (the root is not /; --activate runs them): systemctl restart postgresql@15-main.service"
        ),
        "{}",
        stderr(&output)
    );

    let output = Command::new(env!("CARGO_BIN_EXE_gen"))
        .args(["rollback", "--root"])
        .arg(root.path())
        .env("GEN_SYSTEMCTL", &script)
        .output()
        .unwrap();
    assert_exit(&output, 0);
    assert!(!calls.exists(), "systemctl ran on a scratch root");
    assert!(stderr(&output).contains("skipped (the root is not /"));
}

/// A rollback asks of the host what writing the restored files did.
#[test]
fn rollback_runs_the_activations_of_the_files_it_restores() {
    let root = TempDir::new().unwrap();
    fs::create_dir_all(root.path().join("etc/app")).unwrap();
    fs::write(root.path().join("etc/app/app.conf"), "old\n").unwrap();
    let generated = tree(&[
        artifact("/etc/app/app.conf", "new\n"),
        Artifact {
            activation: Activation::DaemonReload {
                unit: "app-worker.service".into(),
            },
            ..artifact("/etc/systemd/system/app-worker.service", "[Service]\n")
        },
    ]);
    let (_recorder, script, calls) = systemctl_recorder();
    assert_exit(&apply(generated.path(), root.path()), 0);
    let output = Command::new(env!("CARGO_BIN_EXE_gen"))
        .args(["rollback", "--activate", "--root"])
        .arg(root.path())
        .env("GEN_SYSTEMCTL", &script)
        .output()
        .unwrap();
    assert_exit(&output, 0);
    assert_eq!(
        fs::read(root.path().join("etc/app/app.conf")).unwrap(),
        b"old\n"
    );
    // The unit file is gone again: the unit is stopped and systemd forgets
    // it; nothing restarts it.
    assert_eq!(
        fs::read_to_string(&calls).unwrap(),
        "stop app-worker.service\ndaemon-reload\nreload app.service\n"
    );
}

/// A unit dropped from the profile stops now, not at the next boot: its
/// stop runs before the daemon-reload that forgets it. A unit systemd does
/// not know (`systemctl stop` exits 5) counts as stopped, so nothing stays
/// pending.
#[test]
fn a_dropped_unit_is_stopped_before_systemd_forgets_it() {
    let root = TempDir::new().unwrap();
    let worker = Artifact {
        activation: Activation::DaemonReload {
            unit: "app-worker.service".into(),
        },
        ..artifact("/etc/systemd/system/app-worker.service", "[Service]\n")
    };
    let conf = artifact("/etc/app/app.conf", "one\n");
    let generated = tree(&[conf.clone(), worker]);
    assert_exit(&apply(generated.path(), root.path()), 0);

    let dropped = tree(&[conf]);
    let recorder = TempDir::new().unwrap();
    let calls = recorder.path().join("calls");
    let script = recorder.path().join("systemctl");
    // systemd no longer knows the unit (say, it never started).
    fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$@\" >> {}\n[ \"$1\" = stop ] && exit 5\nexit 0\n",
            calls.display()
        ),
    )
    .unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    let plan = gen(dropped.path(), root.path(), &["plan", "--format", "json"]);
    let plan: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    assert_eq!(
        plan["activations"]["stop"],
        serde_json::json!(["app-worker.service"]),
        "{plan}"
    );
    let output = gen_command(
        dropped.path(),
        root.path(),
        &["apply", "--yes", "--activate"],
    )
    .env("GEN_SYSTEMCTL", &script)
    .output()
    .unwrap();
    assert_exit(&output, 0);
    assert!(!root
        .path()
        .join("etc/systemd/system/app-worker.service")
        .exists());
    assert_eq!(
        fs::read_to_string(&calls).unwrap(),
        "stop app-worker.service\ndaemon-reload\n"
    );
    // Nothing is owed: the next apply runs no command.
    fs::remove_file(&calls).unwrap();
    let again = gen_command(
        dropped.path(),
        root.path(),
        &["apply", "--yes", "--activate"],
    )
    .env("GEN_SYSTEMCTL", &script)
    .output()
    .unwrap();
    assert_exit(&again, 0);
    assert!(!calls.exists(), "{}", stderr(&again));
}
