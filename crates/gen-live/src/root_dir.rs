//! Apply support: the only place gen touches the live disk. `--root` is
//! opened once as a directory handle; a host path is then walked one
//! component at a time, each opened with `openat2(RESOLVE_BENEATH |
//! RESOLVE_NO_SYMLINKS)` and `O_NOFOLLOW` relative to the handle of its
//! parent, and every step after that — reading a file, staging a temporary
//! file, giving it its owner and mode, renaming it, removing a file, creating
//! or removing a directory, fsyncing — is a `*at` call on the open handle of
//! its directory or an `f*` call on the open file.
//!
//! The one kind of link gen manages, a unit's `[Install]` link, is read
//! (`readlinkat` on the `O_PATH` handle of the link itself), made
//! (`symlinkat` in the open directory) and removed (`unlinkat`) there too:
//! never followed, and only at paths a manifest records as links.
//!
//! So a name is looked up once, in one directory, and never through a link:
//! a directory swapped for a symbolic link at any moment makes the next step
//! fail (`ELOOP`, `ENOTDIR`) instead of redirecting it outside the root, and a
//! step already under way stays in the directory it started in. A path
//! string is only ever used to name things in messages.
//!
//! Built on `rustix`: safe wrappers of exactly these system calls (the
//! workspace forbids `unsafe`), already in the build through `tempfile`.
//! `cap-std` does the same walk but hides `openat2`'s flags and has no
//! `fchown`, which every apply needs.

use std::fs::{self, File};
use std::io::{self, Read as _};
use std::os::fd::OwnedFd;
use std::os::unix::fs::MetadataExt as _;
use std::sync::atomic::{AtomicBool, Ordering};

use camino::{Utf8Path, Utf8PathBuf};
use rustix::fs::{AtFlags, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

use crate::fault;
use gen_target::error::{Error, Result};
use gen_target::host_path::join_under;

/// The live root gen manages, `/` in production, opened.
#[derive(Debug)]
pub struct RootDir {
    dir: Dir,
}

/// One directory under the root, opened without following a link. Its path
/// is for messages only.
#[derive(Debug)]
pub struct Dir {
    fd: OwnedFd,
    path: Utf8PathBuf,
}

/// Set once `openat2` turns out to be missing (Linux before 5.6): every name
/// opened is a single component with `O_NOFOLLOW`, which alone refuses a
/// link; `openat2` adds the kernel's own guarantee where it exists.
static NO_OPENAT2: AtomicBool = AtomicBool::new(false);

fn open_beneath(
    dir: &OwnedFd,
    name: &str,
    flags: OFlags,
    mode: Mode,
) -> rustix::io::Result<OwnedFd> {
    let flags = flags | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    if !NO_OPENAT2.load(Ordering::Relaxed) {
        let resolve =
            ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS;
        match rustix::fs::openat2(dir, name, flags, mode, resolve) {
            Err(Errno::NOSYS) => NO_OPENAT2.store(true, Ordering::Relaxed),
            // Racing renames in the directory: the kernel asks to retry.
            Err(Errno::AGAIN) => {
                return rustix::fs::openat2(dir, name, flags, mode, resolve);
            }
            other => return other,
        }
    }
    rustix::fs::openat(dir, name, flags, mode)
}

/// The components of a host path checked by the manifest's rule: absolute,
/// no `.`, `..` or empty component, so each one is a plain name.
fn components<'a>(root: &Utf8Path, host_path: &'a str) -> Result<Vec<&'a str>> {
    if !gen_target::host_path::is_safe_path(host_path) {
        return Err(Error::UnsafeLivePath {
            path: join_under(root, host_path),
            message: "is not a plain absolute path".into(),
        });
    }
    Ok(host_path
        .split('/')
        .filter(|component| !component.is_empty())
        .collect())
}

impl RootDir {
    /// Opens `--root`. The operator's own path is taken as given (a link in
    /// it is followed); everything below it never is.
    pub fn open(path: &Utf8Path) -> Result<RootDir> {
        RootDir::open_existing(path)?
            .ok_or_else(|| Error::read(path, io::Error::from(io::ErrorKind::NotFound)))
    }

    /// Opens `--root` for reading only: a root that does not exist holds nothing.
    pub fn open_existing(path: &Utf8Path) -> Result<Option<RootDir>> {
        match rustix::fs::open(
            path.as_std_path(),
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        ) {
            Ok(fd) => Ok(Some(RootDir {
                dir: Dir {
                    fd,
                    path: path.to_path_buf(),
                },
            })),
            Err(Errno::NOENT) => Ok(None),
            Err(e) => Err(Error::read(path, e.into())),
        }
    }

    pub fn path(&self) -> &Utf8Path {
        &self.dir.path
    }

    /// Whether the host holds a regular file at `host_path`, links followed
    /// as the host's own programs would see them: resolved inside the root,
    /// never above it (a certificate under `/etc/letsencrypt/live/` is a link
    /// into `archive/`). Only looks: nothing is opened for reading.
    pub fn holds_file(&self, host_path: &str) -> Result<bool> {
        components(&self.dir.path, host_path)?;
        let relative = host_path.trim_start_matches('/');
        let opened = match rustix::fs::openat2(
            &self.dir.fd,
            relative,
            OFlags::PATH | OFlags::CLOEXEC,
            Mode::empty(),
            ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS,
        ) {
            Ok(fd) => fd,
            Err(Errno::NOENT | Errno::NOTDIR | Errno::LOOP) => return Ok(false),
            // No openat2 (Linux before 5.6): a plain stat, links followed.
            Err(Errno::NOSYS) => {
                return Ok(fs::metadata(self.live_path(host_path)).is_ok_and(|m| m.is_file()))
            }
            Err(e) => return Err(Error::read(self.live_path(host_path), e.into())),
        };
        let stat = rustix::fs::fstat(&opened)
            .map_err(|e| Error::read(self.live_path(host_path), e.into()))?;
        Ok(rustix::fs::FileType::from_raw_mode(stat.st_mode) == rustix::fs::FileType::RegularFile)
    }

    /// A host file's directory and name, `/etc/cron.d/shop` → (`/etc/cron.d`,
    /// `shop`), refusing any path but a plain absolute one below `/`.
    pub fn split<'a>(&self, host_path: &'a str) -> Result<(&'a str, &'a str)> {
        components(&self.dir.path, host_path)?;
        match host_path.rsplit_once('/') {
            Some(("", name)) if !name.is_empty() => Ok(("/", name)),
            Some((dir, name)) if !name.is_empty() => Ok((dir, name)),
            _ => Err(Error::UnsafeLivePath {
                path: self.live_path(host_path),
                message: "is not a file path".into(),
            }),
        }
    }

    /// Where a host path is, for messages.
    pub fn live_path(&self, host_path: &str) -> Utf8PathBuf {
        join_under(&self.dir.path, host_path)
    }

    /// Opens a host directory; `None` when a component does not exist. A
    /// link or a non-directory on the way is an error.
    pub fn dir(&self, host_dir: &str) -> Result<Option<Dir>> {
        let mut current = self.dir.try_clone()?;
        for component in components(&self.dir.path, host_dir)? {
            match current.child_dir(component)? {
                Some(next) => current = next,
                None => return Ok(None),
            }
        }
        Ok(Some(current))
    }

    /// Opens a host directory, creating the missing ones on the way with
    /// `mode`.
    pub fn create_dirs(&self, host_dir: &str, mode: u32) -> Result<Dir> {
        let mut current = self.dir.try_clone()?;
        for component in components(&self.dir.path, host_dir)? {
            current = match current.child_dir(component)? {
                Some(next) => next,
                None => current.create_dir(component, mode)?,
            };
        }
        Ok(current)
    }

    /// The directories on the way to a host file that do not exist yet,
    /// outermost first, as host paths.
    pub fn missing_dirs(&self, host_path: &str) -> Result<Vec<String>> {
        let (parent, _) = self.split(host_path)?;
        let components = components(&self.dir.path, parent)?;
        let mut current = self.dir.try_clone()?;
        let mut walked = String::new();
        let mut missing = Vec::new();
        for component in components {
            walked.push('/');
            walked.push_str(component);
            if missing.is_empty() {
                if let Some(next) = current.child_dir(component)? {
                    current = next;
                    continue;
                }
            }
            missing.push(walked.clone());
        }
        Ok(missing)
    }
}

/// What a name in a directory is, seen without following it.
pub enum Entry {
    Absent,
    File(fs::Metadata),
}

/// What a name that may hold a link is, seen without following it.
pub enum Node {
    Absent,
    File(fs::Metadata),
    /// A symbolic link: its own metadata and the path it holds.
    Link {
        metadata: fs::Metadata,
        target: String,
    },
}

impl Dir {
    pub fn path(&self) -> &Utf8Path {
        &self.path
    }

    fn try_clone(&self) -> Result<Dir> {
        Ok(Dir {
            fd: self
                .fd
                .try_clone()
                .map_err(|e| Error::read(&self.path, e))?,
            path: self.path.clone(),
        })
    }

    /// Opens the directory `name` inside this one; `None` when it does not exist.
    pub fn child_dir(&self, name: &str) -> Result<Option<Dir>> {
        let path = self.path.join(name);
        match open_beneath(
            &self.fd,
            name,
            OFlags::RDONLY | OFlags::DIRECTORY,
            Mode::empty(),
        ) {
            Ok(fd) => Ok(Some(Dir { fd, path })),
            Err(Errno::NOENT) => Ok(None),
            Err(Errno::LOOP | Errno::NOTDIR | Errno::XDEV) => Err(self.refusal(name, true)),
            Err(e) => Err(Error::read(path, e.into())),
        }
    }

    /// Why `name` cannot be used as asked: a link, or the wrong kind of file.
    fn refusal(&self, name: &str, want_dir: bool) -> Error {
        let path = self.path.join(name);
        match self.lstat(name) {
            Ok(Some(m)) if m.file_type().is_symlink() => Error::Symlink { path },
            _ if want_dir => Error::UnsafeLivePath {
                path,
                message: "is not a directory".into(),
            },
            _ => Error::UnsafeLivePath {
                path,
                message: "is not a regular file".into(),
            },
        }
    }

    /// `name`'s metadata, not following a link, without opening it for
    /// reading (a FIFO never blocks, a device is never opened).
    fn lstat(&self, name: &str) -> Result<Option<fs::Metadata>> {
        match open_beneath(&self.fd, name, OFlags::PATH, Mode::empty()) {
            Ok(fd) => File::from(fd)
                .metadata()
                .map(Some)
                .map_err(|e| Error::read(self.path.join(name), e)),
            Err(Errno::NOENT) => Ok(None),
            Err(e) => Err(Error::read(self.path.join(name), e.into())),
        }
    }

    /// What `name` is: absent, or a regular file (its metadata). A link,
    /// a directory or any other kind of file is refused.
    pub fn entry(&self, name: &str) -> Result<Entry> {
        match self.lstat(name)? {
            None => Ok(Entry::Absent),
            Some(m) if m.file_type().is_file() => Ok(Entry::File(m)),
            Some(_) => Err(self.refusal(name, false)),
        }
    }

    /// What `name` is: absent, a regular file, or a symbolic link (with the
    /// path it holds, read through the handle of the link itself, so the
    /// link seen and the one read are the same). A directory or any other
    /// kind of file is refused.
    pub fn node(&self, name: &str) -> Result<Node> {
        let path = || self.path.join(name);
        let fd = match open_beneath(&self.fd, name, OFlags::PATH, Mode::empty()) {
            Ok(fd) => fd,
            Err(Errno::NOENT) => return Ok(Node::Absent),
            Err(e) => return Err(Error::read(path(), e.into())),
        };
        let file = File::from(fd);
        let metadata = file.metadata().map_err(|e| Error::read(path(), e))?;
        if metadata.file_type().is_file() {
            return Ok(Node::File(metadata));
        }
        if !metadata.file_type().is_symlink() {
            return Err(self.refusal(name, false));
        }
        let target = rustix::fs::readlinkat(&file, "", Vec::new())
            .map_err(|e| Error::read(path(), e.into()))?
            .into_string()
            .map_err(|_| Error::UnsafeLivePath {
                path: path(),
                message: "is a link to a name that is not UTF-8".into(),
            })?;
        Ok(Node::Link { metadata, target })
    }

    /// Makes the new symbolic link `name` → `target` (never over an
    /// existing name; the link is not followed, now or later, by gen).
    pub fn create_link(&self, name: &str, target: &str) -> Result<()> {
        rustix::fs::symlinkat(target, &self.fd, name)
            .map_err(|e| Error::write(self.path.join(name), e.into()))
    }

    /// Gives the link `name` itself (never what it names) an owner and group.
    pub fn chown_link(&self, name: &str, uid: u32, gid: u32) -> Result<()> {
        rustix::fs::chownat(
            &self.fd,
            name,
            Some(rustix::fs::Uid::from_raw(uid)),
            Some(rustix::fs::Gid::from_raw(gid)),
            AtFlags::SYMLINK_NOFOLLOW,
        )
        .map_err(|e| Error::write(self.path.join(name), e.into()))
    }

    /// Reads the regular file `name`: its metadata and content, or `None`
    /// when it does not exist.
    pub fn read_file(&self, name: &str) -> Result<Option<(fs::Metadata, Vec<u8>)>> {
        let path = self.path.join(name);
        let Entry::File(seen) = self.entry(name)? else {
            return Ok(None);
        };
        let fd = match open_beneath(
            &self.fd,
            name,
            OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY,
            Mode::empty(),
        ) {
            Ok(fd) => fd,
            Err(Errno::NOENT) => return Ok(None),
            Err(Errno::LOOP | Errno::NOTDIR | Errno::XDEV) => return Err(self.refusal(name, false)),
            Err(e) => return Err(Error::read(path, e.into())),
        };
        let mut file = File::from(fd);
        let metadata = file.metadata().map_err(|e| Error::read(&path, e))?;
        // Swapped for something else between the look and the open.
        if !metadata.file_type().is_file() || metadata.ino() != seen.ino() {
            return Err(Error::UnsafeLivePath {
                path,
                message: "was replaced while gen read it".into(),
            });
        }
        let mut content = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
        file.read_to_end(&mut content)
            .map_err(|e| Error::read(&path, e))?;
        Ok(Some((metadata, content)))
    }

    /// Creates the new file `name` (never an existing one, never through a
    /// link), private until its content and owner are final.
    pub fn create_file(&self, name: &str) -> Result<File> {
        open_beneath(
            &self.fd,
            name,
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL,
            Mode::from_raw_mode(0o600),
        )
        .map(File::from)
        .map_err(|e| Error::write(self.path.join(name), e.into()))
    }

    /// Opens `name` for reading and writing, creating it when missing (the lock).
    pub fn open_or_create(&self, name: &str) -> Result<File> {
        open_beneath(
            &self.fd,
            name,
            OFlags::RDWR | OFlags::CREATE,
            Mode::from_raw_mode(0o644),
        )
        .map(File::from)
        .map_err(|e| match e {
            Errno::LOOP | Errno::NOTDIR | Errno::XDEV => self.refusal(name, false),
            e => Error::write(self.path.join(name), e.into()),
        })
    }

    /// Renames `from` over `to`, both in this directory.
    pub fn rename(&self, from: &str, to: &str) -> Result<()> {
        rustix::fs::renameat(&self.fd, from, &self.fd, to)
            .map_err(|e| Error::write(self.path.join(to), e.into()))
    }

    /// Renames `from` to `to`, both in this directory, refusing to replace
    /// anything already at `to`.
    pub fn rename_new(&self, from: &str, to: &str) -> Result<()> {
        match rustix::fs::renameat_with(
            &self.fd,
            from,
            &self.fd,
            to,
            rustix::fs::RenameFlags::NOREPLACE,
        ) {
            Ok(()) => Ok(()),
            // A filesystem without RENAME_NOREPLACE: `to` was checked absent
            // under the lock, and a plain rename never replaces a non-empty
            // directory.
            Err(Errno::INVAL) => self.rename(from, to),
            Err(e) => Err(Error::write(self.path.join(to), e.into())),
        }
    }

    /// Removes the file `name` (a link is removed, never followed); `false`
    /// when there was none.
    pub fn remove_file(&self, name: &str) -> Result<bool> {
        match rustix::fs::unlinkat(&self.fd, name, AtFlags::empty()) {
            Ok(()) => Ok(true),
            Err(Errno::NOENT) => Ok(false),
            Err(e) => Err(Error::write(self.path.join(name), e.into())),
        }
    }

    /// Removes the directory `name` if it is empty; `false` when it is not
    /// empty, not a directory, or gone.
    pub fn remove_dir_if_empty(&self, name: &str) -> Result<bool> {
        match rustix::fs::unlinkat(&self.fd, name, AtFlags::REMOVEDIR) {
            Ok(()) => {
                fault::step("directory removed");
                self.sync()?;
                Ok(true)
            }
            Err(Errno::NOENT | Errno::NOTEMPTY | Errno::EXIST | Errno::NOTDIR) => Ok(false),
            Err(e) => Err(Error::write(self.path.join(name), e.into())),
        }
    }

    /// Creates the directory `name` and opens it. It is made private and
    /// given `mode` through its own handle, so no link swapped in between
    /// can have another directory's mode changed.
    pub fn create_dir(&self, name: &str, mode: u32) -> Result<Dir> {
        let path = self.path.join(name);
        match rustix::fs::mkdirat(&self.fd, name, Mode::from_raw_mode(0o700)) {
            Ok(()) | Err(Errno::EXIST) => {}
            Err(e) => return Err(Error::write(path, e.into())),
        }
        let dir = self
            .child_dir(name)?
            .ok_or_else(|| Error::write(&path, io::Error::from(io::ErrorKind::NotFound)))?;
        rustix::fs::fchmod(&dir.fd, Mode::from_raw_mode(mode))
            .map_err(|e| Error::write(&path, e.into()))?;
        fault::step("directory created");
        self.sync()?;
        Ok(dir)
    }

    /// Makes the directory's entries durable.
    pub fn sync(&self) -> Result<()> {
        rustix::fs::fsync(&self.fd).map_err(|e| Error::write(&self.path, e.into()))?;
        fault::step("directory fsynced");
        Ok(())
    }

    /// The names in this directory, each with whether it is a directory
    /// (as seen without following it).
    pub fn entries(&self) -> Result<Vec<(String, bool)>> {
        let read = |e: Errno| Error::read(&self.path, e.into());
        let mut out = Vec::new();
        for entry in rustix::fs::Dir::read_from(&self.fd).map_err(read)? {
            let entry = entry.map_err(read)?;
            let Ok(name) = entry.file_name().to_str() else {
                continue;
            };
            if name == "." || name == ".." {
                continue;
            }
            let is_dir = match entry.file_type() {
                rustix::fs::FileType::Directory => true,
                rustix::fs::FileType::Unknown => {
                    self.lstat(name)?.is_some_and(|m| m.file_type().is_dir())
                }
                _ => false,
            };
            out.push((name.to_string(), is_dir));
        }
        out.sort();
        Ok(out)
    }

    /// Removes the directory `name` and everything in it, each entry through
    /// the handle of its own directory: a link inside is removed, never
    /// followed, and a directory swapped for a link stops the removal.
    pub fn remove_tree(&self, name: &str) -> Result<()> {
        let Some(dir) = self.child_dir(name)? else {
            return Ok(());
        };
        for (entry, is_dir) in dir.entries()? {
            if is_dir {
                dir.remove_tree(&entry)?;
            } else {
                dir.remove_file(&entry)?;
            }
        }
        match rustix::fs::unlinkat(&self.fd, name, AtFlags::REMOVEDIR) {
            Ok(()) | Err(Errno::NOENT) => Ok(()),
            Err(e) => Err(Error::write(self.path.join(name), e.into())),
        }
    }
}
