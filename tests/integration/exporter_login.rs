//! The exporters gen replaces Debian's units for log in to what they
//! watch: the real redis_exporter and pgbouncer_exporter, started as their
//! generated units say (user, `/etc/default` file, credential, runtime
//! directory, `ExecStartPre=`), against a real redis-server with
//! `requirepass` and a real PgBouncer with SCRAM authentication. Each runs
//! in a private network and mount namespace: the host's private address on
//! loopback, `/run` (and PgBouncer's directories) a fresh tmpfs, so the
//! generated paths are used as they are.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

use super::support::bundled::{text, Tree};

/// Every value of `key=` in a unit, in order.
fn unit_values(unit: &str, key: &str) -> Vec<String> {
    unit.lines()
        .filter_map(|l| l.strip_prefix(&format!("{key}=")))
        .map(str::to_string)
        .collect()
}

fn one(unit: &str, key: &str) -> String {
    let values = unit_values(unit, key);
    assert_eq!(values.len(), 1, "{key}= in\n{unit}");
    values[0].clone()
}

fn available(programs: &[&str]) -> bool {
    let missing: Vec<&&str> = programs.iter().filter(|p| !Path::new(p).exists()).collect();
    assert!(
        missing.is_empty() || std::env::var_os("CI").is_none(),
        "CI installs {missing:?} (.ci/install-deps.sh)"
    );
    if !missing.is_empty() {
        eprintln!("skipped: {missing:?} not installed");
    }
    missing.is_empty()
}

/// Runs `script` as root in a new network and mount namespace (both
/// private), with `env`; returns its output, failing the test unless it
/// succeeds.
fn in_namespaces(script: &str, env: &[(&str, String)]) -> String {
    let mut cmd = Command::new("unshare");
    cmd.args(["--net", "--mount", "--propagation", "private", "bash", "-c"])
        .arg(script);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run unshare");
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Shell functions the scripts share: the host's address on loopback, a
/// fresh `/run`, and polling the exporter's /metrics for a line.
const COMMON: &str = r#"
set -euo pipefail
ip link set lo up
ip addr add "$ADDRESS/32" dev lo
mount -t tmpfs -o mode=0755 tmpfs /run
metrics_have() {
    for _ in $(seq 1 100); do
        if curl -fsS "http://$LISTEN/metrics" >"$WORK/metrics" 2>/dev/null && grep -q "$1" "$WORK/metrics"; then
            return 0
        fi
        sleep 0.2
    done
    echo "no \`$1\` in http://$LISTEN/metrics:" >&2
    cat "$WORK/metrics" >&2 || true
    return 1
}
"#;

/// The generated unit of redis_exporter, with the generated password
/// program, gives it the password of a Redis whose `requirepass` is quoted
/// and holds a double quote and a space: `redis_up 1`.
#[test]
fn redis_exporter_logs_in_with_the_password_of_redis_password_file() {
    if !available(&[
        "/usr/bin/prometheus-redis-exporter",
        "/usr/bin/redis-server",
        "/usr/bin/curl",
    ]) {
        return;
    }
    let tree = Tree::build();
    let unit = tree.file(
        "pilot",
        "pilot1",
        "/etc/systemd/system/prometheus-redis-exporter.service",
    );
    let (credential, password_file) = one(&unit, "LoadCredential")
        .split_once(':')
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .unwrap();
    assert_eq!(password_file, "/etc/redis/atlas-requirepass.conf");
    let pre = one(&unit, "ExecStartPre");
    let (program, uri) = pre.split_once(' ').unwrap();
    let address_port = uri.strip_prefix("redis://").unwrap();
    let (address, port) = address_port.rsplit_once(':').unwrap();
    let defaults = one(&unit, "EnvironmentFile");
    let runtime = format!("/run/{}", one(&unit, "RuntimeDirectory"));
    let args = tree.file("pilot", "pilot1", &defaults);
    let listen = args
        .split_whitespace()
        .find_map(|a| a.strip_prefix("ARGS=\"--web.listen-address="))
        .unwrap()
        .to_string();

    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    std::fs::write(
        w.join("requirepass.conf"),
        "# Redis's password\nrequirepass 'pa\"ss word'\n",
    )
    .unwrap();
    let script = format!(
        r#"{COMMON}
chmod 0755 "$WORK"
cat >"$WORK/redis.conf" <<CONF
bind $ADDRESS
port $PORT
daemonize no
save ""
appendonly no
dir $WORK
include $WORK/requirepass.conf
CONF
redis-server "$WORK/redis.conf" >"$WORK/redis.log" 2>&1 &
for _ in $(seq 1 50); do
    redis-cli -h "$ADDRESS" -p "$PORT" --no-auth-warning -a 'pa"ss word' ping 2>/dev/null | grep -q PONG && break
    sleep 0.1
done
# systemd's part: the credential, readable by the unit's user only, and the
# runtime directory, the unit user's with mode 0700.
mkdir -m 0700 "$WORK/credentials"
cp "$WORK/requirepass.conf" "$WORK/credentials/$CREDENTIAL"
chown -R prometheus: "$WORK/credentials"
install -d -m 0700 -o prometheus -g prometheus "$RUNTIME"
# The program at its mode on the host (the tree's directory is root's).
install -m 0755 "$PROGRAM" "$WORK/auth"
runuser -u prometheus -- env CREDENTIALS_DIRECTORY="$WORK/credentials" RUNTIME_DIRECTORY="$RUNTIME" \
    "$WORK/auth" "$URI"
stat -c '%U %a' "$RUNTIME/password.json"
. "$DEFAULTS"
# shellcheck disable=SC2086
runuser -u prometheus -- "$BINARY" $ARGS >"$WORK/exporter.log" 2>&1 &
metrics_have '^redis_up 1'
grep '^redis_up' "$WORK/metrics"
kill %1 %2
"#
    );
    let out = in_namespaces(
        &script,
        &[
            ("ADDRESS", address.to_string()),
            ("PORT", port.to_string()),
            ("LISTEN", listen),
            ("WORK", w.display().to_string()),
            ("CREDENTIAL", credential),
            ("RUNTIME", runtime),
            (
                "PROGRAM",
                tree.path("pilot", "pilot1", program).display().to_string(),
            ),
            ("URI", uri.to_string()),
            (
                "DEFAULTS",
                tree.path("pilot", "pilot1", &defaults)
                    .display()
                    .to_string(),
            ),
            (
                "BINARY",
                unit_values(&unit, "ExecStart")[0]
                    .split(' ')
                    .next()
                    .unwrap()
                    .to_string(),
            ),
        ],
    );
    assert!(out.contains("prometheus 600"), "{out}");
    assert!(out.contains("redis_up 1"), "{out}");
}

/// The generated unit and `/etc/default` file of PgBouncer's exporter log
/// it in to a PgBouncer run from the generated pgbouncer.ini (SCRAM
/// authentication, the stats user among `stats_users`), over the Unix
/// socket, with the password from `pgbouncer.exporter_passfile` through
/// libpq's `PGPASSFILE`: its metrics come from `SHOW LISTS`, which only a
/// logged-in stats user reads (it exits at start when it cannot log in).
#[test]
fn pgbouncer_exporter_logs_in_to_the_admin_console_with_its_passfile() {
    if !available(&[
        "/usr/bin/prometheus-pgbouncer-exporter",
        "/usr/sbin/pgbouncer",
        "/usr/bin/curl",
    ]) {
        return;
    }
    let tree = Tree::build();
    let unit = tree.file(
        "pilot",
        "pilot1",
        "/etc/systemd/system/prometheus-pgbouncer-exporter.service",
    );
    assert_eq!(one(&unit, "User"), "prometheus");
    let defaults = one(&unit, "EnvironmentFile");
    let env_file = tree.file("pilot", "pilot1", &defaults);
    let passfile = env_file
        .lines()
        .find_map(|l| l.strip_prefix("PGPASSFILE="))
        .unwrap()
        .trim_matches('"')
        .to_string();
    let arg = |flag: &str| {
        env_file
            .split(|c: char| c.is_whitespace() || c == '"')
            .find_map(|a| a.strip_prefix(&format!("--{flag}=")))
            .unwrap()
            .to_string()
    };
    let (address, port) = (arg("host"), arg("port"));
    let ini = tree.file("pilot", "pilot1", "/etc/pgbouncer/pgbouncer.ini");
    assert!(
        ini.contains(&format!(
            "stats_users = postgres, {}",
            arg("pgbouncer-user")
        )),
        "{ini}"
    );
    let auth_file = ini
        .lines()
        .find_map(|l| l.strip_prefix("auth_file = "))
        .unwrap()
        .to_string();

    let work = tempfile::tempdir().unwrap();
    let script = format!(
        r#"{COMMON}
chmod 0755 "$WORK"
# PgBouncer's directories on the host, fresh and PgBouncer's (`postgres`).
install -d -m 2775 -o postgres -g postgres /run/postgresql
mount -t tmpfs -o mode=0775 tmpfs /var/log/postgresql
chown postgres:postgres /var/log/postgresql
mount -t tmpfs -o mode=0755 tmpfs "$(dirname "$AUTH_FILE")"
mount -t tmpfs -o mode=0755 tmpfs "$(dirname "$PASSFILE")" 2>/dev/null || true
cp "$INI" /etc/pgbouncer/pgbouncer.ini
printf '"%s" "%s"\n' "$USER_NAME" 'stats s3cret' >"$AUTH_FILE"
chown postgres: "$AUTH_FILE"
chmod 0640 "$AUTH_FILE"
# What the user puts on the host: the stats user's password, the exporter's only.
printf '*:*:pgbouncer:%s:%s\n' "$USER_NAME" 'stats s3cret' >"$PASSFILE"
chown prometheus: "$PASSFILE"
chmod 0600 "$PASSFILE"
runuser -u postgres -- pgbouncer /etc/pgbouncer/pgbouncer.ini >"$WORK/pgbouncer.out" 2>&1 &
for _ in $(seq 1 50); do
    [ -S /run/postgresql/.s.PGSQL.$PGB_PORT ] && break
    sleep 0.1
done
# systemd's part: the unit's EnvironmentFile= as environment, its User=.
set -a
. "$DEFAULTS"
set +a
# shellcheck disable=SC2086
runuser -u prometheus -- "$BINARY" $ARGS >"$WORK/exporter.log" 2>&1 &
if ! metrics_have '^pgbouncer_used_clients '; then
    cat "$WORK/exporter.log" /var/log/postgresql/pgbouncer.log >&2
    exit 1
fi
grep '^pgbouncer_' "$WORK/metrics"
kill %1 %2
"#
    );
    let out = in_namespaces(
        &script,
        &[
            ("ADDRESS", address.clone()),
            ("LISTEN", format!("{address}:{port}")),
            ("WORK", work.path().display().to_string()),
            ("AUTH_FILE", auth_file),
            ("PASSFILE", passfile),
            ("USER_NAME", arg("pgbouncer-user")),
            ("PGB_PORT", arg("pgbouncer-port")),
            (
                "INI",
                tree.path("pilot", "pilot1", "/etc/pgbouncer/pgbouncer.ini")
                    .display()
                    .to_string(),
            ),
            (
                "DEFAULTS",
                tree.path("pilot", "pilot1", &defaults)
                    .display()
                    .to_string(),
            ),
            (
                "BINARY",
                one(&unit, "ExecStart")
                    .split(' ')
                    .next()
                    .unwrap()
                    .to_string(),
            ),
        ],
    );
    assert!(out.contains("pgbouncer_used_clients "), "{out}");
}
