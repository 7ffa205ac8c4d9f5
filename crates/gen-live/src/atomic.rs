//! Apply support: the few filesystem operations `gen apply` and `gen rollback`
//! use on the live host, each one crash-safe on its own. A file is written to
//! `.gen-tmp-<name>-<pid>` beside its destination, fsynced, given its owner and
//! mode, and renamed over the destination; then the directory is fsynced. A
//! reader (or a crash) sees the old file or the new one, never a mix.

use std::collections::BTreeSet;
use std::fs;
use std::io::{self, Write as _};
use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _, PermissionsExt as _};

use camino::{Utf8Path, Utf8PathBuf};

use crate::fault;
use gen_target::error::{Error, Result};

/// Every temporary file gen leaves behind starts with this; the next run removes them.
pub const TEMP_PREFIX: &str = ".gen-tmp-";

/// Owner, group and mode a written file ends with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attributes {
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

/// Writes `content` to `path` atomically. `check` sees the staged file (with
/// its final owner and mode) before it replaces anything; an error there
/// leaves the destination untouched.
pub fn write_file(
    path: &Utf8Path,
    content: &[u8],
    attributes: Attributes,
    check: impl FnOnce(&Utf8Path) -> Result<()>,
) -> Result<()> {
    let (dir, name) = split(path)?;
    let temp = dir.join(format!("{TEMP_PREFIX}{name}-{}", std::process::id()));
    let result = stage(&temp, content, attributes)
        .and_then(|()| {
            fault::step("temporary file written and fsynced");
            check(&temp)
        })
        .and_then(|()| fs::rename(&temp, path).map_err(|e| Error::write(path, e)));
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result?;
    fault::step("renamed over the destination");
    sync_dir(dir)
}

/// One file of a batch: where it goes, what it holds, how it ends up owned.
pub struct Pending<'a> {
    pub path: &'a Utf8Path,
    pub content: &'a [u8],
    pub attributes: Attributes,
}

/// Writes many files, each atomically, with fewer waits on the disk than one
/// `write_file` each: every file is staged and fsynced beside its destination,
/// then all are renamed into place, then each directory is fsynced once. A
/// crash at any point leaves every destination
/// holding its old content or its new one; an error while staging leaves them
/// all untouched and removes the staged files.
pub fn write_files(files: &[Pending<'_>]) -> Result<()> {
    let mut staged: Vec<(Utf8PathBuf, &Utf8Path)> = Vec::with_capacity(files.len());
    let mut result = Ok(());
    for file in files {
        let (dir, name) = match split(file.path) {
            Ok(split) => split,
            Err(e) => {
                result = Err(e);
                break;
            }
        };
        let temp = dir.join(format!("{TEMP_PREFIX}{name}-{}", std::process::id()));
        // Pushed before staging, so a half-written temporary file is removed too.
        staged.push((temp.clone(), file.path));
        if let Err(e) = stage(&temp, file.content, file.attributes) {
            result = Err(e);
            break;
        }
        fault::step("temporary file written and fsynced");
    }
    if let Err(e) = result {
        for (temp, _) in &staged {
            let _ = fs::remove_file(temp);
        }
        return Err(e);
    }
    let mut dirs = BTreeSet::new();
    for (index, (temp, path)) in staged.iter().enumerate() {
        if let Err(e) = fs::rename(temp, path) {
            for (temp, _) in &staged[index..] {
                let _ = fs::remove_file(temp);
            }
            return Err(Error::write(*path, e));
        }
        fault::step("renamed over the destination");
        if let Some(dir) = path.parent() {
            dirs.insert(dir);
        }
    }
    dirs.into_iter().try_for_each(sync_dir)
}

fn stage(temp: &Utf8Path, content: &[u8], attributes: Attributes) -> Result<()> {
    // A leftover from an earlier process with our pid: ours to replace.
    match fs::remove_file(temp) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::write(temp, e)),
    }
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(temp)
        .map_err(|e| Error::write(temp, e))?;
    file.write_all(content).map_err(|e| Error::write(temp, e))?;
    let metadata = file.metadata().map_err(|e| Error::write(temp, e))?;
    // chown only when the file is not already ours as wanted: an unprivileged
    // apply of files it owns needs no privilege. chown clears set-id bits, so
    // it comes before chmod.
    if metadata.uid() != attributes.uid || metadata.gid() != attributes.gid {
        std::os::unix::fs::fchown(&file, Some(attributes.uid), Some(attributes.gid))
            .map_err(|e| Error::write(temp, e))?;
    }
    file.set_permissions(fs::Permissions::from_mode(attributes.mode))
        .map_err(|e| Error::write(temp, e))?;
    file.sync_all().map_err(|e| Error::write(temp, e))
}

/// Removes a file and makes the removal durable.
pub fn remove_file(path: &Utf8Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::write(path, e)),
    }
    fault::step("file removed");
    let (dir, _) = split(path)?;
    sync_dir(dir)
}

/// Creates one directory (its parent exists), mode 0755 whatever the umask.
pub fn create_dir(path: &Utf8Path, mode: u32) -> Result<()> {
    match fs::create_dir(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(Error::write(path, e)),
    }
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .map_err(|e| Error::write(path, e))?;
    fault::step("directory created");
    let (dir, _) = split(path)?;
    sync_dir(dir)
}

/// Removes a directory gen created, if it is empty by now.
pub fn remove_dir_if_empty(path: &Utf8Path) -> Result<()> {
    match fs::remove_dir(path) {
        Ok(()) => {
            fault::step("directory removed");
            let (dir, _) = split(path)?;
            sync_dir(dir)
        }
        Err(_) => Ok(()),
    }
}

pub fn sync_dir(dir: &Utf8Path) -> Result<()> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::write(dir, e))?;
    fault::step("directory fsynced");
    Ok(())
}

/// Removes gen's temporary files from `dir` (an interrupted run's leftovers).
pub fn clean_temp(dir: &Utf8Path) -> Result<usize> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(Error::read(dir, e)),
    };
    let mut removed = 0;
    for entry in entries {
        let entry = entry.map_err(|e| Error::read(dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !name.starts_with(TEMP_PREFIX) {
            continue;
        }
        let path = dir.join(name);
        // Never a directory: gen only stages files.
        if entry.file_type().map(|t| t.is_dir()).unwrap_or(true) {
            continue;
        }
        fs::remove_file(&path).map_err(|e| Error::write(&path, e))?;
        removed += 1;
    }
    if removed > 0 {
        sync_dir(dir)?;
    }
    Ok(removed)
}

fn split(path: &Utf8Path) -> Result<(&Utf8Path, &str)> {
    match (path.parent(), path.file_name()) {
        (Some(dir), Some(name)) => Ok((dir, name)),
        _ => Err(Error::UnsafeLivePath {
            path: Utf8PathBuf::from(path),
            message: "has no parent directory".into(),
        }),
    }
}
