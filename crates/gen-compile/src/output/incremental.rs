//! Write stage, incremental: a rebuild touches only what changed. Each file
//! of the tree is recorded in a cache beside `generated/` (`generated.gen-cache`,
//! never committed) with the hash of exactly what it was rendered from — its
//! template and the template context, under gen's version and templates — and
//! the fingerprint of the file as written (inode, size, mode, modification
//! time). A rebuild renders only the files whose inputs changed and moves only
//! the files whose bytes changed into the tree; every other file stays where it
//! is, as Nix skips a derivation whose inputs are unchanged.
//!
//! The cache is a hint that proves itself: an entry is used only while the file
//! on disk is still the very file it describes, and a folder's entries are
//! trusted only while the folder is unchanged, so a hand edit, an added file, a
//! `git checkout` or an interrupted build makes it miss, never lie. Anything it
//! cannot vouch for at the level of the tree (a folder that is not a profile or
//! a host, a missing cache) sends the build down the full staged path.
//!
//! Crash safety: every changed file is first written completely into a
//! staging folder; only then are the files moved in, each by a `rename` (a file
//! is always entirely old or entirely new). A crash while they are moved leaves
//! the moved files new and the rest old; the files then no longer match the
//! cache's keys or fingerprints, so the next `gen build` renders them again and
//! the tree comes out exactly as a clean build (`gen build --check` names them
//! meanwhile). A crash before that point leaves the old tree untouched.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::os::unix::fs::MetadataExt as _;

use camino::{Utf8Path, Utf8PathBuf};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{discard_on_error, sibling, Scope, Stager, MANIFEST_FILE};
use crate::artifact_kind::templates;
use crate::compile::Analysed;
use crate::model::HostSpec;
use crate::render::Renderer;
use crate::views::Want;
use gen_target::error::{Error, Result};
use gen_target::layout::tree_path;
use gen_target::manifest;
use gen_target::parallel;

mod cache_file;

pub(super) use cache_file::CacheWriter;

const CACHE_SUFFIX: &str = ".gen-cache";
/// The folder of a profile's staging folder holding changed files (a host
/// folder name never starts with a dot).
const FLAT_DIR: &str = ".files";
/// Bumped when the cache's meaning changes; part of the salt.
const CACHE_FORMAT: &str = "gen-cache 2";

/// What the previous build wrote, profile by profile. Its file names the gen
/// that wrote it by a salt (gen's version, the cache format and every
/// embedded template): a cache written by another gen describes inputs this
/// one cannot compare, and is not read.
#[derive(Debug, Default)]
pub(super) struct Cache {
    profiles: BTreeMap<String, ProfileCache>,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub(super) struct ProfileCache {
    hosts: BTreeMap<String, HostCache>,
}

impl ProfileCache {
    pub(super) fn insert(&mut self, host: String, cache: HostCache) {
        self.hosts.insert(host, cache);
    }
}

/// One host's folder as the previous build left it.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub(super) struct HostCache {
    /// Every folder of the host's tree, relative to the host folder (`""` is
    /// the host folder itself): an unchanged folder holds the same names.
    dirs: BTreeMap<String, Fingerprint>,
    /// Every file, relative to the host folder.
    files: BTreeMap<String, FileEntry>,
}

/// Field names are one letter: a fleet's cache has an entry per file, and
/// reading it is part of every rebuild.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct FileEntry {
    /// Hash of the template and its context (empty for the manifest, which
    /// is compared by content: it is built without rendering).
    #[serde(rename = "k")]
    key: String,
    #[serde(rename = "s")]
    sha256: String,
    #[serde(rename = "n")]
    size: u64,
    #[serde(rename = "f")]
    fingerprint: Fingerprint,
}

/// What identifies a file's bytes without reading them, as git's index does:
/// writing to it changes its modification time, replacing it changes its inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "(u64, u64, u32, i64)", into = "(u64, u64, u32, i64)")]
pub(super) struct Fingerprint {
    ino: u64,
    size: u64,
    /// File type and permission bits.
    mode: u32,
    /// Modification time in nanoseconds since the epoch.
    mtime: i64,
}

/// A fingerprint is stored as a four-number array.
impl From<(u64, u64, u32, i64)> for Fingerprint {
    fn from((ino, size, mode, mtime): (u64, u64, u32, i64)) -> Fingerprint {
        Fingerprint {
            ino,
            size,
            mode,
            mtime,
        }
    }
}

impl From<Fingerprint> for (u64, u64, u32, i64) {
    fn from(f: Fingerprint) -> (u64, u64, u32, i64) {
        (f.ino, f.size, f.mode, f.mtime)
    }
}

impl Fingerprint {
    pub(super) fn of(metadata: &fs::Metadata) -> Fingerprint {
        Fingerprint {
            ino: metadata.ino(),
            size: metadata.size(),
            mode: metadata.mode(),
            mtime: metadata
                .mtime()
                .saturating_mul(1_000_000_000)
                .saturating_add(metadata.mtime_nsec()),
        }
    }

    fn at(path: &Utf8Path) -> Option<Fingerprint> {
        fs::symlink_metadata(path).ok().map(|m| Fingerprint::of(&m))
    }

    /// The fingerprint of folder `relative` of host folder `dir`.
    fn at_folder(dir: &Utf8Path, relative: &str) -> Result<Fingerprint> {
        let path = dir.join(relative);
        let metadata = fs::symlink_metadata(&path).map_err(|e| Error::read(&path, e))?;
        Ok(Fingerprint::of(&metadata))
    }
}

fn salt() -> String {
    let mut hasher = Sha256::new();
    let mut field = |bytes: &[u8]| {
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    };
    field(CACHE_FORMAT.as_bytes());
    field(concat!("gen ", env!("CARGO_PKG_VERSION")).as_bytes());
    for (name, source) in templates() {
        field(name.as_bytes());
        field(source.as_bytes());
    }
    manifest::hex(&hasher.finalize())
}

/// The cache file of the tree at `generated`.
pub fn cache_path(generated: &Utf8Path) -> Utf8PathBuf {
    sibling(generated, CACHE_SUFFIX)
}

/// The cache and its own modification time, when it exists, parses and
/// was written by this gen.
fn load(generated: &Utf8Path) -> Option<(Cache, i64)> {
    let path = cache_path(generated);
    let bytes = fs::read(&path).ok()?;
    let written = Fingerprint::at(&path)?.mtime;
    Some((cache_file::parse(&bytes)?, written))
}

/// The records of the profiles a build of `scope` leaves alone: with
/// `--profile`, the other profiles' records of the cache on disk.
pub(super) fn kept_profiles(generated: &Utf8Path, scope: &Scope) -> BTreeMap<String, ProfileCache> {
    let Scope::Profiles(names) = scope else {
        return BTreeMap::new();
    };
    let mut kept = load(generated)
        .map(|(cache, _)| cache.profiles)
        .unwrap_or_default();
    kept.retain(|name, _| !names.contains(name));
    kept
}

/// Writes the cache beside the tree: the records of the profiles left alone
/// and of those just built, in name order.
fn save(
    generated: &Utf8Path,
    mut profiles: BTreeMap<String, ProfileCache>,
    built: BTreeMap<String, ProfileCache>,
) {
    profiles.extend(built);
    let writer = CacheWriter::create(&cache_path(generated));
    writer.profiles(&profiles);
    writer.finish();
}

/// One file of a host as this build produces it.
pub(super) struct HostFile {
    /// Relative to the host folder.
    pub relative: Utf8PathBuf,
    pub key: String,
    pub sha256: String,
    pub size: u64,
    /// The bytes, or `None` when the file on disk already holds them.
    pub content: Option<Vec<u8>>,
    /// The fingerprint of the reused file on disk.
    pub kept: Option<Fingerprint>,
}

/// The previous build's record of a host, and where its folder is.
pub(super) struct Previous<'a> {
    dir: Utf8PathBuf,
    cache: &'a HostCache,
    /// Files modified at or after this time (the cache's own) may have
    /// changed within the clock's resolution: their bytes are checked.
    racy_from: i64,
}

impl Previous<'_> {
    /// The entry for `relative` when the file on disk is still the one it describes.
    fn intact(&self, relative: &str) -> Option<&FileEntry> {
        let entry = self.cache.files.get(relative)?;
        let path = self.dir.join(relative);
        let found = Fingerprint::at(&path)?;
        if found != entry.fingerprint {
            return None;
        }
        if found.mtime >= self.racy_from {
            let bytes = fs::read(&path).ok()?;
            if manifest::sha256_hex(&bytes) != entry.sha256 {
                return None;
            }
        }
        Some(entry)
    }

    /// Every folder of the host is as recorded, so no name was added or removed.
    fn folders_intact(&self) -> bool {
        self.cache.dirs.iter().all(|(relative, fingerprint)| {
            Fingerprint::at(&self.dir.join(relative))
                .is_some_and(|found| found == *fingerprint && found.mtime < self.racy_from)
        })
    }
}

/// Renders `host`'s files and manifest, reusing every file of `previous`
/// whose inputs (or, failing that, whose bytes) are unchanged.
pub(super) fn host_files(
    profile: &Analysed,
    host: &HostSpec,
    renderer: &Renderer,
    previous: Option<&Previous<'_>>,
) -> Result<Vec<HostFile>> {
    let specs = profile.artifacts(host);
    let mut files = Vec::with_capacity(specs.len() + 1);
    for spec in &specs {
        let relative = tree_path(Utf8Path::new(""), &spec.path);
        let intact = previous.and_then(|p| p.intact(relative.as_str()));
        let reuse = intact.map(|e| e.key.as_str()).filter(|k| !k.is_empty());
        let context = profile.context(host, renderer, spec, Want::Key { reuse })?;
        // No key (the view did not serialise): the file is always rendered.
        let key = context.key.unwrap_or_default();
        match (context.value, intact) {
            (Some(value), _) => {
                let content = renderer.render(spec, &value)?;
                files.push(rendered(relative, key, content, intact));
            }
            // The key matched the intact file's: it is kept as it is.
            (None, Some(entry)) => files.push(HostFile {
                relative,
                key,
                sha256: entry.sha256.clone(),
                size: entry.size,
                content: None,
                kept: Some(entry.fingerprint),
            }),
            // Not built although nothing on disk matches: a bug, not a panic.
            (None, None) => {
                return Err(Error::Render {
                    template: spec.template.to_string(),
                    message: "its context was skipped, yet no file on disk matches it".into(),
                })
            }
        }
    }
    let manifest = profile
        .manifest(
            host,
            specs
                .iter()
                .zip(&files)
                .map(|(spec, file)| (spec, file.sha256.clone(), file.size)),
        )
        .to_json();
    let relative = Utf8PathBuf::from(MANIFEST_FILE);
    let intact = previous.and_then(|p| p.intact(MANIFEST_FILE));
    files.push(rendered(relative, String::new(), manifest, intact));
    Ok(files)
}

/// A rendered file, kept as it is on disk when `intact` already holds its bytes.
fn rendered(
    relative: Utf8PathBuf,
    key: String,
    content: Vec<u8>,
    intact: Option<&FileEntry>,
) -> HostFile {
    let sha256 = manifest::sha256_hex(&content);
    let size = content.len() as u64;
    let kept = intact
        .filter(|e| e.sha256 == sha256 && e.size == size)
        .map(|e| e.fingerprint);
    HostFile {
        relative,
        key,
        sha256,
        size,
        content: if kept.is_some() { None } else { Some(content) },
        kept,
    }
}

impl HostCache {
    /// The record of a host folder whose files are `files` (with their
    /// fingerprints on disk) and whose folders are under `dir`.
    pub(super) fn new(dir: &Utf8Path, files: Vec<(&HostFile, Fingerprint)>) -> Result<HostCache> {
        let mut cache = HostCache::default();
        for (file, fingerprint) in files {
            cache.insert(file, fingerprint);
        }
        cache.record_dirs(dir)?;
        Ok(cache)
    }

    /// The latest modification time of a file or folder in the record.
    fn newest_mtime(&self) -> i64 {
        let files = self.files.values().map(|f| f.fingerprint.mtime);
        let dirs = self.dirs.values().map(|d| d.mtime);
        files.chain(dirs).max().unwrap_or(i64::MIN)
    }

    fn insert(&mut self, file: &HostFile, fingerprint: Fingerprint) {
        self.files.insert(
            file.relative.to_string(),
            FileEntry {
                key: file.key.clone(),
                sha256: file.sha256.clone(),
                size: file.size,
                fingerprint,
            },
        );
    }

    /// Every folder holding one of the files, and the host folder (`""`).
    fn folders(&self) -> BTreeSet<String> {
        let mut dirs = folders(self.files.keys());
        dirs.insert(String::new());
        dirs
    }

    /// Fingerprints every folder holding one of the files, and the host folder.
    fn record_dirs(&mut self, dir: &Utf8Path) -> Result<()> {
        self.dirs = self
            .folders()
            .into_iter()
            .map(|relative| {
                let fingerprint = Fingerprint::at_folder(dir, &relative)?;
                Ok((relative, fingerprint))
            })
            .collect::<Result<_>>()?;
        Ok(())
    }

    /// Fingerprints again the folders on the way to each `changed` file (a
    /// rename or removal touches only its own folder, a folder made or
    /// removed only its parent), and forgets those no file is in any more;
    /// the others are as they were recorded. A folder left stale here only
    /// makes the next build replace the host folder whole.
    fn refresh_dirs<'p>(
        &mut self,
        dir: &Utf8Path,
        needed: &BTreeSet<String>,
        changed: impl Iterator<Item = &'p str>,
    ) -> Result<()> {
        let mut touched = folders(changed);
        touched.insert(String::new());
        self.dirs.retain(|relative, _| needed.contains(relative));
        for relative in touched.intersection(needed) {
            let fingerprint = Fingerprint::at_folder(dir, relative)?;
            self.dirs.insert(relative.clone(), fingerprint);
        }
        Ok(())
    }
}

/// What a rebuild does to one host's folder.
enum Plan {
    /// No file changed; `true` if some file's inputs did (the cache changes).
    Keep(HostCache, bool),
    /// Move these staged files in and remove those: the folders are as recorded.
    Update {
        cache: HostCache,
        /// Staged name in the flat folder, and place in the host folder.
        moved: Vec<(Utf8PathBuf, Utf8PathBuf)>,
        removed: Vec<String>,
    },
    /// The folder is new, or not as recorded: the staged folder replaces it whole.
    Replace(HostCache),
}

/// One profile's part of a rebuild.
struct ProfilePlan {
    target: Utf8PathBuf,
    staging: Utf8PathBuf,
    hosts: Vec<(String, Plan)>,
    /// Host folders of hosts the profile no longer has.
    gone: Vec<String>,
}

/// Rebuilds the scope of `generated` in place from the cache, or returns
/// `None` (having changed nothing) when the tree is not one the cache can
/// vouch for; the caller then takes the full staged path.
pub(super) fn write(
    generated: &Utf8Path,
    profiles: &[Analysed],
    renderer: &Renderer,
    scope: &Scope,
    threads: usize,
) -> Result<Option<usize>> {
    // No tree, nothing to reuse: parsing a fleet's cache would only cost
    // the full build that follows its time and memory.
    if !generated.is_dir() {
        return Ok(None);
    }
    let Some((mut cache, racy_from)) = load(generated) else {
        return Ok(None);
    };
    let selected: Vec<&Analysed> = match scope {
        Scope::All => {
            let names: BTreeSet<String> = profiles.iter().map(|p| p.name.clone()).collect();
            if entries(generated) != Some(names) {
                return Ok(None);
            }
            profiles.iter().collect()
        }
        Scope::Profiles(names) => profiles
            .iter()
            .filter(|p| names.contains(&p.name))
            .collect(),
    };
    let root_staging = sibling(generated, super::STAGING_SUFFIX);
    let mut plans = Vec::new();
    let mut files = 0;
    for profile in &selected {
        let Some(previous) = cache.profiles.remove(&profile.name) else {
            discard_all(&plans);
            return Ok(None);
        };
        let target = generated.join(&profile.name);
        let staging = match scope {
            Scope::All => root_staging.join(&profile.name),
            Scope::Profiles(_) => {
                generated.join(format!(".{}{}", profile.name, super::STAGING_SUFFIX))
            }
        };
        let planned = plan_profile(
            &target, &staging, profile, &previous, renderer, threads, racy_from,
        );
        match discard_on_error(&staging, planned)? {
            Some((plan, count)) => {
                files += count;
                plans.push(plan);
            }
            None => {
                let _ = fs::remove_dir_all(&staging);
                discard_all(&plans);
                return Ok(None);
            }
        }
    }
    let changed = plans.iter().any(|plan| {
        !plan.gone.is_empty()
            || plan
                .hosts
                .iter()
                .any(|(_, host)| !matches!(host, Plan::Keep(_, false)))
    });
    let mut recorded = BTreeMap::new();
    for (plan, profile) in plans.into_iter().zip(&selected) {
        let hosts = commit(&plan, threads);
        let _ = fs::remove_dir_all(&plan.staging);
        recorded.insert(profile.name.clone(), hosts?);
    }
    if let Scope::All = scope {
        let _ = fs::remove_dir_all(&root_staging);
    }
    // An unchanged tree keeps its cache as it is (and its own time, which
    // says which files could have changed unseen).
    if changed {
        let kept = match scope {
            Scope::All => BTreeMap::new(),
            Scope::Profiles(_) => cache.profiles,
        };
        save(generated, kept, recorded);
    }
    Ok(Some(files))
}

fn discard_all(plans: &[ProfilePlan]) {
    for plan in plans {
        let _ = fs::remove_dir_all(&plan.staging);
    }
}

/// The names in a folder, or `None` if it cannot be read.
fn entries(dir: &Utf8Path) -> Option<BTreeSet<String>> {
    fs::read_dir(dir)
        .ok()?
        .map(|e| e.ok().and_then(|e| e.file_name().into_string().ok()))
        .collect()
}

/// Renders what changed in one profile into `staging` and says what to do
/// with each host, or `None` when the profile folder holds something the
/// cache does not know.
#[allow(clippy::too_many_arguments)]
fn plan_profile(
    target: &Utf8Path,
    staging: &Utf8Path,
    profile: &Analysed,
    previous: &ProfileCache,
    renderer: &Renderer,
    threads: usize,
    racy_from: i64,
) -> Result<Option<(ProfilePlan, usize)>> {
    let Some(on_disk) = entries(target) else {
        return Ok(None);
    };
    let hosts: BTreeSet<&str> = profile
        .deployment
        .hosts
        .iter()
        .map(|h| h.name.as_str())
        .collect();
    if on_disk
        .iter()
        .any(|name| !previous.hosts.contains_key(name) && !hosts.contains(name.as_str()))
    {
        return Ok(None);
    }
    let stager = Stager::prepare(staging)?;
    stager.create_dir(&staging.join(FLAT_DIR))?;
    let planned = parallel::map(&profile.deployment.hosts, threads, |host| {
        let dir = target.join(&host.name);
        let recorded = previous
            .hosts
            .get(&host.name)
            .filter(|_| on_disk.contains(&host.name));
        let previous = recorded.map(|cache| Previous {
            dir: dir.clone(),
            cache,
            racy_from,
        });
        let files = host_files(profile, host, renderer, previous.as_ref())?;
        let count = files.len();
        let staged_dir = staging.join(&host.name);
        let whole = match &previous {
            Some(p) => !p.folders_intact(),
            None => true,
        };
        let flat = staging.join(FLAT_DIR);
        let plan = if whole {
            stager.create_dir(&staged_dir)?;
            let mut written = Vec::with_capacity(files.len());
            let mut dirs = BTreeSet::new();
            for file in &files {
                let fingerprint = match (&file.content, file.kept) {
                    (Some(content), _) => {
                        stage(&stager, &staged_dir, &file.relative, content, &mut dirs)?
                    }
                    // A reused file of a folder replaced whole: linked in, as the full path does.
                    (None, _) => {
                        let old = dir.join(&file.relative);
                        stager.link(&staged_dir, &old, &file.relative, &mut dirs)?
                    }
                };
                written.push((file, fingerprint));
            }
            Plan::Replace(HostCache::new(&staged_dir, written)?)
        } else {
            let mut moved = Vec::new();
            let mut kept = Vec::with_capacity(files.len());
            let mut dirs = BTreeSet::new();
            for (index, file) in files.iter().enumerate() {
                let fingerprint = match (&file.content, file.kept) {
                    (Some(content), _) => {
                        // One flat folder for every profile's changed files: no
                        // folders to make and remove per host.
                        let name = Utf8PathBuf::from(format!("{}.{index}", host.name));
                        let fingerprint = stage(&stager, &flat, &name, content, &mut dirs)?;
                        moved.push((name, file.relative.clone()));
                        fingerprint
                    }
                    (None, Some(fingerprint)) => fingerprint,
                    (None, None) => unreachable_kept(&file.relative)?,
                };
                kept.push((file, fingerprint));
            }
            let produced: BTreeSet<&str> = files.iter().map(|f| f.relative.as_str()).collect();
            let removed: Vec<String> = recorded
                .into_iter()
                .flat_map(|c| c.files.keys())
                .filter(|f| !produced.contains(f.as_str()))
                .cloned()
                .collect();
            let mut cache = HostCache::default();
            for (file, fingerprint) in kept {
                cache.insert(file, fingerprint);
            }
            // As `folders_intact` found them; an update refreshes those it touches.
            cache.dirs = recorded.map(|c| c.dirs.clone()).unwrap_or_default();
            if moved.is_empty() && removed.is_empty() {
                let rekeyed = recorded.is_none_or(|old| {
                    old.files.iter().any(|(path, entry)| {
                        cache.files.get(path).is_none_or(|new| new.key != entry.key)
                    })
                });
                Plan::Keep(cache, rekeyed)
            } else {
                Plan::Update {
                    cache,
                    moved,
                    removed,
                }
            }
        };
        Ok((host.name.clone(), plan, count))
    })?;
    let mut files = 0;
    let mut plans = Vec::with_capacity(planned.len());
    for (name, plan, count) in planned {
        files += count;
        plans.push((name, plan));
    }
    let gone = on_disk
        .into_iter()
        .filter(|name| !hosts.contains(name.as_str()))
        .collect();
    Ok(Some((
        ProfilePlan {
            target: target.to_path_buf(),
            staging: staging.to_path_buf(),
            hosts: plans,
            gone,
        },
        files,
    )))
}

/// A file neither rendered nor reused cannot happen; reported, not panicked on.
fn unreachable_kept(relative: &Utf8Path) -> Result<Fingerprint> {
    Err(Error::Render {
        template: relative.to_string(),
        message: "internal error: a reused file has no fingerprint".into(),
    })
}

/// Writes `content` at `dir/relative` (a new file, the tree's mode) and
/// returns its fingerprint, which a `rename` keeps.
fn stage(
    stager: &Stager,
    dir: &Utf8Path,
    relative: &Utf8Path,
    content: &[u8],
    dirs: &mut BTreeSet<Utf8PathBuf>,
) -> Result<Fingerprint> {
    if let Some(parent) = relative.parent().filter(|p| !p.as_str().is_empty()) {
        stager.create_dirs(dir, parent, dirs)?;
    }
    stager.create_file(&dir.join(relative), content)
}

/// Moves one profile's staged changes into its folder, host by host, and
/// returns the profile's new record.
fn commit(plan: &ProfilePlan, threads: usize) -> Result<ProfileCache> {
    let stager = Stager::existing(&plan.staging);
    let retired = plan.staging.join(".retired");
    let flat = plan.staging.join(FLAT_DIR);
    let hosts = parallel::map(&plan.hosts, threads, |(name, host)| {
        let dir = plan.target.join(name);
        let staged = plan.staging.join(name);
        let cache = match host {
            Plan::Keep(cache, _) => cache.clone(),
            Plan::Replace(cache) => {
                if dir.exists() {
                    stager.create_dir(&retired)?;
                    fs::rename(&dir, retired.join(name)).map_err(|e| Error::write(&dir, e))?;
                }
                fs::rename(&staged, &dir).map_err(|e| Error::write(&dir, e))?;
                // Moving a folder may touch it (its `..`): recorded where it now is.
                let mut cache = cache.clone();
                cache.record_dirs(&dir)?;
                cache
            }
            Plan::Update {
                cache,
                moved,
                removed,
            } => {
                // Removed first, so a file may take the place of a folder
                // that no longer holds anything, and the other way round.
                for relative in removed {
                    let path = dir.join(relative);
                    fs::remove_file(&path).map_err(|e| Error::write(&path, e))?;
                }
                let mut cache = cache.clone();
                let needed = cache.folders();
                remove_empty_dirs(&dir, removed, &needed)?;
                let mut dirs = BTreeSet::new();
                for (name, relative) in moved {
                    if let Some(parent) = relative.parent().filter(|p| !p.as_str().is_empty()) {
                        stager.create_dirs(&dir, parent, &mut dirs)?;
                    }
                    let to = dir.join(relative);
                    fs::rename(flat.join(name), &to).map_err(|e| Error::write(&to, e))?;
                }
                let changed = removed.iter().map(String::as_str);
                let changed = changed.chain(moved.iter().map(|(_, r)| r.as_str()));
                cache.refresh_dirs(&dir, &needed, changed)?;
                cache
            }
        };
        Ok((name.clone(), cache))
    })?;
    for name in &plan.gone {
        let dir = plan.target.join(name);
        fs::remove_dir_all(&dir).map_err(|e| Error::write(&dir, e))?;
    }
    Ok(ProfileCache {
        hosts: hosts.into_iter().collect(),
    })
}

/// Every folder (below the host folder) that holds one of `files`.
fn folders<'p>(
    files: impl IntoIterator<Item = &'p (impl AsRef<str> + ?Sized + 'p)>,
) -> BTreeSet<String> {
    let mut dirs = BTreeSet::new();
    for relative in files {
        let mut parent = Utf8Path::new(relative.as_ref()).parent();
        while let Some(p) = parent.filter(|p| !p.as_str().is_empty()) {
            if !dirs.insert(p.to_string()) {
                break;
            }
            parent = p.parent();
        }
    }
    dirs
}

/// Removes the folders that held only removed files, deepest first: a clean
/// build has no empty folder.
/// `needed` is every folder that still holds a file.
fn remove_empty_dirs(dir: &Utf8Path, removed: &[String], needed: &BTreeSet<String>) -> Result<()> {
    let mut candidates = folders(removed);
    candidates.retain(|p| !needed.contains(p));
    // Deepest first: a longer path sorts after its parent, so reverse order works.
    for relative in candidates.iter().rev() {
        let path = dir.join(relative);
        fs::remove_dir(&path).map_err(|e| Error::write(&path, e))?;
    }
    Ok(())
}
