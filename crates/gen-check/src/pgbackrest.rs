//! Check stage: pgBackRest's configuration, run for real. A throw-away
//! cluster of the major the file's `pg1-path` names is made with `initdb`
//! and started with WAL archiving through pgBackRest; then `stanza-create`
//! and `check` run with the generated file, its repository replaced by a
//! local posix directory (an S3 bucket cannot be reached from a check, and
//! its credentials are on the host only) and its paths by the sandbox's.
//! Every other option (retention, compression, start-fast, logging) is
//! read by pgBackRest as written.

use camino::Utf8Path;

use super::postgres::server;
use super::tool::{chown_to, run, which};
use super::{FileReport, HostCheck};
use gen_target::error::{Error, Result};

/// Options the check replaces: the repository's and the cluster's location,
/// and where pgBackRest writes logs, locks and its spool.
fn replaced(key: &str) -> bool {
    key.starts_with("repo1-")
        || key.starts_with("pg1-")
        || ["log-path", "lock-path", "spool-path"].contains(&key)
}

/// The generated file with its repository and cluster moved into `dir`:
/// the adapted text and the stanza.
fn adapt(text: &str, dir: &Utf8Path, port: u16) -> Option<(String, String, Option<u32>)> {
    let mut out = String::new();
    let mut stanza = None;
    let mut major = None;
    let mut retention = None;
    for line in text.lines() {
        let trimmed = line.trim();
        if let Some(name) = trimmed.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
            if name != "global" {
                stanza = Some(name.to_string());
            }
            out.push_str(line);
            out.push('\n');
            if name == "global" {
                out.push_str(&format!(
                    "repo1-type=posix\nrepo1-path={dir}/repo\nlog-path={dir}/log\nlock-path={dir}/lock\nspool-path={dir}/spool\n"
                ));
            } else {
                out.push_str(&format!(
                    "pg1-path={dir}/data\npg1-port={port}\npg1-socket-path={dir}\n"
                ));
            }
            continue;
        }
        let key = trimmed.split('=').next().unwrap_or_default().trim();
        if key == "pg1-path" {
            major = trimmed.split('/').find_map(|part| part.parse::<u32>().ok());
        }
        if key == "repo1-retention-full" {
            retention = Some(trimmed.to_string());
        }
        if !replaced(key) {
            out.push_str(line);
            out.push('\n');
        }
    }
    if let Some(retention) = retention {
        out = out.replacen(
            "repo1-type=posix\n",
            &format!("repo1-type=posix\n{retention}\n"),
            1,
        );
    }
    Some((out, stanza?, major))
}

pub fn check(host: &mut HostCheck, files: &mut [FileReport]) -> Result<()> {
    for file in files {
        let staged = host.staging.stage(&file.path)?;
        let text = std::fs::read_to_string(&staged).map_err(|e| Error::read(staged.clone(), e))?;
        let Some(pgbackrest) = which("pgbackrest") else {
            file.skip("`pgbackrest` is not installed");
            continue;
        };
        let dir = host.staging.path("pgbackrest");
        let port = 54329;
        let Some((adapted, stanza, major)) = adapt(&text, &dir, port) else {
            file.fail("no stanza section ([<stanza>]) in the file");
            continue;
        };
        let Some(major) = major else {
            file.fail("`pg1-path` names no PostgreSQL major version");
            continue;
        };
        let server = match server::find(major) {
            Ok(server) => server,
            Err(missing) => {
                file.skip(missing.message());
                continue;
            }
        };
        for sub in ["repo", "log", "lock", "spool"] {
            std::fs::create_dir_all(dir.join(sub)).map_err(|e| Error::write(dir.join(sub), e))?;
        }
        let conf = dir.join("pgbackrest.conf");
        host.staging.write(&conf, &adapted)?;
        chown_to(&dir, "postgres").map_err(|e| Error::write(dir.clone(), e))?;
        if text.contains("repo1-type=s3") {
            file.note("the S3 repository is replaced by a local posix directory for the check");
        }
        let data = dir.join("data");
        if let Err(why) = super::postgres::init_cluster(host, &server.initdb(), &data) {
            file.fail(why);
            continue;
        }
        let archive = format!(
            "{} --config={conf} --stanza={stanza} archive-push %p",
            pgbackrest.display()
        );
        let options = format!(
            "-c listen_addresses='' -c port={port} -c unix_socket_directories={dir} -c wal_level=replica -c archive_mode=on -c archive_command='{archive}' -c shared_buffers=16MB"
        );
        let started = run(host
            .command_as("postgres", server.pg_ctl())
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(dir.join("server.log"))
            .args(["-w", "-t", "60", "-s", "start", "-o"])
            .arg(&options));
        let cluster = Cluster {
            host,
            pg_ctl: server.pg_ctl(),
            data: data.clone(),
        };
        if !started.success {
            file.fail(format!(
                "PostgreSQL did not start: {}",
                started.lines().join("; ")
            ));
            drop(cluster);
            continue;
        }
        file.ran(format!(
            "pgbackrest stanza-create + check against {} (local repository)",
            server.label()
        ));
        for command in ["stanza-create", "check"] {
            let out = run(cluster
                .host
                .command_as("postgres", &pgbackrest)
                .arg(format!("--config={conf}"))
                .arg(format!("--stanza={stanza}"))
                .arg(command));
            if !out.success {
                // pgBackRest logs every step; its ERROR lines say what failed.
                let lines = out.lines();
                let errors: Vec<&String> = lines.iter().filter(|l| l.contains("ERROR")).collect();
                let shown: Vec<&String> = if errors.is_empty() {
                    lines.iter().collect()
                } else {
                    errors
                };
                for line in shown {
                    file.fail(format!("{command}: {}", cluster.host.staging.unstage(line)));
                }
                break;
            }
        }
        drop(cluster);
    }
    Ok(())
}

/// Stops the throw-away cluster when dropped, whatever happened.
struct Cluster<'a> {
    host: &'a HostCheck,
    pg_ctl: std::path::PathBuf,
    data: camino::Utf8PathBuf,
}

impl Drop for Cluster<'_> {
    fn drop(&mut self) {
        if self.data.join("postmaster.pid").exists() {
            let _ = run(self
                .host
                .command_as("postgres", &self.pg_ctl)
                .arg("-D")
                .arg(&self.data)
                .args(["-m", "immediate", "-w", "-s", "stop"]));
        }
    }
}
