//! Check stage, PostgreSQL: which server checks a host's files. A host's
//! `postgresql.conf` and `pg_hba.conf` name their major version in their path
//! (`/etc/postgresql/<major>/main/`, the Debian layout gen writes), and only a
//! server of that major version checks them: a setting that exists in one
//! version and not another (`io_method` is 18+) would otherwise pass or fail
//! for the wrong reason. Lookup, per major `N`: `GEN_PG_BIN_<N>` when set
//! (and nothing else), then Debian's `/usr/lib/postgresql/<N>/bin` (the build
//! hosts run), then `/opt/gen-validators/postgresql/<N>/bin`
//! (`.ci/install-postgresql.sh`).

use std::path::{Path, PathBuf};
use std::process::Command;

use super::super::tool::{is_executable, run};
use crate::HostCheck;

/// The major versions gen targets, newest last.
pub const MAJORS: std::ops::RangeInclusive<u32> = 13..=18;

/// The programs of one server installation a check needs.
const PROGRAMS: [&str; 3] = ["initdb", "pg_ctl", "postgres"];

/// One PostgreSQL server installation of a known major version.
#[derive(Debug, Clone)]
pub struct Server {
    pub bin: PathBuf,
    pub major: u32,
    /// As `postgres --version` says it, e.g. `16.14`.
    pub version: String,
}

impl Server {
    pub fn initdb(&self) -> PathBuf {
        self.bin.join("initdb")
    }

    pub fn pg_ctl(&self) -> PathBuf {
        self.bin.join("pg_ctl")
    }

    pub fn postgres(&self) -> PathBuf {
        self.bin.join("postgres")
    }

    /// The server's own `psql` when it has one (Debian's do), else `None`.
    pub fn psql(&self) -> Option<PathBuf> {
        let psql = self.bin.join("psql");
        is_executable(&psql).then_some(psql)
    }

    /// How the report names it: `postgres 16.14`.
    pub fn label(&self) -> String {
        format!("postgres {}", self.version)
    }
}

/// A setting value only a server built with an optional library accepts.
/// Debian's own build has lz4 (its 15 checks `wal_compression = lz4` as it
/// is); the portable builds `.ci/install-postgresql.sh` unpacks have neither
/// lz4 nor liburing, so such a value runs as `stand_in` in the sandbox, and
/// the report says so. The setting's name is still checked by the server.
#[derive(Debug, Clone, Copy)]
pub struct BuildDependent {
    pub setting: &'static str,
    pub value: &'static str,
    /// The first major version with this value in a full build.
    pub since: u32,
    pub library: &'static str,
    pub stand_in: &'static str,
}

pub const BUILD_DEPENDENT: &[BuildDependent] = &[
    BuildDependent {
        setting: "wal_compression",
        value: "lz4",
        since: 15,
        library: "lz4 (`--with-lz4`)",
        stand_in: "pglz",
    },
    BuildDependent {
        setting: "wal_compression",
        value: "zstd",
        since: 15,
        library: "zstd (`--with-zstd`)",
        stand_in: "pglz",
    },
    BuildDependent {
        setting: "default_toast_compression",
        value: "lz4",
        since: 14,
        library: "lz4 (`--with-lz4`)",
        stand_in: "pglz",
    },
    BuildDependent {
        setting: "io_method",
        value: "io_uring",
        since: 18,
        library: "liburing (`--with-liburing`)",
        stand_in: "worker",
    },
];

impl BuildDependent {
    /// Whether a file's `name = value` is this one.
    pub fn applies(&self, name: &str, value: &str) -> bool {
        name.eq_ignore_ascii_case(self.setting) && value.eq_ignore_ascii_case(self.value)
    }
}

impl Server {
    /// Whether this build accepts `name = value`, as the server itself says
    /// (`postgres -C` reading the empty `postgresql.conf` in `dir`, as
    /// `postgres`); only
    /// an "invalid value" answer counts as no.
    pub fn accepts(&self, host: &HostCheck, dir: &Path, name: &str, value: &str) -> bool {
        let out = run(host
            .command_as("postgres", self.postgres())
            .arg("-D")
            .arg(dir)
            .arg("-C")
            .arg(name)
            .arg("-c")
            .arg(format!("{name}={value}")));
        out.success || !out.stderr.contains("invalid value for parameter")
    }
}

/// The major version of a file gen placed under `/etc/postgresql/<major>/`
/// (native) or `/etc/<project>/postgres/<major>/` (a containerised server).
pub fn major_from_path(path: &str) -> Option<u32> {
    let rest = match path.strip_prefix("/etc/postgresql/") {
        Some(rest) => rest,
        None => {
            let (_, rest) = path.strip_prefix("/etc/")?.split_once('/')?;
            rest.strip_prefix("postgres/")?
        }
    };
    let (major, _) = rest.split_once('/')?;
    if major.is_empty() || !major.bytes().all(|b| b.is_ascii_digit()) || major.len() > 3 {
        return None;
    }
    major.parse().ok()
}

/// The environment variable that names the server directory for a major.
pub fn env_name(major: u32) -> String {
    format!("GEN_PG_BIN_{major}")
}

/// The directories searched for a major's server, in order.
pub fn candidates(major: u32) -> Vec<PathBuf> {
    match std::env::var_os(env_name(major)) {
        Some(dir) => vec![PathBuf::from(dir)],
        None => vec![
            PathBuf::from(format!("/usr/lib/postgresql/{major}/bin")),
            PathBuf::from(format!("/opt/gen-validators/postgresql/{major}/bin")),
        ],
    }
}

/// Why no server of a major version could be used: every place looked at,
/// and how to get one.
#[derive(Debug, Clone)]
pub struct Missing {
    pub major: u32,
    pub looked: Vec<String>,
}

impl Missing {
    pub fn message(&self) -> String {
        format!(
            "no PostgreSQL {major} server to check it with ({}); install one: `.ci/install-postgresql.sh` (or `apt-get install postgresql-{major}` where the distribution has it), or point `{}` at its `bin` directory",
            self.looked.join("; "),
            env_name(self.major),
            major = self.major,
        )
    }
}

/// The server of exactly this major version, or why there is none.
pub fn find(major: u32) -> Result<Server, Missing> {
    let mut looked = Vec::new();
    for dir in candidates(major) {
        match probe(&dir, major) {
            Ok(server) => return Ok(server),
            Err(why) => looked.push(why),
        }
    }
    Err(Missing { major, looked })
}

/// The newest server of any major gen targets: stands in for the database
/// servers a pooler-only host's `pgbouncer.ini` points at.
pub fn newest() -> Option<Server> {
    MAJORS.rev().find_map(|major| find(major).ok())
}

/// A server directory, if it holds the programs and its `postgres` says it
/// is this major version.
fn probe(dir: &Path, major: u32) -> Result<Server, String> {
    let shown = dir.display();
    if let Some(absent) = PROGRAMS.iter().find(|p| !is_executable(&dir.join(p))) {
        return Err(format!("`{shown}` has no `{absent}`"));
    }
    let out = run(Command::new(dir.join("postgres")).arg("--version"));
    let said = out.stdout.trim().to_string();
    let Some(version) = parse_version(&said) else {
        return Err(format!(
            "`{shown}/postgres --version` said `{said}`{}",
            if out.success {
                String::new()
            } else {
                format!(": {}", out.lines().join("; "))
            }
        ));
    };
    if version_major(&version) != Some(major) {
        return Err(format!(
            "`{shown}/postgres` is PostgreSQL {version}, not {major}"
        ));
    }
    Ok(Server {
        bin: dir.to_path_buf(),
        major,
        version,
    })
}

/// `16.14` from `postgres (PostgreSQL) 16.14` or
/// `postgres (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1)`.
fn parse_version(said: &str) -> Option<String> {
    let rest = said.split_once("(PostgreSQL) ")?.1;
    let version = rest.split_whitespace().next()?;
    version_major(version).map(|_| version.to_string())
}

/// The major version of a server version string (`16.14` -> 16, `18beta1` -> 18).
fn version_major(version: &str) -> Option<u32> {
    let digits: String = version.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn major_comes_from_the_debian_layout() {
        assert_eq!(
            major_from_path("/etc/postgresql/16/main/postgresql.conf"),
            Some(16)
        );
        assert_eq!(
            major_from_path("/etc/postgresql/13/main/pg_hba.conf"),
            Some(13)
        );
        for other in [
            "/etc/pgbouncer/pgbouncer.ini",
            "/etc/postgresql/main/postgresql.conf",
            "/etc/postgresql//main/x",
            "/etc/postgresql/1x/main/x",
            "/etc/postgresql/16",
            "/etc/postgresql/99999/main/x",
            "/etc/shop/postgres/x/postgresql.conf",
            "/etc/shop/redis/redis.conf",
            "/etc/shop/postgres/18",
        ] {
            assert_eq!(major_from_path(other), None, "{other}");
        }
    }

    #[test]
    fn major_comes_from_a_containerised_servers_directory() {
        assert_eq!(
            major_from_path("/etc/shop/postgres/18/postgresql.conf"),
            Some(18)
        );
        assert_eq!(
            major_from_path("/etc/shop/postgres/15/pg_hba.conf"),
            Some(15)
        );
    }

    #[test]
    fn versions_as_servers_print_them() {
        assert_eq!(
            parse_version("postgres (PostgreSQL) 16.14").as_deref(),
            Some("16.14")
        );
        assert_eq!(
            parse_version("postgres (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1)").as_deref(),
            Some("15.14")
        );
        assert_eq!(
            parse_version("postgres (PostgreSQL) 18beta1").as_deref(),
            Some("18beta1")
        );
        assert_eq!(version_major("18beta1"), Some(18));
        assert_eq!(parse_version("bash: postgres: not found"), None);
        assert_eq!(parse_version("postgres (PostgreSQL) x"), None);
    }

    #[test]
    fn a_directory_without_a_server_says_what_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let why = probe(dir.path(), 16).unwrap_err();
        assert!(why.contains("has no `initdb`"), "{why}");
        let missing = Missing {
            major: 16,
            looked: vec![why],
        };
        let message = missing.message();
        assert!(message.starts_with("no PostgreSQL 16 server"), "{message}");
        assert!(message.contains("GEN_PG_BIN_16"), "{message}");
        assert!(message.contains("install-postgresql.sh"), "{message}");
    }
}
