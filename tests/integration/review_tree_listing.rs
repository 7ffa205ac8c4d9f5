//! `gen diff --against` lists profile and host folders from the directory
//! entries alone: a folder that holds no manifest in either tree is not a
//! host (nor a profile), and `--profile` names only a profile folder of one
//! of the trees, never a path leading out of them.

use super::support::{Project, VALID};

fn two_trees() -> Project {
    let project = Project::new().profile("shop", VALID);
    assert_eq!(project.gen(&["build"]).code, 0);
    let generated = project.path().join("generated");
    let old = project.path().join("old");
    std::fs::create_dir_all(&old).expect("old");
    assert!(std::process::Command::new("cp")
        .arg("-r")
        .arg(generated.join("shop"))
        .arg(&old)
        .status()
        .expect("cp")
        .success());
    project
}

#[test]
fn folders_without_a_manifest_are_neither_hosts_nor_profiles() {
    let project = two_trees();
    let generated = project.path().join("generated");
    std::fs::create_dir_all(generated.join("shop/notes/root")).expect("stray host folder");
    std::fs::create_dir_all(generated.join("scratch/web1")).expect("stray profile folder");
    let run = project.gen(&["diff", "--against", "old", "--format", "json"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    let hosts: Vec<String> = report["hosts"]
        .as_array()
        .expect("hosts")
        .iter()
        .map(|h| {
            format!(
                "{}/{}",
                h["profile"].as_str().unwrap_or(""),
                h["host"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert_eq!(hosts, vec!["shop/web1".to_string()]);
}

#[test]
fn a_profile_that_is_a_path_is_an_unknown_profile() {
    let project = two_trees();
    for profile in ["../generated/shop", ".", "shop/web1"] {
        let run = project.gen(&["diff", "--against", "old", "--profile", profile]);
        assert_eq!(run.code, 2, "{profile}: {}{}", run.stdout, run.stderr);
        assert!(
            run.stderr.contains("shop"),
            "names the known profile: {}",
            run.stderr
        );
    }
    let run = project.gen(&["diff", "--against", "old", "--profile", "shop"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
}
