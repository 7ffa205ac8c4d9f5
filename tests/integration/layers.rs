//! The trust boundary is structural: the live side and the validators are
//! crates that cannot reach the template engine, the profile model or the
//! compile side. A server applies what was reviewed and cannot re-render it.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

/// Every package each workspace crate pulls in at run time (normal
/// dependencies, transitively), by package name.
fn runtime_closures() -> BTreeMap<String, BTreeSet<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("metadata is JSON");
    let name_of: BTreeMap<&str, &str> = meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| {
            (
                p["id"].as_str().expect("id"),
                p["name"].as_str().expect("name"),
            )
        })
        .collect();
    let mut edges: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for node in meta["resolve"]["nodes"].as_array().expect("resolve nodes") {
        let id = node["id"].as_str().expect("node id");
        let runtime = node["deps"]
            .as_array()
            .expect("deps")
            .iter()
            .filter(|d| {
                d["dep_kinds"]
                    .as_array()
                    .expect("dep kinds")
                    .iter()
                    .any(|k| k["kind"].is_null())
            })
            .map(|d| d["pkg"].as_str().expect("pkg"))
            .collect();
        edges.insert(id, runtime);
    }
    meta["workspace_members"]
        .as_array()
        .expect("members")
        .iter()
        .map(|m| {
            let start = m.as_str().expect("member id");
            let mut seen = BTreeSet::new();
            let mut stack = vec![start];
            while let Some(id) = stack.pop() {
                for dep in edges.get(id).into_iter().flatten() {
                    if seen.insert(name_of[dep].to_string()) {
                        stack.push(dep);
                    }
                }
            }
            (name_of[start].to_string(), seen)
        })
        .collect()
}

#[test]
fn the_live_side_and_the_validators_cannot_render_or_read_profiles() {
    let closures = runtime_closures();
    let forbidden = ["gen-compile", "minijinja", "toml", "schemars", "gen-live"];
    for krate in ["gen-live", "gen-check", "gen-target"] {
        let deps = closures
            .get(krate)
            .unwrap_or_else(|| panic!("{krate} is a workspace member"));
        for name in forbidden.iter().filter(|n| **n != krate) {
            assert!(
                !deps.contains(*name),
                "{krate} depends on {name}: the live side must not be able to re-render"
            );
        }
    }
    let target = &closures["gen-target"];
    for side in ["gen-compile", "gen-live", "gen-check"] {
        assert!(!target.contains(side), "gen-target depends on {side}");
    }
    // The rule bites: the compile side does pull in the renderer.
    assert!(closures["gen-compile"].contains("minijinja"));
    assert!(!closures["gen-compile"].contains("gen-live"));
    assert!(!closures["gen-compile"].contains("gen-check"));
}
