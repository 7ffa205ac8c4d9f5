//! Check stage support: every sandbox this gen process has, so that nothing
//! a validator started outlives gen.
//!
//! - [`abort`] is what a termination signal runs (the CLI calls it from its
//!   signal thread): it ends every sandbox's namespaces, which kills every
//!   server in them, lets the threads running validators unwind and remove
//!   their directories, and removes whatever they did not in time.
//! - [`sweep`] is what the next run does about a gen that was killed
//!   outright: it removes the sandbox directories whose owner (see
//!   [`crate::owner`]) is no longer running, and never another running
//!   gen's.
//!
//! The registry's lock is only ever held to change the map (and to create a
//! directory, so that no directory can appear after an abort took stock),
//! never while waiting on a process, so the signal thread cannot deadlock on
//! a validator thread that holds it.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::owner::{self, Owner, PREFIX};

/// The environment variable every sandbox process carries, naming its
/// sandbox directory: how processes started without namespaces are found.
pub const MARKER: &str = "GEN_CHECK_SANDBOX";

static ABORTING: AtomicBool = AtomicBool::new(false);
static LIVE: Mutex<Registry> = Mutex::new(Registry {
    next: 0,
    sandboxes: BTreeMap::new(),
});

struct Registry {
    next: u64,
    sandboxes: BTreeMap<u64, Live>,
}

/// One sandbox: its directory and, when it has them, the process whose
/// life is its namespaces' (see [`crate::namespaces`]).
struct Live {
    dir: PathBuf,
    init: Option<Child>,
}

fn live() -> MutexGuard<'static, Registry> {
    // A validator thread that panicked holding the lock left the map
    // consistent (each change is one insert or remove): keep using it.
    LIVE.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Whether gen is stopping: validators start nothing more and unwind.
pub fn aborting() -> bool {
    ABORTING.load(Ordering::SeqCst)
}

/// Which sandbox of the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SandboxId(u64);

/// A sandbox directory's place in the registry; dropping it (after the
/// directory is removed) takes the sandbox off, closing its namespaces'
/// pipe if they are still there.
#[derive(Debug)]
pub struct Registration {
    id: SandboxId,
}

impl Registration {
    pub fn id(&self) -> SandboxId {
        self.id
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        live().sandboxes.remove(&self.id.0);
    }
}

/// Creates a sandbox directory in `parent`, named with this process's owner
/// record, and registers it. `None` once gen is stopping.
pub(crate) fn create_dir(
    parent: &Path,
) -> Option<std::io::Result<(tempfile::TempDir, Registration)>> {
    let prefix = Owner::this_process().map_or_else(|| PREFIX.to_string(), |o| o.prefix());
    let mut registry = live();
    if aborting() {
        return None;
    }
    let dir = match tempfile::Builder::new().prefix(&prefix).tempdir_in(parent) {
        Ok(dir) => dir,
        Err(e) => return Some(Err(e)),
    };
    let id = registry.next;
    registry.next += 1;
    registry.sandboxes.insert(
        id,
        Live {
            dir: dir.path().to_path_buf(),
            init: None,
        },
    );
    Some(Ok((dir, Registration { id: SandboxId(id) })))
}

/// Hands a sandbox's namespace process to the registry, so that an abort
/// can end it. Given back when gen is already stopping: the caller ends it.
pub(crate) fn adopt_init(id: SandboxId, init: Child) -> Result<(), Child> {
    let mut registry = live();
    match registry.sandboxes.get_mut(&id.0) {
        Some(sandbox) if !aborting() => {
            sandbox.init = Some(init);
            Ok(())
        }
        _ => Err(init),
    }
}

/// Takes a sandbox's namespace process back to end it; `None` if an abort
/// already did.
pub(crate) fn release_init(id: SandboxId) -> Option<Child> {
    live().sandboxes.get_mut(&id.0).and_then(|s| s.init.take())
}

/// Ends a namespace process and waits, until `deadline`, for the kernel to
/// have killed everything in its namespaces.
pub(crate) fn end_init(mut init: Child, deadline: Instant) {
    // Closing the pipe ends the namespace's init. The kernel lets an init
    // finish exiting only once every other process in its namespace is
    // gone, and `unshare` exits after its init: so `unshare` exiting means
    // the namespace is empty. Killing `unshare` (which `--kill-child` passes
    // on to the init) is for an init that somehow does not end.
    drop(init.stdin.take());
    wait_until(&mut init, deadline);
    if let Ok(None) = init.try_wait() {
        let _ = init.kill();
        wait_until(&mut init, Instant::now() + Duration::from_secs(1));
    }
}

fn wait_until(child: &mut Child, deadline: Instant) {
    while Instant::now() < deadline {
        match child.try_wait() {
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            _ => return,
        }
    }
}

/// Stops every sandbox of this process and removes its directory, within
/// `patience`. From then on validators start nothing (see [`aborting`]).
pub fn abort(patience: Duration) {
    let deadline = Instant::now() + patience;
    let (inits, dirs): (Vec<Child>, Vec<PathBuf>) = {
        let mut registry = live();
        ABORTING.store(true, Ordering::SeqCst);
        let inits = registry
            .sandboxes
            .values_mut()
            .filter_map(|s| s.init.take())
            .collect();
        let dirs = registry.sandboxes.values().map(|s| s.dir.clone()).collect();
        (inits, dirs)
    };
    for init in inits {
        end_init(init, deadline);
    }
    // Sandboxes without namespaces (where this machine cannot make them).
    for dir in &dirs {
        kill_marked(dir);
    }
    // The validator threads now fail fast and remove their own directories;
    // what is still there at the deadline is removed here.
    while !live().sandboxes.is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let left: Vec<PathBuf> = live().sandboxes.values().map(|s| s.dir.clone()).collect();
    for dir in left {
        let _ = fs::remove_dir_all(dir);
    }
}

/// What [`sweep`] did.
#[derive(Debug, Default)]
pub struct Swept {
    pub removed: Vec<PathBuf>,
    pub failed: Vec<(PathBuf, std::io::Error)>,
}

/// Removes the sandbox directories in the temporary directory that a gen
/// which is no longer running left (killed before it could), with any
/// process still marked as theirs. A directory is stale when its owner
/// record names a process that is gone, or one with another start time, or
/// when it was last changed before this boot. Directories without an owner
/// record, owned by another user, or whose owner runs, are left alone.
pub fn sweep() -> Swept {
    sweep_in(&std::env::temp_dir())
}

pub fn sweep_in(temp: &Path) -> Swept {
    let mut swept = Swept::default();
    let Ok(entries) = fs::read_dir(temp) else {
        return swept;
    };
    let me = effective_uid();
    let booted = owner::boot_time();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(owner) = name.to_str().and_then(Owner::parse) else {
            continue;
        };
        let path = entry.path();
        // Not following links: a link named like a sandbox is not one.
        let Ok(meta) = fs::symlink_metadata(&path) else {
            continue;
        };
        if !meta.is_dir() || Some(meta.uid()) != me {
            continue;
        }
        let before_boot = booted.is_some_and(|b| meta.mtime() < b as i64);
        if owner.is_alive() && !before_boot {
            continue;
        }
        kill_marked(&path);
        match fs::remove_dir_all(&path) {
            Ok(()) => swept.removed.push(path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => swept.failed.push((path, e)),
        }
    }
    swept
}

/// This process's effective uid (`/proc/self/status`).
fn effective_uid() -> Option<u32> {
    fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Kills (SIGKILL) every process that carries `dir` as its sandbox marker.
fn kill_marked(dir: &Path) {
    let mut wanted = format!("{MARKER}=").into_bytes();
    wanted.extend_from_slice(dir.as_os_str().as_encoded_bytes());
    let me = std::process::id();
    let Ok(entries) = fs::read_dir("/proc") else {
        return;
    };
    let pids: Vec<String> = entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| pid != me)
        .filter(|pid| {
            fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.split(|&b| b == 0).any(|v| v == wanted.as_slice()))
        })
        .map(|pid| pid.to_string())
        .collect();
    if !pids.is_empty() {
        let _ = Command::new("kill")
            .arg("-KILL")
            .args(&pids)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

#[cfg(test)]
mod tests {
    use super::sweep_in;
    use crate::owner::Owner;

    #[test]
    fn only_directories_of_gone_owners_are_swept() {
        let temp = tempfile::tempdir().expect("temp dir");
        let me = Owner::this_process().expect("/proc is mounted");
        let gone = Owner {
            start: me.start + 1,
            ..me
        };
        let mine = temp.path().join(format!("{}live", me.prefix()));
        let stale = temp.path().join(format!("{}dead", gone.prefix()));
        let legacy = temp.path().join("gen-check.AbC123");
        for dir in [&mine, &stale, &legacy] {
            std::fs::create_dir_all(dir.join("postgres")).expect("mkdir");
        }
        let swept = sweep_in(temp.path());
        assert_eq!(swept.removed, std::slice::from_ref(&stale));
        assert!(swept.failed.is_empty());
        assert!(mine.exists() && legacy.exists() && !stale.exists());
    }
}
