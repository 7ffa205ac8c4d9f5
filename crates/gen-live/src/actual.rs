//! Scan stage: the actual state of the live host, for the managed paths only.
//! Every path is read through the handle of its directory (`root_dir`), so a
//! symbolic link anywhere on the way is refused, never followed. A path a
//! manifest records as a link (a unit's `[Install]` link) is read as a link:
//! what it holds, never what it names.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::os::unix::fs::MetadataExt as _;

use serde::{Deserialize, Serialize};

use crate::accounts::Accounts;
use crate::root_dir::{Dir, Entry, Node, RootDir};
use gen_target::error::Result;
use gen_target::manifest::sha256_hex;

/// What one managed path holds on the live host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Actual {
    Absent,
    Present(LiveFile),
    /// A symbolic link, where a manifest records one.
    Link(LiveLink),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveLink {
    /// The path the link holds.
    pub target: String,
    /// sha256 of `target`, as a link record's `sha256` is.
    pub sha256: String,
    pub uid: u32,
    pub gid: u32,
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
            Actual::Link(link) => Some(&link.sha256),
        }
    }
}

/// Reads one managed path: its content hash, mode and owner.
pub fn read_one(
    root: &RootDir,
    accounts: &Accounts,
    host_path: &str,
) -> Result<(Actual, Option<Vec<u8>>)> {
    let (dir, name) = root.split(host_path)?;
    let (actual, content, _) = read_in(root.dir(dir)?.as_ref(), name, accounts, false)?;
    Ok((actual, content))
}

/// Reads `name` in `dir` (`None`: the directory does not exist); a link is
/// read as one when `link_ok`, refused otherwise.
fn read_in(
    dir: Option<&Dir>,
    name: &str,
    accounts: &Accounts,
    link_ok: bool,
) -> Result<(Actual, Option<Vec<u8>>, Option<Stamp>)> {
    if let (Some(dir), true) = (dir, link_ok) {
        match dir.node(name)? {
            Node::Absent => return Ok((Actual::Absent, None, None)),
            Node::Link { metadata, target } => {
                let link = LiveLink {
                    sha256: sha256_hex(target.as_bytes()),
                    target,
                    uid: metadata.uid(),
                    gid: metadata.gid(),
                };
                return Ok((Actual::Link(link), None, Some(Stamp::of(&metadata))));
            }
            Node::File(_) => {}
        }
    }
    let Some((metadata, content)) = dir.map(|d| d.read_file(name)).transpose()?.flatten() else {
        return Ok((Actual::Absent, None, None));
    };
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
    /// The paths read as links may be (see [`scan`]).
    links: BTreeSet<String>,
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
    pub fn moved(&self, root: &RootDir) -> Result<Vec<String>> {
        let mut dirs = Dirs::default();
        let mut out = Vec::new();
        for (path, stamp) in &self.stamps {
            let (dir, name) = root.split(path)?;
            let now = match dirs.get(root, dir)? {
                Some(dir) if self.links.contains(path) => match dir.node(name)? {
                    Node::File(metadata) | Node::Link { metadata, .. } => {
                        Some(Stamp::of(&metadata))
                    }
                    Node::Absent => None,
                },
                Some(dir) => match dir.entry(name)? {
                    Entry::File(metadata) => Some(Stamp::of(&metadata)),
                    Entry::Absent => None,
                },
                None => None,
            };
            if now != *stamp {
                out.push(path.clone());
            }
        }
        Ok(out)
    }
}

/// The directories one pass opened, by host path: managed files share a few
/// directories, each opened once.
#[derive(Default)]
struct Dirs(BTreeMap<String, Option<Dir>>);

impl Dirs {
    fn get(&mut self, root: &RootDir, host_dir: &str) -> Result<Option<&Dir>> {
        if !self.0.contains_key(host_dir) {
            let dir = root.dir(host_dir)?;
            self.0.insert(host_dir.to_string(), dir);
        }
        Ok(self.0.get(host_dir).and_then(Option::as_ref))
    }
}

/// The actual state of every path given, keyed by host path, each with
/// whether a link is what a manifest records there (`true`: a link is read
/// as one; `false`: a link is refused). `None`: the root does not exist, and
/// holds nothing.
pub fn scan<'a>(
    root: Option<&RootDir>,
    accounts: &Accounts,
    paths: impl IntoIterator<Item = (&'a str, bool)>,
) -> Result<Scan> {
    let mut dirs = Dirs::default();
    let mut out = Scan::default();
    for (path, link_ok) in paths {
        if link_ok {
            out.links.insert(path.to_string());
        }
        let (dir, name) = match root {
            Some(root) => {
                let (dir, name) = root.split(path)?;
                (dirs.get(root, dir)?, name)
            }
            None => (None, path),
        };
        let (actual, content, stamp) = read_in(dir, name, accounts, link_ok)?;
        out.actual.insert(path.to_string(), actual);
        if let Some(content) = content {
            out.contents.insert(path.to_string(), content);
        }
        out.stamps.insert(path.to_string(), stamp);
    }
    Ok(out)
}
