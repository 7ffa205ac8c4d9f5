//! Least privilege, measured by systemd's own score: `gen check` runs
//! `systemd-analyze security --offline=yes` on every service unit it
//! generates and compares the score with the budget of the unit's kind,
//! which the manifest records. `--strict` fails a unit above its budget.

use super::support::{Project, SMALL};

/// SMALL with a native agent, its sandbox on or (`hardening = false`) off.
fn with_agent(hardening: bool) -> String {
    SMALL.replace(
        "[sites.main]\n",
        &format!(
            "[services.agent]\nruntime = \"native\"\ncommand = [\"/usr/local/bin/agent\"]\nuser = \"agent\"\nhardening = {hardening}\n\n[sites.main]\n"
        ),
    )
}

fn unit<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["hosts"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|h| h["files"].as_array().into_iter().flatten())
        .filter(|f| f["validator"] == "systemd")
        .find(|f| f["path"].as_str().is_some_and(|p| p.ends_with(name)))
        .unwrap_or_else(|| panic!("no {name} in {report}"))
}

#[test]
fn every_service_unit_is_scored_against_its_budget_from_the_manifest() {
    let project = Project::new().profile("shop", &with_agent(true));
    let built = project.gen(&["build"]);
    assert_eq!(built.code, 0, "{}", built.stderr);
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(project.path().join("generated/shop/web1/manifest.json")).unwrap(),
    )
    .unwrap();
    let budget = |suffix: &str| {
        manifest["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"].as_str().unwrap().ends_with(suffix) && f["link"].is_null())
            .map(|f| f["exposure_budget"].clone())
            .unwrap()
    };
    assert_eq!(budget("shop-agent.service"), serde_json::json!(3.5));
    assert_eq!(budget("shop-compose.service"), serde_json::json!(2.5));
    // Not a service: nothing to score.
    assert!(budget("/etc/shop/compose.yaml").is_null());

    let checked = project.gen(&["check", "--strict", "--format", "json"]);
    assert_eq!(checked.code, 0, "{}\n{}", checked.stdout, checked.stderr);
    let report: serde_json::Value = serde_json::from_str(&checked.stdout).unwrap();
    for name in ["shop-agent.service", "shop-compose.service"] {
        let file = unit(&report, name);
        assert_eq!(file["status"], "passed", "{file}");
        let score = file["exposure"].as_f64().unwrap();
        assert!(score <= file["exposure_budget"].as_f64().unwrap(), "{file}");
        assert!(
            file["tools"]
                .to_string()
                .contains("systemd-analyze security"),
            "{file}"
        );
    }
}

/// A service whose sandbox is switched off scores far above an
/// application's budget: plain `gen check` reports it and passes,
/// `--strict` fails it, naming the score and the budget.
#[test]
fn a_unit_above_its_budget_fails_the_strict_check() {
    let project = Project::new().profile("shop", &with_agent(false));
    let built = project.gen(&["build"]);
    assert_eq!(built.code, 0, "{}", built.stderr);

    let lenient = project.gen(&["check", "--format", "json"]);
    assert_eq!(lenient.code, 0, "{}\n{}", lenient.stdout, lenient.stderr);
    let report: serde_json::Value = serde_json::from_str(&lenient.stdout).unwrap();
    let agent = unit(&report, "shop-agent.service");
    assert_eq!(agent["status"], "over_budget", "{agent}");
    assert!(agent["exposure"].as_f64().unwrap() > 3.5, "{agent}");
    assert_eq!(report["over_budget"], 1);
    // The sandboxed compose unit beside it is within its budget.
    assert_eq!(unit(&report, "shop-compose.service")["status"], "passed");

    let strict = project.gen(&["check", "--strict"]);
    assert_ne!(strict.code, 0, "{}\n{}", strict.stdout, strict.stderr);
    let line = strict
        .stdout
        .lines()
        .find(|l| l.contains("root/etc/systemd/system/shop-agent.service"))
        .unwrap_or_else(|| panic!("{}", strict.stdout));
    assert!(line.starts_with("FAILED"), "{line}");
    assert!(
        strict
            .stdout
            .contains("above this kind of unit's budget of 3.5"),
        "{}",
        strict.stdout
    );
    assert!(
        strict.stderr.contains("1 above their exposure budget"),
        "{}",
        strict.stderr
    );
}
