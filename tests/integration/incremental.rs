//! Incremental `gen build`: a rebuild renders and moves in only what changed,
//! and its tree is byte for byte the tree a clean build makes, whatever was
//! edited in the profiles and whatever was done to `generated/` by hand.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt as _;
use std::path::Path;

use super::support::{gen_command, repo, run};

/// A copy of the bundled profiles in a fresh project.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tmp");
    let profiles = dir.path().join("profiles");
    std::fs::create_dir_all(&profiles).expect("profiles dir");
    for entry in std::fs::read_dir(repo().join("profiles")).expect("bundled profiles") {
        let path = entry.expect("entry").path();
        std::fs::copy(&path, profiles.join(path.file_name().expect("name"))).expect("copy");
    }
    dir
}

fn build(dir: &Path) -> super::support::Run {
    run(gen_command().current_dir(dir).arg("build"))
}

/// Every entry of a tree: its kind (`d`, `f`, `l`), mode and (for files)
/// bytes, by relative path.
type Entries = BTreeMap<String, (char, u32, Vec<u8>)>;

fn entries(dir: &Path) -> Entries {
    walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .map(|e| e.expect("walk"))
        .map(|e| {
            let meta = std::fs::symlink_metadata(e.path()).expect("metadata");
            let kind = if meta.file_type().is_symlink() {
                'l'
            } else if meta.is_dir() {
                'd'
            } else {
                'f'
            };
            let bytes = if kind == 'f' {
                std::fs::read(e.path()).expect("read")
            } else {
                Vec::new()
            };
            let rel = e
                .path()
                .strip_prefix(dir)
                .expect("below")
                .display()
                .to_string();
            (rel, (kind, meta.mode() & 0o7777, bytes))
        })
        .collect()
}

/// Inode of every entry under `dir`, by relative path.
fn inodes(dir: &Path) -> BTreeMap<String, u64> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.expect("walk"))
        .map(|e| {
            let rel = e
                .path()
                .strip_prefix(dir)
                .expect("below")
                .display()
                .to_string();
            (rel, e.metadata().expect("metadata").ino())
        })
        .collect()
}

/// The tree a clean build of `profiles` makes, in a project of its own.
fn clean_build(profiles: &Path) -> Result<Entries, String> {
    let dir = tempfile::tempdir().expect("tmp");
    let to = dir.path().join("profiles");
    std::fs::create_dir_all(&to).expect("profiles dir");
    for entry in std::fs::read_dir(profiles).expect("profiles") {
        let path = entry.expect("entry").path();
        std::fs::copy(&path, to.join(path.file_name().expect("name"))).expect("copy");
    }
    let out = build(dir.path());
    if out.code == 0 {
        Ok(entries(&dir.path().join("generated")))
    } else {
        Err(out.stderr)
    }
}

#[test]
fn a_rebuild_after_one_host_changes_leaves_every_other_file_and_folder_in_place() {
    let dir = project();
    assert_eq!(build(dir.path()).code, 0);
    let generated = dir.path().join("generated");
    let before_bytes = entries(&generated);
    let before = inodes(&generated);

    let profile = dir.path().join("profiles/production.toml");
    let text = std::fs::read_to_string(&profile).expect("production");
    let changed = text.replacen(
        "cores = 4, memory = \"16GiB\", storage = \"nvme\"",
        "cores = 4, memory = \"32GiB\", storage = \"nvme\"",
        1,
    );
    assert_ne!(changed, text, "db1's memory is in the profile");
    std::fs::write(&profile, changed).expect("edit");
    let out = build(dir.path());
    assert_eq!(out.code, 0, "{}", out.stderr);

    let after_bytes = entries(&generated);
    let after = inodes(&generated);
    assert_eq!(
        Ok(&after_bytes),
        clean_build(&dir.path().join("profiles")).as_ref(),
        "the rebuilt tree is the clean build's"
    );
    let mut rewritten = Vec::new();
    for (path, ino) in &after {
        let same_bytes = before_bytes.get(path) == after_bytes.get(path);
        if same_bytes {
            assert_eq!(
                before.get(path),
                Some(ino),
                "{path}: unchanged, yet replaced by the rebuild"
            );
        } else {
            rewritten.push(path.clone());
        }
    }
    // db1's PostgreSQL settings, and every production manifest (each records
    // the profile's input hash); nothing of another profile.
    assert!(
        rewritten
            .iter()
            .any(|p| p == "production/db1/root/etc/postgresql/15/main/postgresql.conf"),
        "{rewritten:?}"
    );
    assert!(
        rewritten
            .iter()
            .all(|p| p.starts_with("production/") && (p.ends_with(".json") || p.ends_with(".conf"))),
        "{rewritten:?}"
    );
    let check = run(gen_command()
        .current_dir(dir.path())
        .args(["build", "--check"]));
    assert_eq!(check.code, 0, "{}{}", check.stdout, check.stderr);
}

/// xorshift64*: a reproducible stream of edits from one seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Profile edits: (file, from, to). Each is tried in either direction, so
/// values come and go; an edit that makes the profile invalid is fine too
/// (both builds must then refuse it).
const EDITS: &[(&str, &str, &str)] = &[
    ("production.toml", "memory = \"16GiB\", storage = \"nvme\"", "memory = \"32GiB\", storage = \"nvme\""),
    ("production.toml", "cores = 4, memory = \"8GiB\"", "cores = 8, memory = \"8GiB\""),
    ("production.toml", "roles = [\"monitoring\"]", "roles = [\"monitoring\", \"worker\"]"),
    ("production.toml", "roles = [\"pooler\", \"cache\"]", "roles = [\"pooler\"]"),
    ("production.toml", "maxmemory = \"2GiB\"", "maxmemory = \"3GiB\""),
    (
        "production.toml",
        "[hosts.mon1]",
        "[hosts.w9]\naddress = \"10.20.0.99\"\nroles = [\"worker\"]\nhardware = { cores = 2, memory = \"4GiB\", storage = \"ssd\" }\n\n[hosts.mon1]",
    ),
    ("pilot.toml", "memory = \"4GiB\"", "memory = \"8GiB\""),
    ("ha.toml", "memory = \"16GiB\"", "memory = \"64GiB\""),
];

/// Damage done to `generated/` between builds, as a person or a tool might.
fn damage(rng: &mut Rng, generated: &Path, project: &Path) {
    let files: Vec<_> = walkdir::WalkDir::new(generated)
        .into_iter()
        .map(|e| e.expect("walk"))
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .collect();
    let file = &files[rng.below(files.len())];
    match rng.below(8) {
        0 => {
            let mut bytes = std::fs::read(file).expect("read");
            bytes[0] ^= 1;
            std::fs::write(file, bytes).expect("edit by hand");
        }
        1 => {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        }
        2 => {
            let extra = file.parent().expect("parent").join("extra.conf");
            std::fs::write(extra, "x\n").expect("extra file");
        }
        3 => std::fs::remove_file(file).expect("delete"),
        4 => {
            let copy = project.join(format!("moved-{}", rng.next()));
            std::fs::rename(file, &copy).expect("move");
            std::os::unix::fs::symlink(&copy, file).expect("symlink");
        }
        5 => {
            let cache = project.join("generated.gen-cache");
            if rng.below(2) == 0 {
                let _ = std::fs::remove_file(cache);
            } else {
                let _ = std::fs::write(cache, "{\"salt\":");
            }
        }
        6 => {
            // Same bytes, new inode: what a `git checkout` of the file does.
            let bytes = std::fs::read(file).expect("read");
            std::fs::remove_file(file).expect("remove");
            std::fs::write(file, bytes).expect("rewrite");
        }
        _ => {
            let dir = file.parent().expect("parent").join("empty");
            let _ = std::fs::create_dir(dir);
        }
    }
}

#[test]
fn incremental_rebuilds_after_random_edits_equal_clean_builds() {
    let seed = std::env::var("GEN_INCREMENTAL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x9E37_79B9_7F4A_7C15_u64);
    let steps: usize = std::env::var("GEN_INCREMENTAL_STEPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(24);
    eprintln!("GEN_INCREMENTAL_SEED={seed} GEN_INCREMENTAL_STEPS={steps}");
    let mut rng = Rng(seed);
    let dir = project();
    let profiles = dir.path().join("profiles");
    let generated = dir.path().join("generated");
    assert_eq!(build(dir.path()).code, 0);
    let mut refused = 0;
    for step in 0..steps {
        let edits = 1 + rng.below(2);
        let mut what = Vec::new();
        for _ in 0..edits {
            let (file, from, to) = EDITS[rng.below(EDITS.len())];
            let path = profiles.join(file);
            let text = std::fs::read_to_string(&path).expect("profile");
            let (from, to) = if text.contains(from) {
                (from, to)
            } else {
                (to, from)
            };
            std::fs::write(&path, text.replacen(from, to, 1)).expect("edit");
            what.push(format!("{file}: {from:?} -> {to:?}"));
        }
        if rng.below(3) == 0 && generated.exists() {
            damage(&mut rng, &generated, dir.path());
            what.push("damage".into());
        }
        let out = build(dir.path());
        let clean = clean_build(&profiles);
        match clean {
            Ok(expected) => {
                assert_eq!(out.code, 0, "step {step} {what:?}: {}", out.stderr);
                let found = entries(&generated);
                if found != expected {
                    let differ: Vec<_> = expected
                        .keys()
                        .chain(found.keys())
                        .filter(|k| expected.get(*k) != found.get(*k))
                        .collect();
                    panic!("step {step} {what:?}: the rebuilt tree differs in {differ:?}");
                }
            }
            Err(_) => {
                refused += 1;
                assert_ne!(out.code, 0, "step {step} {what:?}: a refused profile built");
            }
        }
    }
    assert!(
        refused < steps,
        "every step was refused: the edits test nothing"
    );
}

/// A rebuild that adds or removes files (and the folders they leave empty)
/// records the folders as it left them: the next rebuild still updates each
/// host folder in place instead of replacing it whole.
#[test]
fn folders_touched_by_a_rebuild_are_recorded_as_it_left_them() {
    let dir = project();
    assert_eq!(build(dir.path()).code, 0);
    let generated = dir.path().join("generated");
    let profile = dir.path().join("profiles/production.toml");
    let edit = |from: &str, to: &str| {
        let text = std::fs::read_to_string(&profile).expect("production");
        let changed = text.replacen(from, to, 1);
        assert_ne!(changed, text, "{from} is in the profile");
        std::fs::write(&profile, changed).expect("edit");
        let out = build(dir.path());
        assert_eq!(out.code, 0, "{}", out.stderr);
    };
    let monitoring = "roles = [\"monitoring\"]";
    edit(monitoring, "roles = [\"monitoring\", \"worker\"]");
    let before = entries(&generated);
    let folders = inodes(&generated);
    edit("roles = [\"monitoring\", \"worker\"]", monitoring);
    let after_removal = entries(&generated);
    let gone = before
        .iter()
        .filter(|(path, (kind, _, _))| *kind == 'd' && !after_removal.contains_key(*path));
    assert!(
        gone.count() > 0,
        "dropping the worker role empties a folder"
    );

    edit(
        "cores = 4, memory = \"16GiB\", storage = \"nvme\"",
        "cores = 4, memory = \"32GiB\", storage = \"nvme\"",
    );
    let after = inodes(&generated);
    for (path, (kind, _, _)) in &after_removal {
        if *kind == 'd' {
            assert_eq!(
                after.get(path),
                folders.get(path),
                "{path}: a folder neither rebuild had reason to replace"
            );
        }
    }
    assert_eq!(
        Ok(&entries(&generated)),
        clean_build(&dir.path().join("profiles")).as_ref(),
        "the rebuilt tree is the clean build's"
    );
}
