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
//! 4. `Session::apply` checks nothing scanned moved since, records a
//!    generation (state `in_progress`, what every path held before, the
//!    activations it will ask for, and the record it will have once
//!    complete, staged so the journal's space is taken first) and fsyncs it,
//!    then writes each file atomically, then marks the generation `complete`
//!    by a rename that needs no space, its activations `pending`.
//! 5. The command runs every pending activation (`Session::outstanding`)
//!    and `Session::settle` keeps in each record only what failed.
//!
//! Every step reaches the live root through `root_dir`'s directory handles,
//! never by a path: see there why no link can redirect one outside `--root`.
//!
//! Crash recovery rule: an interrupted apply is rolled back, never completed.
//! Its generation record holds everything needed to restore the host to the
//! state before it, whereas completing it would need the tree it was applying,
//! which may have changed since. The next `gen apply` then applies from a
//! known state; `gen rollback` simply finds the rollback already done.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt as _;
use std::time::{Duration, Instant};

use camino::{Utf8Path, Utf8PathBuf};

use crate::accounts::Accounts;
use crate::actual::{self, Actual, Scan};
use crate::atomic::{self, Attributes};
use crate::generation::{Before, BeforeFile, Generation, State, Store, STATE_DIR};
use crate::plan::{self, ChangeKind, Plan};
use crate::root_dir::{Dir, Entry, Node, RootDir};
use gen_target::error::{Error, Result};
use gen_target::layout::{tree_path, MANIFEST_FILE};
use gen_target::manifest::{mode_string, sha256_hex, Manifest};

/// How long an apply waits for another one to finish before giving up.
const LOCK_WAIT: Duration = Duration::from_secs(30);
/// The lock file in gen's state directory.
const LOCK_FILE: &str = "lock";

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
        Target::verify(host_dir, Manifest::read(&host_dir.join(MANIFEST_FILE))?)
    }

    /// [`Target::load`] with the host's manifest already read (by the stale
    /// check, which needs it first).
    pub fn verify(host_dir: &Utf8Path, manifest: Manifest) -> Result<Target> {
        let mut contents = BTreeMap::new();
        let mut tampered = Vec::new();
        // A link record has no file in the tree: the manifest holds it whole.
        for record in manifest.files.iter().filter(|r| r.link.is_none()) {
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
    /// Activations earlier runs recorded and did not get done
    /// (`activate::outstanding`): the next apply runs them too.
    pub pending: plan::Activations,
}

impl Planned {
    pub fn is_empty(&self) -> bool {
        self.plan.is_empty()
    }
}

/// The plan of a host computed without taking the lock or recovering: for
/// `gen diff` and `gen plan`, which never write. `None`: the root does not
/// exist, and holds nothing.
pub fn plan_read_only(
    root: Option<&RootDir>,
    accounts: &Accounts,
    target: &Target,
) -> Result<Planned> {
    planned(root, accounts, target, &Store::open(root)?)
}

/// Scans every path the target or the previous apply manages, once, and plans.
fn planned(
    root: Option<&RootDir>,
    accounts: &Accounts,
    target: &Target,
    store: &Store,
) -> Result<Planned> {
    let journal = store.list()?;
    let pending = crate::activate::outstanding(&journal.generations);
    // The generation whose result the host holds: the newest complete one.
    let previous = journal
        .generations
        .iter()
        .rev()
        .find(|g| g.state == State::Complete)
        .map(|g| &g.manifest);
    let paths = managed_paths(&target.manifest, previous);
    let scan = actual::scan(
        root,
        accounts,
        paths.iter().map(|(path, link)| (path.as_str(), *link)),
    )?;
    Ok(Planned {
        plan: plan::plan(&target.manifest, &scan.actual, previous, &plan::new_salt()?),
        scan,
        pending,
    })
}

/// Every path the target or the previous apply manages, each with whether
/// either records a link there (then a link is read, not refused).
fn managed_paths(target: &Manifest, previous: Option<&Manifest>) -> BTreeMap<String, bool> {
    let mut out: BTreeMap<String, bool> = BTreeMap::new();
    for record in target
        .files
        .iter()
        .chain(previous.map(|m| m.files.as_slice()).unwrap_or_default())
    {
        *out.entry(record.path.clone()).or_default() |= record.link.is_some();
    }
    out
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
    root: RootDir,
    accounts: Accounts,
    store: Store,
    _lock: fs::File,
    /// The random part of the names of the temporary files this run makes.
    run: String,
    /// Generations an interrupted run left and this session rolled back.
    pub recovered: Vec<u64>,
    /// Generations an apply died while starting, before they got their
    /// number and before it touched any managed file; this session removed
    /// them.
    pub discarded: usize,
    /// Names in the journal that are not generations: ignored, never deleted.
    pub ignored: Vec<Utf8PathBuf>,
    /// Whether this run tells systemd about what it changes: only then are
    /// activations recorded as pending (a scratch root owes its services
    /// nothing).
    activating: bool,
}

impl Session {
    /// Takes the lock of `root` and recovers from an interrupted run;
    /// `activating`: this run tells systemd what it changes.
    /// The files `target` needs the host to hold (secrets, certificates,
    /// keys) that are not under the root.
    pub fn missing_files(&self, target: &Target) -> Result<Vec<String>> {
        let mut missing = Vec::new();
        for path in &target.manifest.requires.files {
            if !self.root.holds_file(path)? {
                missing.push(path.clone());
            }
        }
        Ok(missing)
    }

    pub fn open(root: RootDir, accounts: Accounts, activating: bool) -> Result<Session> {
        let state = root.create_dirs(STATE_DIR, 0o755)?;
        let lock = lock(&state)?;
        let run = atomic::new_run();
        let store = Store::create(&state, &run)?;
        let mut session = Session {
            root,
            accounts,
            store,
            _lock: lock,
            run,
            recovered: Vec::new(),
            discarded: 0,
            ignored: Vec::new(),
            activating,
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

    /// The live root this session holds the lock of.
    pub fn root(&self) -> &RootDir {
        &self.root
    }

    /// Rolls back every generation an interrupted apply or rollback left
    /// unfinished. Temporary files go first, then the files, then the
    /// directories the apply created (which the temporary files kept from
    /// being empty).
    /// A damaged journal is refused before anything is touched.
    fn recover(&mut self) -> Result<()> {
        let journal = self.store.list()?;
        for unstarted in &journal.unstarted {
            self.store.discard(unstarted)?;
            self.discarded += 1;
        }
        self.ignored = journal.ignored.clone();
        let generations = &journal.generations;
        for generation in generations {
            self.store.clean_temp(generation.number)?;
        }
        for generation in generations.iter().rev() {
            if generation.state.is_unfinished() {
                self.restore(generation.clone())?;
                self.recovered.push(generation.number);
            }
        }
        Ok(())
    }

    /// Scans the live root under the lock and plans: the one scan of a run,
    /// which the confirmation shows and `apply` writes from.
    pub fn plan(&self, target: &Target) -> Result<Planned> {
        planned(Some(&self.root), &self.accounts, target, &self.store)
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
        let plan = &planned.plan;
        let moved = planned.scan.moved(&self.root)?;
        if !moved.is_empty() {
            return Err(Error::Drift {
                count: moved.len(),
                paths: list(moved.iter().map(String::as_str)),
            });
        }
        if let Some(reviewed) = reviewed {
            // The same scan planned again with the reviewed plan's salt: the
            // digests of sensitive changes compare only under one salt.
            let previous = self.store.current()?.map(|g| g.manifest);
            let resalted = plan::plan(
                &target.manifest,
                &planned.scan.actual,
                previous.as_ref(),
                &reviewed.salt,
            );
            check_reviewed(reviewed, &resalted)?;
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
            for dir in self.root.missing_dirs(&change.path)? {
                if !created_dirs.contains(&dir) {
                    created_dirs.push(dir);
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
                        link: None,
                    })
                }
                // A link keeps nothing but what it holds, in the record.
                (Some(Actual::Link(link)), _) => Some(BeforeFile {
                    sha256: link.sha256.clone(),
                    mode: gen_target::manifest::LINK_MODE.to_string(),
                    uid: link.uid,
                    gid: link.gid,
                    link: Some(link.target.clone()),
                }),
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
            run: self.run.clone(),
            manifest: target.manifest.clone(),
            // Recorded now, so completing is the rename of a record whose
            // space is already taken; they run after the writes.
            pending: Some(plan.activations.clone()).filter(|a| self.activating && !a.is_empty()),
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
        // The pending activations are in the completed record, before
        // anything runs: an apply that dies now leaves them for the next run.
        generation.state = State::Complete;
        self.store.complete(&generation)?;
        let pruned = self.store.prune(keep).map_err(|e| Error::Pruning {
            generation: number,
            cause: describe(&e),
        })?;
        Ok(Applied {
            generation: Some(number),
            changes: plan.changes.len(),
            pruned,
        })
    }

    /// Writes the plan's changes: folders first, then every new content in
    /// one batch (all staged and fsynced before the first rename;
    /// see `atomic::write_files`), then the links, then the removals. Each
    /// directory is opened once, and every step in it goes through that
    /// handle.
    fn write_changes(
        &self,
        target: &Target,
        plan: &Plan,
        attributes: &BTreeMap<String, Attributes>,
    ) -> Result<()> {
        let mut dirs: BTreeMap<&str, Dir> = BTreeMap::new();
        let mut writes = Vec::new();
        let mut links = Vec::new();
        let mut removals = Vec::new();
        for change in &plan.changes {
            let (dir, name) = self.root.split(&change.path)?;
            if change.kind == ChangeKind::Remove {
                if !dirs.contains_key(dir) {
                    // No directory, no file to remove.
                    let Some(handle) = self.root.dir(dir)? else {
                        continue;
                    };
                    dirs.insert(dir, handle);
                }
                removals.push((dir, name));
                continue;
            }
            if !dirs.contains_key(dir) {
                dirs.insert(dir, self.root.create_dirs(dir, 0o755)?);
            }
            if let Some(link) = &change.link {
                links.push((dir, name, link.as_str()));
                continue;
            }
            let (Some(content), Some(attributes)) = (
                target.contents.get(&change.path),
                attributes.get(&change.path),
            ) else {
                return Err(Error::PlanMismatch {
                    message: format!("`{}` is not in the manifest", change.path),
                });
            };
            writes.push((dir, name, content, *attributes));
        }
        let opened = |dir: &str| {
            dirs.get(dir).ok_or_else(|| Error::UnsafeLivePath {
                path: self.root.live_path(dir),
                message: "was not opened".into(),
            })
        };
        let pending = writes
            .iter()
            .map(|(dir, name, content, attributes)| {
                Ok(atomic::Pending {
                    dir: opened(dir)?,
                    name,
                    content,
                    attributes: *attributes,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        // The validators already passed on the whole tree (commands::apply).
        atomic::write_files(&pending, &self.run)?;
        for (dir, name, link) in links {
            atomic::write_link(opened(dir)?, name, link, None, &self.run)?;
        }
        removals
            .iter()
            .try_for_each(|(dir, name)| atomic::remove_file(opened(dir)?, name))
    }

    /// Restores what `generation` replaced: the rollback of one apply. The
    /// record says `rolling_back` (or still `in_progress`) until every path
    /// is restored, so a rollback that is itself interrupted is finished by
    /// the next run. One that fails says what it had already changed.
    /// Once restored, the record's pending activations are what restoring
    /// asks (when the apply's files were live, i.e. it had completed); its
    /// apply's own are moot.
    fn restore(&self, mut generation: Generation) -> Result<()> {
        let number = generation.number;
        let owed = Some(plan::restore_activations(&generation)).filter(|a| {
            self.activating
                && matches!(generation.state, State::Complete | State::RollingBack)
                && !a.is_empty()
        });
        let mut progress = Progress::default();
        self.restore_files(&mut generation, &mut progress)
            .and_then(|()| {
                generation.state = State::RolledBack;
                generation.pending = owed;
                self.store.save(&generation)
            })
            .map_err(|cause| Error::RollbackIncomplete {
                number,
                done: progress.describe(),
                cause: describe(&cause),
            })
    }

    fn restore_files(&self, generation: &mut Generation, progress: &mut Progress) -> Result<()> {
        // Files the apply created go first: removing them frees the space the
        // restored contents need.
        let (created, replaced): (Vec<_>, Vec<_>) = generation
            .before
            .iter()
            .rev()
            .cloned()
            .partition(|b| b.file.is_none());
        // Read and checked before anything changes, the record's state
        // included: a rollback that cannot finish does not start, and leaves
        // the journal as it was.
        let kept = if replaced.is_empty() {
            BTreeMap::new()
        } else {
            self.store.contents(generation.number)?
        };
        // An `in_progress` record already means "roll back on the next run":
        // only a complete generation needs the extra state, and not writing it
        // lets a failed apply undo itself on a full disk. The run whose
        // temporary files the rollback makes is recorded before the first one.
        if generation.state == State::Complete || generation.run.is_empty() {
            if generation.state == State::Complete {
                generation.state = State::RollingBack;
            }
            generation.run = self.run.clone();
            self.store.save(generation)?;
        }
        let run = generation.run.clone();
        let links: BTreeSet<&str> = generation
            .manifest
            .files
            .iter()
            .filter(|r| r.link.is_some())
            .map(|r| r.path.as_str())
            .collect();

        // Temporary files of the interrupted run, by their recorded names. A
        // directory that cannot be opened (now a link, say) is skipped here:
        // the pass over the files below stops on it with the reason, after
        // restoring what it can reach.
        for before in &generation.before {
            let (dir, name) = self.root.split(&before.path)?;
            if let Ok(Some(dir)) = self.root.dir(dir) {
                if atomic::remove_temp(&dir, name, &run)? {
                    dir.sync()?;
                }
            }
        }
        for before in created.into_iter().chain(replaced) {
            let (dir, name) = self.root.split(&before.path)?;
            // What the path holds now may be a link only where a manifest
            // records one: the generation's, or the one restored.
            let link_ok = links.contains(before.path.as_str())
                || before.file.as_ref().is_some_and(|f| f.link.is_some());
            match &before.file {
                None => {
                    let Some(dir) = self.root.dir(dir)? else {
                        continue;
                    };
                    let present = if link_ok {
                        !matches!(dir.node(name)?, Node::Absent)
                    } else {
                        matches!(dir.entry(name)?, Entry::File(_))
                    };
                    if present {
                        atomic::remove_file(&dir, name)?;
                        progress.removed.push(before.path.clone());
                    }
                }
                Some(BeforeFile {
                    link: Some(link),
                    uid,
                    gid,
                    ..
                }) => {
                    let dir = self.root.create_dirs(dir, 0o755)?;
                    if let Node::Link { target, .. } = dir.node(name)? {
                        if target == *link {
                            continue;
                        }
                    }
                    atomic::write_link(&dir, name, link, Some((*uid, *gid)), &run)?;
                    progress.restored.push(before.path.clone());
                }
                Some(file) => {
                    let dir = self.root.create_dirs(dir, 0o755)?;
                    let is_file = !link_ok || matches!(dir.node(name)?, Node::File(_));
                    if let Some((metadata, content)) =
                        if is_file { dir.read_file(name)? } else { None }
                    {
                        if sha256_hex(&content) == file.sha256
                            && mode_string(metadata.mode() & 0o7777) == file.mode
                            && metadata.uid() == file.uid
                            && metadata.gid() == file.gid
                        {
                            continue;
                        }
                    }
                    let content = kept.get(&file.sha256).ok_or_else(|| Error::Generation {
                        path: self.store.record_path(generation.number),
                        message: format!("no kept content for `{}`", before.path),
                    })?;
                    atomic::write_file(&dir, name, content, file.attributes(), &run)?;
                    progress.restored.push(before.path.clone());
                }
            }
        }
        for dir in generation.created_dirs.iter().rev() {
            let (parent, name) = self.root.split(dir)?;
            if let Some(parent) = self.root.dir(parent)? {
                parent.remove_dir_if_empty(name)?;
            }
        }
        Ok(())
    }

    /// Every activation a record still owes the host (see
    /// `activate::outstanding`).
    pub fn outstanding(&self) -> Result<plan::Activations> {
        Ok(crate::activate::outstanding(
            &self.store.list()?.generations,
        ))
    }

    /// After a run of the activations: every record keeps, of its pending
    /// ones, only what `left` holds (what failed), and none once all passed.
    pub fn settle(&self, left: &plan::Activations) -> Result<()> {
        let journal = self.store.list()?;
        for generation in &journal.generations {
            if !matches!(generation.state, State::Complete | State::RolledBack) {
                continue;
            }
            let Some(pending) = &generation.pending else {
                continue;
            };
            let still = pending.still_in(left);
            if still == *pending {
                continue;
            }
            let settled = Generation {
                pending: Some(still).filter(|a| !a.is_empty()),
                ..generation.clone()
            };
            self.store.save(&settled)?;
        }
        Ok(())
    }

    /// `gen rollback`: restores the state before the newest complete apply.
    pub fn rollback(&self) -> Result<Option<Generation>> {
        let Some(current) = self.store.current()? else {
            return Ok(None);
        };
        self.restore(current.clone())?;
        Ok(Some(current))
    }
}

/// What a rollback changed on the host so far: a rollback that stops
/// half-way says so instead of claiming nothing was written.
#[derive(Debug, Default)]
struct Progress {
    removed: Vec<String>,
    restored: Vec<String>,
}

impl Progress {
    fn describe(&self) -> String {
        let part = |verb: &str, paths: &[String]| {
            format!(
                "{verb} {} file(s) ({})",
                paths.len(),
                list(paths.iter().map(String::as_str))
            )
        };
        match (self.removed.is_empty(), self.restored.is_empty()) {
            (true, true) => "changing no file".into(),
            (false, true) => part("removing", &self.removed),
            (true, false) => part("restoring", &self.restored),
            (false, false) => format!(
                "{} and {}",
                part("removing", &self.removed),
                part("restoring", &self.restored)
            ),
        }
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

/// Takes `<root>/var/lib/gen/lock` (in gen's state directory, opened),
/// waiting for another apply to finish.
fn lock(state: &Dir) -> Result<fs::File> {
    let path = state.path().join(LOCK_FILE);
    let file = state.open_or_create(LOCK_FILE)?;
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
