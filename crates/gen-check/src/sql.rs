//! Check stage: the primary's bootstrap script (`bootstrap.sql`), run twice
//! with `psql -f` against a throw-away cluster of the host's PostgreSQL
//! major version (the one its `postgresql.conf` path names; `server.rs`
//! finds it). The first run must succeed; the second must change nothing:
//! a snapshot of the catalog (roles and their attributes, memberships,
//! databases with owners and privileges, extensions, schema and default
//! privileges per database, replication slots) is taken after each run and
//! must be equal. The password files the script names are stood in by
//! files of the sandbox, and the server logs every statement (`log_statement
//! = all`): a stand-in password found in the log is a failure, since on the
//! host it would be the real one. An extension this server does not ship
//! (pgvector in a build without it) is not created, and the report says so.

use std::collections::BTreeMap;

use camino::{Utf8Path, Utf8PathBuf};

use crate::postgres::server::{self, Server};
use crate::tool::{chown_to, run, which};
use crate::{FileReport, HostCheck};
use gen_target::error::{Error, Result};

/// How the script reads a password: `\set password \`cat FILE\``.
const PASSWORD_LINE: &str = "\\set password `cat ";
/// How the script creates an extension.
const EXTENSION_LINE: &str = "CREATE EXTENSION IF NOT EXISTS ";

pub fn check(host: &mut HostCheck, files: &mut [FileReport]) -> Result<()> {
    for file in files.iter_mut() {
        check_file(host, file)?;
    }
    Ok(())
}

fn check_file(host: &mut HostCheck, file: &mut FileReport) -> Result<()> {
    let Some(major) = host.managed.iter().find_map(|p| server::major_from_path(p)) else {
        file.skip("no postgresql.conf on this host names the PostgreSQL major version to run the script with");
        return Ok(());
    };
    let server = match server::find(major) {
        Ok(server) => server,
        Err(missing) => {
            file.skip(missing.message());
            return Ok(());
        }
    };
    let Some(psql) = server.psql().or_else(|| which("psql")) else {
        file.skip("`psql` is not installed");
        return Ok(());
    };
    let dir = host.staging.path("bootstrap-sql");
    std::fs::create_dir_all(&dir).map_err(|e| Error::write(dir.clone(), e))?;
    let text = std::fs::read_to_string(host.staging.generated(&file.path))
        .map_err(|e| Error::read(host.staging.generated(&file.path), e))?;

    // Each password file the script names becomes a sandbox file.
    let mut stand_ins: BTreeMap<String, (Utf8PathBuf, String)> = BTreeMap::new();
    for line in text.lines() {
        if let Some(path) = password_file(line) {
            let n = stand_ins.len();
            stand_ins.entry(path.to_string()).or_insert_with(|| {
                (
                    dir.join(format!("password-{n}")),
                    format!("gen-check-stand-in-password-{n}"),
                )
            });
        }
    }
    for (stand_in, password) in stand_ins.values() {
        host.staging.write(stand_in, &format!("{password}\n"))?;
    }

    let cluster = match Sandbox::start(host, &server, &dir) {
        Ok(cluster) => cluster,
        Err(why) => {
            file.ran(format!("{} (initdb + pg_ctl start)", server.label()));
            file.fail(why);
            return Ok(());
        }
    };
    let sql = Psql {
        psql,
        socket: dir.clone(),
    };
    file.ran(format!(
        "{} + psql -f, twice (the second run must change nothing)",
        server.label()
    ));
    let available: Vec<String> = sql
        .query(host, "postgres", "select name from pg_available_extensions")
        .stdout
        .lines()
        .map(str::to_string)
        .collect();
    let mut missing: Vec<String> = Vec::new();
    for line in text.lines() {
        if let Some(ext) = extension(line) {
            if !available.iter().any(|a| a == &ext) && !missing.contains(&ext) {
                missing.push(ext);
            }
        }
    }
    for ext in &missing {
        file.note(format!(
            "extension `{ext}` is not available in the check server ({}): its `CREATE EXTENSION` was not run here; on the host it comes from its Debian package or the container image",
            server.label()
        ));
    }
    let staged = host.staging.stage_with(&file.path, |line| {
        if let Some(path) = password_file(line) {
            let (stand_in, _) = stand_ins.get(path)?;
            return Some(format!("{PASSWORD_LINE}{stand_in}`"));
        }
        let ext = extension(line)?;
        missing
            .contains(&ext)
            .then(|| format!("-- not available in the check server: {line}"))
    })?;
    chown_to(&dir, "postgres").map_err(|e| Error::write(dir.clone(), e))?;
    for (stand_in, _) in stand_ins.values() {
        chown_to(stand_in, "postgres").map_err(|e| Error::write(stand_in.clone(), e))?;
    }

    let mut snapshots = Vec::new();
    for run_number in 1..=2 {
        let out = sql.file(host, &staged);
        if !out.success {
            file.fail(format!(
                "run {run_number} of the script failed: {}",
                host.staging.unstage(&out.lines().join("; "))
            ));
            return Ok(());
        }
        snapshots.push(snapshot(host, &sql));
    }
    if let [first, second] = snapshots.as_slice() {
        for change in differences(first, second) {
            file.fail(format!("the second run changed the catalog: {change}"));
        }
    }
    let log = std::fs::read_to_string(cluster.log()).unwrap_or_default();
    for (path, (_, password)) in &stand_ins {
        if log.contains(password.as_str()) {
            file.fail(format!(
                "the password read from `{path}` reached the server log: the script must turn statement logging off before it sets passwords"
            ));
        }
    }
    drop(cluster);
    Ok(())
}

/// The password file of a `\set password \`cat FILE\`` line.
fn password_file(line: &str) -> Option<&str> {
    line.strip_prefix(PASSWORD_LINE)?.strip_suffix('`')
}

/// The extension of a `CREATE EXTENSION IF NOT EXISTS "name";` line.
fn extension(line: &str) -> Option<String> {
    let name = line.strip_prefix(EXTENSION_LINE)?.strip_suffix(';')?;
    let name = name.strip_prefix('"')?.strip_suffix('"')?;
    Some(name.replace("\"\"", "\""))
}

/// The catalog state the bootstrap may change, as sorted lines.
fn snapshot(host: &HostCheck, sql: &Psql) -> Vec<String> {
    let global = [
        ("role", "select rolname, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, rolreplication, rolconnlimit, rolbypassrls, rolpassword is not null, rolvaliduntil from pg_authid"),
        ("member", "select r.rolname, m.rolname, a.admin_option from pg_auth_members a join pg_roles r on r.oid = a.member join pg_roles m on m.oid = a.roleid"),
        ("database", "select datname, pg_get_userbyid(datdba), datacl::text from pg_database"),
        ("slot", "select slot_name, slot_type from pg_replication_slots"),
    ];
    let local = [
        ("extension", "select extname, extversion from pg_extension"),
        ("schema", "select nspname, pg_get_userbyid(nspowner), nspacl::text from pg_namespace where nspname = 'public'"),
        ("default privileges", "select pg_get_userbyid(defaclrole), defaclobjtype, defaclacl::text from pg_default_acl"),
        ("relation", "select relname, relacl::text from pg_class where relnamespace = 'public'::regnamespace"),
    ];
    let mut lines = Vec::new();
    for (what, query) in global {
        for row in sql.query(host, "postgres", query).stdout.lines() {
            lines.push(format!("{what} {row}"));
        }
    }
    let databases = sql.query(
        host,
        "postgres",
        "select datname from pg_database where datallowconn",
    );
    for db in databases.stdout.lines() {
        for (what, query) in local {
            for row in sql.query(host, db, query).stdout.lines() {
                lines.push(format!("{db}: {what} {row}"));
            }
        }
    }
    lines.sort();
    lines
}

/// What differs between two snapshots, one line per change.
fn differences(first: &[String], second: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for line in first.iter().filter(|l| !second.contains(l)) {
        out.push(format!("was `{line}`"));
    }
    for line in second.iter().filter(|l| !first.contains(l)) {
        out.push(format!("now `{line}`"));
    }
    out
}

/// psql as `postgres` over the sandbox's socket.
struct Psql {
    psql: std::path::PathBuf,
    socket: Utf8PathBuf,
}

impl Psql {
    fn command(&self, host: &HostCheck, database: &str) -> std::process::Command {
        let mut cmd = host.command_as("postgres", &self.psql);
        cmd.args([
            "-X",
            "-q",
            "-A",
            "-t",
            "-F",
            "|",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
        ])
        .arg(&self.socket)
        .args(["-U", "postgres", "-d", database])
        .env_remove("PGOPTIONS");
        cmd
    }

    fn query(&self, host: &HostCheck, database: &str, query: &str) -> crate::tool::Output {
        run(self.command(host, database).args(["-c", query]))
    }

    fn file(&self, host: &HostCheck, script: &Utf8Path) -> crate::tool::Output {
        run(self.command(host, "postgres").arg("-f").arg(script))
    }
}

/// The throw-away cluster: stopped when dropped, whatever happened.
struct Sandbox {
    launcher: crate::Launcher,
    pg_ctl: std::path::PathBuf,
    data: Utf8PathBuf,
    log: Utf8PathBuf,
}

impl Sandbox {
    /// `initdb` and start, listening on the socket in `dir` only, logging
    /// every statement.
    fn start(
        host: &HostCheck,
        server: &Server,
        dir: &Utf8Path,
    ) -> std::result::Result<Sandbox, String> {
        chown_to(dir, "postgres").map_err(|e| format!("cannot prepare `{dir}`: {e}"))?;
        let data = dir.join("data");
        crate::postgres::init_cluster(host, &server.initdb(), &data)?;
        let log = dir.join("server.log");
        let options = format!(
            "-c listen_addresses= -c unix_socket_directories={dir} -c logging_collector=off -c log_statement=all -c fsync=off"
        );
        let started = run(host
            .command_as("postgres", server.pg_ctl())
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(&log)
            .args(["-w", "-t", "60", "-s", "start", "-o"])
            .arg(options));
        let sandbox = Sandbox {
            launcher: host.launcher.clone(),
            pg_ctl: server.pg_ctl(),
            data,
            log,
        };
        if !started.success {
            return Err(format!(
                "PostgreSQL did not start: {}",
                started.lines().join("; ")
            ));
        }
        Ok(sandbox)
    }

    fn log(&self) -> &Utf8Path {
        &self.log
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if self.data.join("postmaster.pid").exists() {
            let _ = run(self
                .launcher
                .command_as("postgres", &self.pg_ctl)
                .arg("-D")
                .arg(&self.data)
                .args(["-m", "immediate", "-w", "-s", "stop"]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_lines_the_check_rewrites_are_recognised() {
        assert_eq!(
            password_file("\\set password `cat /etc/shop/secrets/db`"),
            Some("/etc/shop/secrets/db")
        );
        assert_eq!(password_file("\\set other `cat /x`"), None);
        assert_eq!(
            extension("CREATE EXTENSION IF NOT EXISTS \"uuid-ossp\";").as_deref(),
            Some("uuid-ossp")
        );
        assert_eq!(extension("-- CREATE EXTENSION IF NOT EXISTS \"x\";"), None);
        assert_eq!(
            differences(&["a".into(), "b".into()], &["a".into(), "c".into()]),
            vec!["was `b`".to_string(), "now `c`".to_string()]
        );
    }
}
