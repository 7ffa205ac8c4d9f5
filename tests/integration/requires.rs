//! gen never writes a secret, a certificate or a key; the manifest lists the
//! ones a host's files name, and `gen apply` refuses to activate a host that
//! lacks them (on a scratch root it warns), instead of letting a restart fail.

use std::os::unix::fs::symlink;
use std::path::Path;

use super::support::dpkg::FakeDpkg;
use super::support::{gen_command, run, Project, Run, SMALL};

fn apply(project: &Project, root: &Path, activate: bool) -> Run {
    let mut command = gen_command();
    command
        .args(["apply", "--yes", "--skip-validation", "--generated"])
        .arg(project.path().join("generated"))
        .args(["--profile", "shop", "--host", "web1", "--root"])
        .arg(root)
        .args(["--health-timeout", "1"])
        .env("GEN_SYSTEMCTL", "true");
    // The packages are another test's business (packages.rs): all present.
    let dpkg = FakeDpkg::all_installed();
    dpkg.on(&mut command);
    if activate {
        command.arg("--activate");
    }
    run(&mut command)
}

fn built() -> Project {
    let project = Project::new().profile("shop", SMALL);
    let out = project.gen(&["build"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    project
}

#[test]
fn the_manifest_lists_the_files_the_host_must_provide() {
    let project = built();
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(project.path().join("generated/shop/web1/manifest.json")).expect("manifest"),
    )
    .expect("json");
    assert_eq!(
        manifest["requires"]["files"],
        serde_json::json!(["/etc/ssl/shop.key", "/etc/ssl/shop.pem"])
    );
}

#[test]
fn an_activated_apply_refuses_a_host_without_its_certificate_and_key() {
    let project = built();
    let root = tempfile::tempdir().expect("root");
    let refused = apply(&project, root.path(), true);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("gen::apply::missing_files"),
        "{}",
        refused.stderr
    );
    assert!(
        refused
            .stderr
            .contains("/etc/ssl/shop.key, /etc/ssl/shop.pem"),
        "{}",
        refused.stderr
    );
    assert!(
        !root.path().join("etc/nginx").exists(),
        "nothing was written"
    );

    // The key as a file, the certificate as a link the way certbot lays it
    // out (absolute, resolved inside the root): both count as present.
    let ssl = root.path().join("etc/ssl");
    std::fs::create_dir_all(&ssl).expect("ssl");
    std::fs::write(ssl.join("shop.key"), "key\n").expect("key");
    symlink("/etc/ssl/real/shop.pem", ssl.join("shop.pem")).expect("link");
    let dangling = apply(&project, root.path(), true);
    assert!(
        dangling.stderr.contains("/etc/ssl/shop.pem"),
        "a dangling link is no certificate: {}",
        dangling.stderr
    );
    assert!(!dangling.stderr.contains("shop.key"), "{}", dangling.stderr);

    std::fs::create_dir_all(ssl.join("real")).expect("real");
    std::fs::write(ssl.join("real/shop.pem"), "cert\n").expect("cert");
    let present = apply(&project, root.path(), true);
    assert!(
        !present.stderr.contains("missing_files"),
        "{}",
        present.stderr
    );
    // Past the check, the apply writes (its health gate then fails here, with
    // no services behind it, and rolls back: that is the gate's business).
    assert!(
        present.stderr.contains("applied 12 change(s)"),
        "{}",
        present.stderr
    );
}

#[test]
fn a_scratch_root_is_warned_not_refused() {
    let project = built();
    let root = tempfile::tempdir().expect("root");
    let out = apply(&project, root.path(), false);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("warning: the host has no `/etc/ssl/shop.pem`"),
        "{}",
        out.stderr
    );
}
