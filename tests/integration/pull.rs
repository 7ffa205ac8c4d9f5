//! The generated pull-mode script, run for real against a local git
//! repository (with its paths pointed at a scratch directory and `gen`
//! replaced by a recorder): it applies new commits, refuses a silent
//! downgrade and a malformed pin, keeps every refusal for Prometheus, and
//! waits for its wave.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::support::{Project, VALID};

const ROLLOUT: &str =
    "\n[rollout]\nrepository = \"https://git.example.com/ops/deploy.git\"\ncanary = [\"web1\"]\n";

struct Pull {
    dir: tempfile::TempDir,
    script: PathBuf,
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "ops")
        .env("GIT_AUTHOR_EMAIL", "ops@example.com")
        .env("GIT_COMMITTER_NAME", "ops")
        .env("GIT_COMMITTER_EMAIL", "ops@example.com")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

impl Pull {
    /// The script gen generates for `web1`, its paths moved into a scratch
    /// directory, fetching from a local repository with one commit.
    fn new(delay_seconds: u64) -> Pull {
        Pull::of(&format!("{VALID}{ROLLOUT}"), "web1", delay_seconds, None)
    }

    /// The script of `host` in the profile `text`, asking the Prometheus at
    /// `prometheus` (when given) whether the canaries applied a commit.
    fn of(text: &str, host: &str, delay_seconds: u64, prometheus: Option<&str>) -> Pull {
        let project = Project::new().profile("shop", text);
        let built = project.gen(&["build"]);
        assert_eq!(built.code, 0, "{}", built.stderr);
        let generated = std::fs::read_to_string(project.path().join(format!(
            "generated/shop/{host}/root/usr/local/sbin/gen-pull"
        )))
        .expect("gen-pull is generated");
        let dir = tempfile::tempdir().expect("scratch");
        let d = dir.path();
        git(
            d,
            &["init", "--quiet", "--bare", "-b", "main", "origin.git"],
        );
        git(d, &["init", "--quiet", "-b", "main", "work"]);
        git(
            &d.join("work"),
            &[
                "remote",
                "add",
                "origin",
                &d.join("origin.git").display().to_string(),
            ],
        );
        let recorder = d.join("gen");
        std::fs::write(
            &recorder,
            format!("#!/bin/sh\necho \"$@\" >> {}/calls\n", d.display()),
        )
        .expect("recorder");
        std::fs::set_permissions(
            &recorder,
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .expect("executable");
        let mut script = String::new();
        for line in generated.lines() {
            let moved = |name: &str, value: String| format!("readonly {name}='{value}'");
            let line = match line.split('=').next().unwrap_or_default() {
                "readonly REPOSITORY" => {
                    moved("REPOSITORY", d.join("origin.git").display().to_string())
                }
                "readonly CHECKOUT" => moved("CHECKOUT", d.join("checkout").display().to_string()),
                "readonly GEN" => moved("GEN", recorder.display().to_string()),
                "readonly PIN" => moved("PIN", d.join("pin").display().to_string()),
                "readonly STATE" => moved("STATE", d.join("state").display().to_string()),
                "readonly METRICS" => moved(
                    "METRICS",
                    d.join("metrics/gen_pull.prom").display().to_string(),
                ),
                "readonly REFUSAL_METRICS" => moved(
                    "REFUSAL_METRICS",
                    d.join("metrics/gen_pull_refusal.prom")
                        .display()
                        .to_string(),
                ),
                "readonly DELAY_SECONDS" => format!("readonly DELAY_SECONDS={delay_seconds}"),
                "readonly PROMETHEUS" => match prometheus {
                    Some(url) => moved("PROMETHEUS", url.to_string()),
                    None => line.to_string(),
                },
                "exec 9>/run/lock/gen-pull.lock" => format!("exec 9>{}/lock", d.display()),
                _ => line.to_string(),
            };
            script.push_str(&line);
            script.push('\n');
        }
        for name in [
            "REPOSITORY",
            "CHECKOUT",
            "GEN",
            "PIN",
            "STATE",
            "METRICS",
            "REFUSAL_METRICS",
            "DELAY_SECONDS",
        ] {
            assert!(
                script.contains(&format!("readonly {name}=")),
                "the script names {name}"
            );
        }
        let path = d.join("gen-pull");
        std::fs::write(&path, script).expect("script");
        let pull = Pull { dir, script: path };
        pull.commit("first");
        pull
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn commit(&self, message: &str) -> String {
        let work = self.path("work");
        std::fs::write(work.join("log"), message).expect("write");
        git(&work, &["add", "log"]);
        git(&work, &["commit", "--quiet", "-m", message]);
        git(
            &work,
            &["push", "--quiet", "--force", "origin", "HEAD:main"],
        );
        git(&work, &["rev-parse", "HEAD"])
    }

    fn run(&self) -> (i32, String) {
        let out = Command::new("bash")
            .arg(&self.script)
            .output()
            .expect("bash runs");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    }

    fn applied(&self) -> String {
        std::fs::read_to_string(self.path("state/applied"))
            .unwrap_or_default()
            .trim()
            .to_string()
    }
}

#[test]
fn pull_applies_new_commits_and_refuses_a_silent_downgrade() {
    let pull = Pull::new(0);
    let first = git(&pull.path("work"), &["rev-parse", "HEAD"]);
    let (code, output) = pull.run();
    assert_eq!(code, 0, "{output}");
    assert_eq!(pull.applied(), first);
    let calls = std::fs::read_to_string(pull.path("calls")).expect("gen ran");
    assert!(
        calls.contains("apply --profile shop --host web1 --yes"),
        "{calls}"
    );
    let metrics = std::fs::read_to_string(pull.path("metrics/gen_pull.prom")).expect("metrics");
    assert!(
        metrics.contains("gen_pull_last_success_timestamp_seconds "),
        "{metrics}"
    );

    let second = pull.commit("second");
    assert_eq!(pull.run().0, 0);
    assert_eq!(pull.applied(), second);

    // The branch is forced back to the first commit: an older, valid commit.
    git(&pull.path("work"), &["reset", "--quiet", "--hard", &first]);
    git(
        &pull.path("work"),
        &["push", "--quiet", "--force", "origin", "HEAD:main"],
    );
    let (code, output) = pull.run();
    assert_eq!(code, 1, "{output}");
    assert!(output.contains("does not descend from"), "{output}");
    assert_eq!(pull.applied(), second, "nothing was applied");
    let refusal = std::fs::read_to_string(pull.path("metrics/gen_pull_refusal.prom"))
        .expect("refusal metric");
    assert!(refusal.contains("gen_pull_refused 1"), "{refusal}");
    assert!(std::fs::read_to_string(pull.path("state/last-refusal"))
        .expect("kept")
        .contains("does not descend"));

    // A pin is the operator's explicit rollback: allowed, but only as a full hash.
    std::fs::write(pull.path("pin"), &first[..12]).expect("pin");
    let (code, output) = pull.run();
    assert_eq!(code, 1, "{output}");
    assert!(
        output.contains("must hold one full commit hash"),
        "{output}"
    );
    std::fs::write(pull.path("pin"), format!("{first}\n")).expect("pin");
    let (code, output) = pull.run();
    assert_eq!(code, 0, "{output}");
    assert_eq!(pull.applied(), first);
    assert!(
        !pull.path("metrics/gen_pull_refusal.prom").exists(),
        "a success clears the refusal"
    );
}

#[test]
fn a_later_wave_waits_for_its_delay_after_the_commit() {
    let pull = Pull::new(3600);
    let (code, output) = pull.run();
    assert_eq!(code, 0, "{output}");
    assert!(output.contains("waiting:"), "{output}");
    assert_eq!(pull.applied(), "", "nothing applied before the wave's time");
    assert!(!pull.path("calls").exists());
}

#[test]
fn canaries_apply_at_once_and_other_hosts_wait_their_wave() {
    let text = format!("{VALID}{ROLLOUT}stagger = \"30m\"\nwaves = 2\n")
        .replace("[hosts.web1]", "[hosts.web2]\naddress = \"10.1.0.11\"\nroles = [\"monitoring\"]\nhardware = { cores = 2, memory = \"4GiB\", storage = \"ssd\" }\n\n[hosts.web1]");
    let project = Project::new().profile("shop", &text);
    let built = project.gen(&["build"]);
    assert_eq!(built.code, 0, "{}", built.stderr);
    let script = |host: &str| {
        std::fs::read_to_string(project.path().join(format!(
            "generated/shop/{host}/root/usr/local/sbin/gen-pull"
        )))
        .expect("script")
    };
    assert!(script("web1").contains("readonly DELAY_SECONDS=0\n"));
    let later = script("web2");
    assert!(
        later.contains("readonly DELAY_SECONDS=1800\n")
            || later.contains("readonly DELAY_SECONDS=3600\n"),
        "{later}"
    );
}

#[test]
fn an_ssh_repository_needs_a_deploy_key_and_a_pinned_server_key() {
    let ssh = "\n[rollout]\nrepository = \"ssh://git@git.example.com/ops/deploy.git\"\nssh_key = \"/etc/gen/deploy-key\"\n";
    let project = Project::new().profile("shop", &format!("{VALID}{ssh}"));
    let refused = project.gen(&["build"]);
    assert_eq!(refused.code, 2);
    assert!(
        refused.stderr.contains("`rollout.known_hosts` is missing"),
        "{}",
        refused.stderr
    );

    let both = format!("{VALID}{ssh}known_hosts = \"/etc/gen/known_hosts\"\n");
    let project = Project::new().profile("shop", &both);
    let built = project.gen(&["build"]);
    assert_eq!(built.code, 0, "{}", built.stderr);
    let script = std::fs::read_to_string(
        project
            .path()
            .join("generated/shop/web1/root/usr/local/sbin/gen-pull"),
    )
    .expect("script");
    assert!(script.contains("export GIT_SSH_COMMAND='ssh -i /etc/gen/deploy-key -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=/etc/gen/known_hosts'"), "{script}");

    let home = both.replace("/etc/gen/deploy-key", "/root/.ssh/id_ed25519");
    let project = Project::new().profile("shop", &home);
    let refused = project.gen(&["build"]);
    assert_eq!(refused.code, 2);
    assert!(
        refused.stderr.contains("under a home directory"),
        "{}",
        refused.stderr
    );

    let https = both.replace(
        "ssh://git@git.example.com/ops/deploy.git",
        "https://git.example.com/ops/deploy.git",
    );
    let project = Project::new().profile("shop", &https);
    let refused = project.gen(&["build"]);
    assert_eq!(refused.code, 2);
    assert!(
        refused
            .stderr
            .contains("`rollout.ssh_key` is set but `rollout.repository` is not an ssh:// URL"),
        "{}",
        refused.stderr
    );
}

#[test]
fn canaries_are_hosts_and_waves_stay_in_range() {
    for (extra, expected) in [
        (
            "canary = [\"web9\"]\n",
            "`rollout.canary`: there is no host `web9`",
        ),
        ("waves = 0\n", "`rollout.waves`: 0 is out of range"),
        (
            "stagger = \"8d\"\n",
            "`rollout.stagger`: 8d is out of range",
        ),
    ] {
        let text = format!(
            "{VALID}\n[rollout]\nrepository = \"https://git.example.com/ops/deploy.git\"\n{extra}"
        );
        let refused = Project::new().profile("shop", &text).gen(&["build"]);
        assert_eq!(refused.code, 2, "{extra}: {}", refused.stderr);
        assert!(
            refused.stderr.contains(expected),
            "{extra}: {}",
            refused.stderr
        );
    }
}

/// A stand-in for Prometheus's query API on a local port: answers every
/// request with the JSON in `answer` (as Prometheus's `/api/v1/query`
/// does) and keeps the request lines it got.
struct QueryApi {
    url: String,
    answer: std::sync::Arc<std::sync::Mutex<String>>,
    requests: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl QueryApi {
    fn start() -> QueryApi {
        use std::io::{BufRead, BufReader, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let answer = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let requests = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (a, r) = (answer.clone(), requests.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(&stream);
                let mut first = String::new();
                let _ = reader.read_line(&mut first);
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
                        break;
                    }
                }
                r.lock()
                    .expect("query API state")
                    .push(first.trim().to_string());
                let body = a.lock().expect("query API state").clone();
                let _ = write!(
                    &stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        QueryApi {
            url,
            answer,
            requests,
        }
    }

    fn answer(&self, body: &str) {
        *self.answer.lock().expect("query API state") = body.to_string();
    }
}

/// A later wave applies a commit only once every canary reports it applied
/// and healthy to Prometheus; a canary writes that report only after its
/// apply (health gate included) succeeded.
#[test]
fn a_later_wave_applies_only_what_every_canary_reports_healthy() {
    let text =
        format!("{VALID}{ROLLOUT}").replace("canary = [\"web1\"]", "canary = [\"web1\", \"web3\"]");
    let text = text.replace(
        "[hosts.web1]",
        "[hosts.web2]\naddress = \"10.1.0.11\"\nroles = [\"api\"]\nhardware = { cores = 2, memory = \"4GiB\", storage = \"ssd\" }\n\n[hosts.web3]\naddress = \"10.1.0.12\"\nroles = [\"api\"]\nhardware = { cores = 2, memory = \"4GiB\", storage = \"ssd\" }\n\n[hosts.web1]",
    );
    // The canary reports the commit it applied.
    let canary = Pull::of(&text, "web1", 0, None);
    let (code, output) = canary.run();
    assert_eq!(code, 0, "{output}");
    let metrics = std::fs::read_to_string(canary.path("metrics/gen_pull.prom")).expect("metrics");
    assert!(
        metrics.contains(&format!(
            "gen_pull_applied_commit_info{{commit=\"{}\"}} 1",
            canary.applied()
        )),
        "{metrics}"
    );
    let own = std::fs::read_to_string(&canary.script).expect("script");
    assert!(!own.contains("PROMETHEUS"), "a canary waits for no one");

    let api = QueryApi::start();
    let later = Pull::of(&text, "web2", 0, Some(&api.url));
    let commit = git(&later.path("work"), &["rev-parse", "HEAD"]);
    let vector = |count: &str| {
        format!(
            r#"{{"status":"success","data":{{"resultType":"vector","result":[{{"metric":{{}},"value":[1767225600.5,"{count}"]}}]}}}}"#
        )
    };

    // No canary has it yet: Prometheus returns an empty vector.
    api.answer(r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#);
    let (code, output) = later.run();
    assert_eq!(code, 0, "{output}");
    assert!(output.contains("waiting: 0 of 2 canaries"), "{output}");
    assert_eq!(later.applied(), "");
    let asked = api.requests.lock().unwrap().join("\n");
    assert!(asked.contains("/api/v1/query?query="), "{asked}");
    assert!(
        asked.contains(&commit),
        "the query names the commit: {asked}"
    );
    assert!(
        asked.to_lowercase().contains("web1%7cweb3"),
        "the query names the canaries: {asked}"
    );

    // One of two canaries: still waiting.
    api.answer(&vector("1"));
    let (_, output) = later.run();
    assert!(output.contains("waiting: 1 of 2 canaries"), "{output}");
    assert_eq!(later.applied(), "");

    // Prometheus down: waiting, not applying and not failing the unit.
    api.answer("not json");
    let (code, output) = later.run();
    assert_eq!(code, 0, "{output}");
    assert!(output.contains("waiting"), "{output}");
    assert_eq!(later.applied(), "");

    // Both canaries report it: applied.
    api.answer(&vector("2"));
    let (code, output) = later.run();
    assert_eq!(code, 0, "{output}");
    assert_eq!(later.applied(), commit);

    // A pinned commit is the operator's choice and does not wait.
    let next = later.commit("second");
    api.answer(r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#);
    assert_eq!(later.run().0, 0);
    assert_eq!(
        later.applied(),
        commit,
        "the new commit waits for the canaries"
    );
    std::fs::write(later.path("pin"), format!("{next}\n")).expect("pin");
    let (code, output) = later.run();
    assert_eq!(code, 0, "{output}");
    assert_eq!(later.applied(), next);

    // Nothing listens where Prometheus should be: the host waits, says why,
    // and the unit does not fail.
    let unreachable = Pull::of(&text, "web2", 0, Some("http://127.0.0.1:1"));
    let (code, output) = unreachable.run();
    assert_eq!(code, 0, "{output}");
    assert!(
        output.contains("waiting: cannot ask Prometheus at http://127.0.0.1:1"),
        "{output}"
    );
    assert_eq!(unreachable.applied(), "");
}
