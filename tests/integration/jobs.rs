//! `[jobs]`: migrations that gate services, scheduled jobs and on-change
//! jobs. Bad combinations are located errors from the CLI (exit 2, nothing
//! written); good ones render compose services, units and timers that the
//! real validators accept.

use super::support::{build_fails, Project, VALID};

/// `VALID` plus `extra` appended.
fn with_jobs(extra: &str) -> String {
    format!("{VALID}\n{extra}")
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
    assert!(
        stderr.contains(&format!("profiles/shop.toml:{line}:")),
        "{stderr}"
    );
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
    assert!(
        stderr.contains(&format!("profiles/shop.toml:{line}:")),
        "{stderr}"
    );
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

/// `VALID` with a native service and one job of each kind: a container
/// migration before `api`, a scheduled and an on-change container job, a
/// native job before `agent` and a scheduled native job on the database.
fn jobs_profile() -> String {
    with_jobs(
        r#"[services.agent]
runtime = "native"
command = ["/usr/local/bin/agent"]
user = "agent"

[jobs.migrate]
service = "api"
command = ["alembic", "upgrade", "head"]
before = ["api"]
timeout = "10m"

[jobs.report]
service = "api"
command = ["python", "-m", "shop.report"]
schedule = "Mon *-*-* 04:00:00"

[jobs.reindex]
service = "api"
command = ["python", "-m", "shop.reindex"]

[jobs.agent-setup]
runtime = "native"
user = "agent"
command = ["/usr/local/bin/agent", "--setup"]
before = ["agent"]

[jobs.archive]
runtime = "native"
hosts = ["web1"]
user = "postgres"
command = ["/opt/shop/archive.sh"]
schedule = "*-*-01 04:00:00"
duration = "30m"
uses = ["database"]
"#,
    )
}

fn built() -> Project {
    let project = Project::new().profile("shop", &jobs_profile());
    let run = project.gen(&["build"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    project
}

fn read(project: &Project, path: &str) -> String {
    let file = project
        .path()
        .join("generated/shop/web1/root")
        .join(path.trim_start_matches('/'));
    std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

#[test]
fn a_container_before_job_gates_its_service_through_compose() {
    let project = built();
    let compose = read(&project, "/etc/shop/compose.yaml");
    let api = compose
        .split("\n  \"api\":")
        .nth(1)
        .and_then(|rest| rest.split("\n  \"job-").next())
        .expect("the api service");
    assert!(
        api.contains(
            "depends_on:\n      \"job-migrate\":\n        condition: service_completed_successfully"
        ),
        "{api}"
    );
    let migrate = compose
        .split("\n  \"job-migrate\":")
        .nth(1)
        .and_then(|rest| rest.split("\n\n").next())
        .expect("the migration");
    assert!(migrate.contains("restart: \"no\""), "{migrate}");
    assert!(
        migrate.contains("[\"alembic\",\"upgrade\",\"head\"]"),
        "{migrate}"
    );
    assert!(
        !migrate.contains("profiles"),
        "up must start the migration: {migrate}"
    );
    for job in ["job-report", "job-reindex"] {
        let entry = compose
            .split(&format!("\n  \"{job}\":"))
            .nth(1)
            .and_then(|rest| rest.split("\n\n").next())
            .unwrap_or_else(|| panic!("no {job}"));
        assert!(entry.contains("profiles: [\"jobs\"]"), "{entry}");
    }
    insta::assert_snapshot!("compose_with_jobs", compose);
}

#[test]
fn job_units_run_their_job_and_timers_run_in_utc() {
    let project = built();
    let report = read(&project, "/etc/systemd/system/shop-job-report.service");
    assert!(
        report.contains(
            "ExecStart=/usr/bin/docker compose --file /etc/shop/compose.yaml run --rm --no-deps job-report"
        ),
        "{report}"
    );
    let timer = read(&project, "/etc/systemd/system/shop-job-archive.timer");
    assert!(timer.contains("OnCalendar=*-*-01 04:00:00 UTC"), "{timer}");
    assert!(timer.contains("Persistent=true"), "{timer}");
    let setup = read(&project, "/etc/systemd/system/shop-job-agent-setup.service");
    assert!(setup.contains("Type=oneshot"), "{setup}");
    assert!(setup.contains("Before=shop-agent.service"), "{setup}");
    let agent = read(&project, "/etc/systemd/system/shop-agent.service");
    assert!(
        agent.contains("Requires=shop-job-agent-setup.service\nAfter=shop-job-agent-setup.service"),
        "{agent}"
    );
    // A migration gating containers has no unit: compose runs it.
    assert!(!project
        .path()
        .join("generated/shop/web1/root/etc/systemd/system/shop-job-migrate.service")
        .exists());
    insta::assert_snapshot!("job_unit_native_before", setup);
    insta::assert_snapshot!("job_unit_container_scheduled", report);
    insta::assert_snapshot!("job_timer", timer);
}

/// The real validators accept everything jobs add: the compose file with its
/// `service_completed_successfully` conditions passes the compose schema,
/// every unit passes `systemd-analyze verify` (which loads the gated unit's
/// `Requires=` job), every timer's calendar passes `systemd-analyze calendar`.
#[test]
fn gen_check_accepts_jobs() {
    let project = built();
    let run = project.gen(&["check"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    for file in [
        "etc/shop/compose.yaml (check-jsonschema",
        "shop-job-agent-setup.service (systemd-analyze verify, systemd-analyze security",
        "shop-agent.service (systemd-analyze verify, systemd-analyze security",
        "shop-job-archive.timer (systemd-analyze verify, systemd-analyze calendar)",
        "shop-job-report.timer (systemd-analyze verify, systemd-analyze calendar)",
    ] {
        assert!(
            run.stdout
                .lines()
                .any(|l| l.starts_with("ok") && l.contains(file)),
            "{file}\n{}",
            run.stdout
        );
    }
}

/// `Requires=` in the gated unit is real: without the job's unit next to it,
/// `systemd-analyze verify` of the service fails on the missing dependency.
#[test]
fn a_native_service_requires_the_job_that_runs_before_it() {
    let project = built();
    let dir = tempfile::tempdir().expect("tempdir");
    let agent = read(&project, "/etc/systemd/system/shop-agent.service");
    std::fs::write(dir.path().join("shop-agent.service"), &agent).expect("write");
    let verify = |dir: &std::path::Path| {
        std::process::Command::new("systemd-analyze")
            .args(["verify", "--man=no", "--generators=no"])
            .arg(dir.join("shop-agent.service"))
            .output()
            .expect("systemd-analyze runs")
    };
    let alone = verify(dir.path());
    let stderr = String::from_utf8_lossy(&alone.stderr);
    assert!(
        stderr.contains("shop-job-agent-setup.service"),
        "verify did not look for the job: {stderr}"
    );
    let setup = read(&project, "/etc/systemd/system/shop-job-agent-setup.service");
    std::fs::write(dir.path().join("shop-job-agent-setup.service"), &setup).expect("write");
    let together = verify(dir.path());
    let stderr = String::from_utf8_lossy(&together.stderr);
    assert!(!stderr.contains("shop-job-agent-setup.service"), "{stderr}");
}

/// The exposure `systemd-analyze security --offline=yes` gives a unit of the
/// built tree.
fn exposure(project: &Project, unit: &str) -> f64 {
    let root = project.path().join("generated/shop/web1/root");
    let out = std::process::Command::new("systemd-analyze")
        .args(["security", "--offline=yes"])
        .arg(format!("--root={}", root.display()))
        .arg(unit)
        .output()
        .expect("systemd-analyze runs");
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| {
            l.split_once("Overall exposure level for ")?
                .1
                .split_once(": ")?
                .1
                .split(' ')
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no exposure level for {unit}: {text}"))
}

/// Native job units meet the application budget (≤ 3.5). Container job
/// units drive docker as root like the compose unit, and score like it.
#[test]
fn native_job_units_meet_the_exposure_budget() {
    let project = built();
    for unit in ["shop-job-agent-setup.service", "shop-job-archive.service"] {
        let score = exposure(&project, unit);
        assert!(score <= 3.5, "{unit}: {score}");
    }
    assert_eq!(
        exposure(&project, "shop-job-report.service"),
        exposure(&project, "shop-compose.service")
    );
}

/// The schedule-collision lint's expansion of a calendar expression agrees
/// with systemd's own: the first runs after 2028-01-01 00:00 UTC, as
/// `systemd-analyze calendar --iterations=N` prints them. Cron schedules
/// are compared through their systemd spelling.
#[test]
fn schedule_expansion_matches_systemd_analyze_calendar() {
    use gen_compile::calendar::{show, Schedule};
    const N: usize = 40;
    let systemd = |expression: &str| -> Vec<String> {
        let out = std::process::Command::new("systemd-analyze")
            .args(["calendar", "--base-time=2027-12-31 23:59:59 UTC"])
            .arg(format!("--iterations={N}"))
            .arg(format!("{expression} UTC"))
            .output()
            .expect("systemd-analyze runs");
        assert!(out.status.success(), "{expression}: {out:?}");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| {
                let l = l.trim();
                l.strip_prefix("Next elapse: ").or_else(|| {
                    l.split_once(": ")
                        .filter(|(k, _)| k.starts_with("Iter. #"))
                        .map(|(_, v)| v)
                })
            })
            .map(|v| v.trim_end_matches(" UTC").to_string())
            // The expansion covers the reference year only.
            .filter(|v| v.get(4..8) == Some("2028"))
            .collect()
    };
    let ours = |schedule: Schedule| -> Vec<String> {
        schedule.starts().into_iter().take(N).map(show).collect()
    };
    for expression in [
        "*-*-* 03:00:00",
        "Mon *-*-* 04:00:00",
        "*-*-01 04:00:00",
        "Sun 02:00",
        "Mon..Fri *-*-* 02:30",
        "Sat,Sun 04:30",
        "*:0/15",
        "*-02-29 12:00",
        "*-01,04,07,10-01 06:00",
        "weekly",
        "monthly",
        "quarterly",
        "*-*-1,15 23:45:30",
    ] {
        let schedule = Schedule::calendar(expression).expect(expression);
        assert_eq!(ours(schedule), systemd(expression), "{expression}");
    }
    for (cron, calendar) in [
        ("0 2 * * *", "*-*-* 02:00:00"),
        ("0 2 * * 0", "Sun *-*-* 02:00:00"),
        ("0 2 1 * *", "*-*-01 02:00:00"),
        ("*/5 * * * *", "*-*-* *:0/5:00"),
        ("30 8-18 * * 1-5", "Mon..Fri *-*-* 08..18:30:00"),
        ("17 3 * 1,6 *", "*-01,06-* 03:17:00"),
    ] {
        let schedule = Schedule::cron(cron).expect(cron);
        assert_eq!(ours(schedule), systemd(calendar), "{cron} as {calendar}");
    }
}

/// SmartAttend 331-337: the daily backup, the weekly full backup and the
/// monthly archive all at 02:00. Each pair is reported once, at the later
/// key, with the first time they meet — the monthly archive and the Sunday
/// full backup first meet on Sunday 2028-10-01, which only a whole year
/// of expansion finds.
#[test]
fn three_backups_at_two_collide_pairwise() {
    let profile = with_jobs(
        r#"[maintenance]
vacuum_schedule = "0 5 * * *"

[jobs.full-backup]
runtime = "native"
hosts = ["web1"]
user = "postgres"
command = ["/usr/local/bin/backup.sh", "--full"]
schedule = "Sun 02:00"
duration = "1h"
uses = ["database"]

[jobs.archive]
runtime = "native"
hosts = ["web1"]
user = "postgres"
command = ["/usr/local/bin/backup.sh", "--archive"]
schedule = "*-*-01 02:00"
duration = "2h"
uses = ["database"]
"#,
    )
    .replace(
        "[redis]",
        "[backup]\nschedule = \"*-*-* 02:00:00\"\nretention_days = 7\ndestination = \"/var/backups/shop\"\n\n[redis]",
    );
    let project = Project::new().profile("shop", &profile);
    let run = project.gen(&["build"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let collisions = run.stderr.matches("gen::lint::schedule-collision").count();
    assert_eq!(collisions, 3, "{}", run.stderr);
    // Compared without the report's line wrapping.
    let squeeze = |s: &str| s.replace(['\n', ' ', '|'], "");
    let flat = squeeze(&run.stderr);
    assert!(
        flat.contains(&squeeze("`jobs.archive.schedule` (`*-*-01 02:00`: job `archive` on `web1` (2h)) starts at Sat 2028-01-01 02:00:00 UTC while `backup.schedule`")),
        "{flat}"
    );
    assert!(
        flat.contains(&squeeze("`jobs.full-backup.schedule` (`Sun 02:00`: job `full-backup` on `web1` (1h)) starts at Sun 2028-01-02 02:00:00 UTC while `backup.schedule`")),
        "{flat}"
    );
    assert!(
        flat.contains(&squeeze("`jobs.full-backup.schedule` (`Sun 02:00`: job `full-backup` on `web1` (1h)) starts at Sun 2028-10-01 02:00:00 UTC while `jobs.archive.schedule`")),
        "{flat}"
    );
}

/// A throw-away PostgreSQL 15 cluster on a Unix socket in a temporary
/// directory, run as `postgres`, stopped when dropped.
struct Cluster {
    dir: tempfile::TempDir,
    pg_ctl: std::path::PathBuf,
}

const PORT: &str = "5491";

fn as_postgres(program: &std::path::Path) -> std::process::Command {
    let mut command = std::process::Command::new("/usr/sbin/runuser");
    command.args(["-u", "postgres", "--"]).arg(program);
    command
}

impl Cluster {
    fn start() -> Cluster {
        // Where gen check finds a PostgreSQL 15 (crates/gen-check/src/postgres/server.rs).
        let bin = [
            "/usr/lib/postgresql/15/bin",
            "/opt/gen-validators/postgresql/15/bin",
        ]
        .iter()
        .map(std::path::Path::new)
        .find(|dir| dir.join("initdb").is_file())
        .expect("PostgreSQL 15 is installed");
        let dir = tempfile::tempdir().expect("tempdir");
        let status = std::process::Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(dir.path())
            .status()
            .expect("chown");
        assert!(status.success());
        let data = dir.path().join("data");
        let out = as_postgres(&bin.join("initdb"))
            .args(["--auth=peer", "--no-sync", "--username=postgres", "-D"])
            .arg(&data)
            .output()
            .expect("initdb");
        assert!(out.status.success(), "{out:?}");
        let out = as_postgres(&bin.join("pg_ctl"))
            .args(["-w", "-D"])
            .arg(&data)
            .arg("-o")
            .arg(format!(
                "-k {} -c listen_addresses= -p {PORT}",
                dir.path().display()
            ))
            .arg("-l")
            .arg(dir.path().join("log"))
            .arg("start")
            .output()
            .expect("pg_ctl start");
        assert!(out.status.success(), "{out:?}");
        Cluster {
            dir,
            pg_ctl: bin.join("pg_ctl"),
        }
    }

    /// Runs `program` as `postgres` against the cluster.
    fn run(&self, program: &std::path::Path, args: &[&str]) -> std::process::Output {
        as_postgres(program)
            .args(args)
            .env("PGHOST", self.dir.path())
            .env("PGPORT", PORT)
            .output()
            .expect("runs")
    }

    fn sql(&self, database: &str, sql: &str) -> String {
        let out = self.run(
            std::path::Path::new("/usr/bin/psql"),
            &[
                "-X",
                "-qAt",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                database,
                "-c",
                sql,
            ],
        );
        assert!(out.status.success(), "{sql}: {out:?}");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = as_postgres(&self.pg_ctl)
            .args(["-w", "-m", "immediate", "-D"])
            .arg(self.dir.path().join("data"))
            .arg("stop")
            .output();
    }
}

/// STET 290-298 applies 001..003 by hand, after `initdb.d` already applied
/// them once (142). gen's SQL runner applies each file once, in order, with
/// the database owner's role; run again, it applies nothing; a failing file
/// leaves neither its objects nor a record.
#[test]
fn the_sql_runner_applies_each_migration_once() {
    let profile = with_jobs(
        "[jobs.schema]\nsql = { database = \"shop\", directory = \"/opt/shop/migrations\" }\n",
    );
    let project = Project::new().profile("shop", &profile);
    let run = project.gen(&["build"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let script = read(&project, "/usr/local/sbin/shop-sql-migrate");
    let unit = read(&project, "/etc/systemd/system/shop-job-schema.service");
    assert!(
        unit.contains(
            "ExecStart=\"/usr/local/sbin/shop-sql-migrate\" \"shop\" \"/opt/shop/migrations\""
        ),
        "{unit}"
    );
    assert!(unit.contains("User=postgres"), "{unit}");

    let cluster = Cluster::start();
    cluster.sql("postgres", "CREATE ROLE shop LOGIN");
    cluster.sql("postgres", "CREATE DATABASE shop OWNER shop");
    let work = cluster.dir.path();
    let runner = work.join("sql-migrate");
    std::fs::write(&runner, script).expect("write");
    let migrations = work.join("migrations");
    std::fs::create_dir(&migrations).expect("mkdir");
    for (name, sql) in [
        (
            "001_init.sql",
            "CREATE TABLE heartbeats (id bigint PRIMARY KEY);\n",
        ),
        (
            "002 add origin.sql",
            "ALTER TABLE heartbeats ADD COLUMN origin text;\n",
        ),
        (
            "003_add_origin_to_corrections.sql",
            "CREATE TABLE corrections (id bigint, origin text);\n",
        ),
    ] {
        std::fs::write(migrations.join(name), sql).expect("write");
    }
    let status = std::process::Command::new("chmod")
        .args(["-R", "a+rX"])
        .arg(work)
        .status()
        .expect("chmod");
    assert!(status.success());
    let status = std::process::Command::new("chmod")
        .arg("755")
        .arg(&runner)
        .status()
        .expect("chmod");
    assert!(status.success());
    let dir = migrations.to_str().expect("utf-8");

    let first = cluster.run(&runner, &["shop", dir]);
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert!(first.status.success(), "{first:?}");
    assert!(
        stdout.contains("3 migration(s) applied to shop"),
        "{stdout}"
    );
    assert_eq!(
        cluster.sql(
            "shop",
            "SELECT string_agg(name, ',' ORDER BY name) FROM gen.applied_migrations"
        ),
        "001_init.sql,002 add origin.sql,003_add_origin_to_corrections.sql"
    );
    // Applied with the owner's role: the tables belong to `shop`.
    assert_eq!(
        cluster.sql(
            "shop",
            "SELECT string_agg(DISTINCT tableowner, ',') FROM pg_tables WHERE schemaname = 'public'"
        ),
        "shop"
    );

    // Again: nothing is applied (001 would fail: the table exists).
    let second = cluster.run(&runner, &["shop", dir]);
    let stdout = String::from_utf8_lossy(&second.stdout);
    assert!(second.status.success(), "{second:?}");
    assert!(
        stdout.contains("0 migration(s) applied to shop"),
        "{stdout}"
    );

    // A failing file: its table is rolled back with it and it is not recorded.
    std::fs::write(
        migrations.join("004_broken.sql"),
        "CREATE TABLE half_done (id int);\nSELECT 1 / 0;\n",
    )
    .expect("write");
    let status = std::process::Command::new("chmod")
        .arg("644")
        .arg(migrations.join("004_broken.sql"))
        .status()
        .expect("chmod");
    assert!(status.success());
    let third = cluster.run(&runner, &["shop", dir]);
    assert!(!third.status.success(), "{third:?}");
    assert_eq!(
        cluster.sql(
            "shop",
            "SELECT count(*) FROM pg_tables WHERE tablename = 'half_done'"
        ),
        "0"
    );
    assert_eq!(
        cluster.sql("shop", "SELECT count(*) FROM gen.applied_migrations"),
        "3"
    );
}

#[test]
fn a_sql_job_names_the_declared_database_and_no_process() {
    let stderr = build_fails(&with_jobs(
        "[jobs.schema]\nsql = { database = \"shopp\", directory = \"/opt/shop/migrations\" }\ncommand = [\"migrate\"]\n",
    ));
    assert!(
        stderr.contains("`jobs.schema.sql.database`: `shopp` is not a declared database (shop)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("`jobs.schema.command`: a `sql` job runs gen's SQL runner"),
        "{stderr}"
    );
}

/// What a changed job asks of the host: a job with no trigger or a `before`
/// job runs again (its unit is reloaded and restarted); a scheduled job's
/// change takes effect through its timer. A container job's unit carries a
/// digest of its compose entry, so a new image changes the unit as well.
#[test]
fn a_changed_job_runs_again() {
    let project = built();
    let manifest: serde_json::Value =
        serde_json::from_str(&read_manifest(&project)).expect("manifest is JSON");
    let activation = |path: &str| -> (String, String) {
        let file = manifest["files"]
            .as_array()
            .and_then(|files| files.iter().find(|f| f["path"] == path))
            .unwrap_or_else(|| panic!("no {path}"));
        (
            file["activation"]["action"]
                .as_str()
                .unwrap_or("")
                .to_string(),
            file["activation"]["unit"]
                .as_str()
                .unwrap_or("")
                .to_string(),
        )
    };
    for (path, unit) in [
        (
            "/etc/systemd/system/shop-job-agent-setup.service",
            "shop-job-agent-setup.service",
        ),
        (
            "/etc/systemd/system/shop-job-reindex.service",
            "shop-job-reindex.service",
        ),
        (
            "/etc/systemd/system/shop-job-report.service",
            "shop-job-report.timer",
        ),
        (
            "/etc/systemd/system/shop-job-archive.service",
            "shop-job-archive.timer",
        ),
    ] {
        assert_eq!(
            activation(path),
            ("daemon_reload".into(), unit.into()),
            "{path}"
        );
    }
    assert_eq!(
        activation("/etc/shop/compose.yaml"),
        ("restart".into(), "shop-compose.service".into())
    );

    let before = read(&project, "/etc/systemd/system/shop-job-reindex.service");
    let newer = Project::new().profile("shop", &jobs_profile().replace("api:1.0.0", "api:1.1.0"));
    let run = newer.gen(&["build"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let after = read(&newer, "/etc/systemd/system/shop-job-reindex.service");
    assert_ne!(before, after, "a new image must change the job's unit");
}

fn read_manifest(project: &Project) -> String {
    std::fs::read_to_string(project.path().join("generated/shop/web1/manifest.json"))
        .expect("manifest")
}

/// A job's secret files are files the host must hold: the manifest requires
/// them, so `gen apply` refuses before the job runs without them.
#[test]
fn a_job_s_secrets_are_required_of_its_host() {
    let project = Project::new().profile(
        "shop",
        &with_jobs(
            "[jobs.report]\nruntime = \"container\"\nimage = \"ghcr.io/shop/report:1.0.0\"\ncommand = [\"report\"]\nhosts = [\"web1\"]\nschedule = \"daily\"\nsecrets = { smtp_password = \"/etc/shop/secrets/smtp_password\" }\n",
        ),
    );
    let run = project.gen(&["build"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let manifest: serde_json::Value =
        serde_json::from_str(&read_manifest(&project)).expect("manifest is JSON");
    assert!(
        manifest["requires"]["files"]
            .as_array()
            .is_some_and(|r| r.iter().any(|f| f == "/etc/shop/secrets/smtp_password")),
        "{manifest}"
    );
    let compose = read(&project, "/etc/shop/compose.yaml");
    assert!(
        compose.contains("\"smtp_password\":\n    file: \"/etc/shop/secrets/smtp_password\""),
        "{compose}"
    );
}
