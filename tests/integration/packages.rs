//! The manifest lists the Debian packages a host's tree needs
//! (`requires.packages`); `gen apply` asks `dpkg-query` about each one and
//! refuses to activate a host that lacks any, naming them all, before it
//! writes anything. A manifest from before packages were listed (a bare list
//! of files under `requires`) still applies.

use std::path::Path;

use super::support::dpkg::FakeDpkg;
use super::support::{gen_command, run, Project, Run, SMALL};

fn built() -> Project {
    let project = Project::new().profile("shop", SMALL);
    let out = project.gen(&["build"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    project
}

/// The certificate and key the tree names, so only packages can be missing.
fn root_with_files() -> tempfile::TempDir {
    let root = tempfile::tempdir().expect("root");
    let ssl = root.path().join("etc/ssl");
    std::fs::create_dir_all(&ssl).expect("ssl");
    std::fs::write(ssl.join("shop.key"), "key\n").expect("key");
    std::fs::write(ssl.join("shop.pem"), "cert\n").expect("cert");
    root
}

fn apply(project: &Project, root: &Path, dpkg: &FakeDpkg, activate: bool) -> Run {
    let mut command = gen_command();
    command
        .args(["apply", "--yes", "--skip-validation", "--generated"])
        .arg(project.path().join("generated"))
        .args(["--profile", "shop", "--host", "web1", "--root"])
        .arg(root)
        .args(["--health-timeout", "1"])
        .env("GEN_SYSTEMCTL", "true");
    dpkg.on(&mut command);
    if activate {
        command.arg("--activate");
    }
    run(&mut command)
}

fn manifest(project: &Project) -> serde_json::Value {
    serde_json::from_slice(
        &std::fs::read(project.path().join("generated/shop/web1/manifest.json")).expect("manifest"),
    )
    .expect("json")
}

#[test]
fn the_manifest_lists_the_packages_of_each_role() {
    let project = built();
    assert_eq!(
        manifest(&project)["requires"]["packages"],
        serde_json::json!([
            "curl",
            "docker-ce",
            "docker-compose-plugin",
            "nginx",
            "prometheus",
            "prometheus-nginx-exporter",
            "prometheus-node-exporter"
        ])
    );
}

#[test]
fn apply_refuses_a_host_missing_packages_naming_each_and_writes_nothing() {
    let project = built();
    let root = root_with_files();
    let dpkg = FakeDpkg::missing(&["nginx", "prometheus"]);
    let refused = apply(&project, root.path(), &dpkg, true);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("gen::apply::missing_packages"),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("nginx, prometheus"),
        "{}",
        refused.stderr
    );
    assert!(
        !root.path().join("etc/nginx").exists(),
        "nothing was written"
    );
    assert!(
        !root.path().join("etc/prometheus").exists(),
        "nothing was written"
    );
    // Every package was asked about, by name, after `--`, in one call.
    let asked = dpkg.asked();
    assert_eq!(asked.len(), 1, "{asked:?}");
    let names: Vec<&str> = asked[0]
        .split_once(" -- ")
        .map(|(_, names)| names.split_whitespace().collect())
        .unwrap_or_default();
    assert!(names.contains(&"prometheus-node-exporter"), "{asked:?}");
    assert_eq!(names.len(), 7, "{asked:?}");

    let all = FakeDpkg::all_installed();
    let applied = apply(&project, root.path(), &all, true);
    assert!(
        !applied.stderr.contains("missing_packages"),
        "{}",
        applied.stderr
    );
    assert!(
        applied.stderr.contains("applied 12 change(s)"),
        "{}",
        applied.stderr
    );
}

#[test]
fn a_host_without_dpkg_query_is_refused_when_activated() {
    let project = built();
    let root = root_with_files();
    let mut command = gen_command();
    command
        .args([
            "apply",
            "--yes",
            "--skip-validation",
            "--activate",
            "--generated",
        ])
        .arg(project.path().join("generated"))
        .args(["--profile", "shop", "--host", "web1", "--root"])
        .arg(root.path())
        .env("GEN_SYSTEMCTL", "true")
        .env("PATH", "/nonexistent");
    let out = run(&mut command);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("gen::apply::package_check"),
        "{}",
        out.stderr
    );
    assert!(
        !root.path().join("etc/nginx").exists(),
        "nothing was written"
    );
}

#[test]
fn a_scratch_root_is_warned_about_missing_packages_not_refused() {
    let project = built();
    let root = root_with_files();
    let dpkg = FakeDpkg::missing(&["docker-ce"]);
    let out = apply(&project, root.path(), &dpkg, false);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("warning: package `docker-ce` is not installed here"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_manifest_listing_only_files_as_before_still_applies() {
    let project = built();
    let path = project.path().join("generated/shop/web1/manifest.json");
    let mut old = manifest(&project);
    let files = old["requires"]["files"].clone();
    old["requires"] = files;
    std::fs::write(&path, serde_json::to_vec_pretty(&old).expect("json")).expect("write");
    let root = root_with_files();
    // No package is installed, and none is asked about: the old manifest
    // names none.
    let dpkg = FakeDpkg::missing(&["nginx"]);
    let mut command = gen_command();
    command
        .args([
            "apply",
            "--yes",
            "--skip-validation",
            "--allow-stale",
            "--activate",
        ])
        .arg("--generated")
        .arg(project.path().join("generated"))
        .args(["--profile", "shop", "--host", "web1", "--root"])
        .arg(root.path())
        .args(["--health-timeout", "1"])
        .env("GEN_SYSTEMCTL", "true");
    dpkg.on(&mut command);
    let out = run(&mut command);
    assert!(
        out.stderr.contains("applied 12 change(s)"),
        "{}",
        out.stderr
    );
    assert!(dpkg.asked().is_empty(), "{:?}", dpkg.asked());
}
