//! `gen build --check`: exit 0 when generated/ is exactly what the profiles
//! produce, exit 1 naming each stale, missing, extra or hand-edited file.

use super::support::{Project, VALID};

fn built() -> Project {
    let project = Project::new().profile("shop", VALID);
    assert_eq!(project.gen(&["build"]).code, 0);
    project
}

#[test]
fn fresh_build_passes_the_check() {
    let project = built();
    let run = project.gen(&["build", "--check"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.stdout, "");
}

#[test]
fn hand_edit_is_named() {
    let project = built();
    let site = project
        .path()
        .join("generated/shop/web1/root/etc/nginx/sites-enabled/shop.conf");
    let mut text = std::fs::read_to_string(&site).expect("site exists");
    text.push_str("# quick fix\n");
    std::fs::write(&site, text).expect("edit");
    let run = project.gen(&["build", "--check"]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stdout,
        "generated/shop/web1/root/etc/nginx/sites-enabled/shop.conf: stale or edited by hand\n"
            .replace("generated/", "./generated/")
    );
}

#[test]
fn missing_and_extra_files_are_named() {
    let project = built();
    let generated = project.path().join("generated");
    std::fs::remove_file(generated.join("shop/web1/root/etc/redis/redis.conf")).expect("remove");
    std::fs::write(generated.join("shop/web1/root/etc/stray.conf"), "x").expect("add");
    let run = project.gen(&["build", "--check", "--format", "json"]);
    assert_eq!(run.code, 1);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    let kinds: Vec<(String, String)> = report["differences"]
        .as_array()
        .expect("array")
        .iter()
        .map(|d| {
            (
                d["path"].as_str().unwrap_or_default().to_string(),
                d["kind"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            (
                "./generated/shop/web1/root/etc/redis/redis.conf".to_string(),
                "missing".to_string()
            ),
            (
                "./generated/shop/web1/root/etc/stray.conf".to_string(),
                "extra".to_string()
            ),
        ]
    );
}

#[test]
fn profile_change_makes_the_tree_stale() {
    let project = built();
    std::fs::write(
        project.path().join("profiles/shop.toml"),
        VALID.replace("cores = 4", "cores = 8"),
    )
    .expect("edit");
    let run = project.gen(&["build", "--check"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout
            .contains("postgresql.conf: stale or edited by hand"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("manifest.json: stale or edited by hand"),
        "{}",
        run.stdout
    );
}

#[test]
fn errors_during_check_exit_2() {
    let project = built();
    std::fs::write(project.path().join("profiles/shop.toml"), "nonsense = [").expect("edit");
    assert_eq!(project.gen(&["build", "--check"]).code, 2);
}
