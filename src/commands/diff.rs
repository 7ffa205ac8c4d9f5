//! `gen diff`: the target tree against the live root, or against another tree.

use camino::Utf8Path;

use crate::cli::{Format, LiveArgs, Outcome};
use crate::commands::live;
use gen_live::accounts::Accounts;
use gen_live::apply::{self, Target};
use gen_live::diff::{self, HostDiff};
use gen_live::root_dir::RootDir;
use gen_live::{live_diff, tree_diff};
use gen_target::error::Result;

pub fn run(
    project: &Utf8Path,
    args: &LiveArgs,
    against: Option<&Utf8Path>,
    format: Format,
) -> Result<Outcome> {
    let generated = live::generated(project, args);
    let diffs = match against {
        Some(old) => tree_diff::against_tree(&generated, old, &args.profile, args.host.as_deref())?,
        None => {
            let host = live::host(&generated, args)?;
            live::warn_if_stale(&generated, &args.profile, &host)?;
            let target = Target::load(&generated.join(&args.profile).join(&host))?;
            let accounts = Accounts::system()?;
            let root = RootDir::open_existing(live::root(args)?)?;
            let planned = apply::plan_read_only(root.as_ref(), &accounts, &target)?;
            vec![live_diff::against_live(&target, &planned)]
        }
    };
    print(&diffs, format);
    Ok(if diff::has_differences(&diffs) {
        Outcome::Differences
    } else {
        Outcome::Clean
    })
}

pub fn print(diffs: &[HostDiff], format: Format) {
    match format {
        Format::Json => print!("{}", diff::json(diffs)),
        Format::Markdown => print!("{}", diff::markdown(diffs)),
        Format::Human => print!("{}", diff::human(diffs, live::colour_stdout())),
    }
}
