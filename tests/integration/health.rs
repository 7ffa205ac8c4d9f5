//! The health gate: after an apply restarted services, `gen apply` runs the
//! tree's health gate until it passes or `--health-timeout` ends, and rolls
//! the apply back when it never passes (`--no-health-rollback` keeps the
//! files). `systemctl` is a recorder; the gates are real scripts on the
//! scratch root, the generated one included.

#![allow(clippy::unwrap_used)]

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use gen_target::manifest::{sha256_hex, FileRecord, Manifest};
use gen_target::{Activation, Validator};
use tempfile::TempDir;

use super::support::{assert_exit, SMALL};

const CONF: &str = "/etc/app/app.conf";
const GATE: &str = "/usr/local/sbin/app-health-gate";

/// `generated/p/h`: `app.conf` (a change restarts `app.service`) and, with
/// `gate`, that script as the health gate.
fn write_tree(generated: &Path, conf: &str, gate: Option<&str>) {
    let host_dir = generated.join("p/h");
    let _ = fs::remove_dir_all(&host_dir);
    let mut records = Vec::new();
    let mut files = vec![(
        CONF,
        conf.to_string(),
        "0644",
        Activation::Restart {
            unit: "app.service".into(),
        },
        false,
    )];
    if let Some(gate) = gate {
        files.push((GATE, gate.to_string(), "0755", Activation::None, true));
    }
    for (path, content, mode, activation, health_gate) in files {
        let file = host_dir.join("root").join(path.trim_start_matches('/'));
        fs::create_dir_all(file.parent().unwrap()).unwrap();
        fs::write(&file, &content).unwrap();
        records.push(FileRecord {
            path: path.into(),
            link: None,
            sha256: sha256_hex(content.as_bytes()),
            size: content.len() as u64,
            mode: mode.into(),
            owner: "root".into(),
            group: "root".into(),
            sensitive: false,
            template: "t.j2".into(),
            source: "profiles/p.toml".into(),
            activation,
            validator: Validator::Shell,
            health_gate,
            exposure_budget: None,
        });
    }
    let manifest = Manifest::new("p", "h", "0".repeat(64), records);
    fs::write(host_dir.join("manifest.json"), manifest.to_json()).unwrap();
}

const FAILING: &str = "#!/bin/sh\necho 'ok      service web'\necho 'FAILED  service app http://127.0.0.1:1/health: connection refused' >&2\necho '1 of 2 probe(s) failed' >&2\nexit 1\n";
const PASSING: &str = "#!/bin/sh\necho 'healthy: 1 probe(s) passed'\n";

/// A gate that fails its first run and passes the next ones (a service
/// still starting), counting its runs in `dir`.
fn flaky(dir: &Path) -> String {
    format!(
        "#!/bin/sh\nrunID='{runs}'\nif [ ! -e \"$runID\" ]; then\n  touch \"$runID\"\n  echo 'FAILED  service app: starting' >&2\n  exit 1\nfi\necho healthy\n",
        runs = dir.join("first-run").display()
    )
}

/// A `systemctl` stand-in that records its arguments.
fn recorder(dir: &Path) -> (PathBuf, PathBuf) {
    let script = dir.join("systemctl");
    let calls = dir.join("calls");
    fs::write(
        &script,
        format!("#!/bin/sh\necho \"$*\" >> '{}'\n", calls.display()),
    )
    .unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();
    (script, calls)
}

fn apply(generated: &Path, root: &Path, systemctl: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gen"))
        .args(["apply", "--yes", "--skip-validation", "--generated"])
        .arg(generated)
        .arg("--root")
        .arg(root)
        .args(["--profile", "p", "--host", "h"])
        .args(extra)
        .env("NO_COLOR", "1")
        .env("GEN_SYSTEMCTL", systemctl)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Standard error with miette's line wrapping undone.
fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr)
        .replace("\n  | ", " ")
        .replace("\n        ", " ")
}

fn generations(root: &Path) -> serde_json::Value {
    let output = Command::new(env!("CARGO_BIN_EXE_gen"))
        .args(["--format", "json", "generations", "--root"])
        .arg(root)
        .output()
        .unwrap();
    serde_json::from_slice(&output.stdout).unwrap()
}

/// A root holding the old `app.conf`.
fn old_root() -> TempDir {
    let root = TempDir::new().unwrap();
    let conf = root.path().join(CONF.trim_start_matches('/'));
    fs::create_dir_all(conf.parent().unwrap()).unwrap();
    fs::write(&conf, "old\n").unwrap();
    root
}

#[test]
fn a_failing_health_gate_rolls_the_apply_back_and_names_the_probe() {
    let generated = TempDir::new().unwrap();
    let root = old_root();
    let work = TempDir::new().unwrap();
    let (systemctl, calls) = recorder(work.path());
    write_tree(generated.path(), "new\n", Some(FAILING));

    let output = apply(
        generated.path(),
        root.path(),
        &systemctl,
        &["--activate", "--health-timeout", "1"],
    );
    assert_exit(&output, 2);
    let text = stderr(&output);
    assert!(
        text.contains(&format!(
            "the health gate `{GATE}` failed 1 time(s) within 1s: service app http://127.0.0.1:1/health: connection refused"
        )) && text.contains("generation 1 was rolled back"),
        "{text}"
    );
    // The old file is back, the gate gone, and the service restarted on
    // the old file again.
    assert_eq!(
        fs::read_to_string(root.path().join(CONF.trim_start_matches('/'))).unwrap(),
        "old\n"
    );
    assert!(!root.path().join(GATE.trim_start_matches('/')).exists());
    assert_eq!(
        fs::read_to_string(&calls).unwrap(),
        "restart app.service\nrestart app.service\n"
    );
    let list = generations(root.path());
    assert_eq!(list["generations"][0]["state"], "rolled_back");
    assert_eq!(list["pending"], serde_json::json!([]));
}

#[test]
fn no_health_rollback_reports_the_failure_and_keeps_the_files() {
    let generated = TempDir::new().unwrap();
    let root = old_root();
    let work = TempDir::new().unwrap();
    let (systemctl, _calls) = recorder(work.path());
    write_tree(generated.path(), "new\n", Some(FAILING));
    let output = apply(
        generated.path(),
        root.path(),
        &systemctl,
        &[
            "--activate",
            "--health-timeout",
            "1",
            "--no-health-rollback",
        ],
    );
    assert_exit(&output, 2);
    let text = stderr(&output);
    assert!(
        text.contains("service app http://127.0.0.1:1/health: connection refused")
            && text.contains("generation 1 is kept (--no-health-rollback)"),
        "{text}"
    );
    assert_eq!(
        fs::read_to_string(root.path().join(CONF.trim_start_matches('/'))).unwrap(),
        "new\n"
    );
    assert_eq!(
        generations(root.path())["generations"][0]["state"],
        "complete"
    );
}

#[test]
fn a_passing_gate_and_one_that_passes_on_a_retry_keep_the_apply() {
    let generated = TempDir::new().unwrap();
    let root = old_root();
    let work = TempDir::new().unwrap();
    let (systemctl, _calls) = recorder(work.path());
    write_tree(generated.path(), "new\n", Some(PASSING));
    let output = apply(generated.path(), root.path(), &systemctl, &["--activate"]);
    assert_exit(&output, 0);
    assert!(
        stderr(&output).contains("health gate passed (attempt 1)"),
        "{}",
        stderr(&output)
    );

    // A service that needs a moment: the first run fails, the retry passes.
    write_tree(generated.path(), "newer\n", Some(&flaky(work.path())));
    let output = apply(
        generated.path(),
        root.path(),
        &systemctl,
        &["--activate", "--health-timeout", "30"],
    );
    assert_exit(&output, 0);
    assert!(
        stderr(&output).contains("health gate passed (attempt 2)"),
        "{}",
        stderr(&output)
    );
    assert_eq!(
        fs::read_to_string(root.path().join(CONF.trim_start_matches('/'))).unwrap(),
        "newer\n"
    );
}

/// Services on a scratch root are not the root's: nothing was restarted, so
/// there is nothing for the gate to judge.
#[test]
fn without_activation_the_gate_does_not_run() {
    let generated = TempDir::new().unwrap();
    let root = old_root();
    let work = TempDir::new().unwrap();
    let (systemctl, calls) = recorder(work.path());
    write_tree(generated.path(), "new\n", Some(FAILING));
    let output = apply(generated.path(), root.path(), &systemctl, &[]);
    assert_exit(&output, 0);
    assert!(
        !stderr(&output).contains("health gate"),
        "{}",
        stderr(&output)
    );
    assert!(!calls.exists());
}

/// The gate `gen build` generates probes what the host runs, is the
/// manifest's health gate, and a host where those probes fail (nothing
/// listens at the profile's addresses here) is rolled back to empty.
#[test]
fn the_generated_gate_probes_the_host_and_an_unhealthy_host_is_rolled_back() {
    let project = TempDir::new().unwrap();
    fs::create_dir_all(project.path().join("profiles")).unwrap();
    fs::write(project.path().join("profiles/shop.toml"), SMALL).unwrap();
    let build = Command::new(env!("CARGO_BIN_EXE_gen"))
        .arg("-C")
        .arg(project.path())
        .arg("build")
        .output()
        .unwrap();
    assert_exit(&build, 0);
    let host_dir = project.path().join("generated/shop/web1");
    let manifest: Manifest =
        serde_json::from_slice(&fs::read(host_dir.join("manifest.json")).unwrap()).unwrap();
    let gates: Vec<&FileRecord> = manifest.files.iter().filter(|r| r.health_gate).collect();
    assert_eq!(gates.len(), 1);
    assert_eq!(gates[0].path, "/usr/local/sbin/shop-health-gate");
    let script = fs::read_to_string(host_dir.join("root/usr/local/sbin/shop-health-gate")).unwrap();
    for probe in [
        "probe 'service api http://10.1.0.10:8000/health' http_ok 'http://10.1.0.10:8000/health'",
        "probe 'site main https://shop.example.com/health' https_ok 'shop.example.com' '/health'",
        "probe 'prometheus http://127.0.0.1:9090/-/ready' http_ok 'http://127.0.0.1:9090/-/ready'",
    ] {
        assert!(script.contains(probe), "{probe} missing from:\n{script}");
    }

    let root = TempDir::new().unwrap();
    // The host holds the site's certificate and key, as the manifest requires.
    fs::create_dir_all(root.path().join("etc/ssl")).unwrap();
    for name in ["shop.pem", "shop.key"] {
        fs::write(root.path().join("etc/ssl").join(name), "stand-in\n").unwrap();
    }
    let work = TempDir::new().unwrap();
    let (systemctl, _calls) = recorder(work.path());
    // The host has the packages the manifest lists.
    let dpkg = super::support::dpkg::FakeDpkg::all_installed();
    let output = Command::new(env!("CARGO_BIN_EXE_gen"))
        .env("PATH", dpkg.path())
        .args(["apply", "--yes", "--skip-validation", "--activate"])
        .args([
            "--health-timeout",
            "1",
            "--profile",
            "shop",
            "--host",
            "web1",
        ])
        .arg("--generated")
        .arg(project.path().join("generated"))
        .arg("--root")
        .arg(root.path())
        .env("NO_COLOR", "1")
        .env("GEN_SYSTEMCTL", &systemctl)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_exit(&output, 2);
    let text = stderr(&output);
    assert!(
        text.contains("the health gate `/usr/local/sbin/shop-health-gate` failed")
            && text.contains("generation 1 was rolled back"),
        "{text}"
    );
    // Everything the apply created is gone again: only gen's journal and
    // the host's own certificate and key are left.
    let left: Vec<_> = fs::read_dir(root.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let mut left = left;
    left.sort();
    assert_eq!(left, vec!["etc", "var"], "{left:?}");
    let etc: Vec<_> = fs::read_dir(root.path().join("etc"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(etc, vec!["ssl"], "{etc:?}");
}

/// An apply that writes nothing but re-runs a restart an earlier apply left
/// pending restarted a service too: the gate judges it. It wrote no
/// generation, so a failing gate rolls nothing back and says so.
#[test]
fn re_running_pending_activations_runs_the_gate_and_rolls_nothing_back() {
    let generated = TempDir::new().unwrap();
    let root = old_root();
    let work = TempDir::new().unwrap();
    // A restart that fails once, then works.
    let systemctl = work.path().join("systemctl");
    fs::write(
        &systemctl,
        format!(
            "#!/bin/sh\nif [ \"$1\" = restart ] && [ ! -e '{marker}' ]; then touch '{marker}'; exit 1; fi\nexit 0\n",
            marker = work.path().join("failed-once").display()
        ),
    )
    .unwrap();
    fs::set_permissions(&systemctl, fs::Permissions::from_mode(0o755)).unwrap();
    write_tree(generated.path(), "new\n", Some(FAILING));
    let first = apply(generated.path(), root.path(), &systemctl, &["--activate"]);
    assert_exit(&first, 2);
    assert!(
        !stderr(&first).contains("running the health gate"),
        "{}",
        stderr(&first)
    );

    let again = apply(
        generated.path(),
        root.path(),
        &systemctl,
        &["--activate", "--health-timeout", "1"],
    );
    assert_exit(&again, 2);
    let text = stderr(&again);
    assert!(text.contains("is up to date"), "{text}");
    assert!(text.contains("running the health gate"), "{text}");
    assert!(
        text.contains(
            "it only re-ran activations an earlier apply left pending, so nothing was rolled back"
        ),
        "{text}"
    );
    assert_eq!(
        fs::read_to_string(root.path().join(CONF.trim_start_matches('/'))).unwrap(),
        "new\n"
    );
    assert_eq!(
        generations(root.path())["generations"][0]["state"],
        "complete"
    );
}
