//! Every way gen can fail, as one enum of miette diagnostics. Errors that come
//! from a profile carry the file, the span and the key path, so the report
//! points at the exact line an engineer has to change.

use std::io;
use std::sync::Arc;

use camino::Utf8PathBuf;
use miette::{Diagnostic, NamedSource, SourceSpan};

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How many problems of one profile are reported in full.
pub const MAX_REPORTED_ERRORS: usize = 100;

#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum Error {
    #[error("cannot read `{path}`")]
    #[diagnostic(code(gen::io::read))]
    Read {
        path: Utf8PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("cannot write `{path}`")]
    #[diagnostic(code(gen::io::write))]
    Write {
        path: Utf8PathBuf,
        #[source]
        source: io::Error,
    },

    /// EFBIG: the process's file size limit (`ulimit -f`, a unit's
    /// `LimitFSIZE=`) or the filesystem's largest file.
    #[error("cannot write `{path}`: it would be larger than this process may write (the file size limit, `ulimit -f`) or the filesystem allows")]
    #[diagnostic(
        code(gen::io::too_large),
        help("raise the limit (`ulimit -f unlimited`, or `LimitFSIZE=` in the unit that runs gen) and run the command again")
    )]
    TooLarge {
        path: Utf8PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("`{path}` is not valid TOML: {message}")]
    #[diagnostic(
        code(gen::profile::syntax),
        help("fix the TOML syntax at the marked position")
    )]
    Syntax {
        /// The file, or `file:line:column` when the line is too long to quote.
        path: Utf8PathBuf,
        message: String,
        #[source_code]
        src: Option<NamedSource<Arc<String>>>,
        #[label("here")]
        span: Option<SourceSpan>,
    },

    /// A profile file that is not a regular file inside `profiles/`.
    #[error("`{path}` {message}")]
    #[diagnostic(
        code(gen::profile::unsafe_file),
        help("profiles are regular files inside `profiles/`: a symbolic link could point a build at any file this user can read, and an error would quote it")
    )]
    UnsafeProfile { path: Utf8PathBuf, message: String },

    /// A profile value that is missing, unknown, of the wrong type, out of range
    /// or that breaks an invariant between artifacts.
    #[error("{message}")]
    #[diagnostic(code(gen::profile::invalid))]
    Invalid {
        key: String,
        message: String,
        #[source_code]
        src: NamedSource<Arc<String>>,
        #[label("{label}")]
        span: SourceSpan,
        label: String,
        #[help]
        help: Option<String>,
    },

    /// A located profile error whose source line must not be shown because it
    /// holds what looks like a credential.
    #[error("{message}\n  at {location}")]
    #[diagnostic(code(gen::profile::invalid))]
    InvalidRedacted {
        key: String,
        message: String,
        /// `file:line:column`.
        location: String,
        #[help]
        help: Option<String>,
    },

    /// A profile problem that has no single place in a file.
    #[error("{message}")]
    #[diagnostic(code(gen::profile::invalid))]
    InvalidProject {
        message: String,
        #[help]
        help: Option<String>,
    },

    /// Jobs whose order cannot hold: a `before` cycle, a container job that
    /// gates no container `docker compose up` starts, or a job gating
    /// something of the other runtime.
    #[error("{message}")]
    #[diagnostic(code("gen::error::job-order"))]
    JobOrder {
        key: String,
        message: String,
        #[source_code]
        src: NamedSource<Arc<String>>,
        #[label("{label}")]
        span: SourceSpan,
        label: String,
        #[help]
        help: Option<String>,
    },
    /// A located profile error with a stable `gen::error::<name>` code.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Coded(Box<crate::error_code::CodedError>),

    #[error("{count} problems in profile `{profile}`")]
    #[diagnostic(code(gen::profile::many))]
    Many {
        profile: String,
        count: usize,
        #[related]
        errors: Vec<Error>,
    },

    /// `gen build --deny-warnings` found lints: they refuse the build like errors.
    #[error("{count} lint warning(s) and `--deny-warnings`: nothing was written")]
    #[diagnostic(
        code(gen::lint::denied),
        help("fix each warning above, or allow its lint in the profile under `[lints] allow` with the reason it does not apply")
    )]
    LintsDenied { count: usize },

    #[error("template `{template}` failed to render: {message}")]
    #[diagnostic(
        code(gen::render),
        help("this is a bug in gen's templates or in the values validation let through; please report it")
    )]
    Render { template: String, message: String },

    #[error("{message}")]
    #[diagnostic(code(gen::usage))]
    Usage {
        message: String,
        #[help]
        help: Option<String>,
    },

    #[error("nothing generated at `{path}`")]
    #[diagnostic(
        code(gen::check::not_generated),
        help("run `gen build` first, or name a profile that `gen build` compiled")
    )]
    NotGenerated { path: Utf8PathBuf },

    #[error("no host `{host}` in the generated tree of `{profiles}`")]
    #[diagnostic(
        code(gen::check::unknown_host),
        help("`--host` takes a host name from the profile's `[hosts]` table")
    )]
    UnknownHost { host: String, profiles: String },

    #[error("manifest `{path}` is unreadable: {message}")]
    #[diagnostic(code(gen::manifest))]
    Manifest { path: Utf8PathBuf, message: String },

    #[error("{count} artifact(s) of the generated tree do not match the manifest: {paths}")]
    #[diagnostic(
        code(gen::apply::tampered),
        help("the tree was changed after `gen build`; rebuild it or restore it from version control. nothing was written")
    )]
    Tampered { count: usize, paths: String },

    #[error("`{path}` is a symbolic link inside the root")]
    #[diagnostic(
        code(gen::apply::symlink),
        help("gen never follows a symbolic link on a managed path; replace it with a real directory or file. nothing was written")
    )]
    Symlink { path: Utf8PathBuf },

    #[error("`{path}` {message}")]
    #[diagnostic(
        code(gen::apply::unsafe_path),
        help("gen manages regular files below real directories only. nothing was written")
    )]
    UnsafeLivePath { path: Utf8PathBuf, message: String },

    #[error("{names} do(es) not exist on this system")]
    #[diagnostic(
        code(gen::apply::accounts),
        help("create them (e.g. `useradd --system NAME`) before applying. nothing was written")
    )]
    UnknownAccounts { names: String },

    #[error("another gen run holds the lock `{path}`")]
    #[diagnostic(
        code(gen::apply::locked),
        help(
            "wait for it to finish; a lock held by a process that died is released by the kernel"
        )
    )]
    Locked { path: Utf8PathBuf },

    #[error("the live host drifted since the plan was made: {count} file(s) differ: {paths}")]
    #[diagnostic(
        code(gen::apply::drift),
        help("make and review a new plan with `gen plan`. nothing was written")
    )]
    Drift { count: usize, paths: String },

    #[error("`{path}` is not what the profiles beside it build: {reasons}")]
    #[diagnostic(
        code(gen::apply::stale),
        help("run `gen build`, review and commit the tree, then apply it; `--allow-stale` applies the old tree anyway. nothing was written")
    )]
    StaleTree { path: Utf8PathBuf, reasons: String },

    #[error("the firewall admits SSH only from `network.admin` ({admin}), and this session's client {client} is outside it (firewall-lockout)")]
    #[diagnostic(
        code(gen::apply::firewall_lockout),
        help("add the network you connect from to `network.admin` and rebuild, or pass `--allow-firewall-lockout` if another way in remains (a console). nothing was written")
    )]
    FirewallLockout { client: String, admin: String },

    #[error("the host lacks {count} file(s) the tree needs: {paths}")]
    #[diagnostic(
        code(gen::apply::missing_files),
        help("gen never writes secrets, certificates or keys: put them on the host (readable by the service that uses them), then apply again. nothing was written")
    )]
    MissingFiles { count: usize, paths: String },

    #[error("the host lacks {count} package(s) the tree needs: {names}")]
    #[diagnostic(
        code(gen::apply::missing_packages),
        help("install them (`apt-get install {names_spaced}`), then apply again; the manifest's `requires.packages` lists what each host needs. nothing was written")
    )]
    MissingPackages {
        count: usize,
        names: String,
        names_spaced: String,
    },

    #[error("cannot tell which packages the host has: {message}")]
    #[diagnostic(
        code(gen::apply::package_check),
        help("gen asks `dpkg-query` whether each package in the manifest's `requires.packages` is installed; run apply on the Debian host the tree is for. nothing was written")
    )]
    PackageCheck { message: String },

    #[error("the root `{path}` is not a directory")]
    #[diagnostic(
        code(gen::apply::no_root),
        help("`--root` names the live filesystem to compare with or write to; create it first for a scratch root")
    )]
    NoRoot { path: Utf8PathBuf },

    #[error("the plan does not match the generated tree: {message}")]
    #[diagnostic(
        code(gen::apply::plan_mismatch),
        help("make the plan from the same `generated/` tree you apply. nothing was written")
    )]
    PlanMismatch { message: String },

    #[error("refusing to apply without confirmation")]
    #[diagnostic(
        code(gen::apply::unconfirmed),
        help("run on a terminal to confirm, or pass `--yes` (after reviewing `gen diff` or a `gen plan`)")
    )]
    NotConfirmed,

    #[error("apply declined; nothing written")]
    #[diagnostic(
        code(gen::apply::declined),
        help("the host is as it was; run `gen apply` again and answer `y` to apply the change")
    )]
    Declined,

    #[error("generation record `{path}` is unreadable: {message}")]
    #[diagnostic(
        code(gen::apply::generation),
        help("gen's journal under `var/lib/gen/generations` was changed by hand; restore it or remove the generation")
    )]
    Generation { path: Utf8PathBuf, message: String },

    /// gen's journal does not hold what gen writes there: a record missing,
    /// unreadable or misplaced, an unfinished generation that is not the
    /// newest. Nothing is changed until it is put right.
    #[error("gen's journal `{path}` is damaged, {count} problem(s):\n{problems}")]
    #[diagnostic(
        code(gen::journal::damaged),
        help("nothing was changed, and gen deletes nothing in its journal it cannot prove unneeded. put each problem right as it says, then `gen generations --verify` checks the journal again")
    )]
    Journal {
        path: Utf8PathBuf,
        count: usize,
        /// One line per problem: the path, what is wrong, what to do.
        problems: String,
    },

    #[error("`{path}` failed validation, nothing was written: {message}")]
    #[diagnostic(
        code(gen::apply::validation),
        help("fix the profile so the file validates and rebuild; `gen check` shows every validator's verdict")
    )]
    Validation { path: String, message: String },

    #[error("apply aborted: {cause}")]
    #[diagnostic(code(gen::apply::aborted))]
    Aborted {
        cause: String,
        #[help]
        help: String,
    },

    #[error("rollback of generation {number} stopped after {done}: {cause}")]
    #[diagnostic(
        code(gen::rollback::incomplete),
        help("generation {number} is still recorded as unfinished: fix the cause, and the next `gen rollback` or `gen apply` finishes restoring it")
    )]
    RollbackIncomplete {
        number: u64,
        /// What the rollback had already changed, e.g. "removing 2 file(s) (…)".
        done: String,
        cause: String,
    },

    #[error("generation {generation} is applied, but removing older generations failed: {cause}")]
    #[diagnostic(
        code(gen::apply::pruning),
        help("the host holds the new files; the next apply removes the old generations once the cause is fixed")
    )]
    Pruning { generation: u64, cause: String },

    #[error("gen is stopping on a signal: no sandbox is started")]
    #[diagnostic(code(gen::check::stopping))]
    Stopping,

    #[error("cannot watch for termination signals")]
    #[diagnostic(code(gen::signals))]
    Signals {
        #[source]
        source: io::Error,
    },

    #[error("the health gate `{gate}` failed {attempts} time(s) within {seconds}s: {failures}")]
    #[diagnostic(code(gen::apply::unhealthy))]
    Unhealthy {
        gate: String,
        attempts: u32,
        seconds: u64,
        failures: String,
        /// Whether the apply was rolled back, and what to do.
        #[help]
        help: String,
    },

    #[error("activation failed: {failures}")]
    #[diagnostic(
        code(gen::apply::activation),
        help("the files are in place and the failed commands are recorded as pending: fix the service, then `gen activate` (or the next `gen apply`) runs them again; `gen generations` lists them")
    )]
    Activation { failures: String },
}

impl Error {
    /// A profile name that is not one of `known`: the same words from every
    /// command (`help` says where profiles come from for this one).
    pub fn unknown_profile(name: &str, known: &[String], help: impl Into<String>) -> Error {
        let known = if known.is_empty() {
            "none".to_string()
        } else {
            known
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        Error::Usage {
            message: format!("no profile `{name}`; known: {known}"),
            help: Some(help.into()),
        }
    }

    pub fn usage(message: impl Into<String>) -> Error {
        Error::Usage {
            message: message.into(),
            help: None,
        }
    }

    pub fn read(path: impl Into<Utf8PathBuf>, source: io::Error) -> Error {
        Error::Read {
            path: path.into(),
            source,
        }
    }

    pub fn write(path: impl Into<Utf8PathBuf>, source: io::Error) -> Error {
        if source.kind() == io::ErrorKind::FileTooLarge {
            return Error::TooLarge {
                path: path.into(),
                source,
            };
        }
        Error::Write {
            path: path.into(),
            source,
        }
    }

    /// Folds a list of errors into one, or none. At most
    /// [`MAX_REPORTED_ERRORS`] are kept: each one quotes its source, and a
    /// profile broken in thousands of places would otherwise take minutes to
    /// report, with the first screenful all anyone reads.
    pub fn collect(profile: &str, mut errors: Vec<Error>) -> Result<()> {
        let total = errors.len();
        if total > MAX_REPORTED_ERRORS {
            errors.truncate(MAX_REPORTED_ERRORS);
            errors.push(Error::InvalidProject {
                message: format!(
                    "{} more problems are not shown",
                    total - MAX_REPORTED_ERRORS
                ),
                help: Some("fix the problems above and run gen again".into()),
            });
        }
        match total {
            0 => Ok(()),
            1 => Err(errors.remove(0)),
            count => Err(Error::Many {
                profile: profile.to_string(),
                count,
                errors,
            }),
        }
    }
}
