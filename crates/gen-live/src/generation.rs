//! Apply support: generations, the journal of what each apply replaced.
//! `<root>/var/lib/gen/generations/<N>/generation.json` records, before any
//! managed file is touched, what every path to be changed held (content, mode,
//! uid, gid) or that it did not exist, plus the manifest being applied; the old
//! contents are kept beside it in one file, `contents` (one fsync however many
//! files an apply replaces), each entry `<sha256> <length>\n` followed by
//! exactly that many bytes. The record's `state`
//! is the journal: `in_progress` while files are written, `complete` after,
//! `rolling_back` while a rollback restores it, `rolled_back` after.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt as _;

use camino::{Utf8Path, Utf8PathBuf};
use serde::{Deserialize, Serialize};

use crate::atomic::{self, Attributes};
use gen_target::error::{Error, Result};
use gen_target::manifest::{sha256_hex, Manifest};

pub const RECORD_FILE: &str = "generation.json";
const CONTENTS_FILE: &str = "contents";
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
        atomic::clean_temp(&self.generation_dir(number))?;
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
        let mut bundle = Vec::with_capacity(contents.iter().map(|(_, b)| b.len() + 80).sum());
        for (sha256, bytes) in contents {
            bundle.extend_from_slice(format!("{sha256} {}\n", bytes.len()).as_bytes());
            bundle.extend_from_slice(bytes);
        }
        atomic::write_file(&dir.join(CONTENTS_FILE), &bundle, private(), |_| Ok(()))?;
        self.save(generation)?;
        atomic::sync_dir(&self.dir)
    }

    /// Where a generation's record lives.
    pub fn record_path(&self, number: u64) -> Utf8PathBuf {
        self.generation_dir(number).join(RECORD_FILE)
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

    /// The old contents a generation kept, by sha256, each checked against
    /// its hash.
    pub fn contents(&self, number: u64) -> Result<BTreeMap<String, Vec<u8>>> {
        let path = self.generation_dir(number).join(CONTENTS_FILE);
        let bytes = fs::read(&path).map_err(|e| Error::read(&path, e))?;
        let corrupt = |message: &str| Error::Generation {
            path: path.clone(),
            message: message.to_string(),
        };
        let mut kept = BTreeMap::new();
        let mut rest = bytes.as_slice();
        while !rest.is_empty() {
            let newline = rest
                .iter()
                .position(|b| *b == b'\n')
                .ok_or_else(|| corrupt("an entry has no header line"))?;
            let header = std::str::from_utf8(&rest[..newline])
                .map_err(|_| corrupt("a header is not text"))?;
            let (sha256, length) = header
                .split_once(' ')
                .ok_or_else(|| corrupt("a header is not `<sha256> <length>`"))?;
            let length: usize = length
                .parse()
                .map_err(|_| corrupt("a length is not a number"))?;
            let body = rest
                .get(newline + 1..newline + 1 + length)
                .ok_or_else(|| corrupt("an entry is shorter than its length"))?;
            if sha256_hex(body) != sha256 {
                return Err(corrupt("a kept content does not match its hash"));
            }
            kept.insert(sha256.to_string(), body.to_vec());
            rest = &rest[newline + 1 + length..];
        }
        Ok(kept)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_contents_round_trip_through_one_file() {
        let dir = tempfile::tempdir().unwrap();
        let root = Utf8PathBuf::from_path_buf(dir.path().to_path_buf()).unwrap();
        let store = Store::new(&root);
        let generation = Generation {
            number: 1,
            state: State::InProgress,
            profile: "p".into(),
            host: "h".into(),
            tree_hash: String::new(),
            before: Vec::new(),
            created_dirs: Vec::new(),
            manifest: Manifest::new("p", "h", String::new(), Vec::new()),
        };
        let contents: Vec<(String, Vec<u8>)> = [
            b"one\n".to_vec(),
            b"two lines\nwith \n newlines\n".to_vec(),
            Vec::new(),
        ]
        .into_iter()
        .map(|b| (sha256_hex(&b), b))
        .collect();
        store.begin(&generation, &contents).unwrap();
        let kept = store.contents(1).unwrap();
        assert_eq!(kept.len(), 3);
        for (sha, bytes) in &contents {
            assert_eq!(&kept[sha], bytes);
        }
    }
}
