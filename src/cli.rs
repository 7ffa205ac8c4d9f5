//! Command line: clap definitions (their doc comments are the `--help` text)
//! and the dispatch to each command. Exit codes follow diff(1) and git:
//! 0 success / no differences, 1 differences found, 2 error.

use std::process::ExitCode;

use camino::Utf8PathBuf;
use clap::{Parser, Subcommand, ValueEnum};

use crate::commands;
use gen_target::error::Result;

#[derive(Debug, Parser)]
#[command(
    name = "gen",
    version,
    about = "Compile typed deployment profiles into reproducible, hashed host configuration, and apply it safely.",
    after_help = "Exit codes: 0 success or no differences, 1 differences found, 2 error.\n\nExamples:\n  gen build                      compile every profile in profiles/ into generated/\n  gen build --check              fail if generated/ is stale or was edited by hand\n  gen diff --profile pilot       what applying would change on this host\n  gen apply --profile pilot      apply it (asks first); `gen rollback` undoes it"
)]
pub struct Cli {
    /// The project directory holding `profiles/` and `generated/` (default: the nearest directory holding `profiles/`, from here up; `gen init`: here).
    #[arg(short = 'C', long = "project", global = true, value_name = "DIR")]
    pub project: Option<Utf8PathBuf>,

    /// Output format (default human); each command takes only the formats it writes, and with json an error is JSON too.
    #[arg(long, global = true, value_enum)]
    pub format: Option<Format>,

    /// When to colour the output and error reports: auto (a terminal, unless `NO_COLOR` is set; `CLICOLOR_FORCE` forces it), always, never.
    #[arg(long, global = true, value_enum, value_name = "WHEN", default_value_t = crate::colour::When::Auto)]
    pub color: crate::colour::When,

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
    ///
    /// Lints (located warnings with a code, `gen lints`) are printed on
    /// standard error and the build goes on; `--deny-warnings` makes them refuse it.
    #[command(
        after_help = "Exit codes: 0 built (or up to date), 1 differences found (--check), 2 error, or a lint with --deny-warnings.\n\nExamples:\n  gen build\n  gen build --profile production\n  gen build --check --deny-warnings   # in CI: exit 1 naming every stale, missing, extra or edited file, 2 on a lint"
    )]
    Build {
        /// Only these profiles (default: every `profiles/*.toml` not starting with `_`).
        #[arg(long = "profile", value_name = "NAME", add = crate::complete::profiles())]
        profiles: Vec<String>,
        /// Compare instead of writing: exit 1 if `generated/` differs from what the profiles produce.
        #[arg(long)]
        check: bool,
        /// Where the tree goes (default `<project>/generated`).
        #[arg(long, value_name = "DIR")]
        out: Option<Utf8PathBuf>,
        /// A lint that fires refuses the build like an error: exit 2, nothing written.
        #[arg(long)]
        deny_warnings: bool,
    },

    /// Describe gen's lints: each one's code, what it finds, why it matters and how to fix it.
    ///
    /// A profile allows a lint under `[lints] allow = { "<name>" = "<reason>" }`.
    #[command(
        after_help = "Examples:\n  gen lints\n  gen lints public-metrics\n  gen lints --format markdown > docs/lints.md"
    )]
    Lints {
        /// Only this lint (its name, without `gen::lint::`).
        name: Option<String>,
    },

    /// Run the real program that consumes each generated file (nginx -t, postgres, pgbouncer, redis-server, systemd-analyze, crontab, promtool, ...) on a sandboxed copy.
    ///
    /// Reads `generated/` and its manifests, not the profiles. Each file is
    /// reported as passed, failed (with the validator's own message, pointing at
    /// the generated file and line) or skipped (validator not installed).
    #[command(
        after_help = "Exit codes: 0 every file passed, 1 a file failed (or was skipped, with --strict), 2 error.\n\nExamples:\n  gen check\n  gen check --profile production --host db1\n  gen check --strict --format json   # in CI, where every validator is installed\n  sudo env \"PATH=$PATH\" gen check --install-validators   # on Debian 12 or Ubuntu 24.04"
    )]
    Check {
        /// Only these profiles (default: every profile under `generated/`).
        #[arg(long = "profile", value_name = "NAME", add = crate::complete::profiles())]
        profiles: Vec<String>,
        /// Only these hosts.
        #[arg(long = "host", value_name = "NAME", add = crate::complete::hosts())]
        hosts: Vec<String>,
        /// A validator that is not installed fails the file instead of skipping it.
        #[arg(long)]
        strict: bool,
        /// The generated tree (default `<project>/generated`).
        #[arg(long, value_name = "DIR")]
        generated: Option<Utf8PathBuf>,
        /// Install the validators instead, with apt-get, for this machine's distribution (Debian 12 or Ubuntu 24.04; as root).
        #[arg(long)]
        install_validators: bool,
        /// With `--install-validators`: print the commands instead of running them.
        #[arg(long, requires = "install_validators")]
        dry_run: bool,
    },

    /// Show how the generated tree of a host differs from the live root (or from another tree).
    ///
    /// Credentials (files marked sensitive on either side, or that neither
    /// group nor others may read, in the tree or on the host) never have their
    /// content or a digest of it printed: only that it changed.
    #[command(
        after_help = "Exit codes: 0 no differences, 1 differences, 2 error.\n\nExamples:\n  gen diff --profile production --host db1 --root /\n  gen diff --against ../base/generated --format markdown   # PR comment: every profile and host"
    )]
    Diff {
        /// The profile whose generated tree is used (required against the live root; with `--against`, default every profile of both trees).
        #[arg(long, value_name = "NAME", add = crate::complete::profiles())]
        profile: Option<String>,
        /// The host (against the live root, default: this machine's hostname, when the profile has it).
        #[arg(long, value_name = "NAME", add = crate::complete::hosts())]
        host: Option<String>,
        /// The live filesystem root.
        #[arg(long, value_name = "DIR", default_value = "/")]
        root: Utf8PathBuf,
        /// The generated tree to read (default `<project>/generated`).
        #[arg(long, value_name = "DIR")]
        generated: Option<Utf8PathBuf>,
        /// Compare with another `generated/` tree instead of the live root: every profile and host of both trees, added and removed ones included.
        #[arg(long, value_name = "DIR")]
        against: Option<Utf8PathBuf>,
    },

    /// Record what `gen apply` would change: for each file the live sha256 it expects and the target sha256 (salted for credentials).
    #[command(
        after_help = "Example:\n  gen plan --profile production --host db1 --out plan.json && gen apply --profile production --host db1 --plan plan.json --yes"
    )]
    Plan {
        #[command(flatten)]
        live: LiveArgs,
        /// Write the plan here instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<Utf8PathBuf>,
    },

    /// Make the live root hold a host's generated tree: verified, atomic, recorded as a generation.
    ///
    /// Every artifact is checked against the manifest before anything is
    /// written; each file is replaced atomically; what it replaced is recorded
    /// first so `gen rollback` restores it. An interrupted apply is rolled back
    /// by the next `gen apply` or `gen rollback`. Reloads and restarts run
    /// after the writes; those that fail stay recorded as pending, and every
    /// later apply (even with nothing to write) or `gen activate` runs them
    /// again. After the restarts, the tree's health gate
    /// (`/usr/local/sbin/<project>-health-gate`) must pass within
    /// `--health-timeout`, or the apply is rolled back.
    #[command(
        after_help = "Examples:\n  gen apply --profile production            # on db1: --host defaults to the hostname\n  gen apply --profile production --host db1 --plan plan.json --yes\n\nGEN_SYSTEMCTL names the program run for daemon-reload, restart and reload (default `systemctl`)."
    )]
    Apply {
        #[command(flatten)]
        live: LiveArgs,
        /// Apply only if the host and the tree are exactly as this `gen plan` file recorded.
        #[arg(long, value_name = "FILE")]
        plan: Option<Utf8PathBuf>,
        /// Do not ask for confirmation (required without a terminal).
        #[arg(long)]
        yes: bool,
        /// Write the files but do not reload or restart anything.
        #[arg(long)]
        no_reload: bool,
        /// Reload and restart services even though `--root` is not `/`.
        #[arg(long)]
        activate: bool,
        /// Apply a tree older than the profiles beside it, or built by another gen version.
        #[arg(long)]
        allow_stale: bool,
        /// Do not run the validators of `gen check` on the tree before writing.
        #[arg(long)]
        skip_validation: bool,
        /// How many generations to keep under `<root>/var/lib/gen/generations` (oldest pruned first).
        #[arg(long, value_name = "N", default_value_t = gen_live::generation::DEFAULT_KEEP)]
        keep: usize,
        /// How long the host's health gate may take to pass after the restarts, retried every 2 s.
        #[arg(long, value_name = "SECONDS", default_value_t = 60)]
        health_timeout: u64,
        /// When the health gate fails, report it and keep the new files instead of rolling back.
        #[arg(long)]
        no_health_rollback: bool,
        /// Apply a firewall that does not admit this SSH session's client (`SSH_CONNECTION`).
        #[arg(long)]
        allow_firewall_lockout: bool,
    },

    /// Restore the live root to what it held before the last apply; repeat to walk further back.
    #[command(
        after_help = "Examples:\n  gen rollback              # undo the last apply on this host\n  gen rollback --root /srv/staging-root"
    )]
    Rollback {
        /// The live filesystem root.
        #[arg(long, value_name = "DIR", default_value = "/")]
        root: Utf8PathBuf,
        /// Restore the files but do not reload or restart anything.
        #[arg(long)]
        no_reload: bool,
        /// Reload and restart services even though `--root` is not `/`.
        #[arg(long)]
        activate: bool,
    },

    /// Run the activations earlier applies or rollbacks recorded as pending (a restart that failed) until they succeed.
    ///
    /// An apply records its reloads and restarts in its generation before
    /// running them and keeps there the ones that fail; `gen activate` (and
    /// every `gen apply`, even one with nothing to write) runs them again.
    #[command(
        after_help = "Examples:\n  gen activate               # after fixing the service whose restart failed\n  gen generations            # lists what is pending"
    )]
    Activate {
        /// The live filesystem root.
        #[arg(long, value_name = "DIR", default_value = "/")]
        root: Utf8PathBuf,
        /// Reload and restart services even though `--root` is not `/`.
        #[arg(long)]
        activate: bool,
    },

    /// List the generations recorded under `<root>/var/lib/gen/generations`, or check the journal's health.
    ///
    /// `--verify` reads every record and every kept content a rollback may
    /// still need, and lists each problem with what to do (exit 2), or says
    /// the journal is healthy (exit 0).
    #[command(
        after_help = "Examples:\n  gen generations\n  gen generations --format json\n  gen generations --verify"
    )]
    Generations {
        /// The live filesystem root.
        #[arg(long, value_name = "DIR", default_value = "/")]
        root: Utf8PathBuf,
        /// Check the journal: records, numbering, unfinished generations, kept contents.
        #[arg(long)]
        verify: bool,
    },

    /// Show which template and profile keys produce a file, and how each derived value in it is computed.
    #[command(
        after_help = "Examples:\n  gen explain /etc/postgresql/15/main/postgresql.conf --profile production --host db1\n  gen explain /etc/pgbouncer/pgbouncer.ini --profile production --host pool1 --format json"
    )]
    Explain {
        /// The file's absolute path on the host.
        path: String,
        /// The profile that produces the file.
        #[arg(long, value_name = "NAME", add = crate::complete::profiles())]
        profile: String,
        /// The host whose copy of the file is explained.
        #[arg(long, value_name = "NAME", add = crate::complete::hosts())]
        host: String,
    },

    /// Draw the deployment: hosts, services, ports and connections.
    #[command(
        after_help = "Examples:\n  gen graph --profile production > production.mmd\n  gen graph --profile production --as svg > production.svg   # needs Graphviz `dot`"
    )]
    Graph {
        /// The profile drawn.
        #[arg(long, value_name = "NAME", add = crate::complete::profiles())]
        profile: String,
        /// Picture format.
        #[arg(long = "as", value_enum, default_value_t = GraphFormat::Mermaid)]
        graph_format: GraphFormat,
    },

    /// Write an Ansible inventory and playbook that roll the profile's reviewed tree out with `gen plan` and `gen apply --plan`.
    #[command(
        after_help = "Examples:\n  gen ansible --profile production                 # writes ansible/production/\n  ansible-playbook -i ansible/production/inventory.ini ansible/production/playbook.yml"
    )]
    Ansible {
        /// The profile rolled out.
        #[arg(long, value_name = "NAME", add = crate::complete::profiles())]
        profile: String,
        /// Directory for inventory.ini and playbook.yml (default `<project>/ansible/<profile>`).
        #[arg(long, value_name = "DIR")]
        out: Option<Utf8PathBuf>,
    },

    /// Print the JSON Schema of the profile format (or its Markdown reference).
    #[command(
        after_help = "Examples:\n  gen schema > docs/profile.schema.json\n  gen schema --base > docs/profile-base.schema.json\n  gen schema --markdown > docs/profile.md"
    )]
    Schema {
        /// The human reference (docs/profile.md) instead of JSON Schema.
        #[arg(long)]
        markdown: bool,
        /// The schema of a base other profiles extend (docs/profile-base.schema.json).
        #[arg(long, conflicts_with = "markdown")]
        base: bool,
    },

    /// Format profiles as the repository keeps them (taplo's formatter, the options of .taplo.toml); comments are kept.
    #[command(
        after_help = "Examples:\n  gen fmt                                  # every profiles/*.toml, in place\n  gen fmt --check                          # CI: exit 1 naming each unformatted file\n  gen fmt --check tests/fixtures/*/profiles/*.toml"
    )]
    Fmt {
        /// Change nothing; exit 1 naming every file that is not formatted.
        #[arg(long)]
        check: bool,
        /// Files to format (default: every `profiles/*.toml` of the project, bases included).
        #[arg(value_name = "FILE")]
        files: Vec<Utf8PathBuf>,
    },

    /// Start a project: a commented one-host profile (profiles/pilot.toml), .gitignore, the CI workflows, the editor schemas (docs/) and .taplo.toml; never overwrites.
    #[command(
        after_help = "Examples:\n  mkdir deploy && cd deploy && gen init && gen build && gen check\n  gen -C deploy init"
    )]
    Init,

    /// Print a shell's completion registration: at each <TAB> the shell asks gen, which completes commands, flags, and the project's profile and host names.
    ///
    /// The same as `COMPLETE=<shell> gen`.
    #[command(
        after_help = "Examples:\n  echo 'source <(gen completions bash)' >> ~/.bashrc\n  echo 'source <(gen completions zsh)' >> ~/.zshrc\n  gen completions fish > ~/.config/fish/completions/gen.fish"
    )]
    Completions {
        /// The shell: bash, elvish, fish, powershell or zsh.
        shell: clap_complete::Shell,
    },

    /// Print the man page (roff), or write one per subcommand with `--out`.
    #[command(
        after_help = "Examples:\n  gen man > /usr/local/share/man/man1/gen.1\n  gen man --out /usr/local/share/man/man1   # gen.1, gen-build.1, gen-apply.1, ..."
    )]
    Man {
        /// Write gen.1 and one page per subcommand (gen-build.1, …) into this directory.
        #[arg(long, value_name = "DIR")]
        out: Option<Utf8PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    Mermaid,
    Dot,
    Svg,
}

/// Which host's generated tree, and which live root.
#[derive(Debug, Clone, clap::Args)]
pub struct LiveArgs {
    /// The profile whose generated tree is used.
    #[arg(long, value_name = "NAME", add = crate::complete::profiles())]
    pub profile: String,
    /// The host (default: this machine's hostname, when the profile has it).
    #[arg(long, value_name = "NAME", add = crate::complete::hosts())]
    pub host: Option<String>,
    /// The live filesystem root.
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub root: Utf8PathBuf,
    /// The generated tree to read (default `<project>/generated`).
    #[arg(long, value_name = "DIR")]
    pub generated: Option<Utf8PathBuf>,
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
    // `COMPLETE=<shell> gen …` is the shell asking for completions: answer
    // and exit before anything else is written.
    clap_complete::CompleteEnv::with_factory(<Cli as clap::CommandFactory>::command)
        .var(crate::complete::VAR)
        .complete();
    survive_file_size_limit();
    crate::colour::choose(crate::colour::from_args());
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
    crate::colour::choose(cli.color);
    install_error_hook();
    let outcome = run(&cli);
    // A signal's exit code and cleanup win over whatever the command ended in.
    crate::sandboxes::wait_if_interrupted();
    match outcome {
        Ok(Outcome::Clean) => ExitCode::SUCCESS,
        Ok(Outcome::Differences) => ExitCode::from(1),
        // On standard error: standard output keeps the command's own
        // document (a denied build's lints, a journal's problems).
        Err(err) if cli.format == Some(Format::Json) => {
            eprintln!("{}", json_error(&err));
            ExitCode::from(2)
        }
        Err(err) => {
            eprintln!("{:?}", miette::Report::new(err));
            ExitCode::from(2)
        }
    }
}

pub fn run(cli: &Cli) -> Result<Outcome> {
    let project = match (&cli.project, &cli.command) {
        (Some(project), _) => project.clone(),
        (None, Command::Init) => Utf8PathBuf::from("."),
        (None, _) => find_project(),
    };
    let project = project.as_path();
    let format = format_of(&cli.command, cli.format)?;
    match &cli.command {
        Command::Build {
            profiles,
            check,
            out,
            deny_warnings,
        } => {
            let generated = out.clone().unwrap_or_else(|| project.join("generated"));
            commands::build::run(
                project,
                &generated,
                profiles,
                &commands::build::Options {
                    check: *check,
                    deny_warnings: *deny_warnings,
                },
                format,
            )
        }
        Command::Lints { name } => commands::lints::run(name.as_deref(), format),
        Command::Schema { markdown, base } => {
            if *markdown {
                print!("{}", gen_compile::schema::reference_markdown());
            } else if *base {
                print!("{}", gen_compile::schema::base_schema_json());
            } else {
                print!("{}", gen_compile::schema::profile_schema_json());
            }
            Ok(Outcome::Clean)
        }
        Command::Explain {
            path,
            profile,
            host,
        } => commands::explain::run(project, profile, host, path, format),
        Command::Graph {
            profile,
            graph_format,
        } => commands::graph::run(project, profile, *graph_format),
        Command::Ansible { profile, out } => {
            commands::ansible::run(project, profile, out.as_deref())
        }
        Command::Completions { shell } => {
            crate::complete::registration(*shell)?;
            Ok(Outcome::Clean)
        }
        Command::Init => commands::init::run(project),
        Command::Fmt { check, files } => commands::fmt::run(project, *check, files),
        Command::Man { out } => {
            crate::manual::run(out.as_deref())?;
            Ok(Outcome::Clean)
        }
        Command::Diff {
            profile,
            host,
            root,
            generated,
            against,
        } => commands::diff::run(
            project,
            &commands::diff::Args {
                profile: profile.clone(),
                host: host.clone(),
                root: root.clone(),
                generated: generated.clone(),
                against: against.clone(),
            },
            format,
        ),
        Command::Plan { live, out } => commands::plan::run(project, live, out.as_deref(), format),
        Command::Apply {
            live,
            plan,
            yes,
            no_reload,
            activate,
            allow_stale,
            skip_validation,
            keep,
            health_timeout,
            no_health_rollback,
            allow_firewall_lockout,
        } => commands::apply::run(
            project,
            live,
            &commands::apply::Options {
                plan: plan.as_deref(),
                yes: *yes,
                activating: commands::live::Activating::decide(&live.root, *activate, *no_reload),
                keep: *keep,
                allow_stale: *allow_stale,
                validate: !*skip_validation,
                health_timeout: std::time::Duration::from_secs(*health_timeout),
                health_rollback: !*no_health_rollback,
                allow_firewall_lockout: *allow_firewall_lockout,
            },
            format,
        ),
        Command::Rollback {
            root,
            no_reload,
            activate,
        } => commands::rollback::run(
            root,
            commands::live::Activating::decide(root, *activate, *no_reload),
            format,
        ),
        Command::Activate { root, activate } => commands::activate::run(
            root,
            commands::live::Activating::decide(root, *activate, false),
            format,
        ),
        Command::Generations { root, verify } => match verify {
            true => commands::rollback::verify(root, format),
            false => commands::rollback::list(root, format),
        },
        Command::Check {
            profiles,
            hosts,
            strict,
            generated,
            install_validators,
            dry_run,
        } => {
            let generated = generated.clone().unwrap_or_else(|| {
                if project == "." {
                    "generated".into()
                } else {
                    project.join("generated")
                }
            });
            if *install_validators {
                return commands::install_validators::run(&generated, *dry_run);
            }
            commands::check::run(&generated, profiles, hosts, *strict, format)
        }
    }
}

/// Like git and cargo: the nearest directory holding `profiles/`, from the
/// current one up, as a relative path (`.`, `..`, `../..`) so messages stay
/// short; `.` when there is none (the command then says what is missing).
pub(crate) fn find_project() -> Utf8PathBuf {
    let Ok(here) = std::env::current_dir() else {
        return ".".into();
    };
    for (up, dir) in here.ancestors().enumerate() {
        if dir.join("profiles").is_dir() {
            return match up {
                0 => ".".into(),
                n => vec![".."; n].join("/").into(),
            };
        }
    }
    ".".into()
}

/// The formats each command writes; `--format` with another is an error
/// naming them, never a silent fallback.
fn formats(command: &Command) -> (&'static str, &'static [Format]) {
    use Format::{Human, Json, Markdown};
    match command {
        Command::Build { .. } => ("build", &[Human, Json]),
        Command::Lints { .. } => ("lints", &[Human, Json, Markdown]),
        Command::Check { .. } => ("check", &[Human, Json]),
        Command::Diff { .. } => ("diff", &[Human, Json, Markdown]),
        Command::Plan { .. } => ("plan", &[Human, Json]),
        Command::Apply { .. } => ("apply", &[Human, Json]),
        Command::Rollback { .. } => ("rollback", &[Human, Json]),
        Command::Activate { .. } => ("activate", &[Human, Json]),
        Command::Generations { .. } => ("generations", &[Human, Json]),
        Command::Explain { .. } => ("explain", &[Human, Json]),
        Command::Graph { .. } => ("graph", &[]),
        Command::Ansible { .. } => ("ansible", &[]),
        Command::Schema { .. } => ("schema", &[]),
        Command::Completions { .. } => ("completions", &[]),
        Command::Man { .. } => ("man", &[]),
        Command::Init => ("init", &[]),
        Command::Fmt { .. } => ("fmt", &[]),
    }
}

fn format_name(format: Format) -> &'static str {
    match format {
        Format::Human => "human",
        Format::Json => "json",
        Format::Markdown => "markdown",
    }
}

/// `--format` for `command`: human when not given.
pub fn format_of(command: &Command, format: Option<Format>) -> Result<Format> {
    let Some(format) = format else {
        return Ok(Format::Human);
    };
    let (name, supported) = formats(command);
    if supported.contains(&format) {
        return Ok(format);
    }
    Err(gen_target::error::Error::Usage {
        message: if supported.is_empty() {
            format!("`gen {name}` has no `--format`")
        } else {
            format!(
                "`gen {name}` does not write {}; `--format` takes: {}",
                format_name(format),
                supported
                    .iter()
                    .map(|f| format_name(*f))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        },
        help: Some(match command {
            Command::Graph { .. } => {
                "`gen graph --as mermaid|dot|svg` picks the picture's format".into()
            }
            _ => "drop `--format`".into(),
        }),
    })
}

/// An error as the JSON document `--format json` promises on standard error:
/// `{"error": {"code", "message", "help", "location", "related"}}`, the
/// location (`{file, line, column}`, 1-based) when the error points into a
/// file, `related` the errors it gathers (a profile with several problems).
fn json_error(err: &dyn miette::Diagnostic) -> String {
    let value = serde_json::json!({ "error": json_diagnostic(err) });
    serde_json::to_string_pretty(&value).unwrap_or_default()
}

fn json_diagnostic(err: &dyn miette::Diagnostic) -> serde_json::Value {
    let message = err.to_string();
    let location = err
        .source_code()
        .and_then(|source| {
            let label = err.labels()?.next()?;
            let span = source.read_span(label.inner(), 0, 0).ok()?;
            Some(serde_json::json!({
                "file": span.name(),
                "line": span.line() + 1,
                "column": span.column() + 1,
            }))
        })
        .or_else(|| located_in_message(&message));
    let related: Vec<serde_json::Value> = err
        .related()
        .map(|r| r.map(json_diagnostic).collect())
        .unwrap_or_default();
    serde_json::json!({
        "code": err.code().map(|c| c.to_string()),
        "message": message,
        "help": err.help().map(|h| h.to_string()),
        "location": location,
        "related": related,
    })
}

/// Errors whose place is written into their message: `… at FILE:LINE:COL`.
fn located_in_message(message: &str) -> Option<serde_json::Value> {
    let place = message.lines().last()?.trim().strip_prefix("at ")?;
    let mut parts = place.rsplitn(3, ':');
    let column: u64 = parts.next()?.parse().ok()?;
    let line: u64 = parts.next()?.parse().ok()?;
    let file = parts.next()?;
    Some(serde_json::json!({ "file": file, "line": line, "column": column }))
}

/// A write past the process's file size limit (`ulimit -f`) raises SIGXFSZ,
/// whose default action kills gen without a word, mid-apply. With a handler
/// installed the write fails with EFBIG instead, which the apply reports and
/// rolls back like any failed write (`Error::TooLarge`). A handler rather than
/// `SIG_IGN`: programs gen runs (validators, systemctl) get the default back.
fn survive_file_size_limit() {
    let exceeded = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    if let Err(e) = signal_hook::flag::register(signal_hook::consts::SIGXFSZ, exceeded) {
        eprintln!(
            "warning: cannot catch SIGXFSZ ({e}): a write past `ulimit -f` would stop gen silently"
        );
    }
}

/// Colour as `--color` decides for standard error (`crate::colour`), so
/// miette's theme follows the same choice as gen's own output; fixed width
/// so messages are the same in CI logs as in tests.
fn install_error_hook() {
    let colour = crate::colour::stderr();
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
