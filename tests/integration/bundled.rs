//! The committed generated/ is the golden tree of the bundled profiles.

use super::support::{gen_command, repo, run};

#[test]
fn committed_generated_tree_matches_the_bundled_profiles() {
    let run = run(gen_command()
        .arg("-C")
        .arg(repo())
        .args(["build", "--check"]));
    assert_eq!(
        run.code, 0,
        "generated/ is stale; run `gen build`:\n{}{}",
        run.stdout, run.stderr
    );
}

#[test]
fn every_bundled_profile_has_the_hosts_its_shape_promises() {
    let generated = repo().join("generated");
    let hosts = |profile: &str| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(generated.join(profile))
            .expect("profile built")
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(hosts("pilot"), ["pilot1"]);
    assert_eq!(
        hosts("production"),
        ["api1", "api2", "db1", "db2", "lb1", "mon1", "pool1"]
    );
    let ha = hosts("ha");
    assert_eq!(ha.iter().filter(|h| h.starts_with("lb")).count(), 2);
    assert!(ha.iter().filter(|h| h.starts_with("api")).count() >= 3);
    assert_eq!(ha.iter().filter(|h| h.starts_with("db")).count(), 3);
    let primary = std::fs::read_to_string(
        generated.join("ha/db1/root/etc/postgresql/15/main/postgresql.conf"),
    )
    .expect("conf");
    assert!(
        primary.contains("synchronous_standby_names = 'ANY 1 (db2, db3)'"),
        "{primary}"
    );
}
