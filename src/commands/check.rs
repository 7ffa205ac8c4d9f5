//! `gen check`: runs the real validators on the generated tree.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use camino::{Utf8Path, Utf8PathBuf};

use crate::cli::{Format, Outcome};
use gen_check::{CheckReport, HostReport, Status};
use gen_target::error::{Error, Result};

pub fn run(
    generated: &Utf8Path,
    profiles: &[String],
    hosts: &[String],
    strict: bool,
    format: Format,
) -> Result<Outcome> {
    let dirs = select(generated, profiles, hosts)?;
    crate::sandboxes::guard()?;
    let reports = check_all(&dirs);
    // Stopped by a signal: the verdicts of killed validators mean nothing.
    crate::sandboxes::wait_if_interrupted();
    let reports = reports?;
    let report = CheckReport::new(strict, reports);
    match format {
        Format::Json => {
            let json = serde_json::to_string_pretty(&report).unwrap_or_default();
            println!("{json}");
        }
        Format::Human | Format::Markdown => print_human(&report),
    }
    Ok(if report.ok() {
        Outcome::Clean
    } else {
        Outcome::Differences
    })
}

/// `generated/<profile>/<host>` directories to check, sorted.
fn select(generated: &Utf8Path, profiles: &[String], hosts: &[String]) -> Result<Vec<Utf8PathBuf>> {
    let not_generated = |path: &Utf8Path| Error::NotGenerated {
        path: path.to_path_buf(),
    };
    let names = if profiles.is_empty() {
        list_dirs(generated).map_err(|_| not_generated(generated))?
    } else {
        profiles.to_vec()
    };
    if names.is_empty() {
        return Err(not_generated(generated));
    }
    let mut dirs = Vec::new();
    for profile in &names {
        let profile_dir = generated.join(profile);
        if !profile_dir.is_dir() && generated.is_dir() {
            return Err(Error::unknown_profile(
                profile,
                &list_dirs(generated).unwrap_or_default(),
                format!("the profiles `gen build` compiled into `{generated}`; run it first"),
            ));
        }
        let available = list_dirs(&profile_dir).map_err(|_| not_generated(&profile_dir))?;
        for host in &available {
            if hosts.is_empty() || hosts.contains(host) {
                dirs.push(profile_dir.join(host));
            }
        }
    }
    for host in hosts {
        if !dirs.iter().any(|d| d.file_name() == Some(host.as_str())) {
            return Err(Error::UnknownHost {
                host: host.clone(),
                profiles: names.join("`, `"),
            });
        }
    }
    Ok(dirs)
}

fn list_dirs(dir: &Utf8Path) -> std::io::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in dir.read_dir_utf8()? {
        let entry = entry?;
        if entry.file_type()?.is_dir() && !entry.file_name().starts_with('.') {
            names.push(entry.file_name().to_string());
        }
    }
    names.sort();
    Ok(names)
}

/// Checks hosts side by side (each in its own sandbox), in a stable order.
fn check_all(dirs: &[Utf8PathBuf]) -> Result<Vec<HostReport>> {
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 4)
        .min(dirs.len().max(1));
    let next = AtomicUsize::new(0);
    let progress = gen_target::progress::Progress::new("checking", dirs.len());
    let results: Mutex<Vec<(usize, Result<HostReport>)>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(dir) = dirs.get(i) else { break };
                let result = gen_check::check_host(dir);
                progress.tick(dir.as_str());
                if let Ok(mut results) = results.lock() {
                    results.push((i, result));
                }
            });
        }
    });
    drop(progress);
    let mut results = results.into_inner().unwrap_or_default();
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

fn print_human(report: &CheckReport) {
    use anstyle::AnsiColor::{Green, Red, Yellow};
    let colour = crate::colour::stdout();
    for host in &report.hosts {
        for file in &host.files {
            let (status, style) = match file.status {
                Status::Passed => ("ok     ", Green.on_default()),
                Status::Skipped if report.strict => ("FAILED ", Red.on_default().bold()),
                Status::Skipped => ("skipped", Yellow.on_default()),
                Status::OverBudget if report.strict => ("FAILED ", Red.on_default().bold()),
                Status::OverBudget => ("exposed", Yellow.on_default()),
                Status::Failed => ("FAILED ", Red.on_default().bold()),
            };
            let status = crate::colour::paint(colour, style, status);
            // A link has no file in the tree: its record in the manifest is named.
            let shown = match file.validator {
                gen_target::Validator::SystemdEnable => {
                    format!("{}: link {}", file.generated, file.path)
                }
                _ => file.generated.to_string(),
            };
            println!("{status} {shown} ({})", file.tools.join(", "));
            for message in &file.messages {
                println!("        {message}");
            }
        }
    }
    let files = report.passed + report.failed + report.skipped + report.over_budget;
    let over_budget = match report.over_budget {
        0 => String::new(),
        n => format!(", {n} above their exposure budget"),
    };
    eprintln!(
        "checked {files} file(s) on {} host(s): {} passed, {} failed, {} skipped{over_budget}{}",
        report.hosts.len(),
        report.passed,
        report.failed,
        report.skipped,
        if report.strict && report.skipped + report.over_budget > 0 {
            " (--strict: a skipped validator or a unit above its budget is a failure)"
        } else {
            ""
        }
    );
}
