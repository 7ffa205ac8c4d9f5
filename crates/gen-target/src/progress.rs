//! Progress on long runs, on a terminal only: one status line on standard
//! error, rewritten in place and cleared at the end. Pipes, files and CI logs
//! get nothing, so output stays the same wherever it is captured.

use std::io::{IsTerminal as _, Write as _};
use std::sync::atomic::{AtomicUsize, Ordering};

pub struct Progress {
    total: usize,
    done: AtomicUsize,
    verb: &'static str,
    enabled: bool,
}

impl Progress {
    /// `verb` names the work (`checking`); nothing shows for one item.
    pub fn new(verb: &'static str, total: usize) -> Progress {
        Progress {
            total,
            done: AtomicUsize::new(0),
            verb,
            enabled: total > 1 && std::io::stderr().is_terminal(),
        }
    }

    /// One item finished.
    pub fn tick(&self, item: &str) {
        let done = self.done.fetch_add(1, Ordering::SeqCst) + 1;
        if self.enabled {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K{} {done}/{} {item}", self.verb, self.total);
            let _ = err.flush();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if self.enabled {
            let _ = write!(std::io::stderr().lock(), "\r\x1b[2K");
        }
    }
}
