//! What the generated files say, asserted on their text for every bundled
//! profile (not snapshots): the production-grade points each artifact must hold.

use super::support::bundled::{Tree, PROFILES};

fn each(tree: &Tree, path: &str, mut f: impl FnMut(&str, &str, &str)) -> usize {
    let mut n = 0;
    for profile in PROFILES {
        for host in tree.hosts_with(profile, path) {
            f(profile, &host, &tree.file(profile, &host, path));
            n += 1;
        }
    }
    assert!(n > 0, "no profile generates {path}");
    n
}

fn has(text: &str, needle: &str, what: &str) {
    assert!(text.contains(needle), "{what}: missing `{needle}`");
}

#[test]
fn nginx_site_is_hardened() {
    let tree = Tree::build();
    each(&tree, "/etc/nginx/sites-enabled/atlas.conf", |p, h, t| {
        let w = format!("{p}/{h} nginx");
        has(t, "return 301 https://$host$request_uri;", &w);
        has(t, "ssl_protocols TLSv1.2 TLSv1.3;", &w);
        has(t, "ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305;", &w);
        has(t, "ssl_prefer_server_ciphers off;", &w);
        has(t, "ssl_session_tickets off;", &w);
        has(
            t,
            "add_header Strict-Transport-Security \"max-age=63072000\" always;",
            &w,
        );
        for header in [
            "X-Content-Type-Options",
            "X-Frame-Options",
            "Referrer-Policy",
        ] {
            has(t, &format!("add_header {header} "), &w);
        }
        for header in [
            "Host $host",
            "X-Real-IP $remote_addr",
            "X-Forwarded-For $proxy_add_x_forwarded_for",
            "X-Forwarded-Proto $scheme",
        ] {
            has(t, &format!("proxy_set_header {header};"), &w);
        }
        assert!(
            t.lines()
                .filter(|l| l.trim_start().starts_with("server ") && l.contains(':'))
                .all(|l| l.contains("max_fails=") && l.contains("fail_timeout=")),
            "{w}: upstream servers without max_fails/fail_timeout"
        );
        has(t, "keepalive 32;", &w);
        has(t, "client_max_body_size ", &w);
        has(t, "limit_req_zone $binary_remote_addr zone=", &w);
        let health = t
            .split("location = /health {")
            .nth(1)
            .expect("health location");
        has(
            health.split('}').next().unwrap_or_default(),
            "access_log off;",
            &w,
        );
        let metrics = t
            .split("location /metrics {")
            .nth(1)
            .expect("metrics location");
        let metrics = metrics.split('}').next().unwrap_or_default();
        has(metrics, "allow ", &w);
        has(metrics, "deny all;", &w);
        assert!(
            metrics.find("allow ") < metrics.find("deny all;"),
            "{w}: deny all before allow"
        );
    });
}

fn settings(conf: &str) -> std::collections::BTreeMap<String, String> {
    conf.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once(" = "))
        .map(|(k, v)| {
            (
                k.trim().to_string(),
                v.trim().trim_matches('\'').to_string(),
            )
        })
        .collect()
}

#[test]
fn postgresql_conf_logs_and_replicates_per_role() {
    let tree = Tree::build();
    each(
        &tree,
        "/etc/postgresql/15/main/postgresql.conf",
        |p, h, t| {
            let s = settings(t);
            let w = format!("{p}/{h} postgresql.conf");
            for key in [
                "log_line_prefix",
                "log_min_duration_statement",
                "log_checkpoints",
                "log_connections",
                "log_disconnections",
                "log_lock_waits",
                "log_temp_files",
            ] {
                assert!(s.contains_key(key), "{w}: no {key}");
            }
            assert_eq!(s["wal_level"], "replica", "{w}");
            let replica = t.contains("(replica)") || s.contains_key("primary_conninfo");
            if replica {
                assert_eq!(
                    s.get("hot_standby").map(String::as_str),
                    Some("on"),
                    "{w}: replica without hot_standby"
                );
            } else {
                let senders: u32 = s["max_wal_senders"].parse().expect("max_wal_senders");
                assert!(senders >= 2, "{w}: max_wal_senders {senders}");
            }
            if p == "ha" && !replica {
                assert!(
                    s.get("synchronous_standby_names")
                        .is_some_and(|v| !v.is_empty()),
                    "{w}: ha primary without synchronous_standby_names"
                );
            }
        },
    );
}

#[test]
fn pg_hba_is_scram_only_and_replication_only_from_replicas() {
    let tree = Tree::build();
    each(&tree, "/etc/postgresql/15/main/pg_hba.conf", |p, h, t| {
        let replicas: Vec<String> = ["db2", "db3"]
            .iter()
            .filter(|r| {
                tree.path(p, r, "/etc/postgresql/15/main/postgresql.conf")
                    .exists()
            })
            .map(|r| r.to_string())
            .collect();
        for line in t
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f[0] == "local" {
                assert_eq!(f.last(), Some(&"peer"), "{p}/{h}: {line}");
                continue;
            }
            assert_eq!(f.last(), Some(&"scram-sha-256"), "{p}/{h}: {line}");
            assert!(
                f[3].ends_with("/32") || f[3].ends_with("/128"),
                "{p}/{h}: not a single address: {line}"
            );
            if f[1] == "replication" {
                assert!(
                    !replicas.is_empty(),
                    "{p}/{h}: replication rule without replicas: {line}"
                );
            }
        }
    });
}

#[test]
fn pgbouncer_uses_scram_and_pools_fit_max_connections() {
    let tree = Tree::build();
    each(&tree, "/etc/pgbouncer/pgbouncer.ini", |p, h, t| {
        let w = format!("{p}/{h} pgbouncer.ini");
        has(t, "auth_type = scram-sha-256", &w);
        let get = |k: &str| -> u32 {
            t.lines()
                .find_map(|l| l.strip_prefix(&format!("{k} = ")))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or_else(|| panic!("{w}: no {k}"))
        };
        let per_pooler = get("max_db_connections");
        assert!(
            get("default_pool_size") + get("reserve_pool_size") <= per_pooler,
            "{w}"
        );
        let poolers = tree.hosts_with(p, "/etc/pgbouncer/pgbouncer.ini").len() as u32;
        let primary = ["pilot1", "db1"]
            .iter()
            .find(|d| {
                tree.path(p, d, "/etc/postgresql/15/main/postgresql.conf")
                    .exists()
            })
            .expect("primary");
        let max: u32 = settings(&tree.file(p, primary, "/etc/postgresql/15/main/postgresql.conf"))
            ["max_connections"]
            .parse()
            .unwrap();
        assert!(
            poolers * per_pooler < max,
            "{w}: {poolers} x {per_pooler} >= max_connections {max}"
        );
    });
}

#[test]
fn compose_services_are_locked_down() {
    let tree = Tree::build();
    each(&tree, "/etc/atlas/compose.yaml", |p, h, t| {
        let w = format!("{p}/{h} compose");
        let services = t.split("\nservices:").nth(1).expect("services");
        let services = services.split("\nnetworks:").next().unwrap_or(services);
        for service in services.split("\n  \"").skip(1) {
            for key in [
                "read_only: true",
                "cap_drop: [\"ALL\"]",
                "restart: ",
                "healthcheck:",
                "limits:",
                "memory:",
                "no-new-privileges:true",
            ] {
                has(service, key, &w);
            }
            if service.contains("depends_on:") {
                has(service, "condition: service_healthy", &w);
            }
        }
        has(t, "internal: true", &w);
        has(t, "secrets:", &w);
        has(t, "/run/secrets/", &w);
    });
}

#[test]
fn systemd_units_restart_and_are_hardened() {
    let tree = Tree::build();
    for profile in PROFILES {
        for host in tree.hosts_with(profile, "/etc/systemd/system") {
            let dir = tree.path(profile, &host, "/etc/systemd/system");
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                let t = std::fs::read_to_string(&path).unwrap();
                let w = path.display().to_string();
                if t.contains("Type=oneshot") || path.extension().is_some_and(|e| e == "timer") {
                    if t.contains("[Service]") {
                        has(&t, "NoNewPrivileges=yes", &w);
                        has(&t, "PrivateTmp=yes", &w);
                    }
                    continue;
                }
                has(&t, "Restart=on-failure", &w);
                has(&t, "NoNewPrivileges=yes", &w);
            }
        }
    }
}

#[test]
fn cron_jobs_lock_and_log() {
    let tree = Tree::build();
    each(&tree, "/etc/cron.d/atlas", |p, h, t| {
        for line in t
            .lines()
            .filter(|l| l.starts_with(|c: char| c.is_ascii_digit() || c == '*' || c == '@'))
        {
            assert!(
                line.contains("flock --nonblock"),
                "{p}/{h}: no lock: {line}"
            );
            assert!(
                line.contains("| /usr/bin/logger --tag "),
                "{p}/{h}: not logged: {line}"
            );
        }
    });
}

#[test]
fn every_alert_holds_has_severity_and_explains_itself() {
    let tree = Tree::build();
    each(&tree, "/etc/prometheus/rules/atlas.yml", |p, h, t| {
        for alert in t.split("- alert: ").skip(1) {
            let name = alert.lines().next().unwrap_or_default();
            for key in ["for: ", "severity: ", "summary: ", "description: "] {
                assert!(alert.contains(key), "{p}/{h}: alert {name} has no {key}");
            }
        }
    });
}
