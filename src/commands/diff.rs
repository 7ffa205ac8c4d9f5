//! `gen diff`: the target tree against the live root, or a whole tree
//! against another (the review of a change: every profile and host).

use camino::{Utf8Path, Utf8PathBuf};

use crate::cli::{Format, LiveArgs, Outcome};
use crate::commands::live;
use gen_live::accounts::Accounts;
use gen_live::apply::{self, Target};
use gen_live::diff::{self, HostDiff};
use gen_live::review::{self, Totals};
use gen_live::root_dir::RootDir;
use gen_live::{live_diff, tree_diff};
use gen_target::error::{Error, Result};

/// `gen diff`'s arguments: `--profile` is optional against another tree.
#[derive(Debug, Clone)]
pub struct Args {
    pub profile: Option<String>,
    pub host: Option<String>,
    pub root: Utf8PathBuf,
    pub generated: Option<Utf8PathBuf>,
    pub against: Option<Utf8PathBuf>,
}

pub fn run(project: &Utf8Path, args: &Args, format: Format) -> Result<Outcome> {
    let diffs = match &args.against {
        Some(old) => {
            let generated = args
                .generated
                .clone()
                .unwrap_or_else(|| project.join("generated"));
            let diffs = tree_diff::against_tree(
                &generated,
                old,
                args.profile.as_deref(),
                args.host.as_deref(),
            )?;
            match format {
                Format::Markdown => print!(
                    "{}",
                    review::markdown(
                        &diffs,
                        &review::Options {
                            against: old.to_string(),
                            budget: review::BUDGET,
                        }
                    )
                ),
                Format::Human => {
                    print(&diffs, format);
                    println!("{}", Totals::of(&diffs).line());
                }
                Format::Json => print(&diffs, format),
            }
            diffs
        }
        None => {
            let Some(profile) = &args.profile else {
                return Err(Error::Usage {
                    message: "`gen diff` against the live root needs `--profile`".into(),
                    help: Some(
                        "pass `--profile NAME`, or `--against DIR` to compare two generated trees"
                            .into(),
                    ),
                });
            };
            let args = LiveArgs {
                profile: profile.clone(),
                host: args.host.clone(),
                root: args.root.clone(),
                generated: args.generated.clone(),
            };
            let generated = live::generated(project, &args);
            let host = live::host(&generated, &args)?;
            let manifest = live::manifest(&generated, &args.profile, &host)?;
            live::warn_if_stale(&generated, &args.profile, &host, &manifest);
            let target = Target::verify(&generated.join(&args.profile).join(&host), manifest)?;
            let accounts = Accounts::system()?;
            let root = RootDir::open_existing(live::root(&args)?)?;
            let planned = apply::plan_read_only(root.as_ref(), &accounts, &target)?;
            let diffs = vec![live_diff::against_live(&target, &planned)];
            let options = review::Options {
                against: String::new(),
                budget: usize::MAX,
            };
            match format {
                Format::Markdown => print!("{}", review::markdown(&diffs, &options)),
                _ => print(&diffs, format),
            }
            diffs
        }
    };
    Ok(if diff::has_differences(&diffs) {
        Outcome::Differences
    } else {
        Outcome::Clean
    })
}

/// Text or JSON (the apply prompt shows the text).
pub fn print(diffs: &[HostDiff], format: Format) {
    match format {
        Format::Json => print!("{}", diff::json(diffs)),
        Format::Markdown | Format::Human => {
            print!("{}", diff::human(diffs, live::colour_stdout()))
        }
    }
}
