//! The generated Ansible playbook, run for real with ansible-core against two
//! hosts whose live roots are temporary directories (connection `local`).

use std::path::PathBuf;

use super::support::{gen_binary, run, Project};

const PROFILE: &str = r#"[project]
name = "shop"

[network]
internal = ["10.1.0.0/16"]

[hosts.edge1]
address = "10.1.0.10"
roles = ["load_balancer", "api"]
hardware = { cores = 2, memory = "4GiB", storage = "ssd" }

[hosts.app2]
address = "10.1.0.11"
roles = ["api", "monitoring"]
hardware = { cores = 2, memory = "4GiB", storage = "ssd" }

[monitoring]
alertmanagers = ["10.1.0.20:9093"]

[services.api]
runtime = "container"
image = "ghcr.io/shop/api:1.0.0"
port = 8000
healthcheck = { http = "/health" }

[sites.main]
server_names = ["shop.example.com"]
certificate = "/etc/ssl/shop.pem"
certificate_key = "/etc/ssl/shop.key"

[[sites.main.locations]]
path = "/"
service = "api"
"#;

fn ansible_playbook() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("GEN_ANSIBLE_PLAYBOOK").map(PathBuf::from),
        Some(PathBuf::from("/opt/gen-ci/venv/bin/ansible-playbook")),
    ];
    candidates.into_iter().flatten().find(|p| p.is_file())
}

#[test]
fn playbook_applies_two_hosts_roots() {
    let Some(playbook_bin) = ansible_playbook() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI installs ansible-core into /opt/gen-ci/venv"
        );
        eprintln!("skipped: ansible-core is not installed");
        return;
    };
    let python = playbook_bin.with_file_name("python");
    let project = Project::new().profile("shop", PROFILE);
    assert_eq!(project.gen(&["build"]).code, 0);
    let written = project.gen(&["ansible", "--profile", "shop"]);
    assert_eq!(written.code, 0, "{}", written.stderr);
    let dir = project.path().join("ansible/shop");
    let inventory = std::fs::read_to_string(dir.join("inventory.ini")).expect("inventory");
    assert!(inventory.contains("edge1 ansible_host=10.1.0.10"));
    assert!(inventory.contains("[load_balancer]\nedge1\n"));

    let roots = project.path().join("roots");
    std::fs::create_dir_all(dir.join("host_vars")).expect("host_vars");
    for host in ["edge1", "app2"] {
        let root = roots.join(host);
        std::fs::create_dir_all(&root).expect("root");
        std::fs::write(
            dir.join("host_vars").join(format!("{host}.yml")),
            format!("gen_root: {}\n", root.display()),
        )
        .expect("host vars");
    }
    let play = |extra: &[&str]| {
        run(std::process::Command::new(&playbook_bin)
            .current_dir(&dir)
            .env("ANSIBLE_NOCOLOR", "1")
            .env("ANSIBLE_LOCAL_TEMP", project.path().join("ansible-tmp"))
            .env("ANSIBLE_HOME", project.path().join("ansible-home"))
            .args(["-i", "inventory.ini", "playbook.yml"])
            .arg("-e")
            .arg(format!("gen_binary={}", gen_binary().display()))
            .arg("-e")
            .arg(format!(
                "gen_stage={}",
                project.path().join("stage").display()
            ))
            .args([
                "-e",
                "ansible_connection=local",
                "-e",
                "gen_systemctl=/bin/true",
                // Already root: no sudo to escalate through in the test.
                "-e",
                "gen_become=false",
                // The roots are directories on this machine: its packages
                // are not theirs to install.
                "-e",
                "gen_install_packages=false",
            ])
            .args(extra)
            .arg("-e")
            .arg(format!("ansible_python_interpreter={}", python.display())))
    };
    let first = play(&[]);
    assert_eq!(first.code, 0, "{}\n{}", first.stdout, first.stderr);
    assert!(first.stdout.contains("failed=0"), "{}", first.stdout);

    for host in ["edge1", "app2"] {
        let root = roots.join(host);
        let diff = project.gen(&[
            "diff",
            "--profile",
            "shop",
            "--host",
            host,
            "--root",
            root.to_str().expect("utf-8"),
        ]);
        assert_eq!(
            diff.code, 0,
            "{host} differs after the playbook: {}",
            diff.stdout
        );
    }
    assert!(roots
        .join("edge1/etc/nginx/sites-enabled/shop.conf")
        .is_file());
    assert!(
        !roots
            .join("app2/etc/nginx/sites-enabled/shop.conf")
            .exists(),
        "app2 is no load balancer"
    );
    assert!(roots.join("app2/etc/prometheus/prometheus.yml").is_file());

    let second = play(&[]);
    assert_eq!(second.code, 0, "{}", second.stdout);
    assert!(
        second.stdout.contains("changed=0"),
        "a second run must change nothing:\n{}",
        second.stdout
    );
    assert!(!second.stdout.contains("changed=1"), "{}", second.stdout);

    // A reviewed change, rehearsed with --check: the plan and the diff are
    // the new tree's, and the live roots are left alone.
    let profile = project.path().join("profiles/shop.toml");
    let changed = std::fs::read_to_string(&profile)
        .expect("profile")
        .replace("api:1.0.0", "api:1.1.0");
    std::fs::write(&profile, changed).expect("edit");
    assert_eq!(project.gen(&["build"]).code, 0);
    let compose = roots.join("app2/etc/shop/compose.yaml");
    let live_before = std::fs::read_to_string(&compose).expect("compose applied");
    assert!(live_before.contains("api:1.0.0"));
    let rehearsal = play(&["--check", "--diff"]);
    assert_eq!(rehearsal.code, 0, "{}", rehearsal.stdout);
    assert!(
        rehearsal.stdout.contains("api:1.1.0"),
        "--check must show the new tree's diff:\n{}",
        rehearsal.stdout
    );
    assert_eq!(
        std::fs::read_to_string(&compose).expect("compose"),
        live_before,
        "--check changed the live root"
    );
}

/// The playbook finds the tree wherever `--out` put it.
#[test]
fn the_playbook_names_the_tree_relative_to_where_it_is_written() {
    let project = Project::new().profile("shop", PROFILE);
    let nested = project.gen(&[
        "ansible",
        "--profile",
        "shop",
        "--out",
        "deploy/ansible/shop",
    ]);
    assert_eq!(nested.code, 0, "{}", nested.stderr);
    let playbook = std::fs::read_to_string(project.path().join("deploy/ansible/shop/playbook.yml"))
        .expect("playbook");
    assert!(
        playbook.contains("default(playbook_dir ~ '/../../../generated')"),
        "{playbook}"
    );
    assert!(playbook.contains("become: \"{{ gen_become | default(true) }}\""));

    let outside = tempfile::tempdir().expect("outside");
    let out = outside.path().to_str().expect("utf-8");
    let elsewhere = project.gen(&["ansible", "--profile", "shop", "--out", out]);
    assert_eq!(elsewhere.code, 0, "{}", elsewhere.stderr);
    let playbook = std::fs::read_to_string(outside.path().join("playbook.yml")).expect("playbook");
    let project_dir = std::fs::canonicalize(project.path()).expect("canonical");
    assert!(
        playbook.contains(&format!("default('{}/generated')", project_dir.display())),
        "{playbook}"
    );
}
