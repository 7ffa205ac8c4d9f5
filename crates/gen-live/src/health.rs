//! Apply stage, after activation: the health gate. A tree may list one
//! executable as its host's health gate (a manifest record with
//! `health_gate`; gen generates `/usr/local/sbin/<project>-health-gate`,
//! whose exit status says whether every probe of the host passes). After an
//! apply restarted services, `gen apply` runs it, again and again until it
//! passes or the timeout ends; when it never passes, the apply is rolled back.
//!
//! The gate comes from the tree, never from a renderer: it is the reviewed
//! file, read back through the root's directory handles and checked against
//! its manifest hash before it runs.

use std::io::Read as _;
use std::os::unix::process::CommandExt as _;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use camino::Utf8PathBuf;

use crate::root_dir::RootDir;
use gen_target::error::{Error, Result};
use gen_target::manifest::{sha256_hex, Manifest};

/// The pause between two runs of a failing gate: services that were just
/// restarted take a moment to answer.
const RETRY_INTERVAL: Duration = Duration::from_secs(2);
/// However little time is left, a run of the gate gets at least this long.
const MIN_RUN: Duration = Duration::from_secs(1);

/// The health gate of a host, as it is on the live root.
#[derive(Debug, Clone)]
pub struct Gate {
    /// Its host path, for messages.
    pub path: String,
    live: Utf8PathBuf,
}

/// What the gate said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Healthy {
        attempts: u32,
    },
    /// Every run failed; `failures` is what the last one said (its
    /// `FAILED` lines, or why it failed).
    Unhealthy {
        attempts: u32,
        failures: String,
    },
}

/// The gate `manifest` lists, once applied under `root`; `None` when it
/// lists none. A file that is not the reviewed gate is refused, not run.
pub fn gate(root: &RootDir, manifest: &Manifest) -> Result<Option<Gate>> {
    let Some(record) = manifest.files.iter().find(|r| r.health_gate) else {
        return Ok(None);
    };
    let (dir, name) = root.split(&record.path)?;
    let live = root.live_path(&record.path);
    let content = match root.dir(dir)? {
        Some(dir) => dir.read_file(name)?,
        None => None,
    };
    match content {
        Some((_, bytes)) if sha256_hex(&bytes) == record.sha256 => Ok(Some(Gate {
            path: record.path.clone(),
            live,
        })),
        _ => Err(Error::UnsafeLivePath {
            path: live,
            message: "does not hold the health gate the tree lists".into(),
        }),
    }
}

impl Gate {
    /// Runs the gate until it passes, retrying every few seconds until
    /// `timeout` has passed (at least once, whatever the timeout).
    pub fn wait(&self, timeout: Duration) -> Verdict {
        let deadline = Instant::now() + timeout;
        let mut attempts = 0;
        loop {
            attempts += 1;
            let left = deadline.saturating_duration_since(Instant::now());
            let failures = match self.run_once(left.max(MIN_RUN)) {
                Ok(()) => return Verdict::Healthy { attempts },
                Err(failures) => failures,
            };
            if Instant::now() + RETRY_INTERVAL >= deadline {
                return Verdict::Unhealthy { attempts, failures };
            }
            thread::sleep(RETRY_INTERVAL);
        }
    }

    /// One run, killed after `limit`: `Err` with what it said when it fails.
    fn run_once(&self, limit: Duration) -> std::result::Result<(), String> {
        // In a process group of its own: whatever it starts ends with it,
        // and nothing it leaves behind holds its output open.
        let mut child = Command::new(&self.live)
            .current_dir("/")
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("`{}` could not run: {e}", self.path))?;
        // Read while it runs: a chatty gate never blocks on a full pipe.
        let stderr = child.stderr.take().map(|mut pipe| {
            thread::spawn(move || {
                let mut text = String::new();
                let _ = pipe.read_to_string(&mut text);
                text
            })
        });
        let status = wait_for(&mut child, limit);
        let _ = rustix::process::kill_process_group(
            rustix::process::Pid::from_child(&child),
            rustix::process::Signal::KILL,
        );
        let said = stderr
            .and_then(|reader| reader.join().ok())
            .unwrap_or_default();
        match status {
            Some(status) if status.success() => Ok(()),
            Some(status) => Err(summary(&said, &format!("exited with {status}"))),
            None => Err(summary(
                &said,
                &format!("did not finish within {}s", limit.as_secs()),
            )),
        }
    }
}

/// The child's exit status, or `None` once it ran past `limit` (then it is
/// killed and reaped; its group is killed by the caller).
fn wait_for(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(50)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
}

/// A failed run in one line: the gate's `FAILED` lines (each names a
/// probe), else its last words, else how it ended.
fn summary(stderr: &str, how: &str) -> String {
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let failed: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| l.starts_with("FAILED"))
        .map(|l| l.trim_start_matches("FAILED").trim_start())
        .collect();
    let shown = if failed.is_empty() {
        lines
            .iter()
            .rev()
            .take(3)
            .rev()
            .copied()
            .collect::<Vec<_>>()
    } else {
        failed
    };
    let text: String = shown
        .join("; ")
        .chars()
        .filter(|c| !c.is_control())
        .take(2000)
        .collect();
    if text.is_empty() {
        how.to_string()
    } else {
        format!("{text} ({how})")
    }
}

#[cfg(test)]
mod tests {
    use super::summary;

    #[test]
    fn a_failed_run_is_named_by_its_failed_probes() {
        let stderr = "FAILED  redis 127.0.0.1:6379: Connection refused\nFAILED  postgresql 127.0.0.1:5432\n2 of 3 probe(s) failed\n";
        assert_eq!(
            summary(stderr, "exited with exit status: 1"),
            "redis 127.0.0.1:6379: Connection refused; postgresql 127.0.0.1:5432 (exited with exit status: 1)"
        );
        assert_eq!(
            summary("", "did not finish within 5s"),
            "did not finish within 5s"
        );
        assert_eq!(
            summary(
                "curl: (7) refused\n\u{1b}[31mred\n",
                "exited with exit status: 7"
            ),
            "curl: (7) refused; [31mred (exited with exit status: 7)"
        );
    }
}
