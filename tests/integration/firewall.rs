//! The host firewall: `gen apply` refuses a firewall that would cut the SSH
//! session it runs in, and a generated ruleset, loaded in a network namespace
//! of its own, lets a listener's client in and drops everyone else.

use std::path::Path;
use std::process::{Child, Command, Stdio};

use super::support::{gen_command, repo, run, Project, Run, SMALL};

fn with_firewall() -> Project {
    let text = SMALL.replace(
        "internal = [\"10.1.0.0/16\"]\n",
        "internal = [\"10.1.0.0/16\"]\nadmin = [\"203.0.113.0/28\"]\n",
    ) + "\n[firewall]\n";
    let project = Project::new().profile("shop", &text);
    let out = project.gen(&["build"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    project
}

fn apply(project: &Project, root: &Path, ssh_connection: Option<&str>, extra: &[&str]) -> Run {
    let mut command = gen_command();
    command
        .args(["apply", "--yes", "--skip-validation", "--generated"])
        .arg(project.path().join("generated"))
        .args(["--profile", "shop", "--host", "web1", "--root"])
        .arg(root)
        .args(extra)
        .env("GEN_SYSTEMCTL", "true")
        .env_remove("SSH_CONNECTION");
    if let Some(session) = ssh_connection {
        command.env("SSH_CONNECTION", session);
    }
    run(&mut command)
}

#[test]
fn apply_refuses_a_firewall_that_would_cut_its_ssh_session() {
    let project = with_firewall();
    let root = tempfile::tempdir().expect("root");
    let refused = apply(
        &project,
        root.path(),
        Some("198.51.100.4 51000 10.1.0.10 22"),
        &[],
    );
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("gen::apply::firewall_lockout")
            && refused.stderr.contains("198.51.100.4")
            && refused.stderr.contains("203.0.113.0/28"),
        "{}",
        refused.stderr
    );
    assert_eq!(
        std::fs::read_dir(root.path()).expect("root").count(),
        0,
        "nothing is written"
    );
    // From inside network.admin, the same tree applies.
    let admitted = apply(
        &project,
        root.path(),
        Some("203.0.113.7 51000 10.1.0.10 22"),
        &[],
    );
    assert_eq!(admitted.code, 0, "{}", admitted.stderr);
    assert!(root.path().join("etc/gen/firewall/shop.nft").is_file());
}

#[test]
fn the_lockout_check_can_be_overridden_and_needs_an_ssh_session() {
    let project = with_firewall();
    let root = tempfile::tempdir().expect("root");
    let forced = apply(
        &project,
        root.path(),
        Some("198.51.100.4 51000 10.1.0.10 22"),
        &["--allow-firewall-lockout"],
    );
    assert_eq!(forced.code, 0, "{}", forced.stderr);
    let console = tempfile::tempdir().expect("root");
    let out = apply(&project, console.path(), None, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
}

#[test]
fn a_firewall_without_network_admin_is_refused_at_build() {
    let project = Project::new().profile("shop", &(SMALL.to_string() + "\n[firewall]\n"));
    let out = project.gen(&["build"]);
    assert_ne!(out.code, 0);
    assert!(
        out.stderr.contains("firewall-lockout") && out.stderr.contains("network.admin"),
        "{}",
        out.stderr
    );
    // A host that opts out needs none.
    let opted_out = SMALL.replace(
        "storage = \"ssd\" }\n",
        "storage = \"ssd\" }\nfirewall = false\n",
    ) + "\n[firewall]\n";
    let project = Project::new().profile("shop", &opted_out);
    let out = project.gen(&["build"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!project
        .path()
        .join("generated/shop/web1/root/etc/gen/firewall/shop.nft")
        .exists());
}

/// Two network namespaces joined by a veth pair, deleted when dropped.
struct Namespaces {
    server: String,
    client: String,
    listener: Option<Child>,
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        if let Some(mut child) = self.listener.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        for ns in [&self.server, &self.client] {
            let _ = Command::new("ip").args(["netns", "delete", ns]).status();
        }
    }
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("ip runs");
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn in_ns(ns: &str, program: &str) -> Command {
    let mut command = Command::new("ip");
    command.args(["netns", "exec", ns, program]);
    command
}

/// `curl` from `source` in the client namespace: its exit status (0
/// connected, 28 timed out: the packet was dropped).
fn connect(ns: &Namespaces, source: &str, url: &str) -> i32 {
    in_ns(&ns.client, "curl")
        .args([
            "--silent",
            "--output",
            "/dev/null",
            "--connect-timeout",
            "3",
        ])
        .args(["--interface", source, url])
        .status()
        .expect("curl runs")
        .code()
        .unwrap_or(-1)
}

/// production/db1's ruleset: PostgreSQL (5432) is open to the replica and
/// the pooler only. Loaded twice in a namespace of its own (the file
/// replaces its table atomically), the pooler's address connects and an
/// api host's address (pooled: it has no business on 5432) is dropped.
#[test]
fn a_loaded_ruleset_admits_a_listeners_client_and_drops_others() {
    let tools = ["ip", "nft", "curl", "python3"];
    let missing: Vec<&str> = tools
        .into_iter()
        .filter(|t| {
            !Command::new("sh")
                .args(["-c", &format!("command -v {t}")])
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
        .collect();
    let root = rustix::process::geteuid().is_root();
    if !missing.is_empty() || !root {
        eprintln!("skipped: needs root and {missing:?}");
        return;
    }
    let rules = repo().join("generated/production/db1/root/etc/gen/firewall/atlas.nft");
    let id = std::process::id();
    let mut ns = Namespaces {
        server: format!("genfw-s-{id}"),
        client: format!("genfw-c-{id}"),
        listener: None,
    };
    ip(&["netns", "add", &ns.server]);
    ip(&["netns", "add", &ns.client]);
    ip(&[
        "-n", &ns.server, "link", "add", "vs", "type", "veth", "peer", "name", "vc", "netns",
        &ns.client,
    ]);
    ip(&[
        "-n",
        &ns.server,
        "addr",
        "add",
        "10.20.2.10/16",
        "dev",
        "vs",
    ]);
    for link in ["lo", "vs"] {
        ip(&["-n", &ns.server, "link", "set", link, "up"]);
    }
    for address in ["10.20.2.20/16", "10.20.1.11/16"] {
        ip(&[
            "-n", &ns.client, "addr", "add", address, "dev", "vc", "nodad",
        ]);
    }
    for link in ["lo", "vc"] {
        ip(&["-n", &ns.client, "link", "set", link, "up"]);
    }
    for _ in 0..2 {
        let out = in_ns(&ns.server, "nft")
            .arg("-f")
            .arg(&rules)
            .output()
            .expect("nft runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let listed = in_ns(&ns.server, "nft")
        .args(["-j", "list", "ruleset"])
        .output()
        .expect("nft runs");
    let listed: serde_json::Value = serde_json::from_slice(&listed.stdout).expect("nft json");
    let chains: Vec<&serde_json::Value> = listed["nftables"]
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|item| item.get("chain"))
        .collect();
    let input = chains
        .iter()
        .find(|c| c["name"] == "input")
        .expect("an input chain");
    assert_eq!(
        (&input["table"], &input["family"], &input["policy"]),
        (
            &serde_json::json!("gen_atlas"),
            &serde_json::json!("inet"),
            &serde_json::json!("drop")
        )
    );
    assert_eq!(chains.len(), 2, "loaded twice, one table: {chains:?}");

    ns.listener = Some(
        in_ns(&ns.server, "python3")
            .args(["-m", "http.server", "5432", "--bind", "10.20.2.10"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("listener"),
    );
    let url = "http://10.20.2.10:5432/";
    // The listener takes a moment to start: the allowed client retries.
    let admitted = (0..20).any(|_| {
        connect(&ns, "10.20.2.20", url) == 0 || {
            std::thread::sleep(std::time::Duration::from_millis(250));
            false
        }
    });
    assert!(
        admitted,
        "the pooler (10.20.2.20) connects to PostgreSQL's port"
    );
    assert_eq!(
        connect(&ns, "10.20.1.11", url),
        28,
        "api1 (10.20.1.11) is dropped, not refused"
    );
}
