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
//!
//! A generation is started in a directory named like a temporary file,
//! `.gen-tmp-<N>-<run>`, and renamed to `<N>` once its contents and record
//! are durable: a numbered directory always has a record, and a started one
//! that never got its number provably changed nothing, so it is the only
//! thing in the journal gen removes unasked (besides pruning with `--keep`).
//!
//! The journal validates itself before every use ([`Store::journal`]): each
//! numbered directory holds a readable record of its own number, and only the
//! newest generation can be unfinished (`rolling_back` also below generations
//! that were rolled back). Anything else is damage: apply and rollback refuse
//! with the list of problems and what to do, and delete nothing. Names that
//! are not generation numbers (`007`, `+9`, `notes`) are not gen's: they are
//! reported, ignored for numbering, and never deleted.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use camino::{Utf8Path, Utf8PathBuf};
use serde::{Deserialize, Serialize};

use crate::atomic::{self, Attributes, TEMP_PREFIX};
use crate::fault;
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

impl State {
    /// Whether a run still has to finish (roll back) this generation.
    pub fn is_unfinished(self) -> bool {
        matches!(self, State::InProgress | State::RollingBack)
    }

    pub fn name(self) -> &'static str {
        match self {
            State::InProgress => "in_progress",
            State::Complete => "complete",
            State::RollingBack => "rolling_back",
            State::RolledBack => "rolled_back",
        }
    }
}

/// Something in the journal that is not as gen writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub path: Utf8PathBuf,
    /// What is wrong, lowercase, no final period.
    pub problem: String,
    /// What an operator does about it.
    pub fix: String,
}

impl Problem {
    fn new(path: Utf8PathBuf, problem: impl Into<String>, fix: impl Into<String>) -> Problem {
        Problem {
            path,
            problem: problem.into(),
            fix: fix.into(),
        }
    }
}

/// The journal as read and checked: its generations, and whatever else is
/// in it.
#[derive(Debug, Clone, Default)]
pub struct Journal {
    /// Every generation whose record is sound, oldest first.
    pub generations: Vec<Generation>,
    /// Damage: apply and rollback refuse while there is any.
    pub problems: Vec<Problem>,
    /// Names that are not generation numbers: not gen's, never deleted.
    pub ignored: Vec<Utf8PathBuf>,
    /// Directories of generations whose start was interrupted before they
    /// got their number (nothing was changed for them): the next apply or
    /// rollback removes them.
    pub unstarted: Vec<String>,
    /// The largest generation number in use, damaged ones included.
    pub newest_number: Option<u64>,
}

impl Journal {
    /// Nothing, or the damage as an error.
    fn check_sound(&self, path: &Utf8Path) -> Result<()> {
        if self.problems.is_empty() {
            return Ok(());
        }
        Err(damaged(path, &self.problems))
    }
}

/// The error that lists `problems` in the journal at `path`.
pub fn damaged(path: &Utf8Path, problems: &[Problem]) -> Error {
    Error::Journal {
        path: path.to_path_buf(),
        count: problems.len(),
        problems: problems
            .iter()
            .map(|p| format!("- `{}`: {}; {}", p.path, p.problem, p.fix))
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

/// `name` as a generation number, when it is one written the way gen writes
/// them: decimal, no sign, no leading zero.
fn generation_number(name: &str) -> Option<u64> {
    let number: u64 = name.parse().ok()?;
    (number.to_string() == name).then_some(number)
}

/// Whether `name` is the directory of a generation being started:
/// `.gen-tmp-<N>-<run>`, `<run>` 16 hex digits.
fn is_unstarted(name: &str) -> bool {
    let Some(rest) = name.strip_prefix(TEMP_PREFIX) else {
        return false;
    };
    let Some((number, run)) = rest.rsplit_once('-') else {
        return false;
    };
    generation_number(number).is_some()
        && run.len() == 16
        && run.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The generations directory of one live root.
#[derive(Debug)]
pub struct Store {
    /// `None`: there is no journal yet (read-only use).
    dir: Option<Dir>,
    path: Utf8PathBuf,
    /// The random part of the temporary files this run makes in the journal.
    run: String,
    /// The journal as last read, until this store next writes it: an apply
    /// consults it at every step (recovery, plan, numbering, pruning), and
    /// each record holds a whole manifest, so it is read and parsed once.
    /// Nothing else writes the journal while a run holds the lock.
    read: Mutex<Option<Arc<Journal>>>,
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
            read: Mutex::default(),
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
            read: Mutex::default(),
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
        // Temporary files are not part of the journal as read: nothing to forget.
        if let Some(dir) = self.generation_dir(number)? {
            atomic::clean_journal_temp(&dir)?;
        }
        Ok(())
    }

    /// Reads and checks the journal, or returns it as read since this store
    /// last wrote it. Damage is listed, not returned as an error:
    /// [`Store::list`] refuses it, `gen generations --verify` shows it.
    pub fn journal(&self) -> Result<Arc<Journal>> {
        let mut read = self.read.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(journal) = &*read {
            return Ok(Arc::clone(journal));
        }
        let journal = Arc::new(self.read_journal()?);
        *read = Some(Arc::clone(&journal));
        Ok(journal)
    }

    /// Forgets the journal as read: called before every write to it.
    fn forget(&self) {
        *self.read.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    fn read_journal(&self) -> Result<Journal> {
        let Some(dir) = &self.dir else {
            return Ok(Journal::default());
        };
        let mut journal = Journal::default();
        for (name, is_dir) in dir.entries()? {
            let path = self.path.join(&name);
            if is_dir && is_unstarted(&name) {
                journal.unstarted.push(name);
                continue;
            }
            let Some(number) = generation_number(&name) else {
                journal.ignored.push(path);
                continue;
            };
            journal.newest_number = journal.newest_number.max(Some(number));
            let move_out = "if the generation is not needed any more, move the directory out of `generations` (gen never deletes it)";
            if !is_dir {
                journal.problems.push(Problem::new(
                    path,
                    "is numbered like a generation but is not a directory",
                    "move it out of `generations`",
                ));
                continue;
            }
            let Some(generation_dir) = dir.child_dir(&name)? else {
                continue;
            };
            let record = generation_dir.path().join(RECORD_FILE);
            let bytes = match generation_dir.read_file(RECORD_FILE) {
                Ok(Some((_, bytes))) => bytes,
                Ok(None) => {
                    journal.problems.push(Problem::new(
                        record,
                        format!("is missing: gen cannot tell what generation {number} changed, so its kept contents stay"),
                        format!("restore it from a backup; {move_out}"),
                    ));
                    continue;
                }
                Err(e) => {
                    journal.problems.push(Problem::new(
                        record,
                        format!("cannot be read: {}", crate::apply::describe(&e)),
                        format!("make it a regular file gen can read; {move_out}"),
                    ));
                    continue;
                }
            };
            let generation: Generation = match serde_json::from_slice(&bytes) {
                Ok(generation) => generation,
                Err(e) => {
                    journal.problems.push(Problem::new(
                        record,
                        format!("is not a generation record: {e}"),
                        format!("restore it from a backup; {move_out}"),
                    ));
                    continue;
                }
            };
            if generation.number != number {
                journal.problems.push(Problem::new(
                    record,
                    format!(
                        "records generation {}, in the directory of generation {number}",
                        generation.number
                    ),
                    "put the directory back under its own number, or restore the record from a backup",
                ));
                continue;
            }
            journal.generations.push(generation);
        }
        journal.generations.sort_by_key(|g| g.number);
        journal
            .problems
            .extend(self.order_problems(&journal.generations));
        Ok(journal)
    }

    /// Only the newest generation can be unfinished: an apply rolls back an
    /// unfinished one before it starts another, and a rollback only undoes
    /// the newest generation that is not rolled back already.
    fn order_problems(&self, generations: &[Generation]) -> Vec<Problem> {
        let mut problems = Vec::new();
        for (index, generation) in generations.iter().enumerate() {
            let newer = &generations[index + 1..];
            let blocking = match generation.state {
                State::InProgress => newer.first(),
                State::RollingBack => newer.iter().find(|g| g.state != State::RolledBack),
                State::Complete | State::RolledBack => None,
            };
            if let Some(newer) = blocking {
                problems.push(Problem::new(
                    self.record_path(generation.number),
                    format!(
                        "says generation {} is `{}`, but generation {} is `{}` after it: only the newest generation can be unfinished, and rolling it back would undo the newer one's files",
                        generation.number,
                        generation.state.name(),
                        newer.number,
                        newer.state.name()
                    ),
                    "set its `state` back to what it was (`complete` or `rolled_back`)",
                ));
            }
        }
        problems
    }

    /// Brings the journal as read up to date with a write to it: `update`
    /// makes it what reading the journal again would give, when the write
    /// succeeded; after a failed one it is forgotten, and read again.
    fn wrote<T>(&self, result: &Result<T>, update: impl FnOnce(&mut Journal)) {
        let mut read = self.read.lock().unwrap_or_else(PoisonError::into_inner);
        match (result, read.as_mut()) {
            (Ok(_), Some(journal)) => update(Arc::make_mut(journal)),
            _ => *read = None,
        }
    }

    /// The journal as read, with `generation`'s record as just written.
    fn recorded(&self, journal: &mut Journal, generation: &Generation) {
        let at = journal
            .generations
            .binary_search_by_key(&generation.number, |g| g.number);
        match at {
            Ok(index) => journal.generations[index] = generation.clone(),
            Err(index) => journal.generations.insert(index, generation.clone()),
        }
        journal.newest_number = journal.newest_number.max(Some(generation.number));
        // Writes happen only on a sound journal (`list`), so its problems
        // are the order's alone.
        journal.problems = self.order_problems(&journal.generations);
    }

    /// `gen generations --verify`: [`Store::journal`], and also the kept
    /// contents of every generation a rollback may still restore, read and
    /// checked against their hashes and the record, the names gen ignores,
    /// and whether another generation can be numbered.
    pub fn verify(&self) -> Result<Journal> {
        let mut journal = Journal::clone(&*self.journal()?);
        let mut problems = Vec::new();
        for generation in &journal.generations {
            if generation.state == State::RolledBack {
                continue;
            }
            let needed: Vec<&str> = generation
                .before
                .iter()
                .filter_map(|b| b.file.as_ref().map(|f| f.sha256.as_str()))
                .collect();
            if needed.is_empty() {
                continue;
            }
            let path = self
                .path
                .join(generation.number.to_string())
                .join(CONTENTS_FILE);
            let fix = format!(
                "restore it from a backup: without it `gen rollback` cannot restore the files generation {} replaced, and refuses before changing any",
                generation.number
            );
            match self.contents(generation.number) {
                Ok(kept) => {
                    let missing = needed.iter().filter(|s| !kept.contains_key(**s)).count();
                    if missing > 0 {
                        problems.push(Problem::new(
                            path,
                            format!("lacks {missing} of the contents the record says it keeps"),
                            fix,
                        ));
                    }
                }
                Err(Error::Generation { message, .. }) => {
                    problems.push(Problem::new(path, message, fix));
                }
                Err(e) => problems.push(Problem::new(path, crate::apply::describe(&e), fix)),
            }
        }
        for path in &journal.ignored {
            problems.push(Problem::new(
                path.clone(),
                "is not named like a generation (a decimal number, no sign, no leading zero): gen ignores it",
                "move it out of `generations`; gen never deletes it",
            ));
        }
        if journal.newest_number == Some(u64::MAX) {
            problems.push(no_number_after(&self.path, u64::MAX));
        }
        journal.problems.extend(problems);
        Ok(journal)
    }

    /// Every generation, oldest first; refuses a damaged journal.
    pub fn list(&self) -> Result<Arc<Journal>> {
        let journal = self.journal()?;
        journal.check_sound(&self.path)?;
        Ok(journal)
    }

    /// The generation whose result the host holds now: the newest complete one.
    pub fn current(&self) -> Result<Option<Generation>> {
        Ok(self
            .list()?
            .generations
            .iter()
            .rev()
            .find(|g| g.state == State::Complete)
            .cloned())
    }

    /// The number the next generation gets: one past every number in use.
    pub fn next_number(&self) -> Result<u64> {
        next_number(&*self.list()?, &self.path)
    }

    /// Records a new generation, durably, with the old contents it needs:
    /// written in a directory of a temporary name, which gets the
    /// generation's number once everything in it is durable.
    ///
    /// The record the generation will have once complete is staged beside
    /// it too (see [`Store::complete`]): the journal's space is taken before
    /// the first managed file changes, so a filesystem that fills up while
    /// the files are written cannot leave a fully written apply recorded as
    /// unfinished (the next run would roll it back). A start that fails
    /// removes what it wrote.
    pub fn begin(&self, generation: &Generation, contents: &[(String, Vec<u8>)]) -> Result<()> {
        let result = self.begin_on_disk(generation, contents);
        self.wrote(&result, |journal| self.recorded(journal, generation));
        result
    }

    fn begin_on_disk(&self, generation: &Generation, contents: &[(String, Vec<u8>)]) -> Result<()> {
        let journal = self.handle()?;
        let name = generation.number.to_string();
        let unstarted = atomic::temp_name(&name, &self.run);
        let written = journal
            .create_dir(&unstarted, 0o700)
            .and_then(|dir| self.fill(&dir, generation, contents));
        if let Err(e) = written {
            // Nothing was changed for this generation: its start is undone
            // (the next run would remove it otherwise).
            let _ = journal.remove_tree(&unstarted);
            return Err(e);
        }
        journal.rename_new(&unstarted, &name)?;
        fault::step("generation numbered");
        journal.sync()
    }

    /// A starting generation's kept contents, record and staged completion record.
    fn fill(
        &self,
        dir: &Dir,
        generation: &Generation,
        contents: &[(String, Vec<u8>)],
    ) -> Result<()> {
        let mut bundle = Vec::with_capacity(contents.iter().map(|(_, b)| b.len() + 80).sum());
        for (sha256, bytes) in contents {
            bundle.extend_from_slice(format!("{sha256} {}\n", bytes.len()).as_bytes());
            bundle.extend_from_slice(bytes);
        }
        atomic::write_file(dir, CONTENTS_FILE, &bundle, private(), &self.run)?;
        self.save_in(dir, generation)?;
        let complete = Generation {
            state: State::Complete,
            ..generation.clone()
        };
        atomic::stage_file(
            dir,
            RECORD_FILE,
            &self.record_bytes(&complete)?,
            private(),
            &self.run,
        )
    }

    /// Marks `generation` complete: the rename of the record staged by
    /// [`Store::begin`], which needs no space, when that record is exactly
    /// `generation`'s; otherwise (the record changed since) a plain save.
    pub fn complete(&self, generation: &Generation) -> Result<()> {
        let result = self.complete_on_disk(generation);
        self.wrote(&result, |journal| self.recorded(journal, generation));
        result
    }

    fn complete_on_disk(&self, generation: &Generation) -> Result<()> {
        let dir = self.existing_generation_dir(generation.number)?;
        let bytes = self.record_bytes(generation)?;
        if atomic::staged(&dir, RECORD_FILE, &self.run)?.as_deref() == Some(bytes.as_slice()) {
            return atomic::commit_staged(&dir, RECORD_FILE, &self.run);
        }
        self.save_in(&dir, generation)
    }

    /// Removes the directory of a generation whose start was interrupted
    /// before it got its number ([`Journal::unstarted`]).
    pub fn discard(&self, unstarted: &str) -> Result<()> {
        self.forget();
        if !is_unstarted(unstarted) {
            return Err(Error::Generation {
                path: self.path.join(unstarted),
                message: "is not the directory of an unstarted generation".into(),
            });
        }
        let dir = self.handle()?;
        dir.remove_tree(unstarted)?;
        dir.sync()
    }

    /// Where a generation's record lives.
    pub fn record_path(&self, number: u64) -> Utf8PathBuf {
        self.path.join(number.to_string()).join(RECORD_FILE)
    }

    /// Rewrites a generation's record atomically (its state changed).
    pub fn save(&self, generation: &Generation) -> Result<()> {
        let result = self
            .existing_generation_dir(generation.number)
            .and_then(|dir| self.save_in(&dir, generation));
        self.wrote(&result, |journal| self.recorded(journal, generation));
        result
    }

    fn save_in(&self, dir: &Dir, generation: &Generation) -> Result<()> {
        let bytes = self.record_bytes(generation)?;
        atomic::write_file(dir, RECORD_FILE, &bytes, private(), &self.run)
    }

    fn record_bytes(&self, generation: &Generation) -> Result<Vec<u8>> {
        let mut bytes = serde_json::to_vec_pretty(generation).map_err(|e| Error::Generation {
            path: self.record_path(generation.number),
            message: e.to_string(),
        })?;
        bytes.push(b'\n');
        Ok(bytes)
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

    /// Keeps the newest `keep` generations (at least the current one). Only
    /// a sound journal is pruned, so a generation whose record is missing or
    /// unreadable is never removed.
    pub fn prune(&self, keep: usize) -> Result<usize> {
        let journal = self.list()?;
        let generations = &journal.generations;
        let keep = keep.max(1);
        let excess = generations.len().saturating_sub(keep);
        // A generation that still owes the host activations is kept until
        // they ran: pruning it would forget them.
        let removed: Vec<u64> = generations[..excess]
            .iter()
            .filter(|g| g.pending.as_ref().is_none_or(Activations::is_empty))
            .map(|g| g.number)
            .collect();
        drop(journal);
        let result = self.remove_generations(&removed);
        self.wrote(&result, |journal| {
            journal.generations.retain(|g| !removed.contains(&g.number));
        });
        result.map(|()| removed.len())
    }

    fn remove_generations(&self, numbers: &[u64]) -> Result<()> {
        if numbers.is_empty() {
            return Ok(());
        }
        let dir = self.handle()?;
        for number in numbers {
            dir.remove_tree(&number.to_string())?;
        }
        dir.sync()
    }
}

/// One past the largest number in `journal`, refusing to wrap around.
fn next_number(journal: &Journal, path: &Utf8Path) -> Result<u64> {
    match journal.newest_number {
        None => Ok(1),
        Some(newest) => newest
            .checked_add(1)
            .ok_or_else(|| damaged(path, &[no_number_after(path, newest)])),
    }
}

/// The problem of a journal whose newest number is the largest there is.
fn no_number_after(path: &Utf8Path, newest: u64) -> Problem {
    Problem::new(
        path.join(newest.to_string()),
        format!("is generation {newest}, the largest number gen can count to: no generation can follow it"),
        "if it was numbered by hand, give it its intended number in both its directory name and its record's `number`",
    )
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
        assert_eq!(store.list().unwrap().generations, vec![generation]);
    }

    /// The journal as a store remembers it, beside a fresh read of the disk.
    fn remembered_and_read(store: &Store) -> (String, String) {
        let shown = |j: &Journal| {
            format!(
                "{:?} {:?} {:?} {:?} {:?}",
                j.generations, j.problems, j.ignored, j.unstarted, j.newest_number
            )
        };
        (
            shown(&store.journal().unwrap()),
            shown(&store.read_journal().unwrap()),
        )
    }

    #[test]
    fn the_journal_as_remembered_is_the_journal_on_disk_after_every_write() {
        let dir = tempfile::tempdir().unwrap();
        let root = Utf8PathBuf::from_path_buf(dir.path().to_path_buf()).unwrap();
        let root = RootDir::open(&root).unwrap();
        let state = root.create_dirs(STATE_DIR, 0o755).unwrap();
        let store = Store::create(&state, "0123456789abcdef").unwrap();
        let generation = |number, state| Generation {
            number,
            state,
            profile: "p".into(),
            host: "h".into(),
            tree_hash: format!("tree {number}"),
            before: Vec::new(),
            created_dirs: Vec::new(),
            run: "0123456789abcdef".into(),
            manifest: Manifest::new("p", "h", String::new(), Vec::new()),
            pending: None,
        };
        let same = |step: &str| {
            let (remembered, read) = remembered_and_read(&store);
            assert_eq!(remembered, read, "after {step}");
        };
        same("nothing");
        for number in 1..=3 {
            store
                .begin(&generation(number, State::InProgress), &[])
                .unwrap();
            same("begin");
            store
                .complete(&generation(number, State::Complete))
                .unwrap();
            same("complete");
        }
        store.save(&generation(3, State::RollingBack)).unwrap();
        same("a rollback starting");
        store.save(&generation(3, State::RolledBack)).unwrap();
        same("a rollback done");
        // A record gen would never write: remembered as damage, as read.
        store.save(&generation(1, State::InProgress)).unwrap();
        same("an unfinished generation below newer ones");
        assert_eq!(store.journal().unwrap().problems.len(), 1);
        store.save(&generation(1, State::Complete)).unwrap();
        assert_eq!(store.prune(2).unwrap(), 1);
        same("pruning");
        assert_eq!(store.list().unwrap().generations.len(), 2);
        // A failed write forgets what it remembered: the next use reads.
        assert!(store.complete(&generation(9, State::Complete)).is_err());
        same("a failed write");
    }

    #[test]
    fn only_canonical_numbers_and_gens_own_start_directories_are_recognised() {
        assert_eq!(generation_number("7"), Some(7));
        assert_eq!(generation_number("18446744073709551615"), Some(u64::MAX));
        for name in ["007", "+9", "x", "", "-1", " 7", "18446744073709551616"] {
            assert_eq!(generation_number(name), None, "{name:?}");
        }
        assert!(is_unstarted(".gen-tmp-12-0123456789abcdef"));
        for name in [
            ".gen-tmp-012-0123456789abcdef",
            ".gen-tmp-12-0123456789abcde",
            ".gen-tmp-12-0123456789abcdeg",
            ".gen-tmp-x-0123456789abcdef",
            "12",
        ] {
            assert!(!is_unstarted(name), "{name:?}");
        }
    }
}
