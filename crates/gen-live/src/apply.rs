//! Apply stage: make the live root hold the target tree, exactly, atomically
//! and reversibly.
//!
//! Order of work, each step finishing before the next starts:
//! 1. `Target::load` reads every artifact and checks it against the manifest:
//!    a tampered tree is refused as a whole, before anything is written.
//! 2. `Session::open` takes the exclusive lock `<root>/var/lib/gen/lock`
//!    (flock: it dies with its process, so a killed apply never blocks the
//!    next one) and recovers from an interrupted run.
//! 3. `Session::plan` scans the live root, once, and computes the plan.
//! 4. `Session::apply` checks nothing scanned moved since, records a generation (state `in_progress`, what every
//!    path held before) and fsyncs it, then writes each file atomically, then
//!    marks the generation `complete`.
//!
//! Crash recovery rule: an interrupted apply is rolled back, never completed.
//! Its generation record holds everything needed to restore the host to the
//! state before it, whereas completing it would need the tree it was applying,
//! which may have changed since. The next `gen apply` then applies from a
//! known state; `gen rollback` simply finds the rollback already done.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io;
use std::time::{Duration, Instant};

use camino::{Utf8Path, Utf8PathBuf};

use crate::accounts::Accounts;
use crate::actual::{self, Actual, LiveRoot, Scan};
use crate::atomic::{self, Attributes};
use crate::generation::{Before, BeforeFile, Generation, State, Store};
use crate::plan::{self, ChangeKind, Plan};
use gen_target::error::{Error, Result};
use gen_target::layout::{tree_path, MANIFEST_FILE};
use gen_target::manifest::{sha256_hex, Manifest};

/// How long an apply waits for another one to finish before giving up.
const LOCK_WAIT: Duration = Duration::from_secs(30);

/// A host's target tree whose every artifact matched its manifest when read.
#[derive(Debug, Clone)]
pub struct Target {
    pub manifest: Manifest,
    /// Content by host path.
    pub contents: BTreeMap<String, Vec<u8>>,
}

impl Target {
    /// Reads `<host_dir>/manifest.json` and every artifact it lists.
    pub fn load(host_dir: &Utf8Path) -> Result<Target> {
        let manifest = Manifest::read(&host_dir.join(MANIFEST_FILE))?;
        let mut contents = BTreeMap::new();
        let mut tampered = Vec::new();
        for record in &manifest.files {
            let path = tree_path(host_dir, &record.path);
            match fs::symlink_metadata(&path) {
                Ok(m) if m.file_type().is_file() => {}
                Ok(_) => {
                    tampered.push(path);
                    continue;
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    tampered.push(path);
                    continue;
                }
                Err(e) => return Err(Error::read(&path, e)),
            }
            let bytes = fs::read(&path).map_err(|e| Error::read(&path, e))?;
            if bytes.len() as u64 != record.size || sha256_hex(&bytes) != record.sha256 {
                tampered.push(path);
                continue;
            }
            contents.insert(record.path.clone(), bytes);
        }
        if !tampered.is_empty() {
            return Err(Error::Tampered {
                count: tampered.len(),
                paths: list(tampered.iter().map(|p| p.as_str())),
            });
        }
        Ok(Target { manifest, contents })
    }

    /// Refuses owners and groups the system does not know, naming them all.
    pub fn check_accounts(&self, accounts: &Accounts) -> Result<BTreeMap<String, Attributes>> {
        let mut unknown = BTreeSet::new();
        let mut out = BTreeMap::new();
        for record in &self.manifest.files {
            let uid = accounts.uid(&record.owner);
            let gid = accounts.gid(&record.group);
            if uid.is_none() {
                unknown.insert(format!("user `{}`", record.owner));
            }
            if gid.is_none() {
                unknown.insert(format!("group `{}`", record.group));
            }
            if let (Some(uid), Some(gid), Some(mode)) = (uid, gid, record.mode_bits()) {
                out.insert(record.path.clone(), Attributes { mode, uid, gid });
            }
        }
        if !unknown.is_empty() {
            return Err(Error::UnknownAccounts {
                names: unknown.into_iter().collect::<Vec<_>>().join(", "),
            });
        }
        Ok(out)
    }
}

/// A plan and the scan of the live root it was computed from.
#[derive(Debug, Clone)]
pub struct Planned {
    pub plan: Plan,
    pub scan: Scan,
}

impl Planned {
    pub fn is_empty(&self) -> bool {
        self.plan.is_empty()
    }
}

/// The plan of a host computed without taking the lock or recovering: for
/// `gen diff` and `gen plan`, which never write.
pub fn plan_read_only(root: &LiveRoot, accounts: &Accounts, target: &Target) -> Result<Planned> {
    let previous = Store::new(&root.state_dir()).current()?.map(|g| g.manifest);
    planned(root, accounts, target, previous.as_ref())
}

/// Scans every path the target or the previous apply manages, once, and plans.
fn planned(
    root: &LiveRoot,
    accounts: &Accounts,
    target: &Target,
    previous: Option<&Manifest>,
) -> Result<Planned> {
    let paths = managed_paths(&target.manifest, previous);
    let scan = actual::scan(root, accounts, paths.iter().map(String::as_str))?;
    Ok(Planned {
        plan: plan::plan(&target.manifest, &scan.actual, previous),
        scan,
    })
}

fn managed_paths(target: &Manifest, previous: Option<&Manifest>) -> BTreeSet<String> {
    target
        .files
        .iter()
        .chain(previous.map(|m| m.files.as_slice()).unwrap_or_default())
        .map(|r| r.path.clone())
        .collect()
}

/// What an apply did.
#[derive(Debug, Clone)]
pub struct Applied {
    pub generation: Option<u64>,
    pub changes: usize,
    pub pruned: usize,
}

/// Exclusive use of one live root: holds the lock for as long as it lives.
#[derive(Debug)]
pub struct Session {
    root: LiveRoot,
    accounts: Accounts,
    store: Store,
    _lock: fs::File,
    /// Generations an interrupted run left and this session rolled back.
    pub recovered: Vec<u64>,
    /// Generation records an apply died while writing, before it touched any
    /// managed file; this session removed them.
    pub discarded: usize,
}

impl Session {
    pub fn open(root: LiveRoot, accounts: Accounts) -> Result<Session> {
        let lock = lock(&root)?;
        let store = Store::new(&root.state_dir());
        let mut session = Session {
            root,
            accounts,
            store,
            _lock: lock,
            recovered: Vec::new(),
            discarded: 0,
        };
        session.recover()?;
        Ok(session)
    }

    /// Whether opening this session finished off an interrupted apply or rollback.
    pub fn recovered_anything(&self) -> bool {
        !self.recovered.is_empty() || self.discarded > 0
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Rolls back every generation an interrupted apply or rollback left
    /// unfinished, and removes stray temporary files.
    fn recover(&mut self) -> Result<()> {
        let (generations, partial) = self.store.list()?;
        for dir in &partial {
            self.store.discard(dir)?;
            self.discarded += 1;
        }
        for generation in generations.iter().rev() {
            if matches!(generation.state, State::InProgress | State::RollingBack) {
                self.restore(generation.clone())?;
                self.recovered.push(generation.number);
            }
        }
        for generation in &generations {
            self.store.clean_temp(generation.number)?;
        }
        if let Some(latest) = generations.last() {
            self.clean_temp(latest.before.iter().map(|b| b.path.as_str()));
            self.clean_temp(latest.manifest.files.iter().map(|r| r.path.as_str()));
        }
        Ok(())
    }

    /// Best effort: a directory that cannot be resolved safely is left alone
    /// (the apply refuses it later with a proper error).
    fn clean_temp<'a>(&self, paths: impl Iterator<Item = &'a str>) {
        let mut dirs = BTreeSet::new();
        for path in paths {
            if let Ok(resolved) = self.root.resolve(path) {
                if let Some(dir) = resolved.path.parent() {
                    dirs.insert(dir.to_path_buf());
                }
            }
        }
        for dir in dirs {
            let _ = atomic::clean_temp(&dir);
        }
    }

    /// Scans the live root under the lock and plans: the one scan of a run,
    /// which the confirmation shows and `apply` writes from.
    pub fn plan(&self, target: &Target) -> Result<Planned> {
        let previous = self.store.current()?.map(|g| g.manifest);
        planned(&self.root, &self.accounts, target, previous.as_ref())
    }

    /// Applies `planned` (from [`Session::plan`]) after checking that nothing
    /// it scanned moved since and, when given, that it is the `reviewed` plan
    /// (a plan file), keeping `keep` generations.
    pub fn apply(
        &self,
        target: &Target,
        planned: &Planned,
        reviewed: Option<&Plan>,
        keep: usize,
    ) -> Result<Applied> {
        let attributes = target.check_accounts(&self.accounts)?;
        self.clean_temp(target.manifest.files.iter().map(|r| r.path.as_str()));
        let plan = &planned.plan;
        let moved = planned.scan.moved(&self.root)?;
        if !moved.is_empty() {
            return Err(Error::Drift {
                count: moved.len(),
                paths: list(moved.iter().map(String::as_str)),
            });
        }
        if let Some(reviewed) = reviewed {
            check_reviewed(reviewed, plan)?;
        }
        if plan.is_empty() {
            return Ok(Applied {
                generation: None,
                changes: 0,
                pruned: 0,
            });
        }

        let number = self.store.next_number()?;
        let mut before = Vec::new();
        let mut kept = BTreeMap::new();
        let mut created_dirs = Vec::new();
        for change in &plan.changes {
            let resolved = self.root.resolve(&change.path)?;
            for dir in &resolved.missing_dirs {
                let host = self.host_path(dir);
                if !created_dirs.contains(&host) {
                    created_dirs.push(host);
                }
            }
            let file = match (
                planned.scan.actual.get(&change.path),
                planned.scan.contents.get(&change.path),
            ) {
                (Some(Actual::Present(file)), Some(content)) => {
                    kept.insert(file.sha256.clone(), content.clone());
                    Some(BeforeFile {
                        sha256: file.sha256.clone(),
                        mode: file.mode.clone(),
                        uid: file.uid,
                        gid: file.gid,
                    })
                }
                _ => None,
            };
            before.push(Before {
                path: change.path.clone(),
                file,
            });
        }
        let mut generation = Generation {
            number,
            state: State::InProgress,
            profile: target.manifest.profile.clone(),
            host: target.manifest.host.clone(),
            tree_hash: target.manifest.tree_hash.clone(),
            before,
            created_dirs,
            manifest: target.manifest.clone(),
        };
        self.store
            .begin(&generation, &kept.into_iter().collect::<Vec<_>>())?;

        if let Err(err) = self.write_changes(target, plan, &attributes) {
            let cause = describe(&err);
            return Err(match self.restore(generation) {
                Ok(()) => Error::Aborted {
                    cause,
                    help: "every file was restored to what it held before; the generation is marked rolled back".into(),
                },
                Err(rollback) => Error::Aborted {
                    cause,
                    help: format!(
                        "restoring the previous files failed too ({}); the next `gen apply` or `gen rollback` finishes the rollback",
                        describe(&rollback)
                    ),
                },
            });
        }
        generation.state = State::Complete;
        self.store.save(&generation)?;
        let pruned = self.store.prune(keep)?;
        Ok(Applied {
            generation: Some(number),
            changes: plan.changes.len(),
            pruned,
        })
    }

    /// Writes the plan's changes: folders first, then every new content in
    /// one batch (all staged, fsynced and validated before the first rename;
    /// see `atomic::write_files`), then the removals.
    fn write_changes(
        &self,
        target: &Target,
        plan: &Plan,
        attributes: &BTreeMap<String, Attributes>,
    ) -> Result<()> {
        let mut writes = Vec::new();
        let mut removals = Vec::new();
        for change in &plan.changes {
            let resolved = self.root.resolve(&change.path)?;
            if change.kind == ChangeKind::Remove {
                if resolved.metadata.is_some() {
                    removals.push(resolved.path);
                }
                continue;
            }
            for dir in &resolved.missing_dirs {
                atomic::create_dir(dir, 0o755)?;
            }
            let (Some(content), Some(attributes)) = (
                target.contents.get(&change.path),
                attributes.get(&change.path),
            ) else {
                return Err(Error::PlanMismatch {
                    message: format!("`{}` is not in the manifest", change.path),
                });
            };
            writes.push((resolved.path, content, *attributes));
        }
        let pending: Vec<atomic::Pending> = writes
            .iter()
            .map(|(path, content, attributes)| atomic::Pending {
                path,
                content,
                attributes: *attributes,
            })
            .collect();
        // The validators already passed on the whole tree (commands::apply).
        atomic::write_files(&pending)?;
        removals
            .iter()
            .try_for_each(|path| atomic::remove_file(path))
    }

    /// Restores what `generation` replaced: the rollback of one apply. The
    /// record says `rolling_back` until every path is restored, so a rollback
    /// that is itself interrupted is finished by the next run.
    fn restore(&self, mut generation: Generation) -> Result<()> {
        // An `in_progress` record already means "roll back on the next run":
        // only a complete generation needs the extra state, and not writing it
        // lets a failed apply undo itself on a full disk.
        if generation.state == State::Complete {
            generation.state = State::RollingBack;
            self.store.save(&generation)?;
        }
        // Files the apply created go first: removing them frees the space the
        // restored contents need.
        let (created, replaced): (Vec<_>, Vec<_>) = generation
            .before
            .iter()
            .rev()
            .partition(|b| b.file.is_none());
        let kept = if replaced.is_empty() {
            BTreeMap::new()
        } else {
            self.store.contents(generation.number)?
        };
        for before in created.into_iter().chain(replaced) {
            let resolved = self.root.resolve(&before.path)?;
            match &before.file {
                None => {
                    if resolved.metadata.is_some() {
                        atomic::remove_file(&resolved.path)?;
                    }
                }
                Some(file) => {
                    let (live, _) = actual::read_one(&self.root, &self.accounts, &before.path)?;
                    let wanted = file.attributes();
                    if let Actual::Present(now) = &live {
                        if now.sha256 == file.sha256
                            && now.mode == file.mode
                            && now.uid == file.uid
                            && now.gid == file.gid
                        {
                            continue;
                        }
                    }
                    for dir in &resolved.missing_dirs {
                        atomic::create_dir(dir, 0o755)?;
                    }
                    let content = kept.get(&file.sha256).ok_or_else(|| Error::Generation {
                        path: self.store.record_path(generation.number),
                        message: format!("no kept content for `{}`", before.path),
                    })?;
                    atomic::write_file(&resolved.path, content, wanted, |_| Ok(()))?;
                }
            }
        }
        for dir in generation.created_dirs.iter().rev() {
            if let Ok(path) = self.live_dir(dir) {
                atomic::remove_dir_if_empty(&path)?;
            }
        }
        generation.state = State::RolledBack;
        self.store.save(&generation)
    }

    /// `gen rollback`: restores the state before the newest complete apply.
    pub fn rollback(&self) -> Result<Option<Generation>> {
        let Some(current) = self.store.current()? else {
            return Ok(None);
        };
        self.restore(current.clone())?;
        Ok(Some(current))
    }

    fn host_path(&self, live: &Utf8Path) -> String {
        let relative = live.strip_prefix(self.root.path()).unwrap_or(live);
        format!("/{relative}")
    }

    /// A directory path under the root, refusing symlinks on the way.
    fn live_dir(&self, host_path: &str) -> Result<Utf8PathBuf> {
        // Resolving a child of the directory checks every component of the
        // directory itself without requiring it to be a file.
        let probe = format!("{host_path}/{}probe", atomic::TEMP_PREFIX);
        let resolved = self.root.resolve(&probe)?;
        Ok(resolved
            .path
            .parent()
            .map(Utf8Path::to_path_buf)
            .unwrap_or(resolved.path))
    }
}

/// The plan computed under the lock must be the one reviewed.
fn check_reviewed(reviewed: &Plan, now: &Plan) -> Result<()> {
    if reviewed.tree_hash != now.tree_hash
        || reviewed.profile != now.profile
        || reviewed.host != now.host
    {
        return Err(Error::PlanMismatch {
            message: format!(
                "the plan is for `{}/{}` with tree hash `{}`, the generated tree is `{}/{}` with `{}`",
                reviewed.profile, reviewed.host, reviewed.tree_hash, now.profile, now.host, now.tree_hash
            ),
        });
    }
    let reviewed_by_path: BTreeMap<&str, _> = reviewed
        .changes
        .iter()
        .map(|c| (c.path.as_str(), c))
        .collect();
    let now_by_path: BTreeMap<&str, _> = now.changes.iter().map(|c| (c.path.as_str(), c)).collect();
    let drifted: BTreeSet<&str> = reviewed_by_path
        .keys()
        .chain(now_by_path.keys())
        .copied()
        .filter(|path| reviewed_by_path.get(path) != now_by_path.get(path))
        .collect();
    if drifted.is_empty() {
        return Ok(());
    }
    Err(Error::Drift {
        count: drifted.len(),
        paths: list(drifted.into_iter()),
    })
}

/// Takes `<root>/var/lib/gen/lock`, waiting for another apply to finish.
fn lock(root: &LiveRoot) -> Result<fs::File> {
    let resolved = root.resolve("/var/lib/gen/lock")?;
    for dir in &resolved.missing_dirs {
        atomic::create_dir(dir, 0o755)?;
    }
    let path = resolved.path;
    let file = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| Error::write(&path, e))?;
    let started = Instant::now();
    let mut told = false;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(fs::TryLockError::WouldBlock) => {
                if started.elapsed() >= LOCK_WAIT {
                    return Err(Error::Locked { path });
                }
                if !told {
                    eprintln!("waiting for another gen run holding {path}");
                    told = true;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(fs::TryLockError::Error(e)) => return Err(Error::write(&path, e)),
        }
    }
}

/// An error with its causes, on one line.
pub fn describe(err: &Error) -> String {
    let mut out = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}

/// Up to ten names in backticks, then a count of the rest.
fn list<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let names: Vec<&str> = names.collect();
    let mut out = names
        .iter()
        .take(10)
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > 10 {
        out.push_str(&format!(" and {} more", names.len() - 10));
    }
    out
}
