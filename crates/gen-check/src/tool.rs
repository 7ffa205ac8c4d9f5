//! Check stage support: finding the real validator programs and running them
//! (in a sandbox's namespaces: see [`crate::namespaces`]).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use camino::Utf8Path;

/// Where Debian puts programs that are not on a user's `PATH`.
const EXTRA_DIRS: &[&str] = &[
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
    "/usr/lib/postgresql/15/bin",
    "/opt/gen-validators/venv/bin",
];

/// The absolute path of `program`, if it is installed.
pub fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(EXTRA_DIRS.iter().map(PathBuf::from))
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

pub fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// What a finished program said.
#[derive(Debug, Clone)]
pub struct Output {
    pub success: bool,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// stdout and stderr, trimmed, one message per non-empty line.
    pub fn lines(&self) -> Vec<String> {
        self.stdout
            .lines()
            .chain(self.stderr.lines())
            .map(str::trim_end)
            .filter(|l| !l.trim().is_empty())
            .map(str::to_string)
            .collect()
    }
}

/// Runs a command to completion; a program that cannot be started is an
/// output with the reason in `stderr`, so the file fails with that reason.
/// Once gen is stopping on a signal, nothing more is started.
pub fn run(cmd: &mut Command) -> Output {
    if crate::sandboxes::aborting() {
        return Output {
            success: false,
            code: None,
            stdout: String::new(),
            stderr: "not run: gen is stopping".into(),
        };
    }
    cmd.stdin(Stdio::null());
    match cmd.output() {
        Ok(out) => Output {
            success: out.status.success(),
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        },
        Err(e) => Output {
            success: false,
            code: None,
            stdout: String::new(),
            stderr: format!("cannot run {:?}: {e}", cmd.get_program()),
        },
    }
}

/// A user's uid and gid from `/etc/passwd`.
pub fn user_ids(user: &str) -> Option<(u32, u32)> {
    let passwd = fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        (fields.next()? == user).then_some(())?;
        let _password = fields.next()?;
        let uid = fields.next()?.parse().ok()?;
        let gid = fields.next()?.parse().ok()?;
        Some((uid, gid))
    })
}

/// Gives `path` (recursively) to `user`.
pub fn chown_to(path: &Utf8Path, user: &str) -> std::io::Result<()> {
    let (uid, gid) = user_ids(user).ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::NotFound, format!("no user `{user}`"))
    })?;
    for entry in walkdir::WalkDir::new(path) {
        let entry = entry.map_err(std::io::Error::other)?;
        std::os::unix::fs::chown(entry.path(), Some(uid), Some(gid))?;
    }
    Ok(())
}

/// A throw-away self-signed P-256 certificate and key for a sandbox that
/// must load TLS files the real host has and this machine does not.
/// `openssl` is the command to run, in the sandbox.
pub fn stand_in_certificate(
    mut openssl: Command,
    cert: &std::path::Path,
    key: &std::path::Path,
) -> Output {
    let made = run(openssl
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args(["-nodes", "-days", "2", "-subj", "/CN=gen-check", "-keyout"])
        .arg(key)
        .arg("-out")
        .arg(cert));
    use std::os::unix::fs::PermissionsExt as _;
    let _ = std::fs::set_permissions(key, std::fs::Permissions::from_mode(0o600));
    made
}
