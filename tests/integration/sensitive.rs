//! Credentials are never printed, nor an unsalted digest of them: a change is
//! sensitive when either side may hold one (the target record, the older
//! tree's or the previous apply's record, or a live file its owner alone may
//! read), and `gen diff` in every format, `gen plan` and its plan file then
//! carry neither the content nor its plain sha256.

#![allow(clippy::unwrap_used)]

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use gen_target::manifest::{sha256_hex, FileRecord, Manifest};
use gen_target::{Activation, Validator};
use tempfile::TempDir;

/// What a live secret file holds; a guessable password, so its plain sha256
/// would confirm a guess.
const SECRET: &str = "DB_PASSWORD=hunter2\n";

/// One file of a fixture tree: path, content, mode, marked sensitive.
type File<'a> = (&'a str, &'a str, &'a str, bool);

/// Writes `generated/p/h/{root/…,manifest.json}`.
fn write_tree(generated: &Path, files: &[File]) {
    let host_dir = generated.join("p/h");
    let records = files
        .iter()
        .map(|(path, content, mode, sensitive)| {
            let file = host_dir.join("root").join(path.trim_start_matches('/'));
            fs::create_dir_all(file.parent().unwrap()).unwrap();
            fs::write(&file, content).unwrap();
            FileRecord {
                path: path.to_string(),
                sha256: sha256_hex(content.as_bytes()),
                size: content.len() as u64,
                mode: mode.to_string(),
                owner: "root".into(),
                group: "root".into(),
                sensitive: *sensitive,
                template: "t.j2".into(),
                source: "profiles/p.toml".into(),
                activation: Activation::None,
                validator: Validator::Shell,
                link: None,
                health_gate: false,
                exposure_budget: None,
            }
        })
        .collect();
    let manifest = Manifest::new("p", "h", "0".repeat(64), records);
    fs::write(host_dir.join("manifest.json"), manifest.to_json()).unwrap();
}

fn tree(files: &[File]) -> TempDir {
    let dir = TempDir::new().unwrap();
    write_tree(dir.path(), files);
    dir
}

fn gen(generated: &Path, root: &Path, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gen"));
    command.args(args);
    if args.first() == Some(&"apply") {
        command.args(["--yes", "--skip-validation", "--no-reload"]);
    }
    command
        .arg("--generated")
        .arg(generated)
        .arg("--root")
        .arg(root)
        .args(["--profile", "p", "--host", "h"])
        .env("NO_COLOR", "1")
        .env("GEN_SYSTEMCTL", "true")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Neither the secret nor its plain sha256 appears in `text`.
#[track_caller]
fn assert_hidden(what: &str, text: &str) {
    assert!(
        !text.contains("hunter2"),
        "{what} prints the secret:\n{text}"
    );
    assert!(
        !text.contains(&sha256_hex(SECRET.as_bytes())),
        "{what} carries the secret's unsalted sha256:\n{text}"
    );
}

/// `gen diff` in every format, against the live root.
fn assert_diffs_hidden(generated: &Path, root: &Path) {
    for format in ["human", "json", "markdown"] {
        let out = gen(generated, root, &["--format", format, "diff"]);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let text = stdout(&out);
        assert_hidden(&format!("`gen diff --format {format}`"), &text);
        assert!(text.contains("content changed"), "{format}: {text}");
    }
}

/// A live file only its owner may read, at a path the new tree manages as
/// 0644 and not sensitive: `gen diff` used to print `-DB_PASSWORD=…`.
#[test]
fn a_private_live_file_is_not_printed_though_the_tree_manages_it_as_public() {
    let generated = tree(&[("/etc/app.env", "DB_HOST=db1\n", "0644", false)]);
    let root = TempDir::new().unwrap();
    fs::create_dir_all(root.path().join("etc")).unwrap();
    let live = root.path().join("etc/app.env");
    fs::write(&live, SECRET).unwrap();
    fs::set_permissions(&live, fs::Permissions::from_mode(0o600)).unwrap();
    assert_diffs_hidden(generated.path(), root.path());
}

/// `gen diff --against` an older tree whose record of the file was
/// `sensitive: true`: the old content used to be printed.
#[test]
fn an_older_trees_sensitive_record_hides_the_content_in_a_review_diff() {
    let old = tree(&[("/etc/app.env", SECRET, "0644", true)]);
    let new = tree(&[("/etc/app.env", "DB_HOST=db1\n", "0644", false)]);
    let root = TempDir::new().unwrap();
    for format in ["human", "json", "markdown"] {
        let mut command = Command::new(env!("CARGO_BIN_EXE_gen"));
        let out = command
            .args(["--format", format, "diff", "--profile", "p", "--generated"])
            .arg(new.path())
            .arg("--against")
            .arg(old.path())
            .arg("--root")
            .arg(root.path())
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let text = stdout(&out);
        assert_hidden(&format!("`gen diff --against --format {format}`"), &text);
        assert!(text.contains("content changed"), "{format}: {text}");
    }
}

/// The previous apply recorded the file as sensitive; the new tree does not:
/// the live content is still what the sensitive record put there.
#[test]
fn the_previous_applys_sensitive_record_hides_the_live_content() {
    let first = tree(&[("/etc/app.env", SECRET, "0644", true)]);
    let second = tree(&[("/etc/app.env", "DB_HOST=db1\n", "0644", false)]);
    let root = TempDir::new().unwrap();
    let out = gen(first.path(), root.path(), &["apply"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_diffs_hidden(second.path(), root.path());
}

/// A plan file and `gen plan` on standard output hold a salted digest of the
/// secret, never its sha256; `apply --plan` still applies the plan and still
/// refuses it once the secret file drifted.
#[test]
fn a_plan_holds_only_salted_digests_of_a_secret_and_still_detects_drift() {
    let generated = tree(&[("/etc/app.env", "DB_HOST=db1\n", "0644", false)]);
    let root = TempDir::new().unwrap();
    fs::create_dir_all(root.path().join("etc")).unwrap();
    let live = root.path().join("etc/app.env");
    fs::write(&live, SECRET).unwrap();
    fs::set_permissions(&live, fs::Permissions::from_mode(0o600)).unwrap();

    let printed = gen(generated.path(), root.path(), &["plan"]);
    assert_eq!(printed.status.code(), Some(0), "{}", stderr(&printed));
    assert_hidden("`gen plan`", &stdout(&printed));

    let plans = TempDir::new().unwrap();
    let plan_file = plans.path().join("plan.json");
    let plan_arg = plan_file.to_str().unwrap();
    let out = gen(generated.path(), root.path(), &["plan", "--out", plan_arg]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = fs::read_to_string(&plan_file).unwrap();
    assert_hidden("the plan file", &text);
    let plan: serde_json::Value = serde_json::from_str(&text).unwrap();
    let change = &plan["changes"][0];
    assert_eq!(change["sensitive"], true, "{text}");
    assert!(
        change["expected_sha256"]
            .as_str()
            .is_some_and(|d| d.starts_with("salted:")),
        "{text}"
    );
    // Another plan of the same host salts differently.
    let again = gen(generated.path(), root.path(), &["plan"]);
    let again: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_ne!(again["salt"], plan["salt"]);
    assert_ne!(
        again["changes"][0]["expected_sha256"],
        change["expected_sha256"]
    );

    // Drift of the secret is still seen through the salted digest.
    fs::write(&live, "DB_PASSWORD=hunter3\n").unwrap();
    let out = gen(
        generated.path(),
        root.path(),
        &["apply", "--plan", plan_arg],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("drifted since the plan"),
        "{}",
        stderr(&out)
    );
    fs::write(&live, SECRET).unwrap();
    let out = gen(
        generated.path(),
        root.path(),
        &["apply", "--plan", plan_arg],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(fs::read_to_string(&live).unwrap(), "DB_HOST=db1\n");
}
