//! Write stage: lay compiled profiles out as `generated/<profile>/<host>/root/…`
//! plus `manifest.json`, or compare them with what is on disk (`build --check`).
//! A build is written beside the old tree and swapped in only when complete,
//! so a failed build leaves the previous `generated/` untouched.

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::io::{ErrorKind, Read as _, Write as _};
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};

use camino::{Utf8Path, Utf8PathBuf};

pub use gen_target::layout::{tree_path, MANIFEST_FILE, ROOT_DIR};

mod incremental;

pub use incremental::cache_path;

use crate::compile::{Analysed, CompiledHost};
use crate::model::HostSpec;
use crate::render::Renderer;
use gen_target::error::{Error, Result};
use gen_target::parallel;

const STAGING_SUFFIX: &str = ".gen-new";
const RETIRED_SUFFIX: &str = ".gen-old";

/// Which part of `generated/` a build owns: all of it, or some profiles' folders.
#[derive(Debug, Clone)]
pub enum Scope {
    All,
    Profiles(Vec<String>),
}

/// Renders and writes the analysed profiles host by host (in parallel, each
/// host's files written as soon as they are rendered, so the fleet's output is
/// never held in memory), replacing exactly the scope's folders. Returns the
/// number of files written.
pub fn write(
    generated: &Utf8Path,
    profiles: &[Analysed],
    renderer: &Renderer,
    scope: &Scope,
) -> Result<usize> {
    let threads = parallel::threads();
    if let Some(files) = incremental::write(generated, profiles, renderer, scope, threads)? {
        return Ok(files);
    }
    // Each host's record goes to the cache as soon as the host is written;
    // the cache replaces the old one once the tree has (dropped on an
    // error, it leaves the old one, which still describes the old tree).
    let cache = incremental::CacheWriter::create(&cache_path(generated));
    cache.profiles(&incremental::kept_profiles(generated, scope));
    let files = match scope {
        Scope::All => {
            let staging = sibling(generated, STAGING_SUFFIX);
            let stager = Stager::prepare(&staging)?;
            let staged = profiles.iter().try_fold(0, |sum, profile| {
                let files = stager.profile(
                    &staging.join(&profile.name),
                    &generated.join(&profile.name),
                    profile,
                    renderer,
                    threads,
                    &cache,
                )?;
                Ok(sum + files)
            });
            let files = discard_on_error(&staging, staged)?;
            swap(&staging, generated, threads)?;
            files
        }
        Scope::Profiles(names) => {
            fs::create_dir_all(generated).map_err(|e| Error::write(generated, e))?;
            let mut files = 0;
            for profile in profiles.iter().filter(|p| names.contains(&p.name)) {
                let target = generated.join(&profile.name);
                let staging = generated.join(format!(".{}{STAGING_SUFFIX}", profile.name));
                let stager = Stager::prepare(&staging)?;
                let staged = stager.profile(&staging, &target, profile, renderer, threads, &cache);
                files += discard_on_error(&staging, staged)?;
                swap(&staging, &target, threads)?;
            }
            files
        }
    };
    cache.finish();
    Ok(files)
}

/// A failed build leaves no staging folder behind.
fn discard_on_error<T>(staging: &Utf8Path, result: Result<T>) -> Result<T> {
    if result.is_err() {
        let _ = fs::remove_dir_all(staging);
    }
    result
}

fn sibling(path: &Utf8Path, suffix: &str) -> Utf8PathBuf {
    let name = path.file_name().unwrap_or("generated");
    path.with_file_name(format!("{name}{suffix}"))
}

/// Writes a new tree. The tree's own modes are fixed (0755 folders, 0644
/// files) so the umask cannot change it; the modes that matter on the host
/// are in the manifest. A file whose bytes are unchanged since the previous
/// build is hard-linked from the previous tree instead of written again: the
/// new tree is complete on its own, and the previous one is never modified.
struct Stager {
    /// The umask keeps 0755 and 0644 as they are (022 or narrower), so
    /// creating with those modes is enough and no chmod is needed.
    modes_kept: bool,
}

const DIR_MODE: u32 = 0o755;
const FILE_MODE: u32 = 0o644;

impl Stager {
    fn prepare(staging: &Utf8Path) -> Result<Stager> {
        if staging.exists() {
            fs::remove_dir_all(staging).map_err(|e| Error::write(staging, e))?;
        }
        if let Some(parent) = staging.parent().filter(|p| !p.as_str().is_empty()) {
            fs::create_dir_all(parent).map_err(|e| Error::write(parent, e))?;
        }
        fs::DirBuilder::new()
            .mode(DIR_MODE)
            .create(staging)
            .map_err(|e| Error::write(staging, e))?;
        let mode = fs::metadata(staging)
            .map_err(|e| Error::write(staging, e))?
            .permissions()
            .mode();
        let modes_kept = mode & 0o777 == DIR_MODE;
        if !modes_kept {
            set_mode(staging, DIR_MODE)?;
        }
        Ok(Stager { modes_kept })
    }

    /// A stager for a staging folder that already exists.
    fn existing(staging: &Utf8Path) -> Stager {
        let modes_kept =
            fs::metadata(staging).is_ok_and(|m| m.permissions().mode() & 0o777 == DIR_MODE);
        Stager { modes_kept }
    }

    /// Renders every host of `profile` into `dir`, reusing unchanged files
    /// of `previous` (the profile's folder in the tree being replaced), and
    /// records what each file was rendered from in `cache` for the next
    /// build. Returns the number of files.
    fn profile(
        &self,
        dir: &Utf8Path,
        previous: &Utf8Path,
        profile: &Analysed,
        renderer: &Renderer,
        threads: usize,
        cache: &incremental::CacheWriter,
    ) -> Result<usize> {
        self.create_dir(dir)?;
        let first = cache.reserve(profile.deployment.hosts.len());
        let hosts: Vec<(usize, &HostSpec)> = profile.deployment.hosts.iter().enumerate().collect();
        let counts = parallel::map(&hosts, threads, |&(index, host)| {
            let host_dir = dir.join(&host.name);
            let previous = previous.join(&host.name);
            self.create_dir(&host_dir)?;
            let files = incremental::host_files(profile, host, renderer, None)?;
            let mut dirs = BTreeSet::new();
            let mut written = Vec::with_capacity(files.len());
            for file in &files {
                let content = file.content.as_deref().unwrap_or_default();
                let fingerprint =
                    self.file(&host_dir, &previous, &file.relative, content, &mut dirs)?;
                written.push((file, fingerprint));
            }
            let record = incremental::HostCache::new(&host_dir, written)?;
            cache.host(first + index, &profile.name, &host.name, &record);
            Ok(files.len())
        })?;
        Ok(counts.into_iter().sum())
    }

    /// Hard-links the previous tree's `old` (a file known to hold the right
    /// bytes) into `dir/relative`, or copies it if it cannot be linked.
    fn link(
        &self,
        dir: &Utf8Path,
        old: &Utf8Path,
        relative: &Utf8Path,
        dirs: &mut BTreeSet<Utf8PathBuf>,
    ) -> Result<incremental::Fingerprint> {
        if let Some(parent) = relative.parent().filter(|p| !p.as_str().is_empty()) {
            self.create_dirs(dir, parent, dirs)?;
        }
        let path = dir.join(relative);
        if fs::hard_link(old, &path).is_err() {
            let content = fs::read(old).map_err(|e| Error::read(old, e))?;
            return self.file(dir, Utf8Path::new("/nonexistent"), relative, &content, dirs);
        }
        let metadata = fs::symlink_metadata(&path).map_err(|e| Error::read(&path, e))?;
        Ok(incremental::Fingerprint::of(&metadata))
    }

    fn file(
        &self,
        dir: &Utf8Path,
        previous: &Utf8Path,
        relative: &Utf8Path,
        content: &[u8],
        dirs: &mut BTreeSet<Utf8PathBuf>,
    ) -> Result<incremental::Fingerprint> {
        let path = dir.join(relative);
        if let Some(parent) = relative.parent().filter(|p| !p.as_str().is_empty()) {
            self.create_dirs(dir, parent, dirs)?;
        }
        let old = previous.join(relative);
        if let Some(metadata) = unchanged(&old, content) {
            if fs::hard_link(&old, &path).is_ok() {
                return Ok(incremental::Fingerprint::of(&metadata));
            }
        }
        self.create_file(&path, content)
    }

    /// Writes `content` as a new file at `path` with the tree's mode, and
    /// returns its fingerprint, which a `rename` keeps.
    fn create_file(&self, path: &Utf8Path, content: &[u8]) -> Result<incremental::Fingerprint> {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(FILE_MODE)
            .open(path)
            .map_err(|e| Error::write(path, e))?;
        file.write_all(content).map_err(|e| Error::write(path, e))?;
        if !self.modes_kept {
            file.set_permissions(fs::Permissions::from_mode(FILE_MODE))
                .map_err(|e| Error::write(path, e))?;
        }
        let metadata = file.metadata().map_err(|e| Error::write(path, e))?;
        Ok(incremental::Fingerprint::of(&metadata))
    }

    /// `base/relative` and the folders on the way, each created once per host.
    fn create_dirs(
        &self,
        base: &Utf8Path,
        relative: &Utf8Path,
        dirs: &mut BTreeSet<Utf8PathBuf>,
    ) -> Result<()> {
        if dirs.contains(relative) {
            return Ok(());
        }
        if let Some(parent) = relative.parent().filter(|p| !p.as_str().is_empty()) {
            self.create_dirs(base, parent, dirs)?;
        }
        self.create_dir(&base.join(relative))?;
        dirs.insert(relative.to_path_buf());
        Ok(())
    }

    fn create_dir(&self, dir: &Utf8Path) -> Result<()> {
        match fs::DirBuilder::new().mode(DIR_MODE).create(dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(Error::write(dir, e)),
        }
        if self.modes_kept {
            Ok(())
        } else {
            set_mode(dir, DIR_MODE)
        }
    }
}

fn set_mode(path: &Utf8Path, mode: u32) -> Result<()> {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(|e| Error::write(path, e))
}

/// The previous tree holds exactly `content` at `old`, as a plain file with
/// the tree's mode (a symbolic link or a hand-edited file is never reused);
/// its metadata when it does.
fn unchanged(old: &Utf8Path, content: &[u8]) -> Option<fs::Metadata> {
    let metadata = fs::symlink_metadata(old).ok()?;
    if !metadata.file_type().is_file()
        || metadata.len() != content.len() as u64
        || metadata.permissions().mode() & 0o7777 != FILE_MODE
    {
        return None;
    }
    fs::read(old)
        .is_ok_and(|bytes| bytes == content)
        .then_some(metadata)
}

/// Puts the staged tree in place of `target`, then removes the old tree
/// (its host folders in parallel: on a fleet that is most of the files).
fn swap(staging: &Utf8Path, target: &Utf8Path, threads: usize) -> Result<()> {
    let retired = sibling(target, RETIRED_SUFFIX);
    if retired.exists() {
        remove_tree(&retired, threads)?;
    }
    if target.exists() {
        fs::rename(target, &retired).map_err(|e| Error::write(target, e))?;
    }
    fs::rename(staging, target).map_err(|e| Error::write(target, e))?;
    if retired.exists() {
        remove_tree(&retired, threads)?;
    }
    Ok(())
}

/// `remove_dir_all`, spreading the folders two levels down over `threads`.
fn remove_tree(dir: &Utf8Path, threads: usize) -> Result<()> {
    let children = |dir: &Utf8Path| -> Vec<Utf8PathBuf> {
        fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter_map(|e| Utf8PathBuf::from_path_buf(e.path()).ok())
            .collect()
    };
    let subdirs: Vec<Utf8PathBuf> = children(dir).iter().flat_map(|d| children(d)).collect();
    parallel::map(&subdirs, threads, |d| {
        fs::remove_dir_all(d).map_err(|e| Error::write(d, e))
    })?;
    fs::remove_dir_all(dir).map_err(|e| Error::write(dir, e))
}

/// How a file on disk differs from what the profiles produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Discrepancy {
    /// The profiles produce it; it is not on disk.
    Missing,
    /// On disk with other content (stale, or edited by hand).
    Stale,
    /// On disk; the profiles do not produce it.
    Extra,
}

/// Compares the scope of `generated/` with what the profiles produce: each
/// host's folder against its freshly rendered files (hosts in parallel, the
/// content read only when the size matches), then anything else in the scope
/// is extra.
pub fn check(
    generated: &Utf8Path,
    profiles: &[Analysed],
    renderer: &Renderer,
    scope: &Scope,
) -> Result<Vec<(Utf8PathBuf, Discrepancy)>> {
    let threads = parallel::threads();
    let mut out = Vec::new();
    let mut host_dirs = BTreeSet::new();
    for profile in profiles {
        let found = profile.map_hosts(renderer, threads, |host| {
            check_host(
                generated,
                &Utf8Path::new(&profile.name).join(&host.host),
                &host,
            )
        })?;
        out.extend(found.into_iter().flatten());
        for host in &profile.deployment.hosts {
            host_dirs.insert(generated.join(&profile.name).join(&host.name));
        }
    }
    let roots: Vec<Utf8PathBuf> = match scope {
        Scope::All => vec![generated.to_path_buf()],
        Scope::Profiles(names) => names.iter().map(|n| generated.join(n)).collect(),
    };
    for dir in roots.iter().filter(|d| d.exists()) {
        let walk = walkdir::WalkDir::new(dir)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| {
                !Utf8Path::from_path(e.path()).is_some_and(|p| host_dirs.contains(p))
            });
        for entry in walk {
            let entry = entry.map_err(|e| Error::read(dir.clone(), e.into()))?;
            if !entry.file_type().is_dir() {
                out.push((relative(generated, entry.path()), Discrepancy::Extra));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// One host's folder (`host_dir`, relative to `generated`) against its files.
/// The folder is read once: each file found is looked up among the expected
/// ones and compared with them on the spot (size first, then the bytes
/// through one fixed buffer, stopping at the first difference); what is
/// left expected was missing. The manifest on disk is compared like any
/// other file, never trusted.
fn check_host(
    generated: &Utf8Path,
    host_dir: &Utf8Path,
    host: &CompiledHost,
) -> Result<Vec<(Utf8PathBuf, Discrepancy)>> {
    let manifest = host.manifest.to_json();
    let mut expected: HashMap<Utf8PathBuf, &[u8]> = host
        .artifacts
        .iter()
        .map(|a| {
            (
                tree_path(Utf8Path::new(""), &a.spec.path),
                a.content.as_slice(),
            )
        })
        .collect();
    expected.insert(Utf8PathBuf::from(MANIFEST_FILE), &manifest);
    let mut out = Vec::new();
    let dir = generated.join(host_dir);
    let mut buffer = vec![0u8; COMPARE_BUFFER];
    // Folders still to read, relative to the host's folder.
    let mut pending = vec![Utf8PathBuf::new()];
    while let Some(relative_dir) = pending.pop() {
        let path = dir.join(&relative_dir);
        let entries = match fs::read_dir(&path) {
            Ok(entries) => entries,
            Err(e) if relative_dir.as_str().is_empty() && e.kind() == ErrorKind::NotFound => {
                break;
            }
            Err(e) => return Err(Error::read(&path, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| Error::read(&path, e))?;
            let file_type = entry.file_type().map_err(|e| Error::read(&path, e))?;
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                out.push((relative(generated, &entry.path()), Discrepancy::Extra));
                continue;
            };
            let relative = relative_dir.join(name);
            if file_type.is_dir() {
                pending.push(relative);
                continue;
            }
            match expected.remove(&relative) {
                None => out.push((host_dir.join(relative), Discrepancy::Extra)),
                Some(content) => {
                    // A symbolic link is never what gen writes.
                    let same = file_type.is_file()
                        && same_content(&dir.join(&relative), content, &mut buffer)?;
                    if !same {
                        out.push((host_dir.join(relative), Discrepancy::Stale));
                    }
                }
            }
        }
    }
    out.extend(
        expected
            .into_keys()
            .map(|p| (host_dir.join(p), Discrepancy::Missing)),
    );
    Ok(out)
}

/// Bytes compared per read: larger than nearly every generated file, so a
/// file is one read; the buffer is allocated once per host.
const COMPARE_BUFFER: usize = 64 * 1024;

/// A path under `generated`, relative to it (lossily, if it is not UTF-8:
/// gen never writes such a name, so it is reported as extra).
fn relative(generated: &Utf8Path, path: &std::path::Path) -> Utf8PathBuf {
    match Utf8Path::from_path(path) {
        Some(p) => p.strip_prefix(generated).unwrap_or(p).to_path_buf(),
        None => Utf8PathBuf::from(path.to_string_lossy().into_owned()),
    }
}

/// The file holds exactly `content`: its size (from the open file's metadata)
/// first, then its bytes, read through `buffer` and compared as they come,
/// stopping at the first chunk that differs.
fn same_content(path: &Utf8Path, content: &[u8], buffer: &mut [u8]) -> Result<bool> {
    let mut file = fs::File::open(path).map_err(|e| Error::read(path, e))?;
    let len = file.metadata().map_err(|e| Error::read(path, e))?.len();
    if len != content.len() as u64 {
        return Ok(false);
    }
    let mut rest = content;
    while !rest.is_empty() {
        let want = rest.len().min(buffer.len());
        let read = match file.read(&mut buffer[..want]) {
            Ok(0) => return Ok(false),
            Ok(read) => read,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::read(path, e)),
        };
        if buffer[..read] != rest[..read] {
            return Ok(false);
        }
        rest = &rest[read..];
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Content larger than the buffer, so a comparison takes several reads.
    fn content() -> Vec<u8> {
        (0..(COMPARE_BUFFER * 2 + 17))
            .map(|i| (i % 251) as u8)
            .collect()
    }

    fn file(dir: &tempfile::TempDir, bytes: &[u8]) -> Utf8PathBuf {
        let path = Utf8Path::from_path(dir.path())
            .expect("utf-8 temporary directory")
            .join("f");
        fs::write(&path, bytes).expect("write");
        path
    }

    #[test]
    fn a_difference_in_any_chunk_of_a_large_file_is_found() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let expected = content();
        let mut buffer = vec![0u8; COMPARE_BUFFER];
        let path = file(&dir, &expected);
        assert!(same_content(&path, &expected, &mut buffer).expect("read"));
        for at in [0, COMPARE_BUFFER - 1, COMPARE_BUFFER, expected.len() - 1] {
            let mut other = expected.clone();
            other[at] ^= 0x20;
            let path = file(&dir, &other);
            assert!(
                !same_content(&path, &expected, &mut buffer).expect("read"),
                "byte {at} of {} changed",
                expected.len()
            );
        }
    }

    #[test]
    fn a_longer_or_shorter_file_differs_and_an_empty_one_matches_empty() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let expected = content();
        let mut buffer = vec![0u8; COMPARE_BUFFER];
        let mut longer = expected.clone();
        longer.push(b'x');
        assert!(!same_content(&file(&dir, &longer), &expected, &mut buffer).expect("read"));
        let shorter = &expected[..expected.len() - 1];
        assert!(!same_content(&file(&dir, shorter), &expected, &mut buffer).expect("read"));
        assert!(same_content(&file(&dir, b""), b"", &mut buffer).expect("read"));
        assert!(!same_content(&file(&dir, b""), b"x", &mut buffer).expect("read"));
    }
}
