//! Apply support: generations, the journal of what each apply replaced.
//! `<root>/var/lib/gen/generations/<N>/generation.json` records, before any
//! managed file is touched, what every path to be changed held (content, mode,
//! uid, gid) or that it did not exist, plus the manifest being applied; the old
//! contents are kept beside it in one file, `contents` (one fsync however many
//! files an apply replaces), each entry `<sha256> <length>\n` followed by
//! exactly that many bytes. The record's `state`
//! is the journal: `in_progress` while files are written, `complete` after,
//! `rolling_back` while a rollback restores it, `rolled_back` after.
//!
//! The journal is reached like every managed file, through directory handles
//! opened without following links (`root_dir`): a link at `var/lib/gen`,
//! `generations` or a generation's directory is refused, never followed.

use std::collections::BTreeMap;

use camino::{Utf8Path, Utf8PathBuf};
use serde::{Deserialize, Serialize};

use crate::atomic::{self, Attributes};
use crate::plan::Activations;
use crate::root_dir::{Dir, RootDir};
use gen_target::error::{Error, Result};
use gen_target::manifest::{sha256_hex, Manifest};

/// gen's state directory on the host (lock, generations), as a host path.
pub const STATE_DIR: &str = "/var/lib/gen";
const GENERATIONS_DIR: &str = "generations";
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
    /// The random part of the temporary files' names of the run working on
    /// this generation, recorded before the first of them is made: recovery
    /// removes exactly those names. Empty in records of older gen versions.
    #[serde(default)]
    pub run: String,
    /// What the host holds after this apply: the next apply removes what it
    /// lists and the next manifest does not.
    pub manifest: Manifest,
    /// The activations this generation's apply (or, once rolled back, its
    /// rollback) asked for that have not succeeded yet: recorded before they
    /// run, narrowed to the failed ones after. Every apply, `gen activate`
    /// and rollback runs the pending activations of every record again until
    /// they succeed. Absent in records of older gen versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<Activations>,
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
    /// The path was a symbolic link holding this (a unit's `[Install]` link,
    /// gen's or another): `sha256` is that of the text, and a rollback makes
    /// the same link again. Absent for files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
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
#[derive(Debug)]
pub struct Store {
    /// `None`: there is no journal yet (read-only use).
    dir: Option<Dir>,
    path: Utf8PathBuf,
    /// The random part of the temporary files this run makes in the journal.
    run: String,
}

impl Store {
    /// The journal of a run that writes: `generations` inside gen's state
    /// directory `state` (already open), created when missing.
    pub fn create(state: &Dir, run: &str) -> Result<Store> {
        let dir = match state.child_dir(GENERATIONS_DIR)? {
            Some(dir) => dir,
            None => state.create_dir(GENERATIONS_DIR, 0o700)?,
        };
        Ok(Store {
            path: dir.path().to_path_buf(),
            dir: Some(dir),
            run: run.to_string(),
        })
    }

    /// The journal, for reading only: none yet (or no root) is an empty one.
    pub fn open(root: Option<&RootDir>) -> Result<Store> {
        let (dir, path) = match root {
            Some(root) => {
                let path = root.live_path(STATE_DIR).join(GENERATIONS_DIR);
                let dir = match root.dir(STATE_DIR)? {
                    Some(state) => state.child_dir(GENERATIONS_DIR)?,
                    None => None,
                };
                (dir, path)
            }
            None => (None, Utf8PathBuf::from(STATE_DIR).join(GENERATIONS_DIR)),
        };
        Ok(Store {
            dir,
            path,
            run: String::new(),
        })
    }

    pub fn dir(&self) -> &Utf8Path {
        &self.path
    }

    fn handle(&self) -> Result<&Dir> {
        self.dir.as_ref().ok_or_else(|| Error::Generation {
            path: self.path.clone(),
            message: "the journal directory does not exist".into(),
        })
    }

    fn generation_dir(&self, number: u64) -> Result<Option<Dir>> {
        match &self.dir {
            Some(dir) => dir.child_dir(&number.to_string()),
            None => Ok(None),
        }
    }

    fn existing_generation_dir(&self, number: u64) -> Result<Dir> {
        self.generation_dir(number)?
            .ok_or_else(|| Error::Generation {
                path: self.path.join(number.to_string()),
                message: "the generation's directory is missing".into(),
            })
    }

    /// Removes temporary files an interrupted save left in a generation's
    /// own directory (its record and its kept contents).
    pub fn clean_temp(&self, number: u64) -> Result<()> {
        if let Some(dir) = self.generation_dir(number)? {
            atomic::clean_journal_temp(&dir)?;
        }
        Ok(())
    }

    /// Every recorded generation, oldest first. Numbered directories without
    /// a record are returned separately: an apply died while starting one,
    /// before touching any managed file.
    pub fn list(&self) -> Result<(Vec<Generation>, Vec<u64>)> {
        let Some(dir) = &self.dir else {
            return Ok((Vec::new(), Vec::new()));
        };
        let mut generations = Vec::new();
        let mut partial = Vec::new();
        for (name, _) in dir.entries()? {
            let Ok(number) = name.parse::<u64>() else {
                continue;
            };
            let Some(generation_dir) = self.generation_dir(number)? else {
                continue;
            };
            let record = generation_dir.path().join(RECORD_FILE);
            match generation_dir.read_file(RECORD_FILE)? {
                Some((_, bytes)) => {
                    let generation: Generation =
                        serde_json::from_slice(&bytes).map_err(|e| Error::Generation {
                            path: record.clone(),
                            message: e.to_string(),
                        })?;
                    generations.push(generation);
                }
                None => partial.push(number),
            }
        }
        generations.sort_by_key(|g| g.number);
        partial.sort();
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
        Ok(generations
            .last()
            .map(|g| g.number)
            .max(partial.last().copied())
            .map_or(1, |n| n + 1))
    }

    /// Records a new generation, durably, with the old contents it needs.
    pub fn begin(&self, generation: &Generation, contents: &[(String, Vec<u8>)]) -> Result<()> {
        let dir = self
            .handle()?
            .create_dir(&generation.number.to_string(), 0o700)?;
        let mut bundle = Vec::with_capacity(contents.iter().map(|(_, b)| b.len() + 80).sum());
        for (sha256, bytes) in contents {
            bundle.extend_from_slice(format!("{sha256} {}\n", bytes.len()).as_bytes());
            bundle.extend_from_slice(bytes);
        }
        atomic::write_file(&dir, CONTENTS_FILE, &bundle, private(), &self.run)?;
        self.save_in(&dir, generation)?;
        self.handle()?.sync()
    }

    /// Where a generation's record lives.
    pub fn record_path(&self, number: u64) -> Utf8PathBuf {
        self.path.join(number.to_string()).join(RECORD_FILE)
    }

    /// Rewrites a generation's record atomically (its state changed).
    pub fn save(&self, generation: &Generation) -> Result<()> {
        let dir = self.existing_generation_dir(generation.number)?;
        self.save_in(&dir, generation)
    }

    fn save_in(&self, dir: &Dir, generation: &Generation) -> Result<()> {
        let mut bytes = serde_json::to_vec_pretty(generation).map_err(|e| Error::Generation {
            path: self.record_path(generation.number),
            message: e.to_string(),
        })?;
        bytes.push(b'\n');
        atomic::write_file(dir, RECORD_FILE, &bytes, private(), &self.run)
    }

    /// The old contents a generation kept, by sha256, each checked against
    /// its hash.
    pub fn contents(&self, number: u64) -> Result<BTreeMap<String, Vec<u8>>> {
        let path = self.path.join(number.to_string()).join(CONTENTS_FILE);
        let corrupt = |message: &str| Error::Generation {
            path: path.clone(),
            message: message.to_string(),
        };
        let (_, bytes) = self
            .existing_generation_dir(number)?
            .read_file(CONTENTS_FILE)?
            .ok_or_else(|| corrupt("the kept contents are missing"))?;
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

    /// Removes the directory of a generation an apply died while starting.
    pub fn discard(&self, number: u64) -> Result<()> {
        let dir = self.handle()?;
        dir.remove_tree(&number.to_string())?;
        dir.sync()
    }

    /// Keeps the newest `keep` generations (at least the current one).
    pub fn prune(&self, keep: usize) -> Result<usize> {
        let (generations, _) = self.list()?;
        let keep = keep.max(1);
        let excess = generations.len().saturating_sub(keep);
        let dir = self.handle()?;
        for generation in &generations[..excess] {
            dir.remove_tree(&generation.number.to_string())?;
        }
        if excess > 0 {
            dir.sync()?;
        }
        Ok(excess)
    }
}

/// Old contents may be credentials: only root reads them.
fn private() -> Attributes {
    let (uid, gid) = current_owner();
    Attributes {
        mode: 0o600,
        uid,
        gid,
    }
}

/// The effective uid and gid of this process.
fn current_owner() -> (u32, u32) {
    (
        rustix::process::geteuid().as_raw(),
        rustix::process::getegid().as_raw(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_contents_round_trip_through_one_file() {
        let dir = tempfile::tempdir().unwrap();
        let root = Utf8PathBuf::from_path_buf(dir.path().to_path_buf()).unwrap();
        let root = RootDir::open(&root).unwrap();
        let state = root.create_dirs(STATE_DIR, 0o755).unwrap();
        let store = Store::create(&state, "0123456789abcdef").unwrap();
        let generation = Generation {
            number: 1,
            state: State::InProgress,
            profile: "p".into(),
            host: "h".into(),
            tree_hash: String::new(),
            before: Vec::new(),
            created_dirs: Vec::new(),
            run: "0123456789abcdef".into(),
            manifest: Manifest::new("p", "h", String::new(), Vec::new()),
            pending: None,
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
        assert_eq!(store.list().unwrap().0, vec![generation]);
    }
}
