//! Alerts reach someone: Alertmanager on the monitoring hosts, configured
//! from `[alerting]` and checked by `amtool`; every generated rule routes to
//! the receivers the profile's routes name (asked of `amtool config routes
//! test`); rules nobody receives are refused; secrets stay in files; the
//! exporters listen where Prometheus scrapes them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use super::support::bundled::{self, text, Tree};
use super::support::{Project, SMALL};

use super::support::FIXTURES;

fn fixture_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Builds a fixture into a temp dir: `(dir, generated/<profile>)`.
fn build_fixture(name: &str) -> (tempfile::TempDir, PathBuf) {
    let out = tempfile::tempdir().expect("out");
    let built = bundled::gen()
        .arg("-C")
        .arg(fixture_dir(name))
        .args(["build", "--out"])
        .arg(out.path())
        .output()
        .expect("gen build");
    assert!(built.status.success(), "{}", text(&built));
    let profile = out.path().join(name);
    (out, profile)
}

fn hosts(profile_dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(profile_dir)
        .expect("profile dir")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    out.sort();
    out
}

fn yaml(path: &Path) -> serde_norway::Value {
    serde_norway::from_str(&std::fs::read_to_string(path).expect("read yaml")).expect("yaml")
}

/// (alertname, severity, service) of every rule in a generated rules file;
/// `service` only where it is a literal (not a Prometheus template).
fn rules(path: &Path) -> Vec<(String, String, Option<String>)> {
    let doc = yaml(path);
    let mut out = Vec::new();
    for group in doc["groups"].as_sequence().expect("groups") {
        for rule in group["rules"].as_sequence().expect("rules") {
            let labels = &rule["labels"];
            let service = labels["service"]
                .as_str()
                .filter(|s| !s.contains("{{"))
                .map(str::to_string);
            out.push((
                rule["alert"].as_str().expect("alert").to_string(),
                labels["severity"].as_str().expect("severity").to_string(),
                service,
            ));
        }
    }
    out
}

/// The receivers the profile's `[[alerting.routes]]` name for an alert, by
/// the design's semantics (in order, first match wins unless `continue`;
/// none → `default_receiver`), read from the profile TOML itself.
fn expected_receivers(profile: &toml::Value, severity: &str, service: Option<&str>) -> Vec<String> {
    let alerting = &profile["alerting"];
    let list = |v: Option<&toml::Value>| -> Vec<String> {
        v.and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut out = Vec::new();
    for route in alerting
        .get("routes")
        .and_then(|r| r.as_array())
        .cloned()
        .unwrap_or_default()
    {
        let severities = list(route.get("severity"));
        let services = list(route.get("service"));
        let matches = (severities.is_empty() || severities.iter().any(|s| s == severity))
            && (services.is_empty() || service.is_some_and(|s| services.iter().any(|x| x == s)));
        if matches {
            out.extend(list(route.get("receivers")));
            if !route
                .get("continue")
                .and_then(|c| c.as_bool())
                .unwrap_or(false)
            {
                return out;
            }
        }
    }
    if out.is_empty() {
        out.push(
            alerting["default_receiver"]
                .as_str()
                .expect("default")
                .to_string(),
        );
    }
    out
}

#[test]
fn every_generated_rule_routes_to_the_receivers_the_profile_names() {
    let mut asked = 0;
    for fixture in FIXTURES {
        let profile: toml::Value = toml::from_str(
            &std::fs::read_to_string(fixture_dir(fixture).join(format!("profiles/{fixture}.toml")))
                .expect("profile"),
        )
        .expect("toml");
        let (_out, dir) = build_fixture(fixture);
        for host in hosts(&dir) {
            let config = host.join("root/etc/prometheus/alertmanager.yml");
            if !config.exists() {
                continue;
            }
            let rules_file = host.join(format!("root/etc/prometheus/rules/{fixture}.yml"));
            let all = rules(&rules_file);
            assert!(!all.is_empty());
            for (alert, severity, service) in all {
                let mut command = Command::new("amtool");
                command
                    .args(["config", "routes", "test", "--config.file"])
                    .arg(&config)
                    .arg(format!("severity={severity}"))
                    .arg(format!("alertname={alert}"));
                if let Some(service) = &service {
                    command.arg(format!("service={service}"));
                }
                let out = command.output().expect("amtool runs");
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
                let got = String::from_utf8_lossy(&out.stdout).trim().to_string();
                let want = expected_receivers(&profile, &severity, service.as_deref()).join(",");
                assert_eq!(
                    got, want,
                    "{fixture}: {alert} (severity {severity}, service {service:?})"
                );
                asked += 1;
            }
        }
    }
    // The fixtures route by severity and by service, with and without continue.
    assert!(asked > 20, "{asked}");
}

#[test]
fn two_monitoring_hosts_cluster_over_their_private_addresses() {
    let tree = Tree::build();
    let args = |host: &str| {
        tree.file("ha", host, "/etc/default/prometheus-alertmanager")
            .lines()
            .find_map(|l| {
                l.strip_prefix("ARGS=\"")
                    .map(|a| a.trim_end_matches('"').to_string())
            })
            .expect("ARGS")
    };
    let mon1 = args("mon1");
    let mon2 = args("mon2");
    assert!(
        mon1.contains("--cluster.listen-address=10.20.3.10:9094"),
        "{mon1}"
    );
    assert!(mon1.contains("--cluster.peer=10.20.3.11:9094"), "{mon1}");
    assert!(
        mon2.contains("--cluster.listen-address=10.20.3.11:9094"),
        "{mon2}"
    );
    assert!(mon2.contains("--cluster.peer=10.20.3.10:9094"), "{mon2}");
    assert!(
        mon1.contains("--web.listen-address=10.20.3.10:9093"),
        "{mon1}"
    );
    for host in ["mon1", "mon2"] {
        let prometheus = yaml(&tree.path("ha", host, "/etc/prometheus/prometheus.yml"));
        let targets = &prometheus["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"];
        assert_eq!(
            targets.as_sequence().expect("targets").len(),
            2,
            "{host}: {targets:?}"
        );
    }
    // One monitoring host: no cluster at all.
    let pilot = tree.file("pilot", "pilot1", "/etc/default/prometheus-alertmanager");
    assert!(pilot.contains("--cluster.listen-address=\"\n"), "{pilot}");
    assert!(!pilot.contains("--cluster.peer"), "{pilot}");
}

/// A profile with a monitoring host whose rules nobody receives.
fn unreachable_profile() -> String {
    SMALL.replace(
        "\n[monitoring]\nalertmanagers = [\"10.1.0.20:9093\"]\n",
        "\n",
    )
}

#[test]
fn alert_rules_nobody_receives_are_refused() {
    let profile = unreachable_profile();
    assert!(
        !profile.contains("alertmanagers"),
        "SMALL sends its alerts elsewhere"
    );
    let project = Project::new().profile("shop", &profile);
    let out = project.gen(&["build"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("gen::error::alerts-unreachable"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("hosts.web1.roles"), "{}", out.stderr);
    assert!(out.stderr.contains("shop.toml:"), "located: {}", out.stderr);

    // An Alertmanager elsewhere, or one gen runs: both build.
    let elsewhere = format!("{profile}\n[monitoring]\nalertmanagers = [\"10.1.0.20:9093\"]\n");
    assert_eq!(
        Project::new()
            .profile("shop", &elsewhere)
            .gen(&["build"])
            .code,
        0
    );
    let here = format!(
        "{profile}\n[alerting]\ndefault_receiver = \"ops\"\n[alerting.receivers.ops]\npagerduty = {{ routing_key_file = \"/etc/prometheus/secrets/pd\" }}\n"
    );
    let project = Project::new().profile("shop", &here);
    let out = project.gen(&["build"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(project
        .path()
        .join("generated/shop/web1/root/etc/prometheus/alertmanager.yml")
        .exists());
}

fn with_alerting(extra: &str) -> String {
    format!(
        "{}\n[alerting]\ndefault_receiver = \"ops\"\n[alerting.receivers.ops]\npagerduty = {{ routing_key_file = \"/etc/prometheus/secrets/pd\" }}\n{extra}",
        unreachable_profile()
    )
}

#[test]
fn a_webhook_url_file_needs_an_alertmanager_debian_12_does_not_ship() {
    let profile = with_alerting(
        "[alerting.receivers.hook]\nwebhook = { url_file = \"/etc/prometheus/secrets/hook_url\" }\n",
    );
    let out = Project::new().profile("shop", &profile).gen(&["build"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("gen::error::platform-feature"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("alerting.receivers.hook.webhook.url_file"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("0.25.0"),
        "names the version: {}",
        out.stderr
    );
}

#[test]
fn malformed_custom_rules_are_refused_with_alert_rule() {
    for (rule, why) in [
        (
            "[alerts.rules.NoSeverity]\nexpr = \"up == 0\"\n",
            "needs `severity`",
        ),
        (
            "[alerts.rules.Loud]\nexpr = \"up == 0\"\nseverity = \"page\"\n",
            "found `page`",
        ),
        (
            "[alerts.rules.\"bad-name\"]\nexpr = \"up == 0\"\nseverity = \"info\"\n",
            "not an alert name",
        ),
        (
            "[alerts.rules.Multi]\nexpr = \"\"\"up\n== 0\"\"\"\nseverity = \"info\"\n",
            "more than one line",
        ),
    ] {
        let out = Project::new()
            .profile("shop", &with_alerting(rule))
            .gen(&["build"]);
        assert_eq!(out.code, 2, "{rule}\n{}", out.stderr);
        assert!(
            out.stderr.contains("gen::error::alert-rule"),
            "{rule}\n{}",
            out.stderr
        );
        assert!(out.stderr.contains(why), "{rule}\n{}", out.stderr);
    }
}

#[test]
fn a_custom_rule_that_promtool_rejects_fails_gen_check() {
    let project = Project::new().profile(
        "shop",
        &with_alerting("[alerts.rules.Broken]\nexpr = \"rate(x[5m] > 1\"\nseverity = \"info\"\n"),
    );
    assert_eq!(project.gen(&["build"]).code, 0);
    let out = project.gen(&["check"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stdout
            .contains("FAILED  generated/shop/web1/root/etc/prometheus/rules/shop.yml"),
        "{}",
        out.stdout
    );
}

#[test]
fn alertmanager_reads_every_secret_from_a_file_and_the_tree_holds_none() {
    for fixture in FIXTURES {
        let (out, dir) = build_fixture(fixture);
        for host in hosts(&dir) {
            let config = host.join("root/etc/prometheus/alertmanager.yml");
            if config.exists() {
                let text = std::fs::read_to_string(&config).expect("config");
                for inline in [
                    "api_url:",
                    "routing_key:",
                    "service_key:",
                    "smtp_auth_password:",
                    "url:",
                ] {
                    assert!(
                        !text
                            .lines()
                            .any(|l| l.trim_start().trim_start_matches("- ").starts_with(inline)),
                        "{fixture}: `{inline}` inline in\n{text}"
                    );
                }
                // The host is told to provide every file the configuration names.
                let manifest =
                    std::fs::read_to_string(host.join("manifest.json")).expect("manifest");
                for line in text.lines().filter(|l| l.contains("_file: ")) {
                    let path = line.split('"').nth(1).expect("quoted path");
                    assert!(
                        manifest.contains(&format!("\"{path}\"")),
                        "{fixture}: {path} is not required"
                    );
                }
            }
        }
        for entry in walkdir::WalkDir::new(out.path())
            .into_iter()
            .filter_map(|e| e.ok())
        {
            if !entry.file_type().is_file() {
                continue;
            }
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            for secret in ["hooks.slack.com", "xoxb-", "xoxp-", "events.pagerduty.com"] {
                assert!(
                    !text.contains(secret),
                    "{}: {secret}",
                    entry.path().display()
                );
            }
        }
    }
}

/// (job, host) → `address:port` of every exporter target in a prometheus.yml.
fn scrape_targets(prometheus: &Path) -> BTreeMap<(String, String), String> {
    let doc = yaml(prometheus);
    let mut out = BTreeMap::new();
    for job in doc["scrape_configs"].as_sequence().expect("scrape_configs") {
        let name = job["job_name"].as_str().expect("job_name").to_string();
        for sc in job["static_configs"].as_sequence().expect("static_configs") {
            let host = sc["labels"]["host"].as_str().expect("host").to_string();
            for t in sc["targets"].as_sequence().expect("targets") {
                out.insert(
                    (name.clone(), host.clone()),
                    t.as_str().expect("target").to_string(),
                );
            }
        }
    }
    out
}

/// (job, host) → the listen address of each exporter's `/etc/default` file.
fn exporter_listens(profile_dir: &Path) -> BTreeMap<(String, String), String> {
    let mut out = BTreeMap::new();
    for host in hosts(profile_dir) {
        let name = host
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        for (job, file) in [
            ("node", "prometheus-node-exporter"),
            ("postgres", "prometheus-postgres-exporter"),
            ("redis", "prometheus-redis-exporter"),
            ("nginx", "prometheus-nginx-exporter"),
        ] {
            let path = host.join("root/etc/default").join(file);
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let listen = text
                .split(['"', ' '])
                .find_map(|w| w.strip_prefix("--web.listen-address="))
                .unwrap_or_else(|| panic!("{} has no listen address", path.display()));
            out.insert((job.to_string(), name.clone()), listen.to_string());
        }
    }
    out
}

#[test]
fn exporters_listen_exactly_where_prometheus_scrapes_them() {
    let tree = Tree::build();
    let mut dirs: Vec<(tempfile::TempDir, PathBuf)> = Vec::new();
    for fixture in FIXTURES {
        dirs.push(build_fixture(fixture));
    }
    let mut profiles: Vec<PathBuf> = bundled::PROFILES
        .iter()
        .map(|p| tree.generated().join(p))
        .collect();
    profiles.extend(dirs.iter().map(|(_, d)| d.clone()));
    for dir in profiles {
        let listens = exporter_listens(&dir);
        let exporter_jobs: BTreeSet<&str> = ["node", "postgres", "redis", "nginx"].into();
        for host in hosts(&dir) {
            let prometheus = host.join("root/etc/prometheus/prometheus.yml");
            if !prometheus.exists() {
                continue;
            }
            let scraped: BTreeMap<(String, String), String> = scrape_targets(&prometheus)
                .into_iter()
                .filter(|((job, _), _)| exporter_jobs.contains(job.as_str()))
                .collect();
            assert!(!scraped.is_empty());
            assert_eq!(scraped, listens, "{}", dir.display());
        }
    }
}

/// `promtool test rules` on the generated rules of the STET fixture: its
/// custom escalation rules fire with their severity, `service` label and
/// summary once their `for` has passed, and stay silent otherwise.
#[test]
fn a_custom_rule_fires_under_promtool() {
    let (_out, dir) = build_fixture("stet");
    let rules = dir.join("api1/root/etc/prometheus/rules/stet.yml");
    let tests = dir.join("custom-tests.yml");
    std::fs::write(
        &tests,
        format!(
            r#"rule_files:
  - {rules}
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'stet_escalation_level{{instance="api1"}}'
        values: '2x30'
      - series: 'stet_escalation_level{{instance="api2"}}'
        values: '0x30'
    alert_rule_test:
      - eval_time: 4m
        alertname: EnforcementEscalationCritical
        exp_alerts: []
      - eval_time: 6m
        alertname: EnforcementEscalationCritical
        exp_alerts:
          - exp_labels: {{ severity: critical, service: api }}
            exp_annotations: {{ summary: "STET enforcement escalation is CRITICAL" }}
      - eval_time: 20m
        alertname: EnforcementEscalationWarn
        exp_alerts: []
  - interval: 1m
    input_series:
      - series: 'stet_escalation_level{{instance="api1"}}'
        values: '1x30'
    alert_rule_test:
      - eval_time: 14m
        alertname: EnforcementEscalationWarn
        exp_alerts: []
      - eval_time: 16m
        alertname: EnforcementEscalationWarn
        exp_alerts:
          - exp_labels: {{ severity: warning, service: api }}
            exp_annotations: {{ summary: "STET enforcement escalation is WARN" }}
      - eval_time: 16m
        alertname: EnforcementEscalationCritical
        exp_alerts: []
"#,
            rules = rules.display()
        ),
    )
    .expect("write tests");
    let out = Command::new("promtool")
        .args(["test", "rules"])
        .arg(&tests)
        .output()
        .expect("promtool runs");
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `gen check` holds each `/etc/default/prometheus-*` to systemd's
/// environment-file rules and every flag of `ARGS` to the program's own
/// `--help`; Alertmanager's configuration to `amtool check-config`.
#[test]
fn gen_check_rejects_a_misspelt_exporter_flag_and_a_broken_alertmanager_config() {
    let tree = Tree::build();
    let edit = |path: &str, from: &str, to: &str| {
        let p = tree.path("pilot", "pilot1", path);
        let t = std::fs::read_to_string(&p).expect("read");
        assert!(t.contains(from), "{path} has no `{from}`");
        std::fs::write(&p, t.replacen(from, to, 1)).expect("write");
    };
    edit(
        "/etc/default/prometheus-node-exporter",
        "--web.listen-address=",
        "--web.listen-adress=",
    );
    edit(
        "/etc/default/prometheus-redis-exporter",
        "ARGS=\"",
        "ARGS=\"--redis.addr ",
    );
    edit(
        "/etc/prometheus/alertmanager.yml",
        "routing_key_file:",
        "routing_key_fil:",
    );
    let out = tree.check(&["--profile", "pilot"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    for expected in [
        "FAILED  generated/pilot/pilot1/root/etc/default/prometheus-node-exporter",
        "`prometheus-node-exporter` has no flag `--web.listen-adress`",
        "FAILED  generated/pilot/pilot1/root/etc/prometheus/alertmanager.yml (amtool check-config)",
        "field routing_key_fil not found",
    ] {
        assert!(
            stdout.contains(expected),
            "expected `{expected}` in\n{}",
            text(&out)
        );
    }
    // `--redis.addr` is a real flag of redis_exporter: only the misspelt one fails.
    assert!(
        !stdout
            .contains("FAILED  generated/pilot/pilot1/root/etc/default/prometheus-redis-exporter"),
        "{}",
        text(&out)
    );
}
