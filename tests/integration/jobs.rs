//! `[jobs]`: migrations that gate services, scheduled jobs and on-change
//! jobs. Bad combinations are located errors from the CLI (exit 2, nothing
//! written); good ones render compose services, units and timers that the
//! real validators accept.

use super::support::{Project, VALID};

/// `VALID` plus `extra` appended.
fn with_jobs(extra: &str) -> String {
    format!("{VALID}\n{extra}")
}

fn build_fails(profile: &str) -> String {
    let project = Project::new().profile("shop", profile);
    let run = project.gen(&["build"]);
    assert_eq!(run.code, 2, "stdout: {}\nstderr: {}", run.stdout, run.stderr);
    assert!(
        !project.path().join("generated").exists(),
        "a failed build wrote generated/"
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    run.stderr
}

/// The line of `profile` (1-based) that starts with `prefix`.
fn line_of(profile: &str, prefix: &str) -> usize {
    profile
        .lines()
        .position(|l| l.starts_with(prefix))
        .map(|i| i + 1)
        .unwrap_or_else(|| panic!("no line starts with {prefix:?}"))
}

#[test]
fn a_job_of_an_unknown_service_is_located() {
    let profile = with_jobs(
        "[jobs.migrate]\nservice = \"apu\"\ncommand = [\"alembic\", \"upgrade\", \"head\"]\nbefore = [\"api\"]\n",
    );
    let stderr = build_fails(&profile);
    assert!(stderr.contains("there is no service `apu`"), "{stderr}");
    let line = line_of(&profile, "service = \"apu\"");
    assert!(stderr.contains(&format!("profiles/shop.toml:{line}:")), "{stderr}");
    insta::assert_snapshot!(stderr);
}

#[test]
fn a_job_with_two_triggers_is_refused() {
    let profile = with_jobs(
        "[jobs.migrate]\nservice = \"api\"\ncommand = [\"alembic\", \"upgrade\", \"head\"]\nbefore = [\"api\"]\nschedule = \"*-*-* 04:00:00\"\n",
    );
    let stderr = build_fails(&profile);
    assert!(stderr.contains("has two triggers"), "{stderr}");
    let line = line_of(&profile, "schedule = ");
    assert!(stderr.contains(&format!("profiles/shop.toml:{line}:")), "{stderr}");
}

#[test]
fn a_job_may_not_restate_what_it_inherits() {
    let stderr = build_fails(&with_jobs(
        "[jobs.migrate]\nservice = \"api\"\nimage = \"ghcr.io/shop/api:2.0.0\"\ncommand = [\"migrate\"]\nbefore = [\"api\"]\n",
    ));
    assert!(
        stderr.contains("inherits its `image` from service `api`"),
        "{stderr}"
    );
}

#[test]
fn a_bad_schedule_is_refused_before_systemd_sees_it() {
    let stderr = build_fails(&with_jobs(
        "[jobs.report]\nservice = \"api\"\ncommand = [\"report\"]\nschedule = \"*-*-* 25:00\"\n",
    ));
    assert!(stderr.contains("`jobs.report.schedule`"), "{stderr}");
    assert!(stderr.contains("outside 0-23"), "{stderr}");
}

/// A container `before` job that no container of `docker compose up` waits
/// for would leave an exited container that fails `up --wait`.
#[test]
fn a_container_job_gating_no_container_is_a_job_order_error() {
    let profile = with_jobs(
        "[services.agent]\nruntime = \"native\"\ncommand = [\"/usr/local/bin/agent\"]\nuser = \"agent\"\n\n\
         [jobs.migrate]\nservice = \"api\"\ncommand = [\"migrate\"]\nbefore = [\"agent\"]\n",
    );
    let stderr = build_fails(&profile);
    assert!(stderr.contains("gen::error::job-order"), "{stderr}");
    assert!(
        stderr.contains("container job `migrate` cannot gate native `agent`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("container job `migrate` gates no container"),
        "{stderr}"
    );
    insta::assert_snapshot!(stderr);
}

#[test]
fn jobs_before_one_another_in_a_cycle_are_refused() {
    let stderr = build_fails(&with_jobs(
        "[jobs.a]\nservice = \"api\"\ncommand = [\"a\"]\nbefore = [\"b\", \"api\"]\n\n\
         [jobs.b]\nservice = \"api\"\ncommand = [\"b\"]\nbefore = [\"a\", \"api\"]\n",
    ));
    assert!(stderr.contains("gen::error::job-order"), "{stderr}");
    assert!(stderr.contains("in a cycle: a → b → a"), "{stderr}");
}

#[test]
fn a_job_that_runs_nowhere_is_refused() {
    let stderr = build_fails(&with_jobs(
        "[jobs.report]\nruntime = \"native\"\nuser = \"report\"\ncommand = [\"/usr/local/bin/report\"]\nschedule = \"daily\"\n",
    ));
    assert!(stderr.contains("`jobs.report` runs nowhere"), "{stderr}");
}
