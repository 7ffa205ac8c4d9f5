//! The pull-request review: `gen diff --against <base generated/> --format
//! markdown` between two builds of the bundled profiles.

use super::support::{gen_command, repo, run};

/// Builds the bundled profiles as they are (the base) and with a change made
/// on a branch (api replicas 2 → 3, workload web → oltp), and returns the
/// markdown review of production.
fn review() -> (String, i32) {
    let base = tempfile::tempdir().expect("tmp");
    let branch = tempfile::tempdir().expect("tmp");
    std::fs::create_dir_all(branch.path().join("profiles")).expect("mkdir");
    for entry in std::fs::read_dir(repo().join("profiles")).expect("profiles") {
        let entry = entry.expect("entry");
        let text = std::fs::read_to_string(entry.path()).expect("read");
        let text = text
            .replace("replicas = 2", "replicas = 3")
            .replace("workload = \"web\"", "workload = \"oltp\"");
        std::fs::write(branch.path().join("profiles").join(entry.file_name()), text)
            .expect("write");
    }
    let built = run(gen_command()
        .arg("-C")
        .arg(repo())
        .args(["build", "--out"])
        .arg(base.path()));
    assert_eq!(built.code, 0, "{}", built.stderr);
    let built = run(gen_command().arg("-C").arg(branch.path()).arg("build"));
    assert_eq!(built.code, 0, "{}", built.stderr);
    let out = run(gen_command()
        .arg("-C")
        .arg(branch.path())
        .args([
            "diff",
            "--profile",
            "production",
            "--format",
            "markdown",
            "--against",
        ])
        .arg(base.path()));
    (out.stdout, out.code)
}

#[test]
fn markdown_review_summarises_then_details_each_file() {
    let (markdown, code) = review();
    assert_eq!(code, 1, "differences exit 1");
    assert!(
        markdown.starts_with("### gen: what this change does to the hosts\n\n**7 of 7 hosts change; files: 0 created, 12 updated, 0 metadata only, 0 removed; 6 restarts, 3 reloads**\n"),
        "{markdown}"
    );
    let table_header =
        "| host | | create | update | metadata | remove | unchanged | restart | reload |";
    assert!(markdown.contains(table_header), "{markdown}");
    // The compose file, the health gate, which probes the new replica, and
    // the firewall, which opens its port to the load balancer.
    assert!(
        markdown.contains("| `production/api1` |  | 0 | 3 | 0 | 0 |"),
        "{markdown}"
    );
    assert!(
        markdown.contains("`postgresql@15-main.service`"),
        "restart is named: {markdown}"
    );
    assert!(markdown.contains("<details><summary>update <code>/etc/postgresql/15/main/postgresql.conf</code> on <code>production/db1</code></summary>"), "{markdown}");
    assert!(
        markdown.contains("\n-max_connections = 200\n")
            && markdown.contains("\n+max_connections = 300\n"),
        "{markdown}"
    );
    // pgbouncer.ini names its auth file and holds no credential: the pool
    // sizes a reviewer must see are shown.
    let pgbouncer = markdown
        .split("update <code>/etc/pgbouncer/pgbouncer.ini</code> on <code>production/pool1</code>")
        .nth(1)
        .expect("pgbouncer.ini listed");
    let section = pgbouncer.split("</details>").next().unwrap_or_default();
    assert!(
        section.contains("\n-;   max_connections 200\n"),
        "{section}"
    );
    assert!(
        section.contains("\n+;   max_connections 300\n"),
        "{section}"
    );
    insta::assert_snapshot!(markdown);
}

#[test]
fn the_ci_workflow_example_runs_the_documented_commands() {
    let workflow = std::fs::read_to_string(repo().join("docs/examples/github-actions.yml"))
        .expect("workflow example");
    for command in [
        "gen build --check",
        "gen check --strict",
        "--format markdown",
        "--against",
    ] {
        assert!(
            workflow.contains(command),
            "the workflow example lacks `{command}`"
        );
    }
    let parsed: serde_json::Value =
        serde_norway::from_str(&workflow).expect("the workflow is valid YAML");
    assert!(parsed["jobs"].is_object());
}
