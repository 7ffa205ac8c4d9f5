//! Check stage: Redis has no config-check flag, so the real `redis-server`
//! starts on the staged file and must answer `PING`. Paths the sandbox cannot
//! use are rewritten in place (`dir`, `pidfile`, `logfile`, `unixsocket`,
//! `include`: one line for one line); TCP is turned off and supervision
//! replaced by options given after the file, which win over it. Redis reports
//! "*** FATAL CONFIG FILE ERROR ... at line N" with the offending line. The
//! server runs in the host check's PID namespace, so it cannot outlive gen.

use std::time::{Duration, Instant};

use super::tool::{chown_to, run, user_ids, which};
use super::{FileReport, HostCheck, Launcher};
use crate::sandboxes::aborting;
use gen_target::error::{Error, Result};

pub fn check(host: &mut HostCheck, files: &mut [FileReport]) -> Result<()> {
    for file in files {
        let (Some(server), Some(cli)) = (which("redis-server"), which("redis-cli")) else {
            file.skip("`redis-server` or `redis-cli` is not installed");
            continue;
        };
        let dir = host.staging.path("redis");
        std::fs::create_dir_all(&dir).map_err(|e| Error::write(dir.clone(), e))?;
        let stand_in = dir.join("included.conf");
        host.staging
            .write(&stand_in, "# stand-in for an included file\n")?;
        let staged = host.staging.stage_with(&file.path, |line| {
            let key = line.split_whitespace().next()?;
            let value = match key.to_ascii_lowercase().as_str() {
                "dir" => dir.to_string(),
                "pidfile" => dir.join("redis.pid").to_string(),
                "logfile" => dir.join("redis.log").to_string(),
                "unixsocket" => dir.join("redis.sock").to_string(),
                "include" => stand_in.to_string(),
                _ => return None,
            };
            Some(format!("{key} {value}"))
        })?;
        let user = if user_ids("redis").is_some() {
            "redis"
        } else {
            "root"
        };
        chown_to(&dir, user).map_err(|e| Error::write(dir.clone(), e))?;
        let socket = dir.join("redis.sock");
        file.ran("redis-server + redis-cli ping");
        let started = run(host
            .command_as(user, &server)
            .arg(&staged)
            .args(["--port", "0", "--unixsocket"])
            .arg(&socket)
            .args([
                "--unixsocketperm",
                "700",
                "--daemonize",
                "yes",
                "--supervised",
                "no",
            ])
            .arg("--pidfile")
            .arg(dir.join("redis.pid"))
            .arg("--logfile")
            .arg(dir.join("redis.log"))
            .args(["--shutdown-on-sigterm", "nosave force"]));
        if !started.success || !started.lines().is_empty() {
            for message in fatal_config_errors(&started.lines().join("\n"), file.generated.as_str())
            {
                file.fail(host.staging.unstage(&message));
            }
            if file.messages.is_empty() {
                file.fail("redis-server did not start");
            }
            continue;
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while !socket.exists() && Instant::now() < deadline && !aborting() {
            std::thread::sleep(Duration::from_millis(20));
        }
        let password = requirepass(&std::fs::read_to_string(&staged).unwrap_or_default());
        let mut ping = host.command(&cli);
        ping.arg("-s").arg(&socket).arg("ping");
        if let Some(password) = &password {
            ping.env("REDISCLI_AUTH", password);
        }
        let answer = run(&mut ping);
        if answer.stdout.trim() != "PONG" {
            file.fail(format!(
                "redis-server did not answer PING: {}",
                answer.lines().join("; ")
            ));
            let log = std::fs::read_to_string(dir.join("redis.log")).unwrap_or_default();
            for line in log.lines().filter(|l| l.contains(" # ")) {
                file.note(host.staging.unstage(line));
            }
        }
        stop(
            &host.launcher,
            &cli,
            &socket,
            password.as_deref(),
            &dir.join("redis.pid"),
        );
    }
    Ok(())
}

/// Stops the server: `SHUTDOWN NOSAVE`, then SIGKILL if it is still there
/// (its pidfile holds a pid of the sandbox's PID namespace: `kill` runs in
/// there).
fn stop(
    launcher: &Launcher,
    cli: &std::path::Path,
    socket: &camino::Utf8Path,
    password: Option<&str>,
    pidfile: &camino::Utf8Path,
) {
    let pid = std::fs::read_to_string(pidfile).unwrap_or_default();
    let mut shutdown = launcher.command(cli);
    shutdown.arg("-s").arg(socket).args(["shutdown", "nosave"]);
    if let Some(password) = password {
        shutdown.env("REDISCLI_AUTH", password);
    }
    let _ = run(&mut shutdown);
    let deadline = Instant::now() + Duration::from_secs(5);
    while pidfile.exists() && Instant::now() < deadline && !aborting() {
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = pid.trim();
    if pidfile.exists() && !pid.is_empty() && pid.chars().all(|c| c.is_ascii_digit()) {
        let _ = run(launcher.command("kill").args(["-KILL", pid]));
    }
}

/// The password of `requirepass` (last one wins), unquoted.
fn requirepass(conf: &str) -> Option<String> {
    conf.lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("requirepass "))
        .map(|v| v.trim().trim_matches('"').to_string())
}

/// Turns Redis's
/// ```text
/// *** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***
/// Reading the configuration file, at line 12
/// >>> 'bindz 127.0.0.1'
/// Bad directive or wrong number of arguments
/// ```
/// into `FILE:12: Bad directive or wrong number of arguments: 'bindz 127.0.0.1'`.
fn fatal_config_errors(output: &str, generated: &str) -> Vec<String> {
    let lines: Vec<&str> = output.lines().collect();
    let line_no = lines
        .iter()
        .find_map(|l| l.split_once("at line ").map(|(_, n)| n.trim().to_string()));
    let directive = lines.iter().position(|l| l.starts_with(">>> "));
    match (line_no, directive) {
        (Some(n), Some(i)) => {
            let why = lines.get(i + 1).copied().unwrap_or("invalid").trim();
            let what = lines[i].trim_start_matches(">>> ");
            vec![format!("{generated}:{n}: {why}: {what}")]
        }
        _ => lines
            .iter()
            .filter(|l| !l.trim().is_empty())
            .map(|l| l.to_string())
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::fatal_config_errors;

    #[test]
    fn maps_the_fatal_error_to_the_line() {
        let out = "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\nReading the configuration file, at line 12\n>>> 'bindz 127.0.0.1'\nBad directive or wrong number of arguments\n";
        assert_eq!(
            fatal_config_errors(out, "g/redis.conf"),
            ["g/redis.conf:12: Bad directive or wrong number of arguments: 'bindz 127.0.0.1'"]
        );
    }
}
