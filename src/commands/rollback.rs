//! `gen rollback` and `gen generations`.

use camino::Utf8Path;

use crate::cli::{Format, Outcome};
use crate::commands::live::Activating;
use gen_live::accounts::Accounts;
use gen_live::activate::outstanding;
use gen_live::apply::Session;
use gen_live::generation::{self, Store};
use gen_live::plan::{restore_activations, Activations};
use gen_live::root_dir::RootDir;
use gen_target::error::{Error, Result};

pub fn run(root: &Utf8Path, activating: Activating, format: Format) -> Result<Outcome> {
    let session = Session::open(RootDir::open(root)?, Accounts::system()?, activating.yes())?;
    note_ignored(&session);
    for number in &session.recovered {
        eprintln!("rolled back interrupted generation {number}");
    }
    if session.discarded > 0 {
        eprintln!("removed the record of an apply that was interrupted before it changed any file");
    }
    // An interrupted apply is the last apply: undoing it is this rollback's
    // whole job. Walking further back takes another `gen rollback`.
    if session.recovered_anything() {
        // A rollback the interruption stopped owes what restoring asks.
        let owed = session.outstanding()?;
        let ran = activating.run(&session, &Activations::default())?;
        if format == Format::Json {
            println!(
                "{}",
                serde_json::json!({"recovered": session.recovered, "discarded": session.discarded, "activations": owed.shown(), "ran": ran})
            );
        } else {
            for command in &ran {
                eprintln!("ran {command}");
            }
        }
        return Ok(Outcome::Clean);
    }
    match session.rollback()? {
        Some(generation) => {
            // The restored files ask the same of the host as writing them
            // did; the session recorded that as the generation's pending
            // activations, run with what earlier runs left.
            let restore = restore_activations(&generation);
            let ran = activating.run(&session, &restore)?;
            match format {
                Format::Json => println!(
                    "{}",
                    serde_json::json!({"rolled_back": generation.number, "profile": generation.profile, "host": generation.host, "files": generation.before.len(), "activations": restore.shown(), "ran": ran})
                ),
                _ => eprintln!(
                    "rolled back generation {} ({}/{}): {} file(s) restored under {root}",
                    generation.number,
                    generation.profile,
                    generation.host,
                    generation.before.len()
                ),
            }
            if format != Format::Json {
                if !restore.is_empty() {
                    eprintln!("{}", gen_live::activate::summary(&restore));
                }
                for command in &ran {
                    eprintln!("ran {command}");
                }
            }
            Ok(Outcome::Clean)
        }
        None => Err(Error::Usage {
            message: format!("no applied generation to roll back under `{root}`"),
            help: Some("`gen generations` lists what is recorded".into()),
        }),
    }
}

/// Names in the journal gen does not own, said once per command that writes.
pub fn note_ignored(session: &Session) {
    for path in &session.ignored {
        eprintln!("note: ignoring `{path}`: not a generation (gen never removes it; `gen generations --verify` lists it)");
    }
}

pub fn list(root: &Utf8Path, format: Format) -> Result<Outcome> {
    let store = Store::open(RootDir::open_existing(root)?.as_ref())?;
    let journal = store.list()?;
    let generations = &journal.generations;
    match format {
        Format::Json => {
            let entries: Vec<_> = generations
                .iter()
                .map(|g| {
                    serde_json::json!({
                        "number": g.number,
                        "state": g.state,
                        "profile": g.profile,
                        "host": g.host,
                        "tree_hash": g.tree_hash,
                        "files_changed": g.before.len(),
                        "pending": g.pending.as_ref().map(shown_commands).unwrap_or_default(),
                    })
                })
                .collect();
            println!(
                "{}",
                serde_json::json!({
                    "generations": entries,
                    "pending": shown_commands(&outstanding(generations)),
                })
            );
        }
        _ => {
            for g in generations {
                let state = serde_json::to_value(g.state)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default();
                println!(
                    "{:>4}  {:<12} {}/{}  {} file(s)  tree {}",
                    g.number,
                    state,
                    g.profile,
                    g.host,
                    g.before.len(),
                    &g.tree_hash[..g.tree_hash.len().min(12)]
                );
                if let Some(pending) = &g.pending {
                    println!("      pending: {}", shown_commands(pending).join(", "));
                }
            }
            if generations.is_empty() {
                eprintln!("no generations under {}", store.dir());
            }
            if !outstanding(generations).is_empty() {
                eprintln!(
                    "pending activations run again by `gen activate` or the next `gen apply`"
                );
            }
        }
    }
    Ok(Outcome::Clean)
}

/// `gen generations --verify`: exit 0 with a summary when the journal is
/// healthy, 2 with every problem and what to do otherwise.
pub fn verify(root: &Utf8Path, format: Format) -> Result<Outcome> {
    let store = Store::open(RootDir::open_existing(root)?.as_ref())?;
    let journal = store.verify()?;
    // Not damage: what the next apply or rollback finishes on its own.
    let mut notes: Vec<String> = journal
        .unstarted
        .iter()
        .map(|name| {
            format!(
                "`{}/{name}`: an apply stopped while starting a generation, before it changed any file; the next `gen apply` or `gen rollback` removes it",
                store.dir()
            )
        })
        .collect();
    notes.extend(
        journal
            .generations
            .iter()
            .filter(|g| g.state.is_unfinished())
            .map(|g| {
                format!(
                    "generation {} is `{}`: the next `gen apply` or `gen rollback` rolls it back",
                    g.number,
                    g.state.name()
                )
            }),
    );
    match format {
        Format::Json => println!(
            "{}",
            serde_json::json!({
                "healthy": journal.problems.is_empty(),
                "generations": journal.generations.len(),
                "problems": journal.problems,
                "notes": notes,
            })
        ),
        _ => {
            for note in &notes {
                eprintln!("note: {note}");
            }
            if journal.problems.is_empty() {
                eprintln!(
                    "the journal `{}` is healthy: {} generation(s)",
                    store.dir(),
                    journal.generations.len()
                );
            }
        }
    }
    if journal.problems.is_empty() {
        Ok(Outcome::Clean)
    } else {
        Err(generation::damaged(store.dir(), &journal.problems))
    }
}

/// Activations as the `systemctl` commands that run them.
fn shown_commands(activations: &Activations) -> Vec<String> {
    gen_live::activate::shown_commands(activations)
}
