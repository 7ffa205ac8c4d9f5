//! Check stage: PostgreSQL (`postgresql.conf`, `pg_hba.conf`) and PgBouncer
//! (`pgbouncer.ini`) against one throw-away cluster per host.
//!
//! The cluster is a server of the files' own major version (`server.rs`:
//! never another one; without it the files are skipped, a failure under
//! `--strict`), and the report names the version that ran. It is made with `initdb` and started with the generated
//! `postgresql.conf` and `pg_hba.conf`, overriding on the command line only
//! what a sandbox needs (data and socket directories, pid and ident files, the
//! logging collector, stand-in TLS files, `shared_buffers` when this
//! machine cannot map it, and a value the sandbox's build lacks a library
//! for, such as `wal_compression = lz4`, each with a note). A replica's configuration starts as a primary (no
//! `standby.signal`). Then every setting in the file is read back from the
//! running server and must equal the file's value, `pg_file_settings` and
//! `pg_hba_file_rules` must hold no errors. PgBouncer starts on the staged ini
//! (host-only paths rewritten in place) and `select 1` must go through it with
//! a SCRAM login. Everything runs in the host check's private network
//! namespace, so the generated addresses and ports are used as they are, and
//! in its PID namespace, so no server outlives gen.

mod conf;
pub(crate) mod server;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use camino::{Utf8Path, Utf8PathBuf};

use super::tool::{chown_to, run, stand_in_certificate, which, Output};
use super::{find, FileReport, HostCheck, Launcher};
use crate::sandboxes::aborting;
use gen_target::error::{Error, Result};
use gen_target::Validator;

use conf::{equivalent, located, parse_conf, parse_ini, Ini};
use server::Server;

/// The role PgBouncer logs in with when no pg_hba.conf names one.
const CHECK_ROLE: &str = "gen_check";
const CHECK_PASSWORD: &str = "gen-check-password";

pub fn check(host: &mut HostCheck, files: &mut [FileReport]) -> Result<()> {
    let conf_path = find(files, Validator::Postgresql).map(|f| f.path.clone());
    let hba_path = find(files, Validator::PgHba).map(|f| f.path.clone());
    let ini_path = find(files, Validator::Pgbouncer).map(|f| f.path.clone());
    let server = match pick_server(conf_path.as_deref().or(hba_path.as_deref())) {
        Ok(server) => server,
        Err(why) => {
            for file in files {
                file.skip(why.clone());
            }
            return Ok(());
        }
    };
    let Some(psql) = server.psql().or_else(|| which("psql")) else {
        for file in files {
            file.skip("`psql` is not installed");
        }
        return Ok(());
    };
    let (initdb, pg_ctl) = (server.initdb(), server.pg_ctl());
    let dir = host.staging.path("postgres");
    std::fs::create_dir_all(&dir).map_err(|e| Error::write(dir.clone(), e))?;
    host.staging.write(&dir.join("pg_ident.conf"), "")?;
    // Values this server's build lacks a library for run as a stand-in, in
    // the staged file itself: PostgreSQL refuses a bad value in the file even
    // when the command line overrides it.
    let stand_ins = match conf_path.as_deref() {
        Some(p) => {
            let text = std::fs::read_to_string(host.staging.generated(p)).unwrap_or_default();
            build_stand_ins(host, &server, &dir, &parse_conf(&text))?
        }
        None => Vec::new(),
    };
    let staged_conf = conf_path
        .as_deref()
        .map(|p| {
            host.staging.stage_with(p, |line| {
                let setting = parse_conf(line).pop()?;
                let dep = stand_ins
                    .iter()
                    .find(|d| d.applies(&setting.name, &setting.value))?;
                Some(format!("{} = '{}'", setting.name, dep.stand_in))
            })
        })
        .transpose()?;
    let staged_hba = hba_path
        .as_deref()
        .map(|p| host.staging.stage(p))
        .transpose()?;
    let ini = match &ini_path {
        Some(p) => Some(parse_ini(
            &std::fs::read_to_string(host.staging.generated(p)).unwrap_or_default(),
        )),
        None => None,
    };

    // ---- the cluster's settings: generated file + sandbox overrides ----
    let settings = staged_conf
        .as_ref()
        .map(|c| parse_conf(&std::fs::read_to_string(c).unwrap_or_default()))
        .unwrap_or_default();
    let value = |name: &str| {
        settings
            .iter()
            .rev()
            .find(|s| s.name == name)
            .map(|s| s.value.clone())
    };
    let mut overrides: BTreeMap<&str, String> = BTreeMap::new();
    overrides.insert("data_directory", dir.join("data").to_string());
    overrides.insert("ident_file", dir.join("pg_ident.conf").to_string());
    overrides.insert("external_pid_file", dir.join("external.pid").to_string());
    overrides.insert("unix_socket_directories", dir.to_string());
    overrides.insert("logging_collector", "off".into());
    let mut notes = Vec::new();
    for dep in &stand_ins {
        overrides.insert(dep.setting, dep.stand_in.into());
        notes.push(format!(
            "`{} = {}` ran as `{}` in the sandbox: this PostgreSQL {} build has no {}, so that value was not tried here",
            dep.setting, dep.value, dep.stand_in, server.version, dep.library
        ));
    }
    if let Some(conf) = &staged_conf {
        overrides.insert("config_file", conf.to_string());
    }
    match &staged_hba {
        Some(hba) => {
            overrides.insert("hba_file", hba.to_string());
        }
        None => {
            let sandbox_hba = dir.join("pg_hba.conf");
            host.staging.write(
                &sandbox_hba,
                "local all postgres peer\nhost all all 0.0.0.0/0 scram-sha-256\nhost all all ::/0 scram-sha-256\n",
            )?;
            overrides.insert("hba_file", sandbox_hba.to_string());
        }
    }
    if value("ssl").is_some_and(|v| conf::is_on(&v)) || value("ssl_cert_file").is_some() {
        let (cert, key) = stand_in_tls(&host.launcher, &dir)?;
        overrides.insert("ssl_cert_file", cert.to_string());
        overrides.insert("ssl_key_file", key.to_string());
        if value("ssl_ca_file").is_some() {
            overrides.insert("ssl_ca_file", cert.to_string());
        }
    }
    if value("archive_mode").is_some_and(|v| !v.eq_ignore_ascii_case("off")) {
        overrides.insert("archive_command", "/bin/true".into());
    }
    if value("huge_pages").is_some_and(|v| v.eq_ignore_ascii_case("on")) {
        overrides.insert("huge_pages", "try".into());
    }
    if let Some(buffers) = value("shared_buffers").and_then(|v| conf::memory_kb(&v)) {
        let available = conf::mem_available_kb().unwrap_or(0.0);
        let frugal = host.sandbox == super::Sandbox::Frugal && buffers > 128.0 * 1024.0;
        if buffers > available * 0.4 || frugal {
            notes.push(format!(
                "shared_buffers overridden to 128MB in the sandbox: {} is {}",
                value("shared_buffers").unwrap_or_default(),
                if frugal {
                    "not taken from a live host's services for a check"
                } else {
                    "more than this machine can map"
                }
            ));
            overrides.insert("shared_buffers", "128MB".into());
        }
    }
    if staged_conf.is_none() {
        // A pooler-only host: the cluster stands in for the database servers
        // the ini points at.
        let (hosts, port) = ini.as_ref().map(Ini::backend).unwrap_or_default();
        overrides.insert(
            "listen_addresses",
            if hosts.is_empty() {
                "localhost".into()
            } else {
                hosts.join(",")
            },
        );
        overrides.insert("port", port.unwrap_or(5432).to_string());
    }

    let port: u16 = overrides
        .get("port")
        .cloned()
        .or_else(|| value("port"))
        .and_then(|p| p.parse().ok())
        .unwrap_or(5432);
    let listen = overrides
        .get("listen_addresses")
        .cloned()
        .or_else(|| value("listen_addresses"))
        .unwrap_or_else(|| "localhost".into());
    if let Some(namespaces) = &host.namespaces {
        for address in listen.split(',') {
            namespaces.add_address(address);
        }
        if let Some(ini) = &ini {
            for address in ini.listen_addresses() {
                namespaces.add_address(&address);
            }
        }
    }

    // ---- initdb and start ----
    chown_to(&dir, "postgres").map_err(|e| Error::write(dir.clone(), e))?;
    let data = dir.join("data");
    if let Err(why) = init_cluster(host, &initdb, &data) {
        for file in files.iter_mut() {
            file.fail(why.clone());
        }
        return Ok(());
    }
    let options: Vec<String> = overrides
        .iter()
        .map(|(k, v)| format!("-c {k}={v}"))
        .collect();
    let log = dir.join("server.log");
    let mut start = host.command_as("postgres", &pg_ctl);
    start
        .arg("-D")
        .arg(&data)
        .arg("-l")
        .arg(&log)
        .args(["-w", "-t", "60", "-s", "start", "-o"])
        .arg(options.join(" "));
    let started = run(&mut start);
    let cluster = Cluster {
        launcher: host.launcher.clone(),
        pg_ctl: pg_ctl.clone(),
        data: data.clone(),
    };
    let server_log = std::fs::read_to_string(&log).unwrap_or_default();
    if !started.success {
        let hba_staged = staged_hba
            .as_ref()
            .map(|p| p.to_string())
            .unwrap_or_default();
        let mut any = false;
        for line in server_log.lines().filter(|l| is_problem(l)) {
            let message = located(&host.staging.unstage(conf::strip_log_prefix(line)));
            let kind = if !hba_staged.is_empty() && line.contains(&hba_staged)
                || line.contains("pg_hba")
            {
                Validator::PgHba
            } else {
                Validator::Postgresql
            };
            let kind = if find(files, kind).is_some() {
                kind
            } else {
                Validator::Postgresql
            };
            if let Some(file) = find(files, kind) {
                file.fail(message);
                any = true;
            }
        }
        let why = format!("PostgreSQL did not start: {}", started.lines().join("; "));
        for file in files.iter_mut() {
            file.ran(format!("{} (initdb + pg_ctl start)", server.label()));
            if !any || file.status != super::Status::Failed {
                file.fail(if file.validator == Validator::Postgresql || !any {
                    why.clone()
                } else {
                    "not checked: PostgreSQL did not start (see postgresql.conf)".into()
                });
            }
        }
        drop(cluster);
        return Ok(());
    }

    let sql = Sql {
        launcher: host.launcher.clone(),
        psql: psql.clone(),
        socket: dir.clone(),
        port,
    };
    if let Some(file) = find(files, Validator::Postgresql) {
        file.ran(format!("{} (initdb + pg_ctl start) + SHOW", server.label()));
        for note in &notes {
            file.note(note.clone());
        }
        compare_settings(host, file, &sql, &settings, &overrides);
    }
    if let Some(file) = find(files, Validator::PgHba) {
        file.ran(format!("{} + pg_hba_file_rules", server.label()));
        let out = sql.query("select line_number || ': ' || error from pg_hba_file_rules where error is not null order by line_number");
        if !out.success {
            file.fail(format!(
                "cannot read pg_hba_file_rules: {}",
                out.lines().join("; ")
            ));
        }
        for line in out.stdout.lines().filter(|l| !l.is_empty()) {
            file.fail(format!("{}:{line}", file.generated));
        }
    }
    if let (Some(ini_path), Some(ini)) = (&ini_path, &ini) {
        if let Some(file) = files.iter_mut().find(|f| &f.path == ini_path) {
            check_pgbouncer(host, file, &sql, ini, &dir, staged_hba.as_deref(), &listen)?;
        }
    }
    drop(cluster);
    Ok(())
}

/// The server that checks a host's files: the major version in the path of
/// its postgresql.conf or pg_hba.conf and no other, or, on a pooler-only host,
/// the newest installed (it only stands in for the database servers the
/// pooler points at). `Err` is why the files are not checked.
fn pick_server(pg_file: Option<&str>) -> std::result::Result<Server, String> {
    match pg_file {
        Some(path) => {
            let major = server::major_from_path(path).ok_or_else(|| {
                format!(
                    "cannot tell the PostgreSQL major version of `{path}`: gen writes these files under `/etc/postgresql/<major>/main/`"
                )
            })?;
            server::find(major).map_err(|missing| missing.message())
        }
        None => server::newest().ok_or_else(|| {
            format!(
                "no PostgreSQL server ({} to {}) to stand in for the database servers; install one: `.ci/install-postgresql.sh`",
                server::MAJORS.start(),
                server::MAJORS.end()
            )
        }),
    }
}

/// The values of the file this server's build refuses for want of a library
/// (asked of the server itself, in a scratch directory under `dir`).
fn build_stand_ins(
    host: &HostCheck,
    server: &Server,
    dir: &Utf8Path,
    settings: &[conf::Setting],
) -> Result<Vec<&'static server::BuildDependent>> {
    let wanted: Vec<&'static server::BuildDependent> = server::BUILD_DEPENDENT
        .iter()
        .filter(|dep| server.major >= dep.since)
        .filter(|dep| {
            settings
                .iter()
                .rev()
                .find(|s| s.name.eq_ignore_ascii_case(dep.setting))
                .is_some_and(|s| dep.applies(&s.name, &s.value))
        })
        .collect();
    if wanted.is_empty() {
        return Ok(wanted);
    }
    let probe = dir.join("probe");
    std::fs::create_dir_all(&probe).map_err(|e| Error::write(probe.clone(), e))?;
    std::fs::write(probe.join("postgresql.conf"), "")
        .map_err(|e| Error::write(probe.join("postgresql.conf"), e))?;
    chown_to(&probe, "postgres").map_err(|e| Error::write(probe.clone(), e))?;
    Ok(wanted
        .into_iter()
        .filter(|dep| !server.accepts(host, probe.as_std_path(), dep.setting, dep.value))
        .collect())
}

/// Reads every setting of the file back from the running server.
fn check_settings_row(row: &str) -> Option<(String, String, String)> {
    let mut parts = row.splitn(3, '\u{1f}');
    Some((
        parts.next()?.to_string(),
        parts.next()?.to_string(),
        parts.next()?.to_string(),
    ))
}

fn compare_settings(
    host: &HostCheck,
    file: &mut FileReport,
    sql: &Sql,
    settings: &[conf::Setting],
    overrides: &BTreeMap<&str, String>,
) {
    let out = sql.query("select name || chr(31) || coalesce(unit, '') || chr(31) || current_setting(name) from pg_settings");
    if !out.success {
        file.fail(format!(
            "cannot read pg_settings: {}",
            out.lines().join("; ")
        ));
        return;
    }
    let running: BTreeMap<String, (String, String)> = out
        .stdout
        .lines()
        .filter_map(check_settings_row)
        .map(|(name, unit, value)| (name.to_ascii_lowercase(), (unit, value)))
        .collect();
    let mut last: BTreeMap<String, &conf::Setting> = BTreeMap::new();
    for setting in settings {
        last.insert(setting.name.to_ascii_lowercase(), setting);
    }
    for (name, setting) in last {
        if overrides.contains_key(name.as_str()) {
            continue;
        }
        match running.get(&name) {
            None => file.fail(format!(
                "{}:{}: `{name}` is not a parameter the running server knows",
                file.generated, setting.line
            )),
            Some((unit, actual)) => {
                if !equivalent(&setting.value, actual, unit) {
                    file.fail(format!(
                        "{}:{}: `{name}` is `{}` in the file but the server runs with `{actual}`",
                        file.generated, setting.line, setting.value
                    ));
                }
            }
        }
    }
    let skip: Vec<String> = overrides.keys().map(|k| format!("'{k}'")).collect();
    let errors = sql.query(&format!(
        "select sourceline || ': ' || name || ': ' || error from pg_file_settings where error is not null and name not in ({}) order by sourceline",
        skip.join(",")
    ));
    for line in errors.stdout.lines().filter(|l| !l.is_empty()) {
        file.fail(host.staging.unstage(&format!("{}:{line}", file.generated)));
    }
}

fn check_pgbouncer(
    host: &mut HostCheck,
    file: &mut FileReport,
    sql: &Sql,
    ini: &Ini,
    dir: &Utf8Path,
    hba: Option<&Utf8Path>,
    cluster_addresses: &str,
) -> Result<()> {
    let Some(pgbouncer) = which("pgbouncer") else {
        file.skip("`pgbouncer` is not installed");
        return Ok(());
    };
    // The login: a role the generated pg_hba.conf admits over the network, so
    // the real hba rule is exercised; otherwise gen's own role.
    let (role, database) = hba
        .and_then(|h| conf::hba_login(&std::fs::read_to_string(h).unwrap_or_default()))
        .unwrap_or_else(|| (CHECK_ROLE.to_string(), "all".to_string()));
    let setup = sql.write(&format!(
        "set password_encryption = 'scram-sha-256'; create role \"{role}\" login password '{CHECK_PASSWORD}'"
    ));
    if !setup.success {
        file.fail(format!(
            "cannot create role `{role}`: {}",
            setup.lines().join("; ")
        ));
        return Ok(());
    }
    for db in ini.databases().iter().map(|d| d.dbname.clone()) {
        if database == "all" || database.split(',').any(|d| d == db) {
            let _ = sql.write(&format!("create database \"{db}\" owner \"{role}\""));
        }
    }
    let secret = sql.query(&format!(
        "select rolpassword from pg_authid where rolname = '{role}'"
    ));
    let secret = secret.stdout.trim().to_string();
    let pgb = dir.join("pgbouncer");
    std::fs::create_dir_all(&pgb).map_err(|e| Error::write(pgb.clone(), e))?;
    let mut userlist = format!("\"{role}\" \"{secret}\"\n");
    for admin in ini.admin_users() {
        userlist.push_str(&format!("\"{admin}\" \"{secret}\"\n"));
    }
    host.staging.write(&pgb.join("userlist.txt"), &userlist)?;
    let (cert, key) = stand_in_tls(&host.launcher, &pgb)?;
    let section = RefCell::new(String::new());
    let staged = host.staging.stage_with(&file.path, |line| {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            *section.borrow_mut() = trimmed.to_string();
            return None;
        }
        if *section.borrow() != "[pgbouncer]" {
            return None;
        }
        let (key_name, _) = trimmed.split_once('=')?;
        let key_name = key_name.trim();
        let value = match key_name {
            "logfile" => pgb.join("pgbouncer.log").to_string(),
            "pidfile" => pgb.join("pgbouncer.pid").to_string(),
            "unix_socket_dir" => pgb.to_string(),
            "auth_file" => pgb.join("userlist.txt").to_string(),
            "auth_hba_file" => hba.map(|h| h.to_string()).unwrap_or_default(),
            "client_tls_cert_file"
            | "server_tls_cert_file"
            | "client_tls_ca_file"
            | "server_tls_ca_file" => cert.to_string(),
            "client_tls_key_file" | "server_tls_key_file" => key.to_string(),
            // The OS user: pgbouncer runs as postgres here already.
            "user" => return Some(format!(";{trimmed}")),
            _ => return None,
        };
        Some(format!("{key_name} = {value}"))
    })?;
    chown_to(&pgb, "postgres").map_err(|e| Error::write(pgb.clone(), e))?;
    file.ran("pgbouncer + psql select 1");
    let started = run(host
        .command_as("postgres", &pgbouncer)
        .arg("-d")
        .arg(&staged));
    let log = pgb.join("pgbouncer.log");
    let pidfile = pgb.join("pgbouncer.pid");
    let deadline = Instant::now() + Duration::from_secs(5);
    while started.success && !pidfile.exists() && Instant::now() < deadline && !aborting() {
        std::thread::sleep(Duration::from_millis(20));
    }
    let bouncer = Bouncer {
        launcher: host.launcher.clone(),
        pidfile: pidfile.clone(),
    };
    if !started.success || !pidfile.exists() {
        let text = format!(
            "{}\n{}",
            started.lines().join("\n"),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        for line in text
            .lines()
            .filter(|l| l.contains("ERROR") || l.contains("FATAL") || l.contains("WARNING"))
        {
            file.fail(located(&host.staging.unstage(line)));
        }
        if file.status != super::Status::Failed {
            file.fail(format!(
                "pgbouncer did not start: {}",
                host.staging.unstage(&text)
            ));
        }
        return Ok(());
    }
    let address = ini
        .listen_addresses()
        .into_iter()
        .find(|a| !matches!(a.as_str(), "*" | "0.0.0.0" | "::"))
        .unwrap_or_else(|| "127.0.0.1".into());
    let port = ini
        .get("pgbouncer", "listen_port")
        .unwrap_or_else(|| "6432".into());
    for db in ini.databases() {
        if !(database == "all" || database.split(',').any(|d| d == db.dbname)) {
            continue;
        }
        // A pool on a database host may point at other hosts (the read-only
        // pool at the replicas): the sandbox runs only this host's cluster.
        let served =
            |h: &str| h == "localhost" || cluster_addresses.split(',').any(|a| a.trim() == h);
        if let Some(hosts) = db
            .host
            .as_deref()
            .filter(|hosts| !hosts.split(',').any(served))
        {
            file.note(format!(
                "pool `{}` points at {hosts}, other hosts than this sandbox's cluster: not queried",
                db.alias
            ));
            continue;
        }
        let mut cmd = host.command(&sql.psql);
        cmd.args([
            "-X", "-A", "-t", "-h", &address, "-p", &port, "-U", &role, "-d", &db.alias, "-c",
            "select 1",
        ])
        .env("PGPASSWORD", CHECK_PASSWORD)
        .env("PGCONNECT_TIMEOUT", "5")
        .env_remove("PGOPTIONS");
        let out = run(&mut cmd);
        if !out.success || out.stdout.trim() != "1" {
            file.fail(format!(
                "`select 1` through pgbouncer ({address}:{port}, database `{}`, SCRAM login `{role}`) failed: {}",
                db.alias,
                host.staging.unstage(&out.lines().join("; "))
            ));
        }
    }
    let log_text = std::fs::read_to_string(&log).unwrap_or_default();
    for line in log_text
        .lines()
        .filter(|l| l.contains(" ERROR ") || l.contains(" FATAL "))
    {
        file.note(host.staging.unstage(line));
    }
    drop(bouncer);
    Ok(())
}

/// Server log lines that say something went wrong.
fn is_problem(line: &str) -> bool {
    [
        "FATAL:",
        "ERROR:",
        "PANIC:",
        "LOG:  invalid",
        "LOG:  unrecognized",
        "LOG:  parameter",
        "LOG:  could not",
        "LOG:  syntax error",
        "LOG:  authentication",
        "LOG:  configuration file",
    ]
    .iter()
    .any(|p| line.contains(p))
        || line.starts_with("DETAIL:")
        || line.contains("CONTEXT:  line")
}

/// `initdb` of a throw-away cluster at `data`, as `postgres`: trust
/// authentication, no fsync, UTF-8 and the C locale. Every check that runs a
/// server (the configuration, the bootstrap SQL, pgBackRest) starts here.
pub(crate) fn init_cluster(
    host: &HostCheck,
    initdb: &std::path::Path,
    data: &Utf8Path,
) -> std::result::Result<(), String> {
    let init = run(host
        .command_as("postgres", initdb)
        .arg("-D")
        .arg(data)
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
    if init.success {
        Ok(())
    } else {
        Err(format!("initdb failed: {}", init.lines().join("; ")))
    }
}

/// A stand-in self-signed certificate and key, readable by postgres only.
fn stand_in_tls(launcher: &Launcher, dir: &Utf8Path) -> Result<(Utf8PathBuf, Utf8PathBuf)> {
    let (cert, key) = (dir.join("server.crt"), dir.join("server.key"));
    if !cert.exists() {
        let openssl = which("openssl").unwrap_or_else(|| "openssl".into());
        let _ = stand_in_certificate(launcher.command(openssl), cert.as_ref(), key.as_ref());
    }
    Ok((cert, key))
}

struct Sql {
    launcher: Launcher,
    psql: std::path::PathBuf,
    socket: Utf8PathBuf,
    port: u16,
}

impl Sql {
    /// Runs SQL as the postgres superuser over the sandbox socket (peer).
    fn query(&self, sql: &str) -> Output {
        run(&mut self.psql(sql))
    }

    /// Runs SQL that writes: with a `synchronous_standby_names` the sandbox
    /// has no standby to wait for, so commits are acknowledged locally.
    fn write(&self, sql: &str) -> Output {
        run(self
            .psql(sql)
            .env("PGOPTIONS", "-c synchronous_commit=local"))
    }

    fn psql(&self, sql: &str) -> Command {
        let mut cmd = self.launcher.command_as("postgres", &self.psql);
        cmd.args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h"])
            .arg(&self.socket)
            .arg("-p")
            .arg(self.port.to_string())
            .args(["-U", "postgres", "-d", "postgres", "-c", sql])
            .env_remove("PGOPTIONS");
        cmd
    }
}

/// Stops the sandbox cluster when dropped, whatever happened.
struct Cluster {
    launcher: Launcher,
    pg_ctl: std::path::PathBuf,
    data: Utf8PathBuf,
}

impl Drop for Cluster {
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

/// Stops PgBouncer (SIGINT: immediate shutdown) when dropped. The pid in
/// its pidfile is the sandbox PID namespace's, so `kill` runs in there.
struct Bouncer {
    launcher: Launcher,
    pidfile: Utf8PathBuf,
}

impl Drop for Bouncer {
    fn drop(&mut self) {
        let pid = std::fs::read_to_string(&self.pidfile).unwrap_or_default();
        let pid = pid.trim();
        if pid.is_empty() || !pid.chars().all(|c| c.is_ascii_digit()) {
            return;
        }
        let _ = run(self.launcher.command("kill").args(["-INT", pid]));
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.pidfile.exists() && Instant::now() < deadline && !aborting() {
            std::thread::sleep(Duration::from_millis(20));
        }
        if self.pidfile.exists() {
            let _ = run(self.launcher.command("kill").args(["-KILL", pid]));
        }
    }
}
