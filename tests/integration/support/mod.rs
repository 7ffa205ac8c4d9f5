//! A throwaway gen project in a temporary directory, and a way to run the real
//! binary against it.

pub mod bundled;
pub mod crash;
pub mod dpkg;
pub mod mount;
pub mod pgsandbox;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Project {
    pub dir: tempfile::TempDir,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Project {
    pub fn new() -> Project {
        let dir = tempfile::tempdir().expect("temporary directory");
        std::fs::create_dir_all(dir.path().join("profiles")).expect("profiles dir");
        Project { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn profile(self, name: &str, text: &str) -> Project {
        std::fs::write(
            self.dir
                .path()
                .join("profiles")
                .join(format!("{name}.toml")),
            text,
        )
        .expect("write profile");
        self
    }

    pub fn gen(&self, args: &[&str]) -> Run {
        run(gen_command().current_dir(self.path()).args(args))
    }
}

pub fn gen_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_gen"))
}

pub fn gen_command() -> Command {
    let mut command = Command::new(gen_binary());
    command.env("NO_COLOR", "1");
    command
}

pub fn run(command: &mut Command) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = command.output().expect("gen runs");
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// The reference fixtures: one complete profile per deployment guide in
/// `../shared/reference/` (docs/coverage.md maps each guide onto its keys).
pub const FIXTURES: [&str; 5] = ["docsense", "signx", "smartattend", "spheroseg", "stet"];

/// The repository this test suite belongs to.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every file below `dir`, relative path → content, in order.
pub fn tree(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e
                .path()
                .strip_prefix(dir)
                .expect("below dir")
                .to_string_lossy()
                .into_owned();
            (rel, std::fs::read(e.path()).expect("readable"))
        })
        .collect()
}

/// A small valid profile every error test starts from and breaks in one place.
pub const VALID: &str = r#"[project]
name = "shop"

[network]
internal = ["10.1.0.0/16"]

[hosts.web1]
address = "10.1.0.10"
roles = ["load_balancer", "api", "database_primary", "pooler", "cache", "monitoring"]
hardware = { cores = 4, memory = "16GiB", storage = "ssd" }

[services.api]
runtime = "container"
image = "ghcr.io/shop/api:1.0.0"
port = 8000
database = { user = "shop" }
healthcheck = { http = "/health" }
limits = { memory = "1GiB" }

[postgres]
version = 15
workload = "web"
database = "shop"
users = ["shop"]

[pgbouncer]
pool_mode = "transaction"

[redis]
queues = true

[alerting]
default_receiver = "ops"

[alerting.receivers.ops]
pagerduty = { routing_key_file = "/etc/prometheus/secrets/pagerduty_key" }

[sites.main]
server_names = ["shop.example.com"]
certificate = "/etc/ssl/shop.pem"
certificate_key = "/etc/ssl/shop.key"

[[sites.main.locations]]
path = "/"
service = "api"
"#;

/// A profile `shop` that must not build: exit 2, no panic, and no
/// `generated/` written. Returns standard error, the diagnostic.
pub fn build_fails(profile: &str) -> String {
    let project = Project::new().profile("shop", profile);
    let run = project.gen(&["build"]);
    assert_eq!(
        run.code, 2,
        "stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    assert!(
        !project.path().join("generated").exists(),
        "a failed build wrote generated/"
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    run.stderr
}

/// `VALID` with one piece of text replaced; panics if the piece is absent so a
/// test can never silently check the valid profile.
pub fn valid_with(from: &str, to: &str) -> String {
    assert!(VALID.contains(from), "test profile has no {from:?}");
    VALID.replacen(from, to, 1)
}

/// Values that try to break out of whatever file or path they land in, by name.
/// The fuzzer splices them into profiles; the injection suite puts each into
/// every field that reaches a file.
pub fn hostile_values() -> Vec<(&'static str, String)> {
    let fixed: &[(&str, &str)] = &[
        ("newline", "a\nlisten 8080;"),
        ("carriage return", "a\rb"),
        ("crlf", "a\r\nb = 1"),
        ("semicolon", "a; deny all"),
        ("braces", "a } server { listen 9999"),
        ("single quote", "a' b"),
        ("double quote", "a\" b"),
        ("dollar", "$HOME"),
        ("command substitution", "$(touch /tmp/pwned)"),
        ("backticks", "`id`"),
        ("hash", "a # b"),
        ("dot dot", "../../etc/shadow"),
        ("dot dot component", "/etc/../../root"),
        ("absolute path", "/etc/passwd"),
        ("nul", "a\0b"),
        ("tab", "a\tb"),
        ("escape", "a\u{1b}[31mred"),
        ("backspace", "a\u{8}b"),
        ("delete", "a\u{7f}b"),
        ("line separator", "a\u{2028}b"),
        ("one dot leader", "a\u{2024}b"),
        ("fullwidth semicolon", "a\u{ff1b}b"),
        ("rtl override", "a\u{202e}b"),
        ("zero-width joiner", "a\u{200d}b"),
        ("bom", "\u{feff}a"),
        ("yaml alias", "*anchor"),
        ("yaml anchor", "&anchor a"),
        ("yaml tag", "!!python/object a"),
        ("yaml mapping", "a: b"),
        ("yaml sequence", "- a"),
        ("yaml block", "|\n  a"),
        ("yaml flow", "{a: b}"),
        ("cron job", "* * * * * root rm -rf /"),
        ("cron reboot", "@reboot"),
        ("cron percent", "a%b"),
        ("backslash", "a\\b"),
        ("systemd specifier", "%h/%n"),
        ("jinja", "{{ 7*7 }}{% raw %}"),
        ("empty", ""),
        ("space", " "),
    ];
    let mut values: Vec<(&'static str, String)> =
        fixed.iter().map(|(k, v)| (*k, v.to_string())).collect();
    values.push(("100 KB", "a".repeat(100 * 1024)));
    values
}

/// A string as a TOML basic string (JSON escapes are valid TOML escapes).
pub fn toml_string(value: &str) -> String {
    serde_json::to_string(value).expect("a string serialises")
}

/// An error as a user sees it (miette's graphical report, no colour).
pub fn rendered(err: &gen_target::error::Error) -> String {
    let mut out = String::new();
    miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
        .render_report(&mut out, err)
        .expect("an error renders");
    out
}

/// One small host, `web1`: cron, nginx, compose, Prometheus, a health-check
/// script. The live-side tests apply it, change it and crash it.
pub const SMALL: &str = r#"[project]
name = "shop"

[network]
internal = ["10.1.0.0/16"]

[hosts.web1]
address = "10.1.0.10"
roles = ["load_balancer", "api", "monitoring"]
hardware = { cores = 2, memory = "4GiB", storage = "ssd" }

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

[monitoring]
alertmanagers = ["10.1.0.20:9093"]
"#;

/// `SMALL` changed so files are updated (image, body size), created (a
/// native service) and removed (monitoring dropped).
pub fn small_changed() -> String {
    SMALL
        .replace("api:1.0.0", "api:1.1.0")
        .replace("\"load_balancer\", \"api\", \"monitoring\"", "\"load_balancer\", \"api\"")
        .replace(
            "[sites.main]\n",
            "[services.agent]\nruntime = \"native\"\ncommand = [\"/usr/local/bin/agent\"]\nuser = \"nobody\"\n\n[sites.main]\nclient_max_body_size = \"50MiB\"\n",
        )
}

/// Fails with both output streams unless `output` exited with `code`.
#[track_caller]
pub fn assert_exit(output: &std::process::Output, code: i32) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
