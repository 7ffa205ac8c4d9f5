//! Write stage: lay compiled profiles out as `generated/<profile>/<host>/root/…`
//! plus `manifest.json`, or compare them with what is on disk (`build --check`).
//! A build is written beside the old tree and swapped in only when complete,
//! so a failed build leaves the previous `generated/` untouched.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;

use camino::{Utf8Path, Utf8PathBuf};

use crate::compile::CompiledProfile;
use crate::error::{Error, Result};

pub const MANIFEST_FILE: &str = "manifest.json";
pub const ROOT_DIR: &str = "root";
const STAGING_SUFFIX: &str = ".gen-new";
const RETIRED_SUFFIX: &str = ".gen-old";

/// Where a host file lives inside a host's target tree. The host path is
/// absolute and was checked to hold no `.`, `..` or empty component, so the
/// join cannot leave the tree.
pub fn tree_path(host_dir: &Utf8Path, host_path: &str) -> Utf8PathBuf {
    host_dir
        .join(ROOT_DIR)
        .join(host_path.trim_start_matches('/'))
}

/// Every file of the compiled profiles, keyed by path relative to `generated/`.
pub fn expected_files(profiles: &[CompiledProfile]) -> BTreeMap<Utf8PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    for profile in profiles {
        for host in &profile.hosts {
            let host_dir = Utf8Path::new(&profile.name).join(&host.host);
            for artifact in &host.artifacts {
                files.insert(
                    tree_path(&host_dir, &artifact.spec.path),
                    artifact.content.clone(),
                );
            }
            files.insert(host_dir.join(MANIFEST_FILE), host.manifest.to_json());
        }
    }
    files
}

/// Which part of `generated/` a build owns: all of it, or some profiles' folders.
#[derive(Debug, Clone)]
pub enum Scope {
    All,
    Profiles(Vec<String>),
}

/// Writes the compiled profiles, replacing exactly the scope's folders.
pub fn write(generated: &Utf8Path, profiles: &[CompiledProfile], scope: &Scope) -> Result<usize> {
    let files = expected_files(profiles);
    match scope {
        Scope::All => {
            let staging = sibling(generated, STAGING_SUFFIX);
            write_fresh(
                &staging,
                files.iter().map(|(p, c)| (p.as_path(), c.as_slice())),
            )?;
            swap(&staging, generated)?;
        }
        Scope::Profiles(names) => {
            fs::create_dir_all(generated).map_err(|e| Error::write(generated, e))?;
            for name in names {
                let prefix = Utf8Path::new(name);
                let target = generated.join(name);
                let staging = generated.join(format!(".{name}{STAGING_SUFFIX}"));
                let entries = files.iter().filter_map(|(p, c)| {
                    p.strip_prefix(prefix).ok().map(|rel| (rel, c.as_slice()))
                });
                write_fresh(&staging, entries)?;
                swap(&staging, &target)?;
            }
        }
    }
    Ok(files.len())
}

fn sibling(path: &Utf8Path, suffix: &str) -> Utf8PathBuf {
    let name = path.file_name().unwrap_or("generated");
    path.with_file_name(format!("{name}{suffix}"))
}

fn write_fresh<'a>(
    dir: &Utf8Path,
    files: impl Iterator<Item = (&'a Utf8Path, &'a [u8])>,
) -> Result<()> {
    if dir.exists() {
        fs::remove_dir_all(dir).map_err(|e| Error::write(dir, e))?;
    }
    create_dir(dir)?;
    for (relative, content) in files {
        let path = dir.join(relative);
        if let Some(parent) = path.parent() {
            create_dir(parent)?;
        }
        let mut file = fs::File::create(&path).map_err(|e| Error::write(&path, e))?;
        file.write_all(content)
            .map_err(|e| Error::write(&path, e))?;
        // The tree's own modes are fixed so the umask cannot change it; the
        // modes that matter on the host are in the manifest.
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644))
            .map_err(|e| Error::write(&path, e))?;
    }
    Ok(())
}

fn create_dir(dir: &Utf8Path) -> Result<()> {
    fs::create_dir_all(dir).map_err(|e| Error::write(dir, e))?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).map_err(|e| Error::write(dir, e))
}

fn swap(staging: &Utf8Path, target: &Utf8Path) -> Result<()> {
    let retired = sibling(target, RETIRED_SUFFIX);
    if retired.exists() {
        fs::remove_dir_all(&retired).map_err(|e| Error::write(&retired, e))?;
    }
    if target.exists() {
        fs::rename(target, &retired).map_err(|e| Error::write(target, e))?;
    }
    fs::rename(staging, target).map_err(|e| Error::write(target, e))?;
    if retired.exists() {
        fs::remove_dir_all(&retired).map_err(|e| Error::write(&retired, e))?;
    }
    Ok(())
}

/// How a file on disk differs from what the profiles produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Discrepancy {
    /// The profiles produce it; it is not on disk.
    Missing,
    /// On disk with other content (stale, or edited by hand).
    Stale,
    /// On disk; the profiles do not produce it.
    Extra,
}

/// Compares the scope of `generated/` with the compiled profiles.
pub fn check(
    generated: &Utf8Path,
    profiles: &[CompiledProfile],
    scope: &Scope,
) -> Result<Vec<(Utf8PathBuf, Discrepancy)>> {
    let expected = expected_files(profiles);
    let roots: Vec<Utf8PathBuf> = match scope {
        Scope::All => vec![Utf8PathBuf::new()],
        Scope::Profiles(names) => names.iter().map(Utf8PathBuf::from).collect(),
    };
    let mut found: BTreeMap<Utf8PathBuf, ()> = BTreeMap::new();
    let mut out = Vec::new();
    for root in &roots {
        let dir = generated.join(root);
        if !dir.exists() {
            continue;
        }
        for entry in walkdir::WalkDir::new(&dir).sort_by_file_name() {
            let entry = entry.map_err(|e| Error::read(dir.clone(), e.into()))?;
            if entry.file_type().is_dir() {
                continue;
            }
            let Some(path) = Utf8Path::from_path(entry.path()) else {
                out.push((
                    Utf8PathBuf::from(entry.path().to_string_lossy().into_owned()),
                    Discrepancy::Extra,
                ));
                continue;
            };
            let relative = path.strip_prefix(generated).unwrap_or(path).to_path_buf();
            match expected.get(&relative) {
                None => out.push((relative.clone(), Discrepancy::Extra)),
                Some(content) => {
                    let actual = fs::read(path).map_err(|e| Error::read(path, e))?;
                    if &actual != content {
                        out.push((relative.clone(), Discrepancy::Stale));
                    }
                }
            }
            found.insert(relative, ());
        }
    }
    for path in expected.keys() {
        if !found.contains_key(path) {
            out.push((path.clone(), Discrepancy::Missing));
        }
    }
    out.sort();
    Ok(out)
}
