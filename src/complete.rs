//! Shell completion of the names only the project knows: `--profile <TAB>`
//! lists its profiles, `--host <TAB>` the hosts of the profile already on the
//! command line. clap_complete's dynamic engine asks gen itself at each
//! <TAB> (`COMPLETE=bash gen …`), so the names are today's, not those of the
//! day a script was generated. Everything here reads a few directory
//! listings at most, and an absent or unreadable project completes nothing.

use std::ffi::{OsStr, OsString};

use camino::{Utf8Path, Utf8PathBuf};
use clap_complete::engine::{ArgValueCompleter, CompletionCandidate};
use gen_compile::load::PROFILES_DIR;
use gen_target::layout;

/// The variable that turns a run of gen into a completion request.
pub const VAR: &str = "COMPLETE";

/// `--profile`'s completer.
pub fn profiles() -> ArgValueCompleter {
    ArgValueCompleter::new(|current: &OsStr| candidates(current, profile_names(&project())))
}

/// `--host`'s completer.
pub fn hosts() -> ArgValueCompleter {
    ArgValueCompleter::new(|current: &OsStr| {
        let project = project();
        let names = match option_value(&["--profile"]) {
            Some(profile) => host_names(&project, &profile),
            None => profile_names(&project)
                .iter()
                .flat_map(|profile| host_names(&project, profile))
                .collect(),
        };
        candidates(current, names)
    })
}

fn candidates(current: &OsStr, mut names: Vec<String>) -> Vec<CompletionCandidate> {
    let current = current.to_string_lossy();
    names.sort();
    names.dedup();
    names
        .into_iter()
        .filter(|name| name.starts_with(current.as_ref()))
        .map(CompletionCandidate::new)
        .collect()
}

/// The project of the command line being completed: its `-C DIR`, else
/// the one gen would find from here.
fn project() -> Utf8PathBuf {
    option_value(&["-C", "--project"])
        .map(Utf8PathBuf::from)
        .unwrap_or_else(crate::cli::find_project)
}

/// The value of the last of `names` on the command line being completed
/// (`--name value` or `--name=value`). The completion request is
/// `gen -- gen <the words typed>`, so these are this process's arguments.
fn option_value(names: &[&str]) -> Option<String> {
    let args: Vec<OsString> = std::env::args_os().collect();
    let mut found = None;
    for (i, arg) in args.iter().enumerate() {
        let Some(arg) = arg.to_str() else { continue };
        for name in names {
            if arg == *name {
                if let Some(value) = args.get(i + 1).and_then(|v| v.to_str()) {
                    found = Some(value.to_string());
                }
            } else if let Some(value) = arg.strip_prefix(&format!("{name}=")) {
                found = Some(value.to_string());
            }
        }
    }
    found.filter(|v| !v.is_empty())
}

/// The profiles of `profiles/*.toml` (not `_`-prefixed fragments) and those
/// already built into `generated/`.
fn profile_names(project: &Utf8Path) -> Vec<String> {
    let mut names = gen_live::tree_diff::profiles(&project.join("generated"));
    if let Ok(entries) = std::fs::read_dir(project.join(PROFILES_DIR)) {
        names.extend(entries.filter_map(|e| e.ok()).filter_map(|e| {
            let name = e.file_name().to_str()?.strip_suffix(".toml")?.to_string();
            (!name.starts_with('_') && !name.starts_with('.')).then_some(name)
        }));
    }
    names
}

/// The hosts of `profile`: its built tree's, else the `[hosts.*]` tables of
/// its file (a profile not built yet).
fn host_names(project: &Utf8Path, profile: &str) -> Vec<String> {
    let built = layout::hosts(&project.join("generated").join(profile));
    if !built.is_empty() {
        return built;
    }
    let file = project.join(PROFILES_DIR).join(format!("{profile}.toml"));
    std::fs::read_to_string(file)
        .ok()
        .and_then(|text| text.parse::<toml::Table>().ok())
        .and_then(|table| match table.get("hosts") {
            Some(toml::Value::Table(hosts)) => Some(hosts.keys().cloned().collect()),
            _ => None,
        })
        .unwrap_or_default()
}

/// `gen completions <shell>`: the registration `COMPLETE=<shell> gen`
/// prints, calling back this same binary (as it was invoked) at each <TAB>.
pub fn registration(shell: clap_complete::Shell) -> gen_target::error::Result<()> {
    use gen_target::error::Error;
    let name = shell.to_string();
    let shells = clap_complete::env::Shells::builtins();
    let Some(completer) = shells.completer(&name) else {
        return Err(Error::usage(format!(
            "gen cannot register completions for `{name}`"
        )));
    };
    let program = std::env::args_os()
        .next()
        .map(std::path::PathBuf::from)
        .map(
            |path| match (path.components().count() > 1, std::env::current_dir()) {
                // A relative path with a directory (`./target/debug/gen`) must
                // still find gen from wherever the shell completes.
                (true, Ok(here)) => here.join(path),
                _ => path,
            },
        )
        .unwrap_or_else(|| "gen".into());
    let mut text = Vec::new();
    completer
        .write_registration(VAR, "gen", "gen", &program.to_string_lossy(), &mut text)
        .map_err(|e| Error::write("<stdout>", e))?;
    std::io::Write::write_all(&mut std::io::stdout(), &text)
        .map_err(|e| Error::write("<stdout>", e))
}
