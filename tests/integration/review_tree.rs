//! The review of a whole change: `gen diff --against <base generated/>`
//! without `--profile`, between a base holding the `pilot` and `production`
//! profiles and a branch that removes `pilot`, changes one `production` host
//! (Redis's memory on pool1) and adds `ha` (whose files alone would exceed
//! GitHub's comment limit). Text, JSON and Markdown all cover every profile.

use std::path::Path;

use super::support::{gen_command, repo, run, Run};

/// A deployment repository at `dir` holding the bundled profiles except
/// `skip`, each edited by `edit`, and their built `generated/`.
fn deployment(dir: &Path, skip: &str, edit: impl Fn(&str) -> String) {
    std::fs::create_dir_all(dir.join("profiles")).expect("mkdir");
    for entry in std::fs::read_dir(repo().join("profiles")).expect("profiles") {
        let entry = entry.expect("entry");
        if entry.file_name().to_str() == Some(skip) {
            continue;
        }
        let text = std::fs::read_to_string(entry.path()).expect("read");
        std::fs::write(dir.join("profiles").join(entry.file_name()), edit(&text)).expect("write");
    }
    let built = run(gen_command().current_dir(dir).arg("build"));
    assert_eq!(built.code, 0, "{}", built.stderr);
}

/// `base/` and `head/` side by side, as the workflow checks them out; the
/// review runs in `head/` against `../base/generated`.
fn review(format: &str) -> Run {
    let dir = tempfile::tempdir().expect("tmp");
    deployment(&dir.path().join("base"), "ha.toml", str::to_string);
    deployment(&dir.path().join("head"), "pilot.toml", |text| {
        text.replace("maxmemory = \"2GiB\"", "maxmemory = \"3GiB\"")
    });
    run(gen_command().current_dir(dir.path().join("head")).args([
        "diff",
        "--against",
        "../base/generated",
        "--format",
        format,
    ]))
}

#[test]
fn the_whole_tree_review_fits_a_comment_and_its_totals_add_up() {
    let markdown = review("markdown");
    assert_eq!(markdown.code, 1, "differences exit 1: {}", markdown.stderr);
    let markdown = markdown.stdout;
    let json = review("json");
    assert_eq!(json.code, 1, "{}", json.stderr);
    let json: serde_json::Value = serde_json::from_str(&json.stdout).expect("json");

    assert!(
        markdown.chars().count() <= 65_536,
        "over GitHub's limit: {}",
        markdown.chars().count()
    );
    // The totals at the top are the changes the JSON lists, host by host.
    let hosts = json["hosts"].as_array().expect("hosts");
    let count = |kind: &str| {
        hosts
            .iter()
            .flat_map(|h| h["changes"].as_array().expect("changes"))
            .filter(|c| c["kind"] == kind)
            .count()
    };
    let changed = hosts
        .iter()
        .filter(|h| !h["changes"].as_array().expect("changes").is_empty())
        .count();
    let restarts: usize = hosts
        .iter()
        .map(|h| {
            h["activations"]["restart"]
                .as_array()
                .expect("restart")
                .len()
        })
        .sum();
    let reloads: usize = hosts
        .iter()
        .map(|h| h["activations"]["reload"].as_array().expect("reload").len())
        .sum();
    let line = markdown.lines().nth(2).expect("totals line");
    let expected = format!(
        "**{changed} of {} hosts change (14 added, 1 removed); files: {} created, {} updated, {} metadata only, {} removed; {restarts} restarts, {reloads} reloads",
        hosts.len(),
        count("create"),
        count("update_content"),
        count("update_metadata"),
        count("remove"),
    );
    assert!(line.starts_with(&expected), "{line}\nwanted {expected}");
    assert_eq!(json["totals"]["hosts_changed"], changed);
    assert_eq!(json["totals"]["profiles_removed"][0], "pilot");
    assert_eq!(json["totals"]["profiles_added"][0], "ha");
    // daemon-reload is not a restart.
    assert!(!markdown.contains("`daemon-reload`"), "{markdown}");
    // The removed profile: its host loses every file.
    assert!(markdown.contains("- profile `pilot` removed"), "{markdown}");
    let pilot = hosts
        .iter()
        .find(|h| h["profile"] == "pilot")
        .expect("pilot listed");
    assert_eq!(pilot["presence"], "removed");
    let removed = pilot["changes"].as_array().expect("changes");
    assert!(!removed.is_empty() && removed.iter().all(|c| c["kind"] == "remove"));
    assert!(
        markdown.contains(&format!(
            "| `pilot/pilot1` | removed | 0 | 0 | 0 | {} |",
            removed.len()
        )),
        "{markdown}"
    );
    // The one changed host of production, in full; the others on one line.
    assert!(
        markdown.contains("\n-maxmemory 2gb\n+maxmemory 3gb\n")
            || markdown.contains("\n+maxmemory 3"),
        "{markdown}"
    );
    assert!(
        markdown.contains(
            "Unchanged (6 hosts): `production/api1`, `production/api2`, `production/db1`, `production/db2`, `production/lb1`, `production/mon1`"
        ),
        "{markdown}"
    );
    // The same file on several hosts is shown once, naming them all.
    assert!(
        markdown.contains(
            "same change on <code>ha/api1</code>, <code>ha/api2</code>, <code>ha/api3</code>"
        ),
        "{markdown}"
    );
    // Cut diffs say what was cut and how to see it.
    assert!(markdown.contains("> Cut to stay under GitHub's 65536-character comment limit"));
    assert!(
        markdown.contains("cut to fit the comment; see it with `gen diff --against ../base/generated --profile ha --host "),
        "{markdown}"
    );
    insta::assert_snapshot!(markdown);
}

#[test]
fn the_whole_tree_text_review_names_added_and_removed_hosts_and_totals() {
    let text = review("human");
    assert_eq!(text.code, 1, "{}", text.stderr);
    let text = text.stdout;
    assert!(text.contains("pilot/pilot1 (removed): "), "{text}");
    assert!(text.contains("ha/db1 (added): "), "{text}");
    assert!(text.contains("production/pool1: 1 change(s)"), "{text}");
    assert!(text.contains("\n-maxmemory "), "{text}");
    let last = text.lines().last().expect("totals");
    assert!(
        last.starts_with("16 of 22 hosts change (14 added, 1 removed); files: "),
        "{last}"
    );
}
