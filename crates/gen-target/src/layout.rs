//! Target layout: where a host's files and manifest sit inside `generated/`.
//! `gen build` writes this layout, `gen check`, `gen diff` and `gen apply`
//! read it; this module is the one place it is spelled.

use camino::{Utf8Path, Utf8PathBuf};

use crate::host_path::join_under;

/// The manifest of one host: `generated/<profile>/<host>/manifest.json`.
pub const MANIFEST_FILE: &str = "manifest.json";

/// The host's files, mirroring its filesystem: `generated/<profile>/<host>/root/…`.
pub const ROOT_DIR: &str = "root";

/// Where a host file lives inside a host's target tree. The host path is
/// absolute and was checked to hold no `.`, `..` or empty component, so the
/// join cannot leave the tree.
pub fn tree_path(host_dir: &Utf8Path, host_path: &str) -> Utf8PathBuf {
    join_under(&host_dir.join(ROOT_DIR), host_path)
}

/// The manifest of the host whose tree is `host_dir`.
pub fn manifest_path(host_dir: &Utf8Path) -> Utf8PathBuf {
    host_dir.join(MANIFEST_FILE)
}

/// The host folders of one profile's tree (those holding a manifest), sorted.
/// A missing or unreadable folder has none.
pub fn hosts(profile_dir: &Utf8Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(profile_dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter(|e| e.path().join(MANIFEST_FILE).is_file())
                .filter_map(|e| e.file_name().to_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}
