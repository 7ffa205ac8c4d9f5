//! Containment: `gen apply` and `gen rollback` never write, remove or chmod
//! anything outside `--root`, even while directories under it are swapped for
//! symbolic links to outside ones as gen runs; a rollback that stops half-way
//! says what it changed; crash recovery removes what it made and nothing else.

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::support::crash::{each_crash_point, live_command, temp_files, Trial};
use super::support::{run, small_changed, Project, Run, SMALL};

/// Builds `profile` in a project of its own and returns the project.
fn built(profile: &str) -> Project {
    let project = Project::new().profile("shop", profile);
    let out = project.gen(&["build"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    project
}

fn gen_live(
    args: &[&str],
    project: Option<&Project>,
    root: &Path,
    crash_after: Option<u64>,
) -> Run {
    let generated = project.map(|p| p.path().join("generated"));
    run(&mut live_command(
        args,
        generated.as_deref(),
        root,
        crash_after,
    ))
}

fn apply(project: &Project, root: &Path) -> Run {
    gen_live(&["apply"], Some(project), root, None)
}

fn rollback(root: &Path) -> Run {
    gen_live(&["rollback"], None, root, None)
}

/// Path → (mode with type, mtime in ns, content) of everything under `dir`,
/// `dir` itself included, links not followed.
type Snapshot = BTreeMap<PathBuf, (u32, i128, Option<Vec<u8>>)>;

fn snapshot(dir: &Path) -> Snapshot {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.expect("walkable"))
        .map(|e| {
            let meta = std::fs::symlink_metadata(e.path()).expect("stat");
            let mtime = i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec());
            let content = meta
                .file_type()
                .is_file()
                .then(|| std::fs::read(e.path()).expect("readable"));
            (e.path().to_path_buf(), (meta.mode(), mtime, content))
        })
        .collect()
}

/// An outside directory gen must never touch: private, holding what a
/// managed directory or gen's journal would hold, so a followed link shows.
fn canary(at: &Path) -> PathBuf {
    let dir = at.join("canary");
    for sub in ["rules", "1", "7"] {
        std::fs::create_dir_all(dir.join(sub)).expect("canary dirs");
        std::fs::set_permissions(dir.join(sub), std::fs::Permissions::from_mode(0o700))
            .expect("chmod");
    }
    for (name, mode) in [
        ("shop", 0o644),
        ("atlas", 0o600),
        ("prometheus.yml", 0o640),
        ("rules/shop.yml", 0o644),
        ("1/contents", 0o600),
        ("7/PG_VERSION", 0o600),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, format!("canary {name}\n")).expect("canary file");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    }
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    dir
}

/// Swaps directories under a root with symbolic links to the canary, back
/// and forth, atomically (`renameat2(RENAME_EXCHANGE)`), until stopped.
struct Swapper {
    stop: Arc<AtomicBool>,
    swaps: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
    targets: Vec<(PathBuf, PathBuf)>,
}

impl Swapper {
    fn start(root: &Path, dirs: &[&str], canary: &Path) -> Swapper {
        let targets: Vec<(PathBuf, PathBuf)> = dirs
            .iter()
            .map(|rel| {
                let path = root.join(rel);
                let name = path.file_name().expect("a name").to_string_lossy();
                let link = path.with_file_name(format!(".swap-{name}"));
                (path, link)
            })
            .collect();
        let stop = Arc::new(AtomicBool::new(false));
        let swaps = Arc::new(AtomicU64::new(0));
        let thread = {
            let (stop, swaps, targets, canary) = (
                stop.clone(),
                swaps.clone(),
                targets.clone(),
                canary.to_path_buf(),
            );
            std::thread::spawn(move || {
                let mut round = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    round += 1;
                    for (path, link) in &targets {
                        let Some(parent) = path.parent() else {
                            continue;
                        };
                        if std::fs::symlink_metadata(parent).is_err() {
                            continue;
                        }
                        if std::fs::symlink_metadata(link).is_err() {
                            let _ = std::os::unix::fs::symlink(&canary, link);
                        }
                        let real_dir = std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir());
                        if real_dir && exchange(path, link) {
                            swaps.fetch_add(1, Ordering::Relaxed);
                            spin(round % 4 * 40);
                            exchange(path, link);
                        }
                    }
                    // Pauses from none to 2 ms: some runs meet a link at
                    // their first look, others deep into writing.
                    spin(round % 8 * 250);
                }
            })
        };
        Swapper {
            stop,
            swaps,
            thread: Some(thread),
            targets,
        }
    }

    /// Stops swapping and puts every real directory back in its place.
    fn stop(&mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.join().expect("the swapper ends");
        }
        for (path, link) in &self.targets {
            if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
                exchange(path, link);
            }
            let _ = std::fs::remove_file(link);
        }
        self.swaps.load(Ordering::Relaxed)
    }
}

impl Drop for Swapper {
    fn drop(&mut self) {
        self.stop();
    }
}

fn exchange(a: &Path, b: &Path) -> bool {
    rustix::fs::renameat_with(
        rustix::fs::CWD,
        a,
        rustix::fs::CWD,
        b,
        rustix::fs::RenameFlags::EXCHANGE,
    )
    .is_ok()
}

/// Busy-waits about `micros` µs: sleeping would round up to scheduler ticks.
fn spin(micros: u64) {
    let until = Instant::now() + Duration::from_micros(micros);
    while Instant::now() < until {
        std::hint::spin_loop();
    }
}

#[test]
fn directories_swapped_for_links_during_apply_and_rollback_never_lead_outside() {
    let before = built(SMALL);
    let after = built(&small_changed());
    let work = tempfile::tempdir().expect("temporary directory");
    let canary = canary(work.path());
    let untouched = snapshot(&canary);
    let root = work.path().join("root");
    std::fs::create_dir_all(root.join("etc/cron.d")).expect("cron.d");
    std::fs::write(root.join("etc/cron.d/atlas"), "unmanaged\n").expect("unmanaged");
    std::fs::create_dir_all(root.join("var/lib/gen/generations")).expect("journal");

    let mut swapper = Swapper::start(
        &root,
        &[
            // A managed directory that exists before gen runs.
            "etc/cron.d",
            // Directories gen creates, and removes on rollback.
            "etc/prometheus",
            "etc/prometheus/rules",
            "etc/systemd/system",
            // gen's own journal.
            "var/lib/gen/generations",
        ],
        &canary,
    );
    let started = Instant::now();
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    let mut trials = 0;
    while trials < 450 && started.elapsed() < Duration::from_secs(50) {
        let (what, out) = match trials % 3 {
            0 => ("apply before", apply(&before, &root)),
            1 => ("apply after", apply(&after, &root)),
            _ => ("rollback", rollback(&root)),
        };
        trials += 1;
        assert!(
            out.code == 0 || out.code == 2,
            "trial {trials} ({what}) ended with {}: {}",
            out.code,
            out.stderr
        );
        *outcomes
            .entry(format!("{what}: exit {}", out.code))
            .or_default() += 1;
        assert_eq!(
            snapshot(&canary),
            untouched,
            "trial {trials} ({what}) changed the outside directory: {}",
            out.stderr
        );
    }
    let swaps = swapper.stop();
    eprintln!("{trials} trials, {swaps} swaps: {outcomes:?}");
    assert!(swaps > 100, "the swapper barely ran ({swaps} swaps)");

    // Without the swapper, the next run converges.
    let out = apply(&after, &root);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let diff = gen_live(&["diff"], Some(&after), &root, None);
    assert_eq!(diff.code, 0, "{}\n{}", diff.stdout, diff.stderr);
    assert_eq!(temp_files(&root), Vec::<PathBuf>::new());
    assert_eq!(
        std::fs::read(root.join("etc/cron.d/atlas")).expect("unmanaged file"),
        b"unmanaged\n"
    );
    assert_eq!(snapshot(&canary), untouched);
}

#[test]
fn a_link_at_the_journal_is_refused_and_never_followed() {
    let before = built(SMALL);
    let after = built(&small_changed());
    let work = tempfile::tempdir().expect("temporary directory");
    let canary = canary(work.path());
    let untouched = snapshot(&canary);
    let root = work.path().join("root");
    std::fs::create_dir_all(root.join("var/lib/gen")).expect("state dir");
    std::os::unix::fs::symlink(&canary, root.join("var/lib/gen/generations")).expect("link");
    for out in [apply(&before, &root), apply(&after, &root), rollback(&root)] {
        assert_eq!(out.code, 2, "{}", out.stderr);
        assert!(
            out.stderr
                .contains("var/lib/gen/generations` is a symbolic link"),
            "{}",
            out.stderr
        );
    }
    assert_eq!(snapshot(&canary), untouched);
    assert!(
        !root.join("etc").exists(),
        "nothing is applied without a journal"
    );
}

/// A rollback that stops half-way (here: a managed directory replaced by a
/// link after the apply) reports the files it had already removed, never
/// "nothing was written", and the next rollback finishes it.
#[test]
fn a_rollback_that_stops_half_way_says_what_it_changed() {
    let project = built(SMALL);
    let work = tempfile::tempdir().expect("temporary directory");
    let canary = canary(work.path());
    let untouched = snapshot(&canary);
    let root = work.path().join("root");
    std::fs::create_dir_all(root.join("etc")).expect("etc");
    let out = apply(&project, &root);
    assert_eq!(out.code, 0, "{}", out.stderr);

    // Rollback removes created files in reverse path order: `/etc/cron.d/shop`
    // comes last, after eleven others (the exporters' /etc/default files, the
    // compose unit's `[Install]` link, nginx.conf and the health gate among them) are gone.
    std::fs::rename(root.join("etc/cron.d"), work.path().join("cron.d.away")).expect("move");
    std::os::unix::fs::symlink(&canary, root.join("etc/cron.d")).expect("link");
    let out = rollback(&root);
    assert_eq!(out.code, 2, "{}", out.stderr);
    // miette wraps long paths anywhere: join its continuation lines first.
    let text = out.stderr.replace("\n  | ", "").replace('\n', " ");
    assert!(
        !text.contains("nothing was written"),
        "files were removed: {}",
        out.stderr
    );
    assert!(
        text.contains("rollback of generation 1 stopped after removing 11 file(s)")
            && text.contains("/usr/local/sbin/shop-healthcheck")
            && text.contains("etc/cron.d` is a symbolic link"),
        "{}",
        out.stderr
    );
    assert_eq!(snapshot(&canary), untouched);

    std::fs::remove_file(root.join("etc/cron.d")).expect("unlink");
    std::fs::rename(work.path().join("cron.d.away"), root.join("etc/cron.d")).expect("move back");
    let out = rollback(&root);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("rolled back interrupted generation 1"),
        "{}",
        out.stderr
    );
    assert_eq!(
        std::fs::read_dir(root.join("etc")).expect("etc").count(),
        0,
        "every file and directory the apply made is gone"
    );
}

/// After a crash at any step, recovery (by `gen rollback` or the next
/// `gen apply`) removes the temporary files and the directories the
/// interrupted run made, and leaves files that only look like gen's alone.
#[test]
fn crash_recovery_removes_what_it_made_and_nothing_else() {
    let project = built(SMALL);
    let work = tempfile::tempdir().expect("temporary directory");
    let base = work.path().join("base");
    let foreign = [
        "etc/cron.d/.gen-tmp-foo",
        "etc/cron.d/.gen-tmp-shop-4242",
        "etc/.gen-tmp-bar",
    ];
    std::fs::create_dir_all(base.join("etc/cron.d")).expect("cron.d");
    for name in foreign {
        std::fs::write(base.join(name), "not gen's\n").expect("foreign file");
    }
    let listing = |root: &Path| -> Vec<String> {
        walkdir::WalkDir::new(root)
            .sort_by_file_name()
            .min_depth(1)
            .into_iter()
            .filter_map(Result::ok)
            .map(|e| {
                e.path()
                    .strip_prefix(root)
                    .expect("below root")
                    .to_string_lossy()
                    .into_owned()
            })
            .filter(|p| !p.starts_with("var"))
            .collect()
    };
    let original = listing(&base);

    let crashes = each_crash_point(work.path(), &base, 200, |n, root| {
        let out = gen_live(&["apply"], Some(&project), root, Some(n));
        if out.code == 0 {
            return Trial::Finished;
        }
        let recovered = if n % 2 == 0 {
            rollback(root)
        } else {
            apply(&project, root)
        };
        // A crash before the generation was recorded leaves nothing to roll back.
        let nothing_recorded =
            recovered.code == 2 && recovered.stderr.contains("no applied generation");
        assert!(
            recovered.code == 0 || nothing_recorded,
            "step {n}: {}",
            recovered.stderr
        );
        for name in foreign {
            assert_eq!(
                std::fs::read(root.join(name)).ok().as_deref(),
                Some(&b"not gen's\n"[..]),
                "step {n}: `{name}` is not gen's and must stay"
            );
        }
        let ours: Vec<PathBuf> = temp_files(root)
            .into_iter()
            .filter(|p| !foreign.iter().any(|f| p.ends_with(f)))
            .collect();
        assert_eq!(
            ours,
            Vec::<PathBuf>::new(),
            "step {n}: temporary files left"
        );
        if n % 2 == 0 {
            assert_eq!(
                listing(root),
                original,
                "step {n}: the rollback left files or directories behind"
            );
        }
        Trial::Crashed
    });
    assert!(crashes >= 20, "only {crashes} crash points");
}

/// The same with a plain write error: an immutable directory (`chattr +i`)
/// stops the rollback at its last file.
#[test]
fn a_rollback_stopped_by_an_immutable_directory_says_what_it_changed() {
    let project = built(SMALL);
    let work = tempfile::tempdir().expect("temporary directory");
    let root = work.path().join("root");
    std::fs::create_dir_all(root.join("etc")).expect("etc");
    let out = apply(&project, &root);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let cron = root.join("etc/cron.d");
    let chattr = |flag: &str| {
        Command::new("chattr")
            .arg(flag)
            .arg(&cron)
            .status()
            .is_ok_and(|s| s.success())
    };
    if !chattr("+i") {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI runs as root on a filesystem with chattr"
        );
        eprintln!("skipped: cannot make a directory immutable here");
        return;
    }
    let out = rollback(&root);
    assert!(chattr("-i"), "the directory must be mutable again");
    assert_eq!(out.code, 2, "{}", out.stderr);
    let text = out.stderr.replace('\n', " ");
    assert!(
        !text.contains("nothing was written")
            && text.contains("rollback of generation 1 stopped after removing 11 file(s)")
            && text.contains("Operation not permitted"),
        "{}",
        out.stderr
    );
    let out = rollback(&root);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(std::fs::read_dir(root.join("etc")).expect("etc").count(), 0);
}
