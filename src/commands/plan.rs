//! `gen plan`: record what `gen apply` would change, for review and for `apply --plan`.

use camino::Utf8Path;

use crate::cli::{Format, LiveArgs, Outcome};
use crate::commands::live;
use gen_live::accounts::Accounts;
use gen_live::apply::{self, Target};
use gen_live::root_dir::RootDir;
use gen_target::error::{Error, Result};

pub fn run(
    project: &Utf8Path,
    args: &LiveArgs,
    out: Option<&Utf8Path>,
    format: Format,
) -> Result<Outcome> {
    let generated = live::generated(project, args);
    let host = live::host(&generated, args)?;
    let manifest = live::manifest(&generated, &args.profile, &host)?;
    live::warn_if_stale(&generated, &args.profile, &host, &manifest);
    let root = live::root(args)?;
    let target = Target::verify(&generated.join(&args.profile).join(&host), manifest)?;
    let accounts = Accounts::system()?;
    let root = RootDir::open_existing(root)?;
    let plan = apply::plan_read_only(root.as_ref(), &accounts, &target)?.plan;
    let mut json = serde_json::to_vec_pretty(&plan).map_err(|e| Error::usage(e.to_string()))?;
    json.push(b'\n');
    match out {
        Some(path) => {
            std::fs::write(path, &json).map_err(|e| Error::write(path, e))?;
            match format {
                Format::Json => {}
                _ => eprintln!(
                    "planned {} change(s) for {}/{} ({} unchanged) into {path}",
                    plan.changes.len(),
                    plan.profile,
                    plan.host,
                    plan.unchanged
                ),
            }
        }
        None => print!("{}", String::from_utf8_lossy(&json)),
    }
    Ok(Outcome::Clean)
}
