//! `gen build --check` compares every file on disk with what the profiles
//! render now, byte for byte: it never takes a manifest's word for a file's
//! content, and a difference anywhere in a file (its last byte, or the same
//! size with other bytes) is found.

use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use super::support::{Project, VALID};

const SITE: &str = "shop/web1/root/etc/nginx/sites-enabled/shop.conf";
const MANIFEST: &str = "shop/web1/manifest.json";

fn built() -> Project {
    let project = Project::new().profile("shop", VALID);
    assert_eq!(project.gen(&["build"]).code, 0);
    project
}

fn generated(project: &Project, relative: &str) -> PathBuf {
    project.path().join("generated").join(relative)
}

/// The paths `--check` names, with their kind, from its JSON report.
fn discrepancies(project: &Project) -> Vec<(String, String)> {
    let run = project.gen(&["build", "--check", "--format", "json"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    report["differences"]
        .as_array()
        .expect("array")
        .iter()
        .map(|d| {
            (
                d["path"]
                    .as_str()
                    .unwrap_or_default()
                    .trim_start_matches("./generated/")
                    .to_string(),
                d["kind"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn stale(path: &str) -> (String, String) {
    (path.to_string(), "stale".to_string())
}

fn hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Replaces the byte at `index` (from the end when negative) with another one.
fn flip(path: &Path, index: isize) {
    let mut bytes = std::fs::read(path).expect("read");
    let at = if index < 0 {
        bytes.len() - index.unsigned_abs()
    } else {
        index.unsigned_abs()
    };
    bytes[at] = if bytes[at] == b'#' { b'%' } else { b'#' };
    std::fs::write(path, bytes).expect("write");
}

#[test]
fn a_changed_last_byte_is_found() {
    let project = built();
    flip(&generated(&project, SITE), -1);
    assert_eq!(discrepancies(&project), vec![stale(SITE)]);
}

#[test]
fn a_file_of_the_same_size_with_other_bytes_is_found() {
    let project = built();
    let path = generated(&project, SITE);
    let before = std::fs::metadata(&path).expect("site").len();
    flip(&path, 0);
    assert_eq!(std::fs::metadata(&path).expect("site").len(), before);
    assert_eq!(discrepancies(&project), vec![stale(SITE)]);
}

/// A hand edit whose manifest was edited to match (the record's sha256 and
/// size say the new content) is still stale, and so is the manifest.
#[test]
fn a_manifest_edited_to_match_a_hand_edit_is_not_trusted() {
    let project = built();
    let path = generated(&project, SITE);
    let old = std::fs::read(&path).expect("site");
    let mut new = old.clone();
    let last = new.len() - 1;
    new[last] = b'#';
    assert_ne!(new, old);
    std::fs::write(&path, &new).expect("edit");
    let manifest = generated(&project, MANIFEST);
    let text = std::fs::read_to_string(&manifest).expect("manifest");
    assert!(
        text.contains(&hex(&old)),
        "the manifest records the site's sha256"
    );
    std::fs::write(&manifest, text.replace(&hex(&old), &hex(&new))).expect("lie");
    assert_eq!(discrepancies(&project), vec![stale(MANIFEST), stale(SITE)]);
}

/// The manifest itself is compared, not parsed: one changed byte in it is stale.
#[test]
fn a_manifest_with_one_changed_byte_is_stale() {
    let project = built();
    flip(&generated(&project, MANIFEST), -2);
    assert_eq!(discrepancies(&project), vec![stale(MANIFEST)]);
}

/// gen writes plain files: a symbolic link to a file with the very bytes
/// gen would write is still not the tree gen builds.
#[test]
fn a_symbolic_link_to_identical_content_is_stale() {
    let project = built();
    let path = generated(&project, SITE);
    let copy = project.path().join("shop.conf");
    std::fs::copy(&path, &copy).expect("copy");
    std::fs::remove_file(&path).expect("remove");
    std::os::unix::fs::symlink(&copy, &path).expect("link");
    assert_eq!(discrepancies(&project), vec![stale(SITE)]);
}

#[test]
fn a_missing_host_folder_and_an_extra_one_are_named() {
    let project = built();
    let generated_dir = project.path().join("generated");
    std::fs::rename(
        generated_dir.join("shop/web1"),
        generated_dir.join("shop/web9"),
    )
    .expect("rename");
    let found = discrepancies(&project);
    assert!(
        found.contains(&("shop/web1/manifest.json".into(), "missing".into())),
        "{found:?}"
    );
    assert!(
        found.contains(&("shop/web9/manifest.json".into(), "extra".into())),
        "{found:?}"
    );
    assert!(
        found.iter().any(|(p, k)| p == SITE && k == "missing"),
        "{found:?}"
    );
}
