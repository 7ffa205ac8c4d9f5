//! Scan stage: the actual state of the live host, for the managed paths only.
//! Everything that touches the live filesystem finds its way there through
//! `LiveRoot::resolve`, the one function that joins `--root` with a host path.
//! It never follows a symbolic link: every component from the root down is
//! inspected with `symlink_metadata`, and a link anywhere is refused.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt as _;

use camino::{Utf8Path, Utf8PathBuf};
use serde::{Deserialize, Serialize};

use crate::accounts::Accounts;
use gen_target::error::{Error, Result};
use gen_target::manifest::sha256_hex;

/// The live filesystem gen manages, `/` in production.
#[derive(Debug, Clone)]
pub struct LiveRoot {
    root: Utf8PathBuf,
}

/// Where a host path leads under the root, and the directories on the way that
/// do not exist yet (outermost first).
#[derive(Debug, Clone)]
pub struct Resolved {
    pub path: Utf8PathBuf,
    pub missing_dirs: Vec<Utf8PathBuf>,
    pub metadata: Option<fs::Metadata>,
}

impl LiveRoot {
    pub fn new(root: impl Into<Utf8PathBuf>) -> LiveRoot {
        LiveRoot { root: root.into() }
    }

    pub fn path(&self) -> &Utf8Path {
        &self.root
    }

    /// Joins the root with an absolute host path (checked when the manifest
    /// was read: no `.`, `..` or empty component), refusing a symbolic link or
    /// a non-directory on any component and anything but a regular file at
    /// the end.
    pub fn resolve(&self, host_path: &str) -> Result<Resolved> {
        if !gen_target::host_path::is_safe_path(host_path) || host_path == "/" {
            return Err(Error::UnsafeLivePath {
                path: self.root.join(host_path.trim_start_matches('/')),
                message: "is not a plain absolute path".into(),
            });
        }
        let components: Vec<&str> = host_path[1..].split('/').collect();
        let mut current = self.root.clone();
        let mut missing_dirs = Vec::new();
        let last = components.len() - 1;
        for (index, component) in components.iter().enumerate() {
            current.push(component);
            if !missing_dirs.is_empty() {
                if index < last {
                    missing_dirs.push(current.clone());
                }
                continue;
            }
            let metadata = match fs::symlink_metadata(&current) {
                Ok(m) => m,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    if index < last {
                        missing_dirs.push(current.clone());
                    }
                    continue;
                }
                Err(e) => return Err(Error::read(&current, e)),
            };
            let kind = metadata.file_type();
            if kind.is_symlink() {
                return Err(Error::Symlink { path: current });
            }
            if index < last && !kind.is_dir() {
                return Err(Error::UnsafeLivePath {
                    path: current,
                    message: "is not a directory".into(),
                });
            }
            if index == last {
                if !kind.is_file() {
                    return Err(Error::UnsafeLivePath {
                        path: current,
                        message: "is not a regular file".into(),
                    });
                }
                return Ok(Resolved {
                    path: current,
                    missing_dirs,
                    metadata: Some(metadata),
                });
            }
        }
        Ok(Resolved {
            path: current,
            missing_dirs,
            metadata: None,
        })
    }

    /// The state directory gen keeps on the host (lock, generations).
    pub fn state_dir(&self) -> Utf8PathBuf {
        self.root.join("var/lib/gen")
    }
}

/// What one managed path holds on the live host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Actual {
    Absent,
    Present(LiveFile),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveFile {
    pub sha256: String,
    /// Octal, e.g. `0644`.
    pub mode: String,
    pub uid: u32,
    pub gid: u32,
    pub owner: String,
    pub group: String,
}

impl Actual {
    pub fn sha256(&self) -> Option<&str> {
        match self {
            Actual::Absent => None,
            Actual::Present(file) => Some(&file.sha256),
        }
    }
}

/// Reads one managed path: its content hash, mode and owner.
pub fn read_one(
    root: &LiveRoot,
    accounts: &Accounts,
    host_path: &str,
) -> Result<(Actual, Option<Vec<u8>>)> {
    let resolved = root.resolve(host_path)?;
    let Some(metadata) = resolved.metadata else {
        return Ok((Actual::Absent, None));
    };
    let content = fs::read(&resolved.path).map_err(|e| Error::read(&resolved.path, e))?;
    let file = LiveFile {
        sha256: sha256_hex(&content),
        mode: gen_target::manifest::mode_string(metadata.mode() & 0o7777),
        uid: metadata.uid(),
        gid: metadata.gid(),
        owner: accounts.user_name(metadata.uid()),
        group: accounts.group_name(metadata.gid()),
    };
    Ok((Actual::Present(file), Some(content)))
}

/// The actual state of every path given, keyed by host path.
pub fn scan<'a>(
    root: &LiveRoot,
    accounts: &Accounts,
    paths: impl IntoIterator<Item = &'a str>,
) -> Result<BTreeMap<String, Actual>> {
    let mut out = BTreeMap::new();
    for path in paths {
        let (actual, _) = read_one(root, accounts, path)?;
        out.insert(path.to_string(), actual);
    }
    Ok(out)
}
