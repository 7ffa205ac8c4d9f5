//! `gen check` runs the real validators. CI installs every one of them
//! (`.ci/install-validators.sh`), so these run with `--strict`: a validator
//! missing here fails the test, naming it.

use super::support::bundled::{self, text, Tree, PROFILES};

#[test]
fn every_bundled_profile_passes_every_validator() {
    let tree = Tree::build();
    for profile in PROFILES {
        let out = tree.check(&["--strict", "--profile", profile]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "gen check --strict --profile {profile} (is every validator installed? run .ci/install-validators.sh)\n{}",
            text(&out)
        );
    }
}

/// The fixture profiles that reproduce the reference stacks pass too: the
/// native-systemd stack, the one with Celery workers, the one with a replica.
#[test]
fn every_fixture_profile_passes_every_validator() {
    for fixture in super::support::FIXTURES {
        let out_dir = tempfile::tempdir().unwrap();
        let project = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(fixture);
        let built = bundled::gen()
            .arg("-C")
            .arg(&project)
            .args(["build", "--out"])
            .arg(out_dir.path())
            .output()
            .unwrap();
        assert!(built.status.success(), "{}", text(&built));
        let out = bundled::gen()
            .args(["check", "--strict", "--generated"])
            .arg(out_dir.path())
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "gen check --strict on fixture {fixture}\n{}",
            text(&out)
        );
    }
}

/// A typo'd directive in a generated file fails with nginx's own message,
/// pointing at the generated file and line. Check validates content: the
/// manifest's hash is not consulted.
#[test]
fn a_broken_nginx_site_fails_with_nginx_message_at_the_generated_line() {
    let tree = Tree::build();
    let site = tree.path("pilot", "pilot1", "/etc/nginx/sites-enabled/atlas.conf");
    let text_before = std::fs::read_to_string(&site).unwrap();
    let line = text_before
        .lines()
        .position(|l| l.trim_start().starts_with("ssl_protocols "))
        .expect("ssl_protocols line")
        + 1;
    std::fs::write(
        &site,
        text_before.replace("ssl_protocols ", "ssl_protocolz "),
    )
    .unwrap();
    let out = tree.check(&["--profile", "pilot", "--host", "pilot1"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let expected = format!(
        "unknown directive \"ssl_protocolz\" in generated/pilot/pilot1/root/etc/nginx/sites-enabled/atlas.conf:{line}"
    );
    assert!(
        stdout.contains(&expected),
        "expected `{expected}` in\n{}",
        text(&out)
    );
    assert!(
        stdout.contains("FAILED  generated/pilot/pilot1/root/etc/nginx/sites-enabled/atlas.conf")
    );
}

#[test]
fn a_broken_postgresql_conf_fails_at_the_generated_line() {
    let tree = Tree::build();
    let conf = tree.path("ha", "db2", "/etc/postgresql/15/main/postgresql.conf");
    let before = std::fs::read_to_string(&conf).unwrap();
    let line = before
        .lines()
        .position(|l| l.starts_with("work_mem"))
        .expect("work_mem")
        + 1;
    std::fs::write(&conf, before.replacen("\nwork_mem", "\nwork_memz", 1)).unwrap();
    let out = tree.check(&["--profile", "ha", "--host", "db2", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json report");
    let file = report["hosts"][0]["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["validator"] == "postgresql")
        .unwrap();
    assert_eq!(file["status"], "failed");
    let messages = file["messages"].to_string();
    let at = format!("generated/ha/db2/root/etc/postgresql/15/main/postgresql.conf:{line}:");
    assert!(
        messages.contains(&at) && messages.contains("work_memz"),
        "{messages}"
    );
}

#[test]
fn broken_redis_systemd_and_cron_files_fail_with_their_validators_messages() {
    let tree = Tree::build();
    let edit = |path: &str, from: &str, to: &str| {
        let p = tree.path("pilot", "pilot1", path);
        let t = std::fs::read_to_string(&p).unwrap();
        assert!(t.contains(from), "{path} has no `{from}`");
        std::fs::write(&p, t.replacen(from, to, 1)).unwrap();
    };
    edit("/etc/redis/redis.conf", "\nmaxmemory ", "\nmaxmemoryz ");
    edit(
        "/etc/systemd/system/atlas-backup.service",
        "\nNice=",
        "\nNicez=",
    );
    edit("/etc/cron.d/atlas", "\n17 3 ", "\n17 25 ");
    let out = tree.check(&["--profile", "pilot"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    for expected in [
        "generated/pilot/pilot1/root/etc/redis/redis.conf:",
        "Bad directive or wrong number of arguments: 'maxmemoryz",
        "generated/pilot/pilot1/root/etc/systemd/system/atlas-backup.service:",
        "Unknown key 'Nicez' in section [Service]",
        "generated/pilot/pilot1/root/etc/cron.d/atlas:",
        "crontab: bad hour",
    ] {
        assert!(
            stdout.contains(expected),
            "expected `{expected}` in\n{}",
            text(&out)
        );
    }
}

#[test]
fn an_unknown_profile_is_an_error_with_help() {
    let tree = Tree::build();
    let out = tree.check(&["--profile", "nope"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no profile `nope`; known: `ha`, `pilot`, `production`"),
        "{stderr}"
    );
    assert!(stderr.contains("run it first"), "{stderr}");
}

/// `gen apply` runs the validators on the real tree of a database host before
/// writing (with a small sandbox beside the host's services) and applies it.
#[test]
fn apply_validates_a_database_host_tree_then_writes_it() {
    let tree = Tree::build();
    let root = tempfile::tempdir().unwrap();
    let out = bundled::gen()
        .args([
            "apply",
            "--profile",
            "ha",
            "--host",
            "db1",
            "--yes",
            "--no-reload",
            "--generated",
        ])
        .arg(tree.generated())
        .arg("--root")
        .arg(root.path())
        .env("GEN_SYSTEMCTL", "true")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(root
        .path()
        .join("etc/postgresql/15/main/postgresql.conf")
        .is_file());

    // The same tree with a broken setting is refused before anything changes.
    let conf = tree.path("ha", "db2", "/etc/postgresql/15/main/postgresql.conf");
    let broken = std::fs::read_to_string(&conf)
        .unwrap()
        .replace("max_connections = ", "max_connectionz = ");
    std::fs::write(&conf, broken).unwrap();
    // Keep the manifest's hash in step, so only the validator can refuse it.
    let manifest_path = tree.generated().join("ha/db2/manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
    let bytes = std::fs::read(&conf).unwrap();
    for record in manifest["files"].as_array_mut().unwrap() {
        if record["path"] == "/etc/postgresql/15/main/postgresql.conf" {
            record["sha256"] = gen_target::manifest::sha256_hex(&bytes).into();
            record["size"] = bytes.len().into();
        }
    }
    let files: Vec<gen_target::manifest::FileRecord> =
        serde_json::from_value(manifest["files"].clone()).unwrap();
    manifest["tree_hash"] = gen_target::manifest::tree_hash(&files).into();
    std::fs::write(
        &manifest_path,
        serde_json::to_vec_pretty(&manifest).unwrap(),
    )
    .unwrap();
    let root2 = tempfile::tempdir().unwrap();
    let refused = bundled::gen()
        .args([
            "apply",
            "--profile",
            "ha",
            "--host",
            "db2",
            "--yes",
            "--no-reload",
            "--generated",
        ])
        .arg(tree.generated())
        .arg("--root")
        .arg(root2.path())
        .env("GEN_SYSTEMCTL", "true")
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    assert!(
        text(&refused).contains("failed validation, nothing was written"),
        "{}",
        text(&refused)
    );
    assert!(!root2.path().join("etc").exists(), "nothing may be written");
}
