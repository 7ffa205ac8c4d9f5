//! The CLI's surface: one shape for activations in diff, plan and apply; a
//! declined prompt that says so; `--color`; help on every flag; completion
//! of the project's profile and host names; a man page per subcommand with
//! its ENVIRONMENT.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use super::support::{gen_command, run, Project, Run, SMALL};

/// A built `SMALL` project and an empty live root beside it.
fn built() -> (Project, tempfile::TempDir) {
    let project = Project::new().profile("shop", SMALL);
    let out = project.gen(&["build"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    (project, tempfile::tempdir().expect("root"))
}

fn live(project: &Project, root: &Path, args: &[&str]) -> Command {
    let mut command = gen_command();
    command
        .current_dir(project.path())
        .args(args)
        .args(["--profile", "shop", "--host", "web1", "--root"])
        .arg(root)
        .env("GEN_SYSTEMCTL", "true")
        .stdin(Stdio::null());
    command
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[test]
fn activations_have_one_shape_in_diff_plan_and_apply() {
    let (project, root) = built();
    let diff = run(&mut live(
        &project,
        root.path(),
        &["diff", "--format", "json"],
    ));
    assert_eq!(diff.code, 1, "{}", diff.stderr);
    let plan = run(&mut live(
        &project,
        root.path(),
        &["plan", "--format", "json"],
    ));
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    let apply = run(&mut live(
        &project,
        root.path(),
        &[
            "apply",
            "--format",
            "json",
            "--yes",
            "--skip-validation",
            "--no-reload",
        ],
    ));
    assert_eq!(apply.code, 0, "{}", apply.stderr);

    let from_diff = json(&diff.stdout)["hosts"][0]["activations"].clone();
    let from_plan = json(&plan.stdout)["activations"].clone();
    let applied = json(&apply.stdout);
    let from_apply = applied["activations"].clone();
    // Every field, always, in all three: a consumer reads one type.
    let object = from_diff.as_object().expect("an object");
    let keys: Vec<&str> = object.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "compose_restart",
            "daemon_reload",
            "reload",
            "restart",
            "stop"
        ],
        "{from_diff}"
    );
    assert_eq!(from_diff["daemon_reload"], true, "{from_diff}");
    assert_eq!(from_diff, from_plan, "diff and plan");
    assert_eq!(from_diff, from_apply, "diff and apply");
    // `--no-reload`: nothing ran, the activations are still what it asks.
    assert_eq!(applied["ran"], serde_json::json!([]), "{applied}");

    // In text, the same line in the diff and from the apply.
    let root = tempfile::tempdir().expect("root");
    let text = run(&mut live(&project, root.path(), &["diff"]));
    let line = text
        .stdout
        .lines()
        .find(|l| l.starts_with("activations: "))
        .unwrap_or_else(|| panic!("no activations line: {}", text.stdout))
        .to_string();
    assert!(line.contains("systemctl daemon-reload"), "{line}");
    let applied = run(&mut live(
        &project,
        root.path(),
        &["apply", "--yes", "--skip-validation", "--no-reload"],
    ));
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    assert!(
        applied.stderr.lines().any(|l| l == line),
        "{line} in {}",
        applied.stderr
    );
}

/// gen run on a terminal (`script` gives it one) whose operator types `answer`.
fn on_a_terminal(command: &Command, answer: &str) -> Run {
    let argv: Vec<String> = std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|a| shell_quote(&a.to_string_lossy()))
        .collect();
    let mut child = Command::new("script")
        .args(["--quiet", "--return", "--command"])
        .arg(argv.join(" "))
        .arg("/dev/null")
        .current_dir(command.get_current_dir().expect("a directory"))
        .envs(
            command
                .get_envs()
                .filter_map(|(k, v)| Some((k.to_owned(), v?.to_owned()))),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script(1) runs");
    // Sent before gen asks: the terminal keeps the line until gen reads it.
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(answer.as_bytes())
        .expect("answer");
    let output = child.wait_with_output().expect("script ends");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn shell_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

#[test]
fn declining_the_apply_prompt_says_so_writes_nothing_and_exits_2() {
    let (project, root) = built();
    let mut command = live(&project, root.path(), &["apply", "--skip-validation"]);
    command.arg("--no-reload");
    let out = on_a_terminal(&command, "n\n");
    assert!(
        out.stdout.contains("? [y/N]"),
        "gen asked: {}{}",
        out.stdout,
        out.stderr
    );
    assert!(
        out.stdout.contains("apply declined; nothing written"),
        "{}",
        out.stdout
    );
    assert_eq!(
        out.code, 2,
        "README: 2 for a declined apply: {}",
        out.stdout
    );
    let written: Vec<_> = walkdir::WalkDir::new(root.path())
        .min_depth(1)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| !e.file_type().is_dir())
        .filter(|e| !e.path().starts_with(root.path().join("var/lib/gen")))
        .map(|e| e.path().display().to_string())
        .collect();
    assert!(written.is_empty(), "nothing written: {written:?}");
}

fn has_escapes(text: &str) -> bool {
    text.contains("\u{1b}[")
}

#[test]
fn color_follows_the_flag_no_color_and_clicolor_force() {
    let (project, root) = built();
    let diff = |flags: &[&str], env: &[(&str, &str)]| {
        let mut command = live(&project, root.path(), &["diff"]);
        command
            .args(flags)
            .env_remove("NO_COLOR")
            .env_remove("CLICOLOR_FORCE")
            .env_remove("CLICOLOR");
        for (k, v) in env {
            command.env(k, v);
        }
        let out = run(&mut command);
        assert_eq!(out.code, 1, "{}", out.stderr);
        out.stdout
    };
    // Into a pipe: plain, unless asked.
    assert!(!has_escapes(&diff(&[], &[])));
    let always = diff(&["--color", "always"], &[]);
    assert!(has_escapes(&always), "{always}");
    assert!(
        always.contains("\u{1b}[32m+"),
        "added lines green: {always}"
    );
    // The flag is what the user typed last: it wins over the environment.
    assert!(has_escapes(&diff(
        &["--color", "always"],
        &[("NO_COLOR", "1")]
    )));
    assert!(!has_escapes(&diff(
        &["--color", "never"],
        &[("CLICOLOR_FORCE", "1")]
    )));
    // `auto` honours both variables; NO_COLOR wins over CLICOLOR_FORCE.
    assert!(has_escapes(&diff(&[], &[("CLICOLOR_FORCE", "1")])));
    assert!(!has_escapes(&diff(&[], &[("NO_COLOR", "1")])));
    assert!(!has_escapes(&diff(
        &[],
        &[("NO_COLOR", "1"), ("CLICOLOR_FORCE", "1")]
    )));

    // miette's report follows the same choice on standard error.
    let error = |flags: &[&str], env: &[(&str, &str)]| {
        let mut command = gen_command();
        command
            .current_dir(project.path())
            .args(["graph", "--profile", "nope"])
            .args(flags)
            .env_remove("NO_COLOR");
        for (k, v) in env {
            command.env(k, v);
        }
        let out = run(&mut command);
        assert_eq!(out.code, 2, "{}", out.stderr);
        out.stderr
    };
    let coloured = error(&["--color", "always"], &[]);
    assert!(has_escapes(&coloured), "{coloured}");
    assert!(has_escapes(&error(&[], &[("CLICOLOR_FORCE", "1")])));
    assert!(!has_escapes(&error(&["--color", "never"], &[])));
    assert!(!has_escapes(&error(&[], &[("NO_COLOR", "1")])));

    // clap's own help and usage errors too.
    let help = |flags: &[&str]| {
        let mut command = gen_command();
        command
            .args(["diff", "--help"])
            .args(flags)
            .env_remove("NO_COLOR");
        run(&mut command).stdout
    };
    assert!(has_escapes(&help(&["--color", "always"])));
    assert!(!has_escapes(&help(&["--color=never"])));

    // gen check's status words.
    let mut command = gen_command();
    command
        .current_dir(project.path())
        .args(["check", "--color", "always"]);
    let out = run(&mut command);
    assert!(
        out.stdout.lines().any(|l| l.starts_with("\u{1b}[")),
        "{}",
        out.stdout
    );
}

#[test]
fn every_argument_has_help_text() {
    fn walk(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
        for arg in command.get_arguments() {
            if arg.get_help().is_none() && arg.get_long_help().is_none() {
                missing.push(format!("{path} {}", arg.get_id()));
            }
        }
        for sub in command.get_subcommands() {
            walk(sub, &format!("{path} {}", sub.get_name()), missing);
        }
    }
    let mut command = <gen::cli::Cli as clap::CommandFactory>::command();
    command.build();
    let mut missing = Vec::new();
    walk(&command, "gen", &mut missing);
    assert!(missing.is_empty(), "arguments without help: {missing:?}");
}

/// What the shell gets for the last word of `words` (`gen …`), as bash asks.
fn complete(dir: &Path, words: &[&str]) -> Vec<String> {
    let mut command = gen_command();
    command
        .current_dir(dir)
        .env("COMPLETE", "bash")
        .env("_CLAP_COMPLETE_INDEX", (words.len() - 1).to_string())
        .arg("--")
        .args(words);
    let out = run(&mut command);
    assert_eq!(out.code, 0, "{}", out.stderr);
    out.stdout
        .split(['\n', '\u{b}'])
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
fn completion_lists_the_projects_profiles_and_the_hosts_of_the_chosen_one() {
    let two_hosts = SMALL.replace(
        "[services.api]",
        "[hosts.web2]\naddress = \"10.1.0.11\"\nroles = [\"api\"]\nhardware = { cores = 2, memory = \"4GiB\", storage = \"ssd\" }\n\n[services.api]",
    );
    let project = Project::new()
        .profile("shop", SMALL)
        .profile("staging", &two_hosts)
        .profile("_shared", "");
    // One profile built, one not: both complete, from generated/ or the file.
    let out = project.gen(&["build", "--profile", "shop"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let dir = project.path();
    assert_eq!(
        complete(dir, &["gen", "diff", "--profile", ""]),
        ["shop", "staging"]
    );
    assert_eq!(
        complete(dir, &["gen", "apply", "--profile", "st"]),
        ["staging"]
    );
    assert_eq!(
        complete(dir, &["gen", "diff", "--profile", "staging", "--host", ""]),
        ["web1", "web2"]
    );
    assert_eq!(
        complete(dir, &["gen", "plan", "--profile=shop", "--host", ""]),
        ["web1"]
    );
    // From a subdirectory, and with `-C` from elsewhere.
    std::fs::create_dir_all(dir.join("docs/deep")).expect("subdirectory");
    assert_eq!(
        complete(&dir.join("docs/deep"), &["gen", "graph", "--profile", ""]),
        ["shop", "staging"]
    );
    let elsewhere = tempfile::tempdir().expect("elsewhere");
    let c = dir.to_str().expect("utf-8");
    assert_eq!(
        complete(
            elsewhere.path(),
            &["gen", "-C", c, "check", "--profile", ""]
        ),
        ["shop", "staging"]
    );
    // No project: nothing to offer, and no failure.
    assert!(complete(elsewhere.path(), &["gen", "diff", "--profile", ""]).is_empty());
    assert!(complete(elsewhere.path(), &["gen", "diff", "--host", ""]).is_empty());
    // Subcommands still complete, and the registration names gen.
    assert!(complete(dir, &["gen", "ap"]).contains(&"apply".to_string()));
    let script = run(gen_command().current_dir(dir).args(["completions", "bash"]));
    assert_eq!(script.code, 0, "{}", script.stderr);
    assert!(
        script.stdout.contains("COMPLETE=\"bash\""),
        "{}",
        script.stdout
    );
}

#[test]
fn each_subcommand_has_a_man_page_with_environment_and_exit_status() {
    let out_dir = tempfile::tempdir().expect("man dir");
    let out = run(gen_command().arg("man").arg("--out").arg(out_dir.path()));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let command = <gen::cli::Cli as clap::CommandFactory>::command();
    let mut names = vec!["gen".to_string()];
    names.extend(
        command
            .get_subcommands()
            .map(|s| format!("gen-{}", s.get_name())),
    );
    for name in names {
        let page = out_dir.path().join(format!("{name}.1"));
        assert!(page.is_file(), "{page:?}");
        let rendered = Command::new("groff")
            .args(["-k", "-man", "-Tutf8", "-ww", "-rLL=200n"])
            .arg(&page)
            .output()
            .expect("groff runs (groff-base; -k: preconv, as man(1) runs it)");
        let text = String::from_utf8_lossy(&rendered.stdout);
        let warnings = String::from_utf8_lossy(&rendered.stderr);
        assert!(
            rendered.status.success() && warnings.is_empty(),
            "{name}: {warnings}"
        );
        // Without its bold/underline overstrikes.
        let plain: String = text
            .split('\u{8}')
            .enumerate()
            .map(|(i, part)| {
                if i == 0 {
                    part
                } else {
                    part.get(1..).unwrap_or("")
                }
            })
            .collect();
        for section in ["ENVIRONMENT", "EXIT STATUS", "SYNOPSIS"] {
            assert!(plain.contains(section), "{name}: {section} in {plain}");
        }
        for variable in [
            "GEN_SYSTEMCTL",
            "GEN_THREADS",
            "GEN_DOCKER",
            "GEN_PG_BIN_<major>",
            "NO_COLOR",
            "CLICOLOR_FORCE",
            "COMPLETE",
        ] {
            assert!(plain.contains(variable), "{name}: {variable} in {plain}");
        }
    }
}

#[test]
fn every_gen_variable_the_sources_read_is_in_the_environment_section() {
    let repo = super::support::repo();
    let documented: Vec<&str> = gen::manual::ENVIRONMENT.iter().map(|(n, _)| *n).collect();
    let mut read = std::collections::BTreeSet::new();
    let dirs = std::iter::once(repo.join("src")).chain(
        std::fs::read_dir(repo.join("crates"))
            .expect("crates")
            .filter_map(|e| e.ok())
            .map(|e| e.path().join("src")),
    );
    for dir in dirs {
        for entry in walkdir::WalkDir::new(dir)
            .into_iter()
            .filter_map(|e| e.ok())
        {
            if entry.path().extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let text = std::fs::read_to_string(entry.path()).expect("source");
            for (i, _) in text.match_indices("\"GEN_") {
                let name: String = text[i + 1..]
                    .chars()
                    .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                    .collect();
                // One variable per PostgreSQL major: `GEN_PG_BIN_{major}`, `GEN_PG_BIN_16`.
                let name = match name.strip_prefix("GEN_PG_BIN_") {
                    Some(major) if major.chars().all(|c| c.is_ascii_digit()) => {
                        "GEN_PG_BIN_<major>".to_string()
                    }
                    _ => name,
                };
                read.insert(name);
            }
        }
    }
    // Set by gen for the programs it starts, not read from the user.
    read.remove("GEN_CHECK_SANDBOX");
    let missing: Vec<_> = read
        .iter()
        .filter(|n| !documented.contains(&n.as_str()))
        .collect();
    assert!(read.contains("GEN_THREADS"), "{read:?}");
    assert!(missing.is_empty(), "not in ENVIRONMENT: {missing:?}");
}
