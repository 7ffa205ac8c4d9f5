//! `promtool test rules` on the generated alerting rules: each alert fires
//! at its threshold and stays silent below it. Thresholds and `for:` are read
//! from the generated rules, so the tests follow the profile.

use std::fmt::Write as _;
use std::process::Command;

use super::support::bundled::{Tree, PROFILES};

const RULES: &str = "/etc/prometheus/rules/atlas.yml";

/// One generated alert: its threshold (the number after the last `>`/`<`)
/// and its `for:` in seconds.
struct Alert {
    threshold: f64,
    for_secs: u64,
}

fn alerts(rules: &str) -> Vec<(String, Alert)> {
    let mut out = Vec::new();
    let lines: Vec<&str> = rules.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let Some(name) = line.trim().strip_prefix("- alert: ") else {
            continue;
        };
        let field = |key: &str| {
            lines[i + 1..]
                .iter()
                .take_while(|l| !l.trim().starts_with("- alert:"))
                .find_map(|l| {
                    l.trim()
                        .strip_prefix(key)
                        .map(|v| v.trim().trim_matches('"').to_string())
                })
        };
        let expr = field("expr:").expect("expr");
        let threshold = expr
            .rsplit([' '])
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0.0);
        let for_ = field("for:").expect("every alert has for:");
        let (n, unit) = for_.split_at(for_.len() - 1);
        let n: u64 = n.parse().expect("for: number");
        let for_secs = n * match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            other => panic!("unit {other}"),
        };
        out.push((
            name.to_string(),
            Alert {
                threshold,
                for_secs,
            },
        ));
    }
    out
}

/// Input series and the ALERTS sample expected for one alert: a `fire`
/// instance at/over the threshold, a `calm` one below it.
fn case(name: &str, a: &Alert) -> Option<(Vec<(String, String)>, String)> {
    let t = a.threshold;
    let s = |labels: &str, values: String| (labels.to_string(), values);
    let n = 200; // samples, one a minute: longer than any eval time used
    let flat = |v: f64| format!("{v}+0x{n}");
    let ramp = |per_min: f64| format!("0+{per_min}x{n}");
    Some(match name {
        "InstanceDown" => (
            vec![
                s(r#"up{job="node",instance="fire",host="h1"}"#, flat(0.0)),
                s(r#"up{job="node",instance="calm",host="h2"}"#, flat(1.0)),
            ],
            r#"{alertname="InstanceDown",alertstate="firing",severity="critical",service="node",job="node",instance="fire",host="h1"}"#.into(),
        ),
        "DiskSpaceLow" => {
            let over = 100.0 * (1.0 - t) - 1.0;
            let under = 100.0 * (1.0 - t) + 1.0;
            (
                vec![
                    s(r#"node_filesystem_avail_bytes{fstype="ext4",mountpoint="/fire",host="h1"}"#, flat(over)),
                    s(r#"node_filesystem_size_bytes{fstype="ext4",mountpoint="/fire",host="h1"}"#, flat(100.0)),
                    s(r#"node_filesystem_avail_bytes{fstype="ext4",mountpoint="/calm",host="h1"}"#, flat(under)),
                    s(r#"node_filesystem_size_bytes{fstype="ext4",mountpoint="/calm",host="h1"}"#, flat(100.0)),
                ],
                r#"{alertname="DiskSpaceLow",alertstate="firing",severity="warning",service="node",fstype="ext4",mountpoint="/fire",host="h1"}"#.into(),
            )
        }
        "HighErrorRatio" => {
            let bad_fire = (1000.0 * t * 1.5).ceil();
            let bad_calm = (1000.0 * t * 0.5).floor();
            (
                vec![
                    s(r#"http_requests_total{job="service-fire",status="500"}"#, ramp(bad_fire)),
                    s(r#"http_requests_total{job="service-fire",status="200"}"#, ramp(1000.0 - bad_fire)),
                    s(r#"http_requests_total{job="service-calm",status="500"}"#, ramp(bad_calm)),
                    s(r#"http_requests_total{job="service-calm",status="200"}"#, ramp(1000.0 - bad_calm)),
                ],
                r#"{alertname="HighErrorRatio",alertstate="firing",severity="critical",service="fire",job="service-fire"}"#.into(),
            )
        }
        "HighLatencyP95" => {
            // fire: every request slower than twice the threshold;
            // calm: every request faster than half of it.
            let (low, high) = (t / 2.0, t * 2.0);
            let b = |job: &str, le: String, v: f64| {
                s(&format!(r#"http_request_duration_seconds_bucket{{job="{job}",le="{le}"}}"#), ramp(v))
            };
            (
                vec![
                    b("service-fire", low.to_string(), 0.0),
                    b("service-fire", (t * 1.5).to_string(), 0.0),
                    b("service-fire", high.to_string(), 100.0),
                    b("service-fire", "+Inf".into(), 100.0),
                    b("service-calm", low.to_string(), 100.0),
                    b("service-calm", (t * 1.5).to_string(), 100.0),
                    b("service-calm", high.to_string(), 100.0),
                    b("service-calm", "+Inf".into(), 100.0),
                ],
                r#"{alertname="HighLatencyP95",alertstate="firing",severity="warning",service="fire",job="service-fire"}"#.into(),
            )
        }
        "PostgresReplicationLag" => (
            vec![
                s(r#"pg_replication_lag_seconds{instance="fire",host="db2"}"#, flat(t + 1.0)),
                s(r#"pg_replication_lag_seconds{instance="calm",host="db3"}"#, flat(t - 1.0)),
            ],
            r#"{alertname="PostgresReplicationLag",alertstate="firing",severity="critical",service="postgres",instance="fire",host="db2"}"#.into(),
        ),
        "PostgresConnectionSaturation" => (
            vec![
                s(r#"pg_stat_activity_count{instance="fire",host="db1",state="active"}"#, flat((t * 100.0).floor() + 1.0)),
                s(r#"pg_settings_max_connections{instance="fire",host="db1"}"#, flat(100.0)),
                s(r#"pg_stat_activity_count{instance="calm",host="db2",state="active"}"#, flat((t * 100.0).ceil() - 1.0)),
                s(r#"pg_settings_max_connections{instance="calm",host="db2"}"#, flat(100.0)),
            ],
            r#"{alertname="PostgresConnectionSaturation",alertstate="firing",severity="warning",service="postgres",instance="fire",host="db1"}"#.into(),
        ),
        "BackupTooOld" => {
            // At eval time E, age = E - v: fire is t + 600s old, calm t - 600s.
            let e = eval_secs(a) as f64;
            (
                vec![
                    s(r#"atlas_backup_last_success_timestamp_seconds{host="fire"}"#, flat(e - t - 600.0 - e)),
                    s(r#"atlas_backup_last_success_timestamp_seconds{host="calm"}"#, flat(e - t + 600.0)),
                ],
                r#"{alertname="BackupTooOld",alertstate="firing",severity="critical",service="postgres",host="fire"}"#.into(),
            )
        }
        "RestoreTestTooOld" => {
            // At eval time E, fire last restored t + 600s ago, calm t - 600s ago.
            let e = eval_secs(a) as f64;
            (
                vec![
                    s(r#"atlas_restore_last_success_timestamp_seconds{host="fire"}"#, flat(e - t - 600.0 - e)),
                    s(r#"atlas_restore_last_success_timestamp_seconds{host="calm"}"#, flat(e - t + 600.0)),
                ],
                r#"{alertname="RestoreTestTooOld",alertstate="firing",severity="warning",service="postgres",host="fire"}"#.into(),
            )
        }
        "CertificateExpiring" => {
            let e = eval_secs(a) as f64;
            (
                vec![
                    // expires t - 600s after the first sample: below the threshold throughout
                    s(r#"atlas_certificate_expiry_timestamp_seconds{site="fire"}"#, flat(t - 600.0)),
                    // still more than t ahead at eval time
                    s(r#"atlas_certificate_expiry_timestamp_seconds{site="calm"}"#, flat(e + t + 600.0)),
                ],
                r#"{alertname="CertificateExpiring",alertstate="firing",severity="warning",service="nginx",site="fire"}"#.into(),
            )
        }
        "GenPullStale" => {
            // At eval time E, fire last succeeded t + 600 s ago, calm t - 600 s ago.
            let e = eval_secs(a) as f64;
            (
                vec![
                    s(r#"gen_pull_last_success_timestamp_seconds{host="fire"}"#, flat(e - t - 600.0 - e)),
                    s(r#"gen_pull_last_success_timestamp_seconds{host="calm"}"#, flat(e - t + 600.0)),
                ],
                r#"{alertname="GenPullStale",alertstate="firing",severity="warning",service="gen-pull",host="fire"}"#.into(),
            )
        }
        "GenPullRefused" => (
            vec![
                s(r#"gen_pull_refused{host="fire"}"#, flat(1.0)),
                s(r#"gen_pull_refused{host="calm"}"#, flat(0.0)),
            ],
            r#"{alertname="GenPullRefused",alertstate="firing",severity="warning",service="gen-pull",host="fire"}"#.into(),
        ),
        _ => return None,
    })
}

/// Evaluate well after `for:` has elapsed.
fn eval_secs(a: &Alert) -> u64 {
    a.for_secs + 600
}

const REQUIRED: &[&str] = &[
    "InstanceDown",
    "HighErrorRatio",
    "HighLatencyP95",
    "PostgresReplicationLag",
    "PostgresConnectionSaturation",
    "DiskSpaceLow",
    "BackupTooOld",
    "RestoreTestTooOld",
    "CertificateExpiring",
    "GenPullStale",
    "GenPullRefused",
];

#[test]
fn every_alert_fires_at_its_threshold_and_not_below() {
    let promtool = ["/usr/bin/promtool", "/usr/local/bin/promtool"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("promtool is not installed: run .ci/install-validators.sh");
    let tree = Tree::build();
    let mut tested = std::collections::BTreeSet::new();
    for profile in PROFILES {
        for host in tree.hosts_with(profile, RULES) {
            let rules_path = tree.path(profile, &host, RULES);
            let rules = std::fs::read_to_string(&rules_path).unwrap();
            let mut yaml = format!(
                "rule_files:\n  - {:?}\nevaluation_interval: 1m\ntests:\n",
                rules_path.display().to_string()
            );
            for (name, alert) in alerts(&rules) {
                let Some((series, expected)) = case(&name, &alert) else {
                    continue;
                };
                tested.insert(name.clone());
                let eval = eval_secs(&alert);
                writeln!(yaml, "  - interval: 1m\n    input_series:").unwrap();
                for (labels, values) in &series {
                    writeln!(
                        yaml,
                        "      - series: '{labels}'\n        values: '{values}'"
                    )
                    .unwrap();
                }
                writeln!(
                    yaml,
                    "    promql_expr_test:\n      - expr: 'ALERTS{{alertname=\"{name}\",alertstate=\"firing\"}}'\n        eval_time: {eval}s\n        exp_samples:\n          - labels: 'ALERTS{}'\n            value: 1",
                    expected
                )
                .unwrap();
            }
            let test_file = tree.dir.path().join(format!("{profile}-{host}.test.yml"));
            std::fs::write(&test_file, &yaml).unwrap();
            let out = Command::new(promtool)
                .args(["test", "rules"])
                .arg(&test_file)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "promtool test rules for {profile}/{host}:\n{}\n{}\n--- test file\n{yaml}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    for name in REQUIRED {
        assert!(
            tested.contains(*name),
            "no bundled profile generates alert {name}"
        );
    }
}
