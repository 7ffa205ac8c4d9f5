//! A freshly built tree of the bundled profiles, and the `gen` binary run
//! from the crate root.

use std::path::PathBuf;
use std::process::{Command, Output};

pub const PROFILES: &[&str] = &["pilot", "production", "ha"];

/// `gen` run from the crate root (where `profiles/` and `templates/` are).
pub fn gen() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gen"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1");
    cmd
}

/// A temp dir holding `generated/` built from the bundled profiles.
pub struct Tree {
    pub dir: tempfile::TempDir,
}

impl Tree {
    pub fn build() -> Tree {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = gen()
            .arg("build")
            .arg("--out")
            .arg(dir.path().join("generated"))
            .output()
            .expect("run gen build");
        assert!(out.status.success(), "gen build failed: {}", text(&out));
        Tree { dir }
    }

    pub fn generated(&self) -> PathBuf {
        self.dir.path().join("generated")
    }

    /// A generated file: `file("pilot", "pilot1", "/etc/redis/redis.conf")`.
    pub fn path(&self, profile: &str, host: &str, path: &str) -> PathBuf {
        self.generated()
            .join(profile)
            .join(host)
            .join("root")
            .join(path.trim_start_matches('/'))
    }

    pub fn file(&self, profile: &str, host: &str, path: &str) -> String {
        let p = self.path(profile, host, path);
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    /// Every host of a profile that has `path`.
    pub fn hosts_with(&self, profile: &str, path: &str) -> Vec<String> {
        let mut hosts: Vec<String> = std::fs::read_dir(self.generated().join(profile))
            .expect("profile dir")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|h| self.path(profile, h, path).exists())
            .collect();
        hosts.sort();
        hosts
    }

    /// `gen check` on this tree.
    pub fn check(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_gen"))
            .current_dir(self.dir.path())
            .env("NO_COLOR", "1")
            .arg("check")
            .args(args)
            .output()
            .expect("run gen check")
    }
}

pub fn text(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
