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
    let (actual, content, _) = read_stamped(root, accounts, host_path)?;
    Ok((actual, content))
}

fn read_stamped(
    root: &LiveRoot,
    accounts: &Accounts,
    host_path: &str,
) -> Result<(Actual, Option<Vec<u8>>, Option<Stamp>)> {
    let resolved = root.resolve(host_path)?;
    let Some(metadata) = resolved.metadata else {
        return Ok((Actual::Absent, None, None));
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
    Ok((
        Actual::Present(file),
        Some(content),
        Some(Stamp::of(&metadata)),
    ))
}

/// The live host as one scan found it: what every managed path holds, and
/// the contents of those present. Managed files are configuration, small:
/// keeping their contents lets the diff and the generation record use them
/// without reading the host again.
#[derive(Debug, Clone, Default)]
pub struct Scan {
    /// Every scanned path, absent ones as `Actual::Absent`.
    pub actual: BTreeMap<String, Actual>,
    /// The content of every present path.
    pub contents: BTreeMap<String, Vec<u8>>,
    stamps: BTreeMap<String, Option<Stamp>>,
}

/// Who a file is on disk: any write, rename over it, chmod or chown changes
/// one of these (ctime moves with every change and cannot be set back).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
    mode: u32,
    uid: u32,
    gid: u32,
}

impl Stamp {
    fn of(metadata: &fs::Metadata) -> Stamp {
        Stamp {
            dev: metadata.dev(),
            ino: metadata.ino(),
            size: metadata.size(),
            mtime: (metadata.mtime(), metadata.mtime_nsec()),
            ctime: (metadata.ctime(), metadata.ctime_nsec()),
            mode: metadata.mode(),
            uid: metadata.uid(),
            gid: metadata.gid(),
        }
    }
}

impl Scan {
    /// The scanned paths that changed on disk since the scan (looked at
    /// with one `stat` each, no content read): a host that moved while an
    /// operator read the diff is refused rather than written from a stale view.
    pub fn moved(&self, root: &LiveRoot) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for (path, stamp) in &self.stamps {
            let now = root.resolve(path)?.metadata.as_ref().map(Stamp::of);
            if now != *stamp {
                out.push(path.clone());
            }
        }
        Ok(out)
    }
}

/// The actual state of every path given, keyed by host path.
pub fn scan<'a>(
    root: &LiveRoot,
    accounts: &Accounts,
    paths: impl IntoIterator<Item = &'a str>,
) -> Result<Scan> {
    let mut out = Scan::default();
    for path in paths {
        let (actual, content, stamp) = read_stamped(root, accounts, path)?;
        out.actual.insert(path.to_string(), actual);
        if let Some(content) = content {
            out.contents.insert(path.to_string(), content);
        }
        out.stamps.insert(path.to_string(), stamp);
    }
    Ok(out)
}
