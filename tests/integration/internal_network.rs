//! `network.internal` does what docs/profile.md says: it is where hosts live
//! and what `@internal` names, and nobody is admitted by it wholesale —
//! pg_hba.conf and the firewall admit each connecting host by its address.

use std::path::Path;

use super::support::repo;

/// Every `host` line of every pg_hba.conf and every data-tier firewall rule
/// of the committed bundled tree, with the file it came from.
fn admissions(generated: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(generated).into_iter().flatten() {
        let path = entry.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let admits: fn(&str) -> bool = if name == "pg_hba.conf" {
            |l| l.starts_with("host")
        } else if name.ends_with(".nft") {
            |l| {
                l.contains("saddr")
                    && ["5432", "6432", "6379"]
                        .iter()
                        .any(|port| l.contains(&format!("dport {port} ")))
            }
        } else {
            continue;
        };
        let text = std::fs::read_to_string(path).expect("generated text file");
        for line in text.lines().map(str::trim).filter(|l| admits(l)) {
            out.push((path.display().to_string(), line.to_string()));
        }
    }
    out
}

#[test]
fn the_internal_network_names_where_hosts_live_and_admits_no_one_wholesale() {
    let base: toml::Table = toml::from_str(
        &std::fs::read_to_string(repo().join("profiles/_base.toml")).expect("_base.toml"),
    )
    .expect("TOML");
    let internal: Vec<String> = base["network"]["internal"]
        .as_array()
        .expect("network.internal")
        .iter()
        .filter_map(|n| n.as_str().map(str::to_string))
        .collect();
    assert!(!internal.is_empty());
    let lines = admissions(&repo().join("generated"));
    assert!(
        lines.iter().any(|(f, _)| f.ends_with("pg_hba.conf"))
            && lines.iter().any(|(f, _)| f.ends_with(".nft")),
        "the bundled tree has pg_hba.conf and firewall rules"
    );
    for (file, line) in &lines {
        for network in &internal {
            assert!(
                !line.contains(network.as_str()),
                "{file} admits the whole internal network {network}: {line}"
            );
        }
        if file.ends_with("pg_hba.conf") {
            let address = line.split_whitespace().nth(3).unwrap_or_default();
            assert!(
                address.ends_with("/32"),
                "{file} admits a network, not a host: {line}"
            );
        }
    }
}
