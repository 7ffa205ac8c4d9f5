//! The live commands compare the tree with the profiles beside it: `diff`
//! and `plan` warn, `apply` refuses a tree the profiles no longer build (or
//! another gen built) unless told `--allow-stale`; a missing root is an error.

use std::fs;

use super::support::{Project, VALID};

fn built() -> (Project, tempfile::TempDir) {
    let project = Project::new().profile("shop", VALID);
    let run = project.gen(&["build"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    (project, tempfile::tempdir().expect("root"))
}

fn live(project: &Project, root: &std::path::Path, args: &[&str]) -> super::support::Run {
    let root = root.to_str().expect("utf-8 root");
    let mut all = args.to_vec();
    all.extend(["--profile", "shop", "--host", "web1", "--root", root]);
    project.gen(&all)
}

#[test]
fn a_tree_older_than_its_profiles_is_refused_by_apply_and_flagged_by_diff() {
    let (project, root) = built();
    let fresh = live(&project, root.path(), &["diff"]);
    assert!(!fresh.stderr.contains("stale"), "{}", fresh.stderr);

    let profile = project.path().join("profiles/shop.toml");
    let edited = fs::read_to_string(&profile).expect("profile") + "\n# a later edit\n";
    fs::write(&profile, edited).expect("edit");

    let diff = live(&project, root.path(), &["diff"]);
    assert!(
        diff.stderr
            .contains("is stale: the profiles or gen's templates changed since `gen build`"),
        "{}",
        diff.stderr
    );
    let plan = live(&project, root.path(), &["plan"]);
    assert!(plan.stderr.contains("is stale"), "{}", plan.stderr);

    let apply = live(
        &project,
        root.path(),
        &["apply", "--yes", "--skip-validation"],
    );
    assert_eq!(apply.code, 2, "{}", apply.stderr);
    assert!(
        apply.stderr.contains("gen::apply::stale"),
        "{}",
        apply.stderr
    );
    assert_eq!(
        fs::read_dir(root.path()).expect("root").count(),
        0,
        "nothing written"
    );

    let forced = live(
        &project,
        root.path(),
        &["apply", "--yes", "--skip-validation", "--allow-stale"],
    );
    assert!(
        !forced.stderr.contains("gen::apply::stale"),
        "{}",
        forced.stderr
    );
    assert!(
        forced.stderr.contains("applying a stale tree"),
        "{}",
        forced.stderr
    );
}

#[test]
fn a_tree_built_by_another_gen_is_refused() {
    let (project, root) = built();
    let manifest = project.path().join("generated/shop/web1/manifest.json");
    let text = fs::read_to_string(&manifest).expect("manifest");
    let version = format!("\"gen_version\": \"{}\"", env!("CARGO_PKG_VERSION"));
    assert!(text.contains(&version));
    fs::write(
        &manifest,
        text.replace(&version, "\"gen_version\": \"0.0.9\""),
    )
    .expect("edit");
    let apply = live(
        &project,
        root.path(),
        &["apply", "--yes", "--skip-validation"],
    );
    assert_eq!(apply.code, 2, "{}", apply.stderr);
    assert!(
        apply.stderr.contains("built by gen 0.0.9"),
        "{}",
        apply.stderr
    );
}

#[test]
fn a_root_that_does_not_exist_is_an_error_not_an_empty_host() {
    let (project, root) = built();
    let missing = root.path().join("typo");
    for command in [
        &["diff"][..],
        &["plan"],
        &["apply", "--yes", "--skip-validation"],
    ] {
        let run = live(&project, &missing, command);
        assert_eq!(run.code, 2, "{command:?}: {}", run.stderr);
        assert!(run.stderr.contains("is not a directory"), "{}", run.stderr);
    }
    assert!(!missing.exists());
}

/// A base edited after the build makes every extending tree stale, whether
/// the manifest names the files its input hash covers (read without a parse)
/// or is an older one without them (the `extends` chain is followed).
#[test]
fn an_edited_base_makes_the_tree_stale_with_or_without_the_recorded_files() {
    let project = Project::new()
        .profile("_base", "# shared by every profile\n")
        .profile("shop", &format!("extends = \"_base.toml\"\n{VALID}"));
    assert_eq!(project.gen(&["build"]).code, 0);
    let root = tempfile::tempdir().expect("root");
    let manifest_path = project.path().join("generated/shop/web1/manifest.json");
    let manifest: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&manifest_path).expect("manifest")).expect("JSON");
    assert_eq!(
        manifest["profile_files"],
        serde_json::json!(["profiles/_base.toml", "profiles/shop.toml"])
    );
    let fresh = live(&project, root.path(), &["diff"]);
    assert!(!fresh.stderr.contains("stale"), "{}", fresh.stderr);

    let base = project.path().join("profiles/_base.toml");
    fs::write(&base, "# shared by every profile, edited\n").expect("edit base");
    let diff = live(&project, root.path(), &["diff"]);
    assert!(diff.stderr.contains("is stale"), "{}", diff.stderr);

    // An older manifest: no `profile_files`.
    let mut older = manifest.clone();
    older
        .as_object_mut()
        .expect("object")
        .remove("profile_files");
    fs::write(
        &manifest_path,
        serde_json::to_vec_pretty(&older).expect("JSON"),
    )
    .expect("write");
    let diff = live(&project, root.path(), &["diff"]);
    assert!(diff.stderr.contains("is stale"), "{}", diff.stderr);
    fs::write(&base, "# shared by every profile\n").expect("restore base");
    let fresh = live(&project, root.path(), &["diff"]);
    assert!(!fresh.stderr.contains("stale"), "{}", fresh.stderr);
}
