//! No sandbox outlives gen: what `gen check` and `gen apply` (before its
//! validators) do so that the servers the validators start, and their
//! directories, go when gen goes.
//!
//! - SIGTERM (systemd's `TimeoutStartSec`, a CI timeout), SIGINT (Ctrl-C) and
//!   SIGHUP (a closed terminal) stop every sandbox and remove its directory,
//!   then gen exits with 128 + the signal's number (143, 130, 129), as shells
//!   expect. The signal is not handled in a signal handler: signal-hook's
//!   handler only writes to a pipe that a thread of gen's reads, so the
//!   cleanup may lock, start `kill` and wait, none of which is safe inside a
//!   handler. A second signal ends gen at once. A signal gen was started
//!   ignoring (SIGHUP under `nohup`, SIGINT in a shell's background job)
//!   stays ignored.
//! - SIGKILL cannot be caught: every sandbox runs in a PID namespace that
//!   dies with gen (`gen_check::namespaces`), and the next run removes the
//!   directories such a gen left (`gen_check::sandboxes::sweep`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use gen_target::error::{Error, Result};

/// How long stopping the sandboxes may take before gen exits regardless.
const PATIENCE: Duration = Duration::from_secs(10);

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static WATCHING: OnceLock<()> = OnceLock::new();

/// Before the first sandbox: watches for termination signals (once per
/// process), and removes the sandbox directories of gens that were killed.
pub fn guard() -> Result<()> {
    if WATCHING.get().is_none() {
        watch()?;
        let _ = WATCHING.set(());
    }
    let swept = gen_check::sandboxes::sweep();
    for (path, e) in &swept.failed {
        eprintln!(
            "note: cannot remove `{}`, left by a gen that is no longer running: {e}",
            path.display()
        );
    }
    Ok(())
}

fn watch() -> Result<()> {
    let watched = [SIGTERM, SIGINT, SIGHUP]
        .into_iter()
        .filter(|&s| !ignored(s));
    let mut signals = Signals::new(watched).map_err(|source| Error::Signals { source })?;
    std::thread::Builder::new()
        .name("gen-signals".into())
        .spawn(move || {
            let mut received = signals.forever();
            let Some(first) = received.next() else {
                return;
            };
            INTERRUPTED.store(true, Ordering::SeqCst);
            let name = signal_hook::low_level::signal_name(first).unwrap_or("a signal");
            eprintln!("gen: {name}: stopping every sandbox and removing its directory");
            let stop = move || {
                gen_check::sandboxes::abort(PATIENCE);
                std::process::exit(128 + first);
            };
            // Stopping runs beside this thread, which stays to hear an
            // impatient second signal.
            if std::thread::Builder::new()
                .name("gen-stop".into())
                .spawn(stop)
                .is_err()
            {
                stop();
            }
            if let Some(second) = received.next() {
                std::process::exit(128 + second);
            }
        })
        .map_err(|source| Error::Signals { source })?;
    Ok(())
}

/// Whether this process was started ignoring `signal` (the `SigIgn` mask of
/// `/proc/self/status`): installing a handler would undo that.
fn ignored(signal: i32) -> bool {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return false;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("SigIgn:"))
        .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        .is_some_and(|mask| (1..=64).contains(&signal) && mask & (1 << (signal - 1)) != 0)
}

/// Where gen would go on to print a verdict or write to the host: once a
/// termination signal arrived, the signal thread is stopping gen (and will
/// exit), so this thread waits for it instead.
pub fn wait_if_interrupted() {
    while INTERRUPTED.load(Ordering::SeqCst) {
        std::thread::park();
    }
}
