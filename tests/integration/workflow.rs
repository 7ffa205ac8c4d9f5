//! The example CI workflows (`docs/examples/github-actions*.yml`, which
//! `gen init` writes): actionlint accepts them, and the review job's shell
//! steps that need nothing from GitHub (the review, its size, the build and
//! check gates) run as written in a deployment repository holding only
//! `profiles/` and `generated/`, with gen on PATH and the validators this
//! machine has.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::support::{gen_binary, gen_command, repo, run};

const WORKFLOWS: [&str; 2] = [
    "docs/examples/github-actions.yml",
    "docs/examples/github-actions-comment.yml",
];

/// actionlint on PATH or where `.ci/install-deps.sh` puts it.
fn actionlint() -> Option<PathBuf> {
    let installed = PathBuf::from("/opt/gen-ci/venv/bin/actionlint");
    if installed.is_file() {
        return Some(installed);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("actionlint"))
            .find(|p| p.is_file())
    })
}

#[test]
fn actionlint_accepts_the_example_workflows() {
    let Some(actionlint) = actionlint() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "actionlint is not installed (.ci/install-deps.sh installs it)"
        );
        eprintln!("skipped: actionlint is not installed (.ci/install-deps.sh installs it)");
        return;
    };
    let out = Command::new(actionlint)
        .current_dir(repo())
        .args(WORKFLOWS)
        .output()
        .expect("actionlint runs");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A deployment repository at `dir`: these bundled profiles and their tree.
fn deployment(dir: &Path, profiles: &[&str]) {
    std::fs::create_dir_all(dir.join("profiles")).expect("mkdir");
    for name in profiles.iter().chain(&["_base"]) {
        let file = format!("{name}.toml");
        std::fs::copy(
            repo().join("profiles").join(&file),
            dir.join("profiles").join(&file),
        )
        .expect("copy profile");
    }
    let built = run(gen_command().current_dir(dir).arg("build"));
    assert_eq!(built.code, 0, "{}", built.stderr);
}

#[test]
fn the_review_jobs_shell_steps_run_as_written_in_a_deployment_repository() {
    let workflow: serde_json::Value = serde_norway::from_str(
        &std::fs::read_to_string(repo().join(WORKFLOWS[0])).expect("workflow"),
    )
    .expect("YAML");
    let workspace = tempfile::tempdir().expect("tmp");
    // The pull request adds the production profile to a repository with pilot.
    deployment(&workspace.path().join("base"), &["pilot"]);
    deployment(&workspace.path().join("head"), &["pilot", "production"]);
    // gen as `cargo install` leaves it; sudo as on the runner (tests run as root).
    let bin = workspace.path().join("bin");
    std::fs::create_dir_all(&bin).expect("mkdir");
    std::os::unix::fs::symlink(gen_binary(), bin.join("gen")).expect("link gen");
    std::fs::write(bin.join("sudo"), "#!/bin/sh\nexec \"$@\"\n").expect("sudo");
    std::fs::set_permissions(bin.join("sudo"), std::fs::Permissions::from_mode(0o755))
        .expect("chmod");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );

    let steps = workflow["jobs"]["review"]["steps"]
        .as_array()
        .expect("steps");
    let mut ran = Vec::new();
    for step in steps {
        let Some(script) = step["run"].as_str() else {
            continue;
        };
        let name = step["name"].as_str().unwrap_or_default();
        // Installing is the runner's business; here gen and the validators are.
        if script.contains("cargo install") || script.contains("--install-validators") {
            continue;
        }
        assert!(
            !script.contains("${{"),
            "step `{name}` puts a GitHub expression in its script; pass it through `env:`"
        );
        let dir = match step["working-directory"].as_str() {
            Some(dir) => workspace.path().join(dir),
            None => workspace.path().to_path_buf(),
        };
        let mut command = Command::new("bash");
        command
            .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", script])
            .current_dir(dir)
            .env("PATH", &path)
            .env("NO_COLOR", "1");
        if let Some(env) = step["env"].as_object() {
            for (key, value) in env {
                let value = value.as_str().unwrap_or_default();
                // What GitHub would fill in: the pull request's number.
                let value = if value.contains("${{") { "7" } else { value };
                command.env(key, value);
            }
        }
        let out = run(&mut command);
        assert_eq!(
            out.code, 0,
            "step `{name}` failed:\n{}\n{}",
            out.stdout, out.stderr
        );
        ran.push(name.to_string());
    }
    for wanted in [
        "gen diff --against",
        "gen fmt --check",
        "gen build --check --deny-warnings",
        "gen check --strict",
    ] {
        assert!(
            steps
                .iter()
                .any(|s| s["run"].as_str().is_some_and(|r| r.contains(wanted))),
            "the workflow lacks `{wanted}`"
        );
    }
    assert_eq!(ran.len(), 5, "{ran:?}");
    let review = std::fs::read_to_string(workspace.path().join("review/review.md"))
        .expect("the review is written");
    assert!(review.contains("- profile `production` added"), "{review}");
    assert!(
        review.contains("Unchanged (1 host): `pilot/pilot1`"),
        "{review}"
    );
    assert_eq!(
        std::fs::read_to_string(workspace.path().join("review/pr-number")).expect("number"),
        "7\n"
    );
    // Nothing from gen's own repository is used.
    let text = std::fs::read_to_string(repo().join(WORKFLOWS[0])).expect("workflow");
    assert!(!text.contains(".ci/"), "the workflow needs gen's .ci/");
}

/// `gen check --install-validators --dry-run` prints the install of the
/// packages `.ci/validator-packages.txt` lists for this distribution (the
/// list gen's own CI installs from), and for a tree of PostgreSQL 17 hosts
/// the PostgreSQL project's repository and server too.
#[test]
fn install_validators_prints_this_distributions_packages() {
    let os_release = std::fs::read_to_string("/etc/os-release").expect("os-release");
    let field = |name: &str| {
        os_release
            .lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix('='))
            .map(|v| v.trim_matches('"').to_string())
            .unwrap_or_default()
    };
    let key = format!("{}-{}", field("ID"), field("VERSION_ID"));
    let list = std::fs::read_to_string(repo().join(".ci/validator-packages.txt")).expect("list");
    let Some(packages) = list
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key} ")))
    else {
        let out = run(gen_command().args(["check", "--install-validators", "--dry-run"]));
        assert_eq!(out.code, 2, "{}", out.stdout);
        assert!(
            out.stderr.contains("Debian 12 and Ubuntu 24.04"),
            "{}",
            out.stderr
        );
        return;
    };
    let project = tempfile::tempdir().expect("tmp");
    let conf = project
        .path()
        .join("generated/p/db1/root/etc/postgresql/17/main");
    std::fs::create_dir_all(&conf).expect("mkdir");
    let out = run(gen_command().arg("-C").arg(project.path()).args([
        "check",
        "--install-validators",
        "--dry-run",
    ]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains(&format!(
            "--no-install-recommends --no-upgrade {packages}\n"
        )),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("apt.postgresql.org.sh -y\n"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains(" postgresql-17\n"), "{}", out.stdout);
    // --dry-run alone is refused: it belongs to --install-validators.
    let out = run(gen_command().args(["check", "--dry-run"]));
    assert_eq!(out.code, 2, "{}", out.stdout);
}
