//! The live-side tests' way to run `gen apply` and `gen rollback` on a
//! scratch root, and to stop them dead after any durable step:
//! `GEN_CRASH_AFTER=N` aborts gen right after its N-th filesystem step, as a
//! power cut would; [`each_crash_point`] walks N over every step.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// `gen <args>` on host `web1` of profile `shop` (the [`super::SMALL`]
/// profile) under `root`, reading `generated` when given: applies confirm,
/// skip the validators and never activate; nothing reads standard input.
pub fn live_command(
    args: &[&str],
    generated: Option<&Path>,
    root: &Path,
    crash_after: Option<u64>,
) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gen"));
    command.args(args);
    if let Some(generated) = generated {
        command
            .arg("--generated")
            .arg(generated)
            .args(["--profile", "shop", "--host", "web1"]);
        if args.first() == Some(&"apply") {
            command.args(["--yes", "--skip-validation", "--no-reload"]);
        }
    }
    command
        .arg("--root")
        .arg(root)
        .env("NO_COLOR", "1")
        .env("GEN_SYSTEMCTL", "true")
        .stdin(Stdio::null());
    if let Some(n) = crash_after {
        command.env("GEN_CRASH_AFTER", n.to_string());
    }
    command
}

/// What one crash point's trial found.
pub enum Trial {
    /// The run stopped at the armed step.
    Crashed,
    /// The run finished: the armed step is past its last one.
    Finished,
}

/// Runs `trial(n, root)` for n = 1, 2, … on a fresh copy of `base` each
/// time, until a run finishes, and returns how many crashed. Fails when the
/// runs still crash after `limit` steps.
pub fn each_crash_point(
    work: &Path,
    base: &Path,
    limit: u64,
    mut trial: impl FnMut(u64, &Path) -> Trial,
) -> u64 {
    let mut crashes = 0;
    for n in 1..=limit {
        let root = work.join(format!("crash-{n}"));
        std::fs::create_dir_all(&root).expect("crash root");
        copy_root(base, &root);
        let outcome = trial(n, &root);
        std::fs::remove_dir_all(&root).expect("remove the crash root");
        match outcome {
            Trial::Finished => return crashes,
            Trial::Crashed => crashes += 1,
        }
    }
    panic!("still crashing after {limit} steps");
}

/// `from`'s contents copied into `to`, modes and owners kept.
pub fn copy_root(from: &Path, to: &Path) {
    let status = Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", from.display()))
        .arg(to)
        .status()
        .expect("cp runs");
    assert!(status.success(), "cp -a failed");
}

/// Every file under `root` named like a gen temporary file.
pub fn temp_files(root: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(root)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(".gen-tmp-"))
        .map(walkdir::DirEntry::into_path)
        .collect()
}
