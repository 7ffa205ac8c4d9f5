//! `gen activate`: run the activations earlier applies and rollbacks
//! recorded as pending and did not get done (a restart that failed), until
//! they succeed. Reads no tree: the records say what is owed.

use camino::Utf8Path;

use crate::cli::{Format, Outcome};
use crate::commands::live::Activating;
use gen_live::accounts::Accounts;
use gen_live::apply::Session;
use gen_live::plan::Activations;
use gen_live::root_dir::RootDir;
use gen_target::error::Result;

pub fn run(root: &Utf8Path, activating: Activating, format: Format) -> Result<Outcome> {
    let session = Session::open(RootDir::open(root)?, Accounts::system()?, activating.yes())?;
    for number in &session.recovered {
        eprintln!("rolled back interrupted generation {number}");
    }
    let owed = session.outstanding()?;
    if owed.is_empty() {
        match format {
            Format::Json => println!(
                "{}",
                serde_json::json!({ "activations": owed.shown(), "ran": Vec::<String>::new() })
            ),
            _ => eprintln!("no activation is pending under {root}"),
        }
        return Ok(Outcome::Clean);
    }
    let ran = activating.run(&session, &Activations::default())?;
    match format {
        Format::Json => println!(
            "{}",
            serde_json::json!({ "activations": owed.shown(), "ran": ran })
        ),
        _ => {
            eprintln!("{}", gen_live::activate::summary(&owed));
            for command in &ran {
                eprintln!("ran {command}");
            }
        }
    }
    Ok(Outcome::Clean)
}
