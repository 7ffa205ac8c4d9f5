//! `gen check`, and `gen apply` before it writes, start real servers
//! (PostgreSQL, PgBouncer, Redis) in sandboxes under the temporary directory.
//! Whatever stops gen — SIGTERM from systemd or CI, SIGINT from a terminal,
//! SIGKILL — none of them may outlive it, and no sandbox directory may
//! outlive the next run.
//!
//! Each run gets a private `TMPDIR`, so every process and directory of its
//! sandboxes is found by that path: in a process's command line or
//! environment, or as the descendant of such a process (PostgreSQL's backends
//! overwrite both with their process title).

// Fixture helpers outside `#[test]` functions panic on setup failure by design.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::process::ExitStatusExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::support::{gen_command, repo};

/// Programs the sandboxes start, and the namespaces they run in.
const NEEDED: &[&str] = &[
    "initdb",
    "pg_ctl",
    "pgbouncer",
    "redis-server",
    "unshare",
    "nsenter",
];

/// Kill instants per command and signal, spread over one uninterrupted run.
const INSTANTS: u32 = 6;

/// How long a killed run's processes may take to disappear: the kernel tears
/// a PID namespace down asynchronously, and a `systemd-analyze` that was
/// running is left to finish (see `crates/gen-check/src/systemd.rs`).
const GRACE: Duration = Duration::from_secs(10);

#[test]
fn a_killed_check_or_apply_leaves_no_sandbox_process_and_the_next_run_no_directory() {
    if !sandboxes_run_here() {
        return;
    }
    let work = Scratch::new();

    // PgBouncer and Redis beside the PostgreSQL cluster that stands in for
    // their backends; apply on the database host the issue was found on.
    let scenarios = [
        Scenario::Check { host: "pool1" },
        Scenario::Apply { host: "db1" },
    ];
    let mut problems = Vec::new();
    let (mut trials, mut with_processes, mut with_dirs) = (0, 0, 0);
    for scenario in scenarios {
        // One full run: proves the sandboxes start here, and times them.
        let started = Instant::now();
        let full = work.run(scenario, &work.fresh_root());
        let mut span = started.elapsed();
        assert_eq!(
            full.0.code(),
            Some(0),
            "{scenario:?} does not pass here:\n{}",
            full.1
        );
        if let Scenario::Apply { host } = scenario {
            // `gen apply` validates as `gen check` does, then writes: the
            // sandboxes live in the first part.
            let started = Instant::now();
            let checked = work.run(Scenario::Check { host }, &work.fresh_root());
            span = started.elapsed();
            assert_eq!(checked.0.code(), Some(0), "{}", checked.1);
        }
        work.assert_clean(&format!("{scenario:?}, uninterrupted"));
        for signal in ["TERM", "KILL"] {
            let mut root = PathBuf::new();
            for i in 0..INSTANTS {
                trials += 1;
                // Evenly over the run, from just after start to its end.
                let at = span.mul_f64((f64::from(i) + 0.5) / f64::from(INSTANTS)) * 9 / 10
                    + Duration::from_millis(20);
                let what = format!("{scenario:?} sent SIG{signal} at {at:.2?}");
                root = work.fresh_root();
                let status = work.interrupt(scenario, &root, signal, at);
                let left = work.survivors_after(GRACE);
                if !left.is_empty() {
                    with_processes += 1;
                    problems.push(format!("{what}: processes left running: {left:?}"));
                    work.kill_survivors();
                }
                if signal == "TERM" {
                    // Exit 143 as shells expect; 0 if the run was already
                    // done; killed by the signal itself only before gen
                    // started anything. Its sandboxes are gone on exit.
                    let expected = status.code() == Some(143)
                        || status.code() == Some(0)
                        || status.signal() == Some(15);
                    if !expected {
                        problems.push(format!("{what}: exited with {status}"));
                    }
                    let dirs = work.sandbox_dirs();
                    if !dirs.is_empty() {
                        with_dirs += 1;
                        problems.push(format!("{what}: directories left on exit: {dirs:?}"));
                        work.clear();
                    }
                }
            }
            if signal == "KILL" {
                // Each SIGKILL'd gen left its directory (each later one may
                // have removed the earlier ones): the next run, on the last
                // killed run's root, removes them all, and works.
                let next = work.run(scenario, &root);
                if next.0.code() != Some(0) {
                    problems.push(format!(
                        "{scenario:?}: the run after the SIGKILLs failed:\n{}",
                        next.1
                    ));
                }
                let dirs = work.sandbox_dirs();
                if !dirs.is_empty() {
                    with_dirs += dirs.len();
                    problems.push(format!(
                        "{scenario:?}: directories left after the run after the SIGKILLs: {dirs:?}"
                    ));
                    work.clear();
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "of {trials} interrupted runs, {with_processes} left processes running; \
         {with_dirs} directories were left (on exit from SIGTERM, after the next run from SIGKILL):\n{}",
        problems.join("\n")
    );
}

/// A signal gen was started ignoring stays ignored: `nohup gen apply`
/// survives the hangup it asked to survive.
#[test]
fn a_hangup_under_nohup_does_not_stop_a_check() {
    if !sandboxes_run_here() {
        return;
    }
    let work = Scratch::new();
    let gen = work.command(Scenario::Check { host: "pool1" }, &work.fresh_root());
    let mut nohup = Command::new("sh");
    nohup
        .args(["-c", "trap '' HUP && exec \"$0\" \"$@\""])
        .arg(gen.get_program())
        .args(gen.get_args())
        .envs(gen.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let running = nohup.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while work.sandbox_dirs().is_empty() {
        assert!(Instant::now() < deadline, "the check made no sandbox");
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = Command::new("kill")
        .args(["-HUP", &running.id().to_string()])
        .status();
    let out = running.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    work.assert_clean("after the check");
}

/// The next run removes only what gens that are gone left: a check running
/// beside it keeps its sandbox and passes; a directory gen did not name
/// with an owner record is not gen's to remove.
#[test]
fn a_running_gen_keeps_its_sandbox_while_another_sweeps() {
    if !sandboxes_run_here() {
        return;
    }
    let work = Scratch::new();
    // What a killed gen leaves: this process's pid with another start time
    // stands for a gen that is gone (a pid is reused, a start time is not).
    let stat = fs::read_to_string("/proc/self/stat").unwrap();
    let start: u64 = stat
        .rsplit_once(") ")
        .unwrap()
        .1
        .split(' ')
        .nth(19)
        .unwrap()
        .parse()
        .unwrap();
    let stale = work.tmp().join(format!(
        "gen-check.{}-{}.gone01",
        std::process::id(),
        start + 1
    ));
    let foreign = work.tmp().join("gen-check.AbC123");
    for dir in [&stale, &foreign] {
        fs::create_dir_all(dir.join("postgres")).unwrap();
    }

    let running = work
        .command(Scenario::Check { host: "pool1" }, &work.fresh_root())
        .spawn()
        .unwrap();
    let own_sandbox = |name: &String| name != "gen-check.AbC123" && !name.ends_with(".gone01");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !work.sandbox_dirs().iter().any(own_sandbox) {
        assert!(
            Instant::now() < deadline,
            "the running check made no sandbox"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let next = work.run(Scenario::Check { host: "lb1" }, &work.fresh_root());
    assert_eq!(next.0.code(), Some(0), "{}", next.1);
    let out = running.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "the check running beside the sweep failed:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(!stale.exists(), "a gone gen's sandbox is swept");
    assert!(
        foreign.exists(),
        "a directory without an owner record is kept"
    );
    fs::remove_dir_all(&foreign).unwrap();
    work.assert_clean("after both checks");
}

/// SIGTERM while `gen apply`'s PostgreSQL sandbox is up: gen stops it,
/// exits 143, and writes nothing to the host.
#[test]
fn a_sigterm_while_apply_validates_stops_the_sandbox_and_writes_nothing() {
    if !sandboxes_run_here() {
        return;
    }
    let work = Scratch::new();
    let root = work.fresh_root();
    let mut apply = work
        .command(Scenario::Apply { host: "db1" }, &root)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The cluster is running once its pid file is there.
    let deadline = Instant::now() + Duration::from_secs(60);
    let cluster_up = || {
        work.sandbox_dirs().iter().any(|d| {
            work.tmp()
                .join(d)
                .join("postgres/data/postmaster.pid")
                .exists()
        })
    };
    while !cluster_up() {
        assert!(
            Instant::now() < deadline && apply.try_wait().unwrap().is_none(),
            "gen apply ended before its PostgreSQL sandbox was up"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = Command::new("kill")
        .args(["-TERM", &apply.id().to_string()])
        .status();
    let status = apply.wait().unwrap();
    assert_eq!(status.code(), Some(143), "{status}");
    assert_eq!(work.survivors_after(GRACE), BTreeMap::new());
    assert_eq!(work.sandbox_dirs(), Vec::<String>::new());
    let written: Vec<_> = walkdir::WalkDir::new(&root)
        .min_depth(1)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| !e.file_type().is_dir())
        .map(|e| e.path().to_path_buf())
        // Taken before planning, so held while validating; not a write.
        .filter(|p| *p != root.join("var/lib/gen/lock"))
        .collect();
    assert_eq!(written, Vec::<PathBuf>::new(), "nothing is written");
}

/// Whether this machine can run the sandboxes; if not, says why, and fails
/// where every validator must be there (CI, `GEN_CHECK_STRICT`).
fn sandboxes_run_here() -> bool {
    let Some(missing) = missing_requirement() else {
        return true;
    };
    assert!(
        std::env::var_os("CI").is_none() && std::env::var_os("GEN_CHECK_STRICT").is_none(),
        "{missing}: CI runs .ci/install-validators.sh as root"
    );
    eprintln!("skipped: {missing}");
    false
}

#[derive(Debug, Clone, Copy)]
enum Scenario {
    Check { host: &'static str },
    Apply { host: &'static str },
}

/// The test's own directory: the tree built from the bundled profiles,
/// scratch roots, and the `TMPDIR` of every gen it runs. Dropped: anything a failing gen left is
/// killed and removed, so a red run does not leave servers on the machine.
struct Scratch {
    dir: tempfile::TempDir,
    roots: std::cell::Cell<u32>,
}

impl Scratch {
    fn new() -> Scratch {
        let dir = tempfile::tempdir().unwrap();
        // The sandboxes' servers run as `postgres` and `redis`: they must
        // reach their directories under TMPDIR.
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let scratch = Scratch {
            dir,
            roots: std::cell::Cell::new(0),
        };
        fs::create_dir(scratch.tmp()).unwrap();
        fs::set_permissions(scratch.tmp(), fs::Permissions::from_mode(0o755)).unwrap();
        let built = gen_command()
            .current_dir(repo())
            .args(["build", "--out"])
            .arg(scratch.generated())
            .output()
            .unwrap();
        assert!(
            built.status.success(),
            "{}",
            String::from_utf8_lossy(&built.stderr)
        );
        scratch
    }

    fn generated(&self) -> PathBuf {
        self.dir.path().join("generated")
    }

    fn tmp(&self) -> PathBuf {
        self.dir.path().join("tmp")
    }

    /// An empty live root, so that `gen apply` has files to write and runs
    /// its validators.
    fn fresh_root(&self) -> PathBuf {
        let n = self.roots.get() + 1;
        self.roots.set(n);
        let root = self.dir.path().join(format!("root{n}"));
        fs::create_dir(&root).unwrap();
        root
    }

    fn command(&self, scenario: Scenario, root: &Path) -> Command {
        let mut command = gen_command();
        match scenario {
            Scenario::Check { host } => {
                command
                    .args(["check", "--profile", "production", "--host", host])
                    .arg("--generated")
                    .arg(self.generated());
            }
            Scenario::Apply { host } => {
                command
                    .args(["apply", "--yes", "--no-reload"])
                    .args(["--profile", "production", "--host", host])
                    .arg("--generated")
                    .arg(self.generated())
                    .arg("--root")
                    .arg(root)
                    .env("GEN_SYSTEMCTL", "true");
            }
        }
        command
            .env("TMPDIR", self.tmp())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    /// Runs to completion: the status and what it printed.
    fn run(&self, scenario: Scenario, root: &Path) -> (ExitStatus, String) {
        let out = self.command(scenario, root).output().unwrap();
        let text = format!(
            "{}\n--- stdout\n{}\n--- stderr\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status, text)
    }

    /// Starts a run and sends it `signal` after `at`; returns how it ended.
    fn interrupt(&self, scenario: Scenario, root: &Path, signal: &str, at: Duration) -> ExitStatus {
        let mut child = self
            .command(scenario, root)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(at);
        let _ = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(child.id().to_string())
            .stderr(Stdio::null())
            .status();
        // A SIGTERM'd gen stops its servers first; it must still be quick.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("gen did not exit within 60 s of SIG{signal}");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Processes of this test's sandboxes still running after `grace`.
    fn survivors_after(&self, grace: Duration) -> BTreeMap<u32, String> {
        let deadline = Instant::now() + grace;
        loop {
            let left = sandbox_processes(&self.tmp());
            if left.is_empty() || Instant::now() > deadline {
                return left;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Whatever is in the test's `TMPDIR`.
    fn sandbox_dirs(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(self.tmp())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[track_caller]
    fn assert_clean(&self, what: &str) {
        assert_eq!(self.survivors_after(GRACE), BTreeMap::new(), "{what}");
        assert_eq!(self.sandbox_dirs(), Vec::<String>::new(), "{what}");
    }

    /// Kills what a trial left running, so the next trial counts only its
    /// own.
    fn kill_survivors(&self) {
        for pid in sandbox_processes(&self.tmp()).keys() {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .stderr(Stdio::null())
                .status();
        }
    }

    /// Kills and removes what a trial left, so the next trial counts only
    /// its own leftovers.
    fn clear(&self) {
        self.kill_survivors();
        let tmp = self.tmp();
        let mounts = fs::read_to_string("/proc/self/mounts").unwrap_or_default();
        for mount in mounts.lines().filter_map(|l| l.split(' ').nth(1)) {
            if Path::new(mount).starts_with(&tmp) {
                let _ = Command::new("umount").arg(mount).status();
            }
        }
        for entry in fs::read_dir(&tmp).into_iter().flatten().flatten() {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        self.clear();
        std::thread::sleep(Duration::from_millis(200));
        self.clear();
    }
}

/// Running (not zombie) processes that name `dir` in their command line or
/// environment, and their descendants: pid → command line.
fn sandbox_processes(dir: &Path) -> BTreeMap<u32, String> {
    let needle = dir.as_os_str().as_encoded_bytes();
    let mine = std::process::id();
    let mut parents = BTreeMap::new();
    let mut commands = BTreeMap::new();
    let mut marked = BTreeSet::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == mine {
            continue;
        }
        let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ppid ...`: comm may hold spaces and parentheses.
        let Some((_, rest)) = stat.rsplit_once(") ") else {
            continue;
        };
        let mut fields = rest.split(' ');
        let state = fields.next().unwrap_or("");
        let ppid: u32 = fields.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        if state == "Z" || state == "X" {
            continue;
        }
        let cmdline = fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let environ = fs::read(entry.path().join("environ")).unwrap_or_default();
        let names = |bytes: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
        if names(&cmdline) || names(&environ) {
            marked.insert(pid);
        }
        parents.insert(pid, ppid);
        commands.insert(
            pid,
            String::from_utf8_lossy(&cmdline)
                .replace('\0', " ")
                .trim()
                .to_string(),
        );
    }
    // Descendants: PostgreSQL's backends overwrite their command line and
    // environment with a process title.
    loop {
        let more: Vec<u32> = parents
            .iter()
            .filter(|(pid, ppid)| marked.contains(ppid) && !marked.contains(pid))
            .map(|(pid, _)| *pid)
            .collect();
        if more.is_empty() {
            break;
        }
        marked.extend(more);
    }
    marked
        .into_iter()
        .map(|pid| (pid, commands.remove(&pid).unwrap_or_default()))
        .collect()
}

/// Why this machine cannot run the sandboxes, if it cannot.
fn missing_requirement() -> Option<String> {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    let root = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        == Some("0");
    if !root {
        return Some("the sandboxes run servers as their own users: not root".into());
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs: Vec<PathBuf> = std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/lib/postgresql/15/bin"].map(PathBuf::from))
        .collect();
    NEEDED
        .iter()
        .find(|program| !dirs.iter().any(|d| d.join(program).is_file()))
        .map(|program| format!("`{program}` is not installed"))
}
