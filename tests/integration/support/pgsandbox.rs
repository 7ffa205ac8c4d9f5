//! A real PostgreSQL server in a temporary directory, run as `postgres`,
//! listening on 127.0.0.1 and its own socket at a port no other test uses:
//! what the data tier tests bootstrap, replicate and log in to.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Debian's PostgreSQL 15: the server and the client tools (`pg_basebackup`)
/// of the same major.
pub const BIN: &str = "/usr/lib/postgresql/15/bin";

/// Whether this machine can run the data tier tests (Debian's postgresql-15
/// and the `postgres` user). CI's install script provides both: there, a
/// missing one fails the test instead of skipping it.
pub fn available() -> bool {
    let here = Path::new(BIN).join("pg_basebackup").is_file()
        && Command::new("id")
            .arg("postgres")
            .output()
            .is_ok_and(|o| o.status.success());
    assert!(
        here || std::env::var_os("CI").is_none(),
        "CI installs postgresql-15 (.ci/install-validators.sh)"
    );
    if !here {
        eprintln!("skipped: no PostgreSQL 15 (with pg_basebackup) here");
    }
    here
}

/// A command run as `postgres` (the tests run as root, servers refuse to).
pub fn as_postgres(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut cmd = Command::new("runuser");
    cmd.args(["-u", "postgres", "--"]).arg(program);
    cmd.env_remove("PGOPTIONS");
    cmd
}

/// Runs `cmd`, failing the test with both streams when it fails.
#[track_caller]
pub fn ok(cmd: &mut Command) -> String {
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("runs");
    assert!(
        status.success(),
        "{cmd:?} failed\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&stdout),
        String::from_utf8_lossy(&stderr)
    );
    String::from_utf8_lossy(&stdout).into_owned()
}

/// `program args…` as `postgres`; fails the test with its output unless it
/// succeeds.
#[track_caller]
pub fn ok_as_postgres(program: &str, args: &[&str]) -> String {
    ok(as_postgres(program).args(args))
}

/// Stops the cluster at its data directory when dropped, so a failing test
/// leaves no server behind.
pub struct Running(pub String);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = as_postgres(format!("{BIN}/pg_ctl"))
            .args(["-D", &self.0, "-m", "immediate", "-w", "stop"])
            .output();
    }
}

/// A port nothing listens on now (the kernel's pick; the server binds it
/// right after).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A directory `postgres` owns (created if missing).
pub fn postgres_dir(path: &Path) {
    std::fs::create_dir_all(path).unwrap();
    own(path);
}

/// Gives `path` (and what is below it) to `postgres`.
pub fn own(path: &Path) {
    ok(Command::new("chown")
        .args(["-R", "postgres:postgres"])
        .arg(path));
}

/// One running server; stopped (immediately) when dropped.
pub struct PgServer {
    pub data: PathBuf,
    pub socket: PathBuf,
    pub port: u16,
}

impl PgServer {
    /// `initdb` in `dir/data` (unless `init` is false: the data directory is
    /// already there, e.g. a base backup) and start with `conf` appended to
    /// its postgresql.conf and `hba` as its pg_hba.conf.
    pub fn start(dir: &Path, init: bool, conf: &str, hba: &str) -> PgServer {
        postgres_dir(dir);
        let data = dir.join("data");
        if init {
            ok(as_postgres(Path::new(BIN).join("initdb"))
                .arg("-D")
                .arg(&data)
                .args([
                    "-A",
                    "trust",
                    "-U",
                    "postgres",
                    "--no-sync",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                ]));
        }
        let port = free_port();
        let mut text = std::fs::read_to_string(data.join("postgresql.conf")).unwrap_or_default();
        text.push_str(&format!(
            "\nlisten_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{}'\nfsync = off\n{conf}\n",
            dir.display()
        ));
        std::fs::write(data.join("postgresql.conf"), text).unwrap();
        std::fs::write(data.join("pg_hba.conf"), hba).unwrap();
        ok(Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(&data));
        ok(as_postgres(Path::new(BIN).join("pg_ctl"))
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(dir.join("server.log"))
            .args(["-w", "-t", "60", "-s", "start"]));
        PgServer {
            data,
            socket: dir.to_path_buf(),
            port,
        }
    }

    /// psql as `postgres` over the socket, in `database`.
    pub fn psql(&self, database: &str) -> Command {
        let mut cmd = as_postgres(Path::new(BIN).join("psql"));
        cmd.args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h"])
            .arg(&self.socket)
            .arg("-p")
            .arg(self.port.to_string())
            .args(["-U", "postgres", "-d", database]);
        cmd
    }

    /// The rows `query` returns, `|`-separated, trimmed.
    #[track_caller]
    pub fn query(&self, database: &str, query: &str) -> String {
        ok(self.psql(database).args(["-c", query]))
            .trim()
            .to_string()
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let _ = as_postgres(Path::new(BIN).join("pg_ctl"))
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "-w", "-s", "stop"])
            .output();
    }
}
