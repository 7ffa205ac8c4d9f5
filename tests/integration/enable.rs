//! Units the tree installs are enabled: the `[Install]` links `systemctl
//! enable` would make are manifest records, created, replaced, removed and
//! rolled back by `gen apply` and `gen rollback` like files, so a reboot
//! starts what the tree says. Checked with the real `systemctl --root`.

#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use gen_target::manifest::{sha256_hex, FileRecord, Manifest};
use gen_target::{Activation, Validator};
use tempfile::TempDir;

use super::support::crash::live_command;
use super::support::{assert_exit, SMALL};

const TIMER: &str = "/etc/systemd/system/app-backup.timer";
const SERVICE: &str = "/etc/systemd/system/app-backup.service";
const LINK: &str = "/etc/systemd/system/timers.target.wants/app-backup.timer";
const CONF: &str = "/etc/app/app.conf";

fn unit_record(path: &str, content: &str, unit: &str) -> (FileRecord, Vec<u8>) {
    let bytes = content.as_bytes().to_vec();
    let record = FileRecord {
        path: path.into(),
        link: None,
        sha256: sha256_hex(&bytes),
        size: bytes.len() as u64,
        mode: "0644".into(),
        owner: "root".into(),
        group: "root".into(),
        sensitive: false,
        template: "t.j2".into(),
        source: "profiles/p.toml".into(),
        activation: Activation::DaemonReload { unit: unit.into() },
        validator: Validator::Systemd,
        health_gate: false,
        exposure_budget: None,
    };
    (record, bytes)
}

/// `generated/p/h` holding `app.conf`, and with `timer` the backup timer,
/// its service and the timer's `[Install]` link.
fn write_tree(generated: &Path, timer: bool) {
    let host_dir = generated.join("p/h");
    let _ = fs::remove_dir_all(&host_dir);
    let mut files = vec![unit_record(CONF, "listen 80;\n", "app.service")];
    if timer {
        files.push(unit_record(
            TIMER,
            "[Timer]\nOnCalendar=daily\n\n[Install]\nWantedBy=timers.target\n",
            "app-backup.timer",
        ));
        files.push(unit_record(
            SERVICE,
            "[Service]\nType=oneshot\nExecStart=/bin/true\n",
            "app-backup.timer",
        ));
    }
    let mut records = Vec::new();
    for (record, bytes) in &files {
        let path = host_dir
            .join("root")
            .join(record.path.trim_start_matches('/'));
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, bytes).unwrap();
        records.push(record.clone());
    }
    if timer {
        let link = FileRecord::enabling(&files[1].0, "timers.target").unwrap();
        assert_eq!(link.path, LINK);
        records.push(link);
    }
    let manifest = Manifest::new("p", "h", "0".repeat(64), records);
    fs::write(host_dir.join("manifest.json"), manifest.to_json()).unwrap();
}

fn gen(generated: &Path, root: &Path, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gen"));
    command.args(args);
    if args.first() == Some(&"apply") {
        command.args(["--yes", "--skip-validation"]);
    }
    command
        .arg("--generated")
        .arg(generated)
        .arg("--root")
        .arg(root)
        .args(["--profile", "p", "--host", "h"])
        .env("NO_COLOR", "1")
        .env("GEN_SYSTEMCTL", "true")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn rollback(root: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gen"))
        .args(["rollback", "--root"])
        .arg(root)
        .env("NO_COLOR", "1")
        .env("GEN_SYSTEMCTL", "true")
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn live(root: &Path, host_path: &str) -> PathBuf {
    root.join(host_path.trim_start_matches('/'))
}

/// What the link at `host_path` holds; `None` when there is none.
fn link_at(root: &Path, host_path: &str) -> Option<String> {
    let path = live(root, host_path);
    let metadata = fs::symlink_metadata(&path).ok()?;
    assert!(
        metadata.file_type().is_symlink(),
        "{} is not a link",
        path.display()
    );
    Some(fs::read_link(&path).unwrap().to_string_lossy().into_owned())
}

/// `systemctl --root=<root> is-enabled <unit>`'s answer, when systemctl is
/// installed.
fn is_enabled(root: &Path, unit: &str) -> Option<String> {
    let output = Command::new("systemctl")
        .arg(format!("--root={}", root.display()))
        .args(["is-enabled", unit])
        .env("SYSTEMD_LOG_COLOR", "0")
        .output()
        .ok()?;
    Some(stdout(&output).trim().to_string())
}

#[test]
fn a_timer_the_tree_installs_is_enabled_and_disabled_when_the_tree_drops_it() {
    let generated = TempDir::new().unwrap();
    let root = TempDir::new().unwrap();
    write_tree(generated.path(), true);

    let diff = gen(generated.path(), root.path(), &["diff"]);
    assert_exit(&diff, 1);
    assert!(
        stdout(&diff).contains(&format!(
            "enable app-backup.timer ({LINK} → {TIMER}) [daemon-reload]"
        )),
        "{}",
        stdout(&diff)
    );

    assert_exit(&gen(generated.path(), root.path(), &["apply"]), 0);
    assert_eq!(link_at(root.path(), LINK).as_deref(), Some(TIMER));
    if let Some(answer) = is_enabled(root.path(), "app-backup.timer") {
        assert_eq!(answer, "enabled");
    }
    // The service is started by its timer: no link of its own.
    assert!(!live(root.path(), "/etc/systemd/system/multi-user.target.wants").exists());
    assert_exit(&gen(generated.path(), root.path(), &["diff"]), 0);

    // A tree without the timer disables it.
    write_tree(generated.path(), false);
    let diff = gen(generated.path(), root.path(), &["diff"]);
    assert!(
        stdout(&diff).contains(&format!("disable app-backup.timer ({LINK} → {TIMER})")),
        "{}",
        stdout(&diff)
    );
    assert_exit(&gen(generated.path(), root.path(), &["apply"]), 0);
    assert_eq!(link_at(root.path(), LINK), None);
    assert!(!live(root.path(), TIMER).exists());
    if let Some(answer) = is_enabled(root.path(), "app-backup.timer") {
        assert_ne!(answer, "enabled");
    }

    // Rolling that back enables it again; rolling the first apply back
    // leaves no link and no `.wants` directory.
    assert_exit(&rollback(root.path()), 0);
    assert_eq!(link_at(root.path(), LINK).as_deref(), Some(TIMER));
    if let Some(answer) = is_enabled(root.path(), "app-backup.timer") {
        assert_eq!(answer, "enabled");
    }
    assert_exit(&rollback(root.path()), 0);
    assert_eq!(link_at(root.path(), LINK), None);
    assert!(!live(root.path(), "/etc/systemd/system/timers.target.wants").exists());
}

/// A link someone else put at the path (another unit file of the same
/// name) is replaced, recorded first, and restored by a rollback; a link
/// changed after gen made it is no longer gen's, and a tree that drops the
/// unit leaves it.
#[test]
fn a_foreign_link_at_the_path_is_recorded_replaced_and_restored() {
    let generated = TempDir::new().unwrap();
    let root = TempDir::new().unwrap();
    write_tree(generated.path(), true);
    let wants = live(root.path(), "/etc/systemd/system/timers.target.wants");
    fs::create_dir_all(&wants).unwrap();
    let foreign = "/opt/vendor/app-backup.timer";
    std::os::unix::fs::symlink(foreign, wants.join("app-backup.timer")).unwrap();

    let diff = gen(generated.path(), root.path(), &["diff"]);
    assert!(
        stdout(&diff).contains(&format!(
            "enable app-backup.timer ({LINK} → {TIMER}, replaces a link to {foreign})"
        )),
        "{}",
        stdout(&diff)
    );
    assert_exit(&gen(generated.path(), root.path(), &["apply"]), 0);
    assert_eq!(link_at(root.path(), LINK).as_deref(), Some(TIMER));
    let record = fs::read_to_string(
        root.path()
            .join("var/lib/gen/generations/1/generation.json"),
    )
    .unwrap();
    assert!(
        record.contains(&format!("\"link\": \"{foreign}\"")),
        "{record}"
    );

    assert_exit(&rollback(root.path()), 0);
    assert_eq!(link_at(root.path(), LINK).as_deref(), Some(foreign));
    // The directory was there before: it stays.
    assert!(wants.is_dir());

    // Applied again, then pointed elsewhere by hand: the link is not gen's
    // any more, and dropping the unit leaves it alone.
    assert_exit(&gen(generated.path(), root.path(), &["apply"]), 0);
    fs::remove_file(wants.join("app-backup.timer")).unwrap();
    std::os::unix::fs::symlink("/srv/app-backup.timer", wants.join("app-backup.timer")).unwrap();
    write_tree(generated.path(), false);
    let diff = gen(generated.path(), root.path(), &["diff"]);
    assert!(!stdout(&diff).contains("disable"), "{}", stdout(&diff));
    assert_exit(&gen(generated.path(), root.path(), &["apply"]), 0);
    assert_eq!(
        link_at(root.path(), LINK).as_deref(),
        Some("/srv/app-backup.timer")
    );
}

/// A regular file where the link belongs is replaced by the link, and a
/// rollback puts the file back, content and mode.
#[test]
fn a_file_where_the_link_belongs_is_replaced_and_restored() {
    let generated = TempDir::new().unwrap();
    let root = TempDir::new().unwrap();
    write_tree(generated.path(), true);
    let path = live(root.path(), LINK);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, "not a link\n").unwrap();
    let diff = gen(generated.path(), root.path(), &["diff"]);
    assert!(
        stdout(&diff).contains("replaces a file"),
        "{}",
        stdout(&diff)
    );
    assert_exit(&gen(generated.path(), root.path(), &["apply"]), 0);
    assert_eq!(link_at(root.path(), LINK).as_deref(), Some(TIMER));
    assert_exit(&rollback(root.path()), 0);
    assert!(fs::symlink_metadata(&path).unwrap().is_file());
    assert_eq!(fs::read_to_string(&path).unwrap(), "not a link\n");
}

/// What `gen build` makes of a profile: the compose unit is enabled for
/// `multi-user.target`, and systemd agrees after the apply.
#[test]
fn a_built_tree_enables_its_units_on_the_host() {
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
    let generated = project.path().join("generated");
    let manifest = fs::read_to_string(generated.join("shop/web1/manifest.json")).unwrap();
    assert!(
        manifest.contains("\"link\": \"/etc/systemd/system/shop-compose.service\""),
        "{manifest}"
    );
    let root = TempDir::new().unwrap();
    let output = live_command(&["apply"], Some(&generated), root.path(), None)
        .output()
        .unwrap();
    assert_exit(&output, 0);
    assert_eq!(
        link_at(
            root.path(),
            "/etc/systemd/system/multi-user.target.wants/shop-compose.service"
        )
        .as_deref(),
        Some("/etc/systemd/system/shop-compose.service")
    );
    if let Some(answer) = is_enabled(root.path(), "shop-compose.service") {
        assert_eq!(answer, "enabled");
    }
}
