//! Apply support: generations, the journal of what each apply replaced.
//! `<root>/var/lib/gen/generations/<N>/generation.json` records, before any
//! managed file is touched, what every path to be changed held (content, mode,
//! uid, gid) or that it did not exist, plus the manifest being applied; the old
//! contents are kept beside it under `content/<sha256>`. The record's `state`
//! is the journal: `in_progress` while files are written, `complete` after,
//! `rolling_back` while a rollback restores it, `rolled_back` after.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt as _;

use camino::{Utf8Path, Utf8PathBuf};
use serde::{Deserialize, Serialize};

use crate::atomic::{self, Attributes};
use crate::error::{Error, Result};
use crate::manifest::{sha256_hex, Manifest};

pub const RECORD_FILE: &str = "generation.json";
const CONTENT_DIR: &str = "content";
/// Generations kept after an apply unless `--keep` says otherwise.
pub const DEFAULT_KEEP: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    InProgress,
    Complete,
    RollingBack,
    RolledBack,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Generation {
    pub number: u64,
    pub state: State,
    pub profile: String,
    pub host: String,
    pub tree_hash: String,
    /// Every path this apply changed and what it held before, sorted by path.
    pub before: Vec<Before>,
    /// Directories this apply created (host paths, outermost first).
    pub created_dirs: Vec<String>,
    /// What the host holds after this apply: the next apply removes what it
    /// lists and the next manifest does not.
    pub manifest: Manifest,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Before {
    pub path: String,
    /// `None`: the path did not exist.
    pub file: Option<BeforeFile>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BeforeFile {
    pub sha256: String,
    pub mode: String,
    pub uid: u32,
    pub gid: u32,
}

impl BeforeFile {
    pub fn attributes(&self) -> Attributes {
        Attributes {
            mode: u32::from_str_radix(&self.mode, 8).unwrap_or(0o600) & 0o7777,
            uid: self.uid,
            gid: self.gid,
        }
    }
}

/// The generations directory of one live root.
#[derive(Debug, Clone)]
pub struct Store {
    dir: Utf8PathBuf,
}

impl Store {
    pub fn new(state_dir: &Utf8Path) -> Store {
        Store {
            dir: state_dir.join("generations"),
        }
    }

    pub fn dir(&self) -> &Utf8Path {
        &self.dir
    }

    /// Removes temporary files an interrupted save left in a generation's
    /// own directories (its record and its kept contents).
    pub fn clean_temp(&self, number: u64) -> Result<()> {
        let dir = self.generation_dir(number);
        atomic::clean_temp(&dir)?;
        atomic::clean_temp(&dir.join(CONTENT_DIR))?;
        Ok(())
    }

    fn generation_dir(&self, number: u64) -> Utf8PathBuf {
        self.dir.join(number.to_string())
    }

    /// Every recorded generation, oldest first. Numbered directories without
    /// a record are returned separately: an apply died while starting one,
    /// before touching any managed file.
    pub fn list(&self) -> Result<(Vec<Generation>, Vec<Utf8PathBuf>)> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((Vec::new(), Vec::new())),
            Err(e) => return Err(Error::read(&self.dir, e)),
        };
        let mut generations = Vec::new();
        let mut partial = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| Error::read(&self.dir, e))?;
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            let Ok(number) = name.parse::<u64>() else {
                continue;
            };
            let record = self.generation_dir(number).join(RECORD_FILE);
            match fs::read(&record) {
                Ok(bytes) => {
                    let generation: Generation =
                        serde_json::from_slice(&bytes).map_err(|e| Error::Generation {
                            path: record.clone(),
                            message: e.to_string(),
                        })?;
                    generations.push(generation);
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    partial.push(self.generation_dir(number))
                }
                Err(e) => return Err(Error::read(&record, e)),
            }
        }
        generations.sort_by_key(|g| g.number);
        Ok((generations, partial))
    }

    /// The generation whose result the host holds now: the newest complete one.
    pub fn current(&self) -> Result<Option<Generation>> {
        let (generations, _) = self.list()?;
        Ok(generations
            .into_iter()
            .rev()
            .find(|g| g.state == State::Complete))
    }

    pub fn next_number(&self) -> Result<u64> {
        let (generations, partial) = self.list()?;
        let highest_partial = partial
            .iter()
            .filter_map(|p| p.file_name().and_then(|n| n.parse::<u64>().ok()))
            .max();
        Ok(generations
            .last()
            .map(|g| g.number)
            .max(highest_partial)
            .map_or(1, |n| n + 1))
    }

    /// Records a new generation, durably, with the old contents it needs.
    pub fn begin(&self, generation: &Generation, contents: &[(String, Vec<u8>)]) -> Result<()> {
        ensure_dir(&self.dir)?;
        let dir = self.generation_dir(generation.number);
        ensure_dir(&dir)?;
        let content_dir = dir.join(CONTENT_DIR);
        ensure_dir(&content_dir)?;
        let paths: Vec<Utf8PathBuf> = contents
            .iter()
            .map(|(sha256, _)| content_dir.join(sha256))
            .collect();
        let attributes = private();
        let pending: Vec<atomic::Pending> = paths
            .iter()
            .zip(contents)
            .map(|(path, (_, bytes))| atomic::Pending {
                path,
                content: bytes,
                attributes,
            })
            .collect();
        atomic::write_files(&pending)?;
        self.save(generation)?;
        atomic::sync_dir(&self.dir)
    }

    /// Rewrites a generation's record atomically (its state changed).
    pub fn save(&self, generation: &Generation) -> Result<()> {
        let path = self.generation_dir(generation.number).join(RECORD_FILE);
        let mut bytes = serde_json::to_vec_pretty(generation).map_err(|e| Error::Generation {
            path: path.clone(),
            message: e.to_string(),
        })?;
        bytes.push(b'\n');
        atomic::write_file(&path, &bytes, private(), |_| Ok(()))
    }

    /// An old content a generation kept, checked against its hash.
    pub fn content(&self, number: u64, sha256: &str) -> Result<Vec<u8>> {
        let path = self.generation_dir(number).join(CONTENT_DIR).join(sha256);
        let bytes = fs::read(&path).map_err(|e| Error::read(&path, e))?;
        if sha256_hex(&bytes) != sha256 {
            return Err(Error::Generation {
                path,
                message: "the kept content does not match its hash".into(),
            });
        }
        Ok(bytes)
    }

    /// Removes a directory an apply died while starting.
    pub fn discard(&self, dir: &Utf8Path) -> Result<()> {
        fs::remove_dir_all(dir).map_err(|e| Error::write(dir, e))
    }

    /// Keeps the newest `keep` generations (at least the current one).
    pub fn prune(&self, keep: usize) -> Result<usize> {
        let (generations, _) = self.list()?;
        let keep = keep.max(1);
        let excess = generations.len().saturating_sub(keep);
        for generation in &generations[..excess] {
            let dir = self.generation_dir(generation.number);
            fs::remove_dir_all(&dir).map_err(|e| Error::write(&dir, e))?;
        }
        if excess > 0 {
            atomic::sync_dir(&self.dir)?;
        }
        Ok(excess)
    }
}

/// Old contents may be credentials: only root reads them.
fn private() -> Attributes {
    Attributes {
        mode: 0o600,
        uid: current_owner().0,
        gid: current_owner().1,
    }
}

/// The effective uid and gid of this process: `/proc/self` is owned by them.
fn current_owner() -> (u32, u32) {
    use std::os::unix::fs::MetadataExt as _;
    fs::metadata("/proc/self")
        .map(|m| (m.uid(), m.gid()))
        .unwrap_or((0, 0))
}

fn ensure_dir(dir: &Utf8Path) -> Result<()> {
    match fs::create_dir(dir) {
        Ok(()) => {
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
                .map_err(|e| Error::write(dir, e))?;
            if let Some(parent) = dir.parent() {
                atomic::sync_dir(parent)?;
            }
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(Error::write(dir, e)),
    }
}
