//! `gen build` and `gen build --check`, and the lints they report.

use camino::Utf8Path;

use crate::cli::{Format, Outcome};
use gen_compile::compile::Analysed;
use gen_compile::lints::Lint;
use gen_compile::load;
use gen_compile::output::{self, Discrepancy, Scope};
use gen_compile::render::Renderer;
use gen_target::error::{Error, Result};

#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Compare with `generated/` instead of writing it.
    pub check: bool,
    /// A lint refuses the build.
    pub deny_warnings: bool,
}

pub fn run(
    project: &Utf8Path,
    generated: &Utf8Path,
    selected: &[String],
    options: &Options,
    format: Format,
) -> Result<Outcome> {
    let (names, scope) = if selected.is_empty() {
        (
            load::list_profiles(&project.join(load::PROFILES_DIR))?,
            Scope::All,
        )
    } else {
        (selected.to_vec(), Scope::Profiles(selected.to_vec()))
    };
    let renderer = Renderer::new();
    // Every profile is loaded, validated and derived before anything is
    // written; hosts are then rendered straight into the staged tree.
    let analysed = names
        .iter()
        .map(|name| Analysed::new(project, name))
        .collect::<Result<Vec<Analysed>>>()?;

    // Lints are reported before anything is compared or written; with
    // `--deny-warnings` they stop the build here.
    let lints: Vec<&Lint> = analysed.iter().flat_map(|a| &a.lints).collect();
    let lint_records: Vec<_> = lints.iter().map(|lint| lint.record()).collect();
    if format != Format::Json {
        for lint in &lints {
            eprintln!("{:?}", miette::Report::new((*lint).clone()));
        }
    }
    if options.deny_warnings && !lints.is_empty() {
        if format == Format::Json {
            println!(
                "{}",
                serde_json::json!({"profiles": names, "written": false, "lints": lint_records})
            );
        }
        return Err(Error::LintsDenied { count: lints.len() });
    }

    if options.check {
        let discrepancies = output::check(generated, &analysed, &renderer, &scope)?;
        report_check(generated, &discrepancies, &lint_records, format);
        return Ok(if discrepancies.is_empty() {
            Outcome::Clean
        } else {
            Outcome::Differences
        });
    }
    let files = output::write(generated, &analysed, &renderer, &scope)?;
    let hosts: usize = analysed.iter().map(|p| p.deployment.hosts.len()).sum();
    match format {
        Format::Json => println!(
            "{}",
            serde_json::json!({"profiles": names, "hosts": hosts, "files": files, "out": generated, "lints": lint_records})
        ),
        _ => eprintln!(
            "built {} profile(s), {hosts} host(s), {files} file(s) into {generated}{}",
            names.len(),
            warnings(lints.len())
        ),
    }
    Ok(Outcome::Clean)
}

/// `; 2 warnings` after the summary line, or nothing.
fn warnings(count: usize) -> String {
    match count {
        0 => String::new(),
        1 => "; 1 warning".into(),
        n => format!("; {n} warnings"),
    }
}

fn report_check(
    generated: &Utf8Path,
    discrepancies: &[(camino::Utf8PathBuf, Discrepancy)],
    lints: &[gen_compile::lints::LintRecord],
    format: Format,
) {
    match format {
        Format::Json => {
            let entries: Vec<_> = discrepancies
                .iter()
                .map(|(path, kind)| serde_json::json!({"path": generated.join(path), "kind": kind}))
                .collect();
            println!(
                "{}",
                serde_json::json!({"up_to_date": discrepancies.is_empty(), "differences": entries, "lints": lints})
            );
        }
        _ => {
            for (path, kind) in discrepancies {
                let what = match kind {
                    Discrepancy::Missing => "missing",
                    Discrepancy::Stale => "stale or edited by hand",
                    Discrepancy::Extra => "not produced by any profile",
                };
                println!("{}: {what}", generated.join(path));
            }
            if discrepancies.is_empty() {
                eprintln!("{generated} is up to date");
            } else {
                eprintln!(
                    "{generated} differs from the profiles in {} file(s); run `gen build`",
                    discrepancies.len()
                );
            }
        }
    }
}
