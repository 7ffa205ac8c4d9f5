//! `gen apply`: make the live root hold the generated tree of one host.

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::time::Duration;

use camino::Utf8Path;

use crate::cli::{Format, LiveArgs, Outcome};
use crate::commands::{diff, live};
use gen_live::accounts::Accounts;
use gen_live::apply::{Session, Target};
use gen_live::health::Verdict;
use gen_live::live_diff;
use gen_live::plan::{restore_activations, Plan};
use gen_live::root_dir::RootDir;
use gen_target::error::{Error, Result};

pub struct Options<'a> {
    pub plan: Option<&'a Utf8Path>,
    pub yes: bool,
    /// Whether systemd is told about the changes (see `live::Activating`).
    pub activating: live::Activating,
    pub keep: usize,
    /// Apply a tree older than the profiles beside it, or built by another gen.
    pub allow_stale: bool,
    /// Run `gen check`'s validators on the tree before writing anything.
    pub validate: bool,
    /// How long the health gate may take to pass after the activations.
    pub health_timeout: Duration,
    /// Roll back when the health gate fails (`--no-health-rollback` keeps the files).
    pub health_rollback: bool,
    /// Apply a firewall that would cut this SSH session (`--allow-firewall-lockout`).
    pub allow_firewall_lockout: bool,
}

/// Runs the real validators on the host's tree (the files about to be
/// written) and refuses the apply if any of them rejects a file. A validator
/// that is not installed on this host is reported and does not block.
fn validate(host_dir: &Utf8Path) -> Result<()> {
    crate::sandboxes::guard()?;
    // Beside the host's running services: the sandboxes stay small.
    let report = gen_check::check_host_with(host_dir, gen_check::Sandbox::Frugal);
    // Stopped by a signal: nothing is written, whatever the validators said.
    crate::sandboxes::wait_if_interrupted();
    let report = report?;
    let mut failures = Vec::new();
    for file in &report.files {
        match file.status {
            gen_check::Status::Failed => failures.push(file),
            gen_check::Status::Skipped => eprintln!(
                "note: no validator for {} is installed here; it was not checked before applying",
                file.path
            ),
            gen_check::Status::Passed | gen_check::Status::OverBudget => {}
        }
    }
    match failures.first() {
        None => Ok(()),
        Some(first) => Err(Error::Validation {
            path: if failures.len() == 1 {
                first.path.clone()
            } else {
                format!("{} and {} more", first.path, failures.len() - 1)
            },
            message: failures
                .iter()
                .flat_map(|f| f.messages.iter())
                .cloned()
                .collect::<Vec<_>>()
                .join("; "),
        }),
    }
}

/// The secrets, certificates and keys the tree names must be on the host
/// before its services are told to use them: refused on a host whose
/// services are activated, a warning on a scratch root (an image or staging
/// tree gets them where it runs).
fn refuse_missing_files(
    session: &Session,
    target: &Target,
    activating: live::Activating,
) -> Result<()> {
    let missing = session.missing_files(target)?;
    if missing.is_empty() {
        return Ok(());
    }
    if activating.yes() {
        return Err(Error::MissingFiles {
            count: missing.len(),
            paths: missing.join(", "),
        });
    }
    for path in &missing {
        eprintln!("warning: the host has no `{path}`, which the tree needs; its services will fail until it exists");
    }
    Ok(())
}

/// The Debian packages the tree needs must be installed before their
/// services are told to use it: refused on a host whose services are
/// activated, like missing files; a warning on a scratch root (the packages
/// asked about are this machine's, not the root's).
fn refuse_missing_packages(target: &Target, activating: live::Activating) -> Result<()> {
    let packages = &target.manifest.requires.packages;
    if packages.is_empty() {
        return Ok(());
    }
    let missing = match gen_live::packages::missing(packages) {
        Ok(missing) => missing,
        Err(e) if !activating.yes() => {
            eprintln!("warning: {e}; the tree's packages were not checked");
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    if missing.is_empty() {
        return Ok(());
    }
    if activating.yes() {
        return Err(Error::MissingPackages {
            count: missing.len(),
            names: missing.join(", "),
            names_spaced: missing.join(" "),
        });
    }
    for name in &missing {
        eprintln!("warning: package `{name}` is not installed here; the tree's services need it on the host");
    }
    Ok(())
}

pub fn run(
    project: &Utf8Path,
    args: &LiveArgs,
    options: &Options,
    format: Format,
) -> Result<Outcome> {
    let generated = live::generated(project, args);
    let host = live::host(&generated, args)?;
    let manifest = live::manifest(&generated, &args.profile, &host)?;
    live::refuse_if_stale(
        &generated,
        &args.profile,
        &host,
        &manifest,
        options.allow_stale,
    )?;
    live::root(args)?;
    let host_dir = generated.join(&args.profile).join(&host);
    // Everything that can be refused without the host is refused first.
    let target = Target::verify(&host_dir, manifest)?;
    if !options.allow_firewall_lockout {
        let session = std::env::var("SSH_CONNECTION").ok();
        gen_live::firewall_guard::refuse_lockout(&target.manifest, session.as_deref())?;
    }
    let accounts = Accounts::system()?;
    target.check_accounts(&accounts)?;
    let reviewed = match options.plan {
        Some(path) => Some(Plan::read(path)?),
        None => None,
    };
    if let Some(plan) = &reviewed {
        if plan.tree_hash != target.manifest.tree_hash {
            return Err(Error::PlanMismatch {
                message: format!(
                    "the plan expects tree hash `{}`, `{host_dir}` has `{}`",
                    plan.tree_hash, target.manifest.tree_hash
                ),
            });
        }
    }
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if !options.yes && !interactive {
        return Err(Error::NotConfirmed);
    }

    let root = RootDir::open(&args.root)?;
    let session = Session::open(root, accounts, options.activating.yes())?;
    crate::commands::rollback::note_ignored(&session);
    refuse_missing_files(&session, &target, options.activating)?;
    refuse_missing_packages(&target, options.activating)?;
    // Planned once under the lock: decides whether the validators run, and
    // is what an operator confirms.
    let planned = session.plan(&target)?;
    // Validators take seconds (PostgreSQL starts a sandbox cluster): run them
    // only when something is going to be written.
    if options.validate && !planned.is_empty() {
        validate(&host_dir)?;
    }
    for number in &session.recovered {
        eprintln!("rolled back interrupted generation {number} before applying");
    }
    // Nothing to write needs no confirmation: only the pending activations
    // of earlier runs, if any, are run again.
    if !options.yes && !planned.is_empty() {
        diff::print(&[live_diff::against_live(&target, &planned)], Format::Human);
        if !confirm(&planned.plan, &args.root)? {
            return Err(Error::Declined);
        }
    }
    // What was confirmed is `planned`: the apply refuses if any path it
    // scanned moved while the operator read it.
    let applied = session.apply(&target, &planned, reviewed.as_ref(), options.keep)?;
    let plan = planned.plan;
    if format != Format::Json {
        match applied.generation {
            Some(number) => eprintln!(
                "applied {} change(s) to {}/{} under {} as generation {number} ({} unchanged)",
                applied.changes, plan.profile, plan.host, args.root, plan.unchanged
            ),
            None => eprintln!(
                "{}/{} is up to date under {}",
                plan.profile, plan.host, args.root
            ),
        }
    }
    // Every apply, even one with nothing to write, runs what the host is
    // still owed: this apply's activations and those earlier runs left pending.
    if format != Format::Json && !plan.activations.is_empty() {
        eprintln!("{}", gen_live::activate::summary(&plan.activations));
    }
    let ran = options.activating.run(&session, &plan.activations)?;
    if format != Format::Json {
        for command in &ran {
            eprintln!("ran {command}");
        }
    }
    // Restarted services must answer: the tree's health gate decides, after
    // any apply whose activations ran — also one that only re-ran what an
    // earlier apply left pending. That one wrote nothing, so a failing gate
    // rolls nothing back: it reports, and the operator decides.
    if !ran.is_empty() {
        health_gate(&session, &target, applied.generation, options, format)?;
    }
    if format == Format::Json {
        println!(
            "{}",
            serde_json::json!({
                "profile": plan.profile,
                "host": plan.host,
                "generation": applied.generation,
                "changes": applied.changes,
                "unchanged": plan.unchanged,
                "pruned": applied.pruned,
                // What this apply asks of the host, in the shape `gen diff`
                // and `gen plan` show; `ran` is every command that ran
                // (earlier runs' pending ones included).
                "activations": plan.activations.shown(),
                "ran": ran,
            })
        );
    }
    Ok(Outcome::Clean)
}

/// Runs the tree's health gate (none listed: nothing to do) until it passes
/// or `--health-timeout` ends; when it never passes, rolls generation
/// `number` (this apply's, if it wrote one) back and runs what restoring
/// asks, unless `--no-health-rollback`.
fn health_gate(
    session: &Session,
    target: &Target,
    number: Option<u64>,
    options: &Options,
    format: Format,
) -> Result<()> {
    let Some(gate) = gen_live::health::gate(session.root(), &target.manifest)? else {
        return Ok(());
    };
    if format != Format::Json {
        eprintln!(
            "running the health gate {} (up to {}s)",
            gate.path,
            options.health_timeout.as_secs()
        );
    }
    let (attempts, failures) = match gate.wait(options.health_timeout) {
        Verdict::Healthy { attempts } => {
            if format != Format::Json {
                eprintln!("health gate passed (attempt {attempts})");
            }
            return Ok(());
        }
        Verdict::Unhealthy { attempts, failures } => (attempts, failures),
    };
    let unhealthy = |help: String| Error::Unhealthy {
        gate: gate.path.clone(),
        attempts,
        seconds: options.health_timeout.as_secs(),
        failures: failures.clone(),
        help,
    };
    let Some(number) = number else {
        return Err(unhealthy(
            "this apply wrote nothing, it only re-ran activations an earlier apply left pending, so nothing was rolled back: fix the host, or `gen rollback` to restore the files before the last apply".to_string(),
        ));
    };
    if !options.health_rollback {
        return Err(unhealthy(format!(
            "generation {number} is kept (--no-health-rollback): fix the host and run the gate again, or `gen rollback` to restore the previous files"
        )));
    }
    let help = match session.rollback() {
        Ok(Some(generation)) => {
            eprintln!("the health gate failed: rolled back generation {number}");
            let restore = restore_activations(&generation);
            match options.activating.run(session, &restore) {
                Ok(ran) => {
                    for command in &ran {
                        eprintln!("ran {command}");
                    }
                    format!(
                        "generation {number} was rolled back: the previous files are restored and their services restarted; run `{}` on the host to see each probe",
                        gate.path
                    )
                }
                Err(e) => format!(
                    "generation {number} was rolled back, but {}",
                    gen_live::apply::describe(&e)
                ),
            }
        }
        Ok(None) => {
            format!("generation {number} is no longer the current one; nothing was rolled back")
        }
        Err(e) => format!(
            "rolling generation {number} back failed: {}",
            gen_live::apply::describe(&e)
        ),
    };
    Err(unhealthy(help))
}

fn confirm(plan: &Plan, root: &Utf8Path) -> Result<bool> {
    let mut stderr = std::io::stderr();
    let _ = write!(
        stderr,
        "apply {} change(s) to {}/{} under {root}? [y/N] ",
        plan.changes.len(),
        plan.profile,
        plan.host
    );
    let _ = stderr.flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Error::read("<stdin>", e))?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}
