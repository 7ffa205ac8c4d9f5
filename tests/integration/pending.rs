//! A failed activation is a promise kept: the apply records its reloads and
//! restarts in its generation before running them, keeps the ones that
//! fail as pending, and every later `gen apply` (even with nothing to
//! write), `gen activate` and `gen rollback` runs them until they succeed.
//! `gen diff` and `gen generations` show them. `systemctl` is a script that
//! fails a chosen command the first time it is asked, then succeeds.

#![allow(clippy::unwrap_used)]

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use gen_target::manifest::{sha256_hex, FileRecord, Manifest};
use gen_target::{Activation, Validator};
use tempfile::TempDir;

use super::support::assert_exit;

fn record(path: &str, content: &[u8], activation: Activation) -> FileRecord {
    FileRecord {
        path: path.into(),
        link: None,
        sha256: sha256_hex(content),
        size: content.len() as u64,
        mode: "0644".into(),
        owner: "root".into(),
        group: "root".into(),
        sensitive: false,
        template: "t.j2".into(),
        source: "profiles/p.toml".into(),
        activation,
        validator: Validator::Shell,
        health_gate: false,
        exposure_budget: None,
    }
}

/// `generated/p/h` holding `files` (path, content, activation).
fn write_tree(generated: &Path, files: &[(&str, &str, Activation)]) {
    let host_dir = generated.join("p/h");
    let _ = fs::remove_dir_all(&host_dir);
    let mut records = Vec::new();
    for (path, content, activation) in files {
        let file = host_dir.join("root").join(path.trim_start_matches('/'));
        fs::create_dir_all(file.parent().unwrap()).unwrap();
        fs::write(&file, content).unwrap();
        records.push(record(path, content.as_bytes(), activation.clone()));
    }
    let manifest = Manifest::new("p", "h", "0".repeat(64), records);
    fs::write(host_dir.join("manifest.json"), manifest.to_json()).unwrap();
}

fn unit(name: &str) -> Activation {
    Activation::DaemonReload { unit: name.into() }
}

/// A `systemctl` that records every call in `calls` and fails `failing`
/// (e.g. `restart app.service`) the first time it is asked.
struct Systemctl {
    dir: TempDir,
}

impl Systemctl {
    fn failing_once(failing: &str) -> Systemctl {
        let dir = TempDir::new().unwrap();
        let script = dir.path().join("systemctl");
        fs::write(
            &script,
            format!(
                "#!/bin/sh\necho \"$*\" >> '{calls}'\nif [ \"$*\" = '{failing}' ] && [ ! -e '{once}' ]; then\n  touch '{once}'\n  echo \"Job for $2 failed.\" >&2\n  exit 1\nfi\n",
                calls = dir.path().join("calls").display(),
                once = dir.path().join("failed-once").display(),
            ),
        )
        .unwrap();
        fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
        Systemctl { dir }
    }

    fn program(&self) -> PathBuf {
        self.dir.path().join("systemctl")
    }

    /// The calls so far, and forgets them.
    fn take_calls(&self) -> Vec<String> {
        let path = self.dir.path().join("calls");
        let calls = fs::read_to_string(&path).unwrap_or_default();
        let _ = fs::remove_file(&path);
        calls.lines().map(str::to_string).collect()
    }
}

fn gen(systemctl: &Systemctl, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gen"))
        .args(args)
        .env("NO_COLOR", "1")
        .env("GEN_SYSTEMCTL", systemctl.program())
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn live_args<'a>(verb: &'a str, generated: &'a Path, root: &'a Path) -> Vec<&'a str> {
    let mut args = vec![verb];
    if verb == "apply" {
        args.extend(["--yes", "--skip-validation", "--activate"]);
    }
    args.extend([
        "--generated",
        generated.to_str().unwrap(),
        "--root",
        root.to_str().unwrap(),
        "--profile",
        "p",
        "--host",
        "h",
    ]);
    args
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn pending_json(systemctl: &Systemctl, root: &Path) -> serde_json::Value {
    let output = gen(
        systemctl,
        &[
            "--format",
            "json",
            "generations",
            "--root",
            root.to_str().unwrap(),
        ],
    );
    assert_exit(&output, 0);
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    value["pending"].clone()
}

#[test]
fn a_failed_restart_is_pending_until_an_up_to_date_apply_runs_it() {
    let generated = TempDir::new().unwrap();
    let root = TempDir::new().unwrap();
    let systemctl = Systemctl::failing_once("restart app.service");
    write_tree(
        generated.path(),
        &[(
            "/etc/systemd/system/app.service",
            "[Service]\nExecStart=/bin/true\n",
            unit("app.service"),
        )],
    );

    let output = gen(
        &systemctl,
        &live_args("apply", generated.path(), root.path()),
    );
    assert_exit(&output, 2);
    assert!(
        text(&output).contains("activation failed")
            && text(&output).contains("recorded as pending"),
        "{}",
        text(&output)
    );
    assert_eq!(
        systemctl.take_calls(),
        vec!["daemon-reload", "restart app.service"]
    );
    // The daemon-reload succeeded: only the restart is owed.
    assert_eq!(
        pending_json(&systemctl, root.path()),
        serde_json::json!(["systemctl restart app.service"])
    );
    let list = gen(
        &systemctl,
        &["generations", "--root", root.path().to_str().unwrap()],
    );
    assert!(
        text(&list).contains("pending: systemctl restart app.service"),
        "{}",
        text(&list)
    );
    let diff = gen(
        &systemctl,
        &live_args("diff", generated.path(), root.path()),
    );
    assert_exit(&diff, 1);
    assert!(
        text(&diff).contains("0 change(s)")
            && text(&diff).contains(
                "pending from an earlier run (the next `gen apply` or `gen activate` runs them): systemctl restart app.service"
            ),
        "{}",
        text(&diff)
    );

    // Nothing to write, but the restart is still owed: it runs, and succeeds.
    let output = gen(
        &systemctl,
        &live_args("apply", generated.path(), root.path()),
    );
    assert_exit(&output, 0);
    assert!(
        text(&output).contains("is up to date") && text(&output).contains("restart app.service"),
        "{}",
        text(&output)
    );
    assert_eq!(systemctl.take_calls(), vec!["restart app.service"]);
    assert_eq!(pending_json(&systemctl, root.path()), serde_json::json!([]));
    assert_exit(
        &gen(
            &systemctl,
            &live_args("diff", generated.path(), root.path()),
        ),
        0,
    );
    // Once done, nothing runs again.
    assert_exit(
        &gen(
            &systemctl,
            &live_args("apply", generated.path(), root.path()),
        ),
        0,
    );
    assert!(systemctl.take_calls().is_empty());
}

#[test]
fn gen_activate_runs_what_is_pending_and_a_failed_daemon_reload_keeps_everything() {
    let generated = TempDir::new().unwrap();
    let root = TempDir::new().unwrap();
    let systemctl = Systemctl::failing_once("daemon-reload");
    write_tree(
        generated.path(),
        &[
            (
                "/etc/systemd/system/app.service",
                "[Service]\nExecStart=/bin/true\n",
                unit("app.service"),
            ),
            (
                "/etc/app/app.conf",
                "listen 80;\n",
                Activation::Reload {
                    unit: "web.service".into(),
                },
            ),
        ],
    );
    let root_arg = root.path().to_str().unwrap();
    let output = gen(
        &systemctl,
        &live_args("apply", generated.path(), root.path()),
    );
    assert_exit(&output, 2);
    assert_eq!(
        systemctl.take_calls(),
        vec!["daemon-reload", "restart app.service", "reload web.service"]
    );
    // A restart after a failed daemon-reload ran the old unit: all of it is owed.
    assert_eq!(
        pending_json(&systemctl, root.path()),
        serde_json::json!([
            "systemctl daemon-reload",
            "systemctl restart app.service",
            "systemctl reload web.service"
        ])
    );

    // On a scratch root, `gen activate` lists them unless told to run them.
    let output = gen(&systemctl, &["activate", "--root", root_arg]);
    assert_exit(&output, 0);
    assert!(
        text(&output).contains("skipped (the root is not /"),
        "{}",
        text(&output)
    );
    assert!(systemctl.take_calls().is_empty());

    let output = gen(&systemctl, &["activate", "--activate", "--root", root_arg]);
    assert_exit(&output, 0);
    assert_eq!(
        systemctl.take_calls(),
        vec!["daemon-reload", "restart app.service", "reload web.service"]
    );
    assert_eq!(pending_json(&systemctl, root.path()), serde_json::json!([]));
    let output = gen(&systemctl, &["activate", "--activate", "--root", root_arg]);
    assert_exit(&output, 0);
    assert!(
        text(&output).contains("no activation is pending"),
        "{}",
        text(&output)
    );
    assert!(systemctl.take_calls().is_empty());
}

/// A rollback replaces what the rolled-back apply owed with what restoring
/// asks: a unit the apply introduced, whose restart failed, is not
/// restarted again once its file is gone.
#[test]
fn a_rollback_owes_what_restoring_asks_not_what_the_apply_did() {
    let generated = TempDir::new().unwrap();
    let root = TempDir::new().unwrap();
    let systemctl = Systemctl::failing_once("restart new.service");
    write_tree(
        generated.path(),
        &[(
            "/etc/systemd/system/new.service",
            "[Service]\nExecStart=/bin/false\n",
            unit("new.service"),
        )],
    );
    assert_exit(
        &gen(
            &systemctl,
            &live_args("apply", generated.path(), root.path()),
        ),
        2,
    );
    systemctl.take_calls();
    let root_arg = root.path().to_str().unwrap();
    let output = gen(&systemctl, &["rollback", "--activate", "--root", root_arg]);
    assert_exit(&output, 0);
    // The unit file is gone: it is stopped and systemd forgets it; nothing
    // restarts it.
    assert_eq!(
        systemctl.take_calls(),
        vec!["stop new.service", "daemon-reload"]
    );
    assert_eq!(pending_json(&systemctl, root.path()), serde_json::json!([]));
    let output = gen(&systemctl, &["activate", "--activate", "--root", root_arg]);
    assert!(
        text(&output).contains("no activation is pending"),
        "{}",
        text(&output)
    );
}

/// Pruning old generations never forgets what they still owe the host.
#[test]
fn a_generation_with_pending_activations_is_not_pruned() {
    let generated = TempDir::new().unwrap();
    let root = TempDir::new().unwrap();
    // Fails the restart every time: what it owes stays owed.
    let systemctl = Systemctl::failing_once("restart app.service");
    let always = systemctl.dir.path().join("failed-once");
    for content in [
        "[Service]\nExecStart=/bin/true\n",
        "[Service]\nExecStart=/bin/false\n",
    ] {
        let _ = fs::remove_file(&always);
        write_tree(
            generated.path(),
            &[(
                "/etc/systemd/system/app.service",
                content,
                unit("app.service"),
            )],
        );
        let mut args = live_args("apply", generated.path(), root.path());
        args.extend(["--keep", "1"]);
        let output = gen(&systemctl, &args);
        assert!(
            text(&output).contains("recorded as pending"),
            "{}",
            text(&output)
        );
    }
    let output = gen(
        &systemctl,
        &[
            "--format",
            "json",
            "generations",
            "--root",
            root.path().to_str().unwrap(),
        ],
    );
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        value["generations"].as_array().map(Vec::len),
        Some(2),
        "generation 1 still owes a restart and must be kept: {value}"
    );
}
