//! Command line: clap definitions (their doc comments are the `--help` text)
//! and the dispatch to each command. Exit codes follow diff(1) and git:
//! 0 success / no differences, 1 differences found, 2 error.

use std::io::IsTerminal as _;
use std::process::ExitCode;

use camino::Utf8PathBuf;
use clap::{Parser, Subcommand, ValueEnum};

use crate::commands;
use crate::error::Result;

#[derive(Debug, Parser)]
#[command(
    name = "gen",
    version,
    about = "Compile typed deployment profiles into reproducible, hashed host configuration, and apply it safely.",
    after_help = "Exit codes: 0 success or no differences, 1 differences found, 2 error.\n\nExamples:\n  gen build                      compile every profile in profiles/ into generated/\n  gen build --check              fail if generated/ is stale or was edited by hand"
)]
pub struct Cli {
    /// The project directory holding `profiles/` and `generated/`.
    #[arg(
        short = 'C',
        long = "project",
        global = true,
        default_value = ".",
        value_name = "DIR"
    )]
    pub project: Utf8PathBuf,

    /// Output format of read-only commands.
    #[arg(long, global = true, value_enum, default_value_t = Format::Human)]
    pub format: Format,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
    Markdown,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Compile profiles into `generated/<profile>/<host>/` (files under `root/`, plus `manifest.json`).
    ///
    /// The new tree is written beside the old one and swapped in only when every
    /// profile compiled, so a failed build leaves `generated/` untouched.
    #[command(
        after_help = "Examples:\n  gen build\n  gen build --profile production\n  gen build --check   # in CI: exit 1 naming every stale, missing, extra or edited file"
    )]
    Build {
        /// Only these profiles (default: every `profiles/*.toml` not starting with `_`).
        #[arg(long = "profile", value_name = "NAME")]
        profiles: Vec<String>,
        /// Compare instead of writing: exit 1 if `generated/` differs from what the profiles produce.
        #[arg(long)]
        check: bool,
        /// Where the tree goes (default `<project>/generated`).
        #[arg(long, value_name = "DIR")]
        out: Option<Utf8PathBuf>,
    },
    /// Run the real program that consumes each generated file (nginx -t, postgres, pgbouncer, redis-server, systemd-analyze, crontab, promtool, ...) on a sandboxed copy.
    ///
    /// Reads `generated/` and its manifests, not the profiles. Each file is
    /// reported as passed, failed (with the validator's own message, pointing at
    /// the generated file and line) or skipped (validator not installed).
    #[command(
        after_help = "Exit codes: 0 every file passed, 1 a file failed (or was skipped, with --strict), 2 error.\n\nExamples:\n  gen check\n  gen check --profile production --host db1\n  gen check --strict --format json   # in CI, where every validator is installed"
    )]
    Check {
        /// Only these profiles (default: every profile under `generated/`).
        #[arg(long = "profile", value_name = "NAME")]
        profiles: Vec<String>,
        /// Only these hosts.
        #[arg(long = "host", value_name = "NAME")]
        hosts: Vec<String>,
        /// A validator that is not installed fails the file instead of skipping it.
        #[arg(long)]
        strict: bool,
        /// The generated tree (default `<project>/generated`).
        #[arg(long, value_name = "DIR")]
        generated: Option<Utf8PathBuf>,
    },
}

/// What a command reports back to `main`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Success, or no differences.
    Clean,
    /// Differences found (`diff`, `build --check`).
    Differences,
}

pub fn main() -> ExitCode {
    install_error_hook();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            return match err.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    ExitCode::SUCCESS
                }
                _ => ExitCode::from(2),
            };
        }
    };
    match run(&cli) {
        Ok(Outcome::Clean) => ExitCode::SUCCESS,
        Ok(Outcome::Differences) => ExitCode::from(1),
        Err(err) => {
            eprintln!("{:?}", miette::Report::new(err));
            ExitCode::from(2)
        }
    }
}

pub fn run(cli: &Cli) -> Result<Outcome> {
    let project = cli.project.as_path();
    match &cli.command {
        Command::Build {
            profiles,
            check,
            out,
        } => {
            let generated = out.clone().unwrap_or_else(|| project.join("generated"));
            commands::build::run(project, &generated, profiles, *check, cli.format)
        }
        Command::Check {
            profiles,
            hosts,
            strict,
            generated,
        } => {
            let generated = generated.clone().unwrap_or_else(|| {
                if project == "." {
                    "generated".into()
                } else {
                    project.join("generated")
                }
            });
            commands::check::run(&generated, profiles, hosts, *strict, cli.format)
        }
    }
}

/// Colour only on a terminal, never with `NO_COLOR`; fixed width so messages
/// are the same in CI logs as in tests.
fn install_error_hook() {
    let colour = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let _ = miette::set_hook(Box::new(move |_| {
        Box::new(
            miette::MietteHandlerOpts::new()
                .color(colour)
                .unicode(colour)
                .terminal_links(false)
                .width(100)
                .build(),
        )
    }));
}
