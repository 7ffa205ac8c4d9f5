//! Crash points for fault-injection tests of the live side. Every filesystem
//! step of `gen apply` and `gen rollback` that changes the disk (a temporary
//! file written and fsynced, a rename, a directory fsync, a removal, a new
//! directory) calls [`step`]. With `GEN_CRASH_AFTER=N` in the environment the
//! process aborts right after the N-th step, with no cleanup, as a power cut
//! or `kill -9` would leave it; the test suite walks N over every step and
//! checks that each file is entirely old or entirely new and that the next run
//! recovers. Without the variable, `step` only counts.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

/// The environment variable that arms a crash point.
pub const CRASH_AFTER: &str = "GEN_CRASH_AFTER";

static STEPS: AtomicU64 = AtomicU64::new(0);

fn armed() -> Option<u64> {
    static ARMED: OnceLock<Option<u64>> = OnceLock::new();
    *ARMED.get_or_init(|| std::env::var(CRASH_AFTER).ok().and_then(|v| v.parse().ok()))
}

/// One durable step has happened; abort here if this is the armed crash point.
pub fn step(what: &str) {
    let n = STEPS.fetch_add(1, Ordering::SeqCst) + 1;
    if armed() == Some(n) {
        eprintln!("gen: crash point {n} ({what}) reached; aborting");
        std::process::abort();
    }
}
