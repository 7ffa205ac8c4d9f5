//! Shared by the live-host commands: which `generated/` tree, which host, which root.

use std::fs;

use camino::{Utf8Path, Utf8PathBuf};

use crate::cli::LiveArgs;
use gen_compile::compile;
use gen_compile::load::{self, PROFILES_DIR};
use gen_live::apply::Session;
use gen_live::plan::Activations;
use gen_target::error::{Error, Result};
use gen_target::layout::{self, manifest_path};
use gen_target::manifest::Manifest;

/// The `generated/` tree the command reads (never re-rendered).
pub fn generated(project: &Utf8Path, args: &LiveArgs) -> Utf8PathBuf {
    args.generated
        .clone()
        .unwrap_or_else(|| project.join("generated"))
}

/// `--host`, or this machine's hostname when the profile has such a host.
pub fn host(generated: &Utf8Path, args: &LiveArgs) -> Result<String> {
    let profile_dir = generated.join(&args.profile);
    if !profile_dir.is_dir() {
        return Err(Error::unknown_profile(
            &args.profile,
            &gen_live::tree_diff::profiles(generated),
            format!("the profiles `gen build` compiled into `{generated}`; run it first, or pass `--generated DIR`"),
        ));
    }
    if let Some(host) = &args.host {
        if !profile_dir.join(host).is_dir() {
            return Err(Error::Usage {
                message: format!("profile `{}` has no host `{host}`", args.profile),
                help: Some(format!("hosts: {}", layout::hosts(&profile_dir).join(", "))),
            });
        }
        return Ok(host.clone());
    }
    let hostname = fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    if !hostname.is_empty() && profile_dir.join(&hostname).is_dir() {
        return Ok(hostname);
    }
    Err(Error::Usage {
        message: format!(
            "this machine (`{hostname}`) is not a host of profile `{}`; pass `--host`",
            args.profile
        ),
        help: Some(format!("hosts: {}", layout::hosts(&profile_dir).join(", "))),
    })
}

/// The live root, which must be an existing directory: a mistyped `--root`
/// is an error, not an empty host on which everything would be created.
pub fn root(args: &LiveArgs) -> Result<&Utf8Path> {
    if args.root.is_dir() {
        Ok(&args.root)
    } else {
        Err(Error::NoRoot {
            path: args.root.clone(),
        })
    }
}

/// Why the tree of `host` is not what the profiles beside it build today:
/// another gen version built it, or the profiles (or gen's templates) changed
/// since. "Beside it" is `<generated>/../profiles`; a tree shipped without its
/// profiles (Ansible, a copied tree) has nothing to compare with.
pub fn staleness(generated: &Utf8Path, profile: &str, manifest: &Manifest) -> Vec<String> {
    let mut reasons = Vec::new();
    let version = env!("CARGO_PKG_VERSION");
    if manifest.gen_version != version {
        reasons.push(format!(
            "it was built by gen {}, this is gen {version}",
            manifest.gen_version
        ));
    }
    let project = generated.parent().unwrap_or(Utf8Path::new("."));
    let profile_file = project.join(PROFILES_DIR).join(format!("{profile}.toml"));
    if profile_file.exists() {
        let disk = load::DiskProfiles::new(project);
        let hash = match load::recorded_files(&disk, &manifest.profile_files)
            .or_else(|| load::chain_files(&disk, profile))
        {
            Some(files) => Ok(compile::input_hash_of(
                files
                    .iter()
                    .map(|(name, text)| (name.as_str(), text.as_str())),
            )),
            None => load::load_profile(project, profile).map(|loaded| compile::input_hash(&loaded)),
        };
        match hash {
            Ok(hash) if hash != manifest.input_hash => reasons
                .push("the profiles or gen's templates changed since `gen build`".to_string()),
            Ok(_) => {}
            Err(e) => reasons.push(format!("the profiles beside it do not load ({e})")),
        }
    }
    reasons
}

/// The manifest of `host`'s tree, read once for the stale check and the
/// verification of the tree (`gen_live::apply::Target::verify`).
pub fn manifest(generated: &Utf8Path, profile: &str, host: &str) -> Result<Manifest> {
    Manifest::read(&manifest_path(&generated.join(profile).join(host)))
}

/// Warns on standard error when the tree is stale (`gen diff`, `gen plan`).
pub fn warn_if_stale(generated: &Utf8Path, profile: &str, host: &str, manifest: &Manifest) {
    for reason in staleness(generated, profile, manifest) {
        eprintln!("warning: {generated}/{profile}/{host} is stale: {reason}; run `gen build`");
    }
}

/// Refuses a stale tree (`gen apply`) unless `allow` (`--allow-stale`).
pub fn refuse_if_stale(
    generated: &Utf8Path,
    profile: &str,
    host: &str,
    manifest: &Manifest,
    allow: bool,
) -> Result<()> {
    let reasons = staleness(generated, profile, manifest);
    if reasons.is_empty() {
        return Ok(());
    }
    if allow {
        for reason in &reasons {
            eprintln!("warning: applying a stale tree (--allow-stale): {reason}");
        }
        return Ok(());
    }
    Err(Error::StaleTree {
        path: generated.join(profile).join(host),
        reasons: reasons.join("; "),
    })
}

/// Whether standard output is coloured (`--color`, see `crate::colour`).
pub fn colour_stdout() -> bool {
    crate::colour::stdout()
}

/// Whether an apply or rollback may tell systemd about what it changed.
/// Services are the real host's: they are reloaded or restarted only when the
/// root is the real root `/`, or when `--activate` says the root is where the
/// services read their files (a container's root seen from outside, say).
/// `--no-reload` always wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activating {
    Yes,
    /// Why not, as the skipped commands are listed.
    No(&'static str),
}

impl Activating {
    pub fn decide(root: &Utf8Path, activate: bool, no_reload: bool) -> Activating {
        let real_root = fs::canonicalize(root).is_ok_and(|p| p == std::path::Path::new("/"));
        if no_reload {
            Activating::No("--no-reload")
        } else if real_root || activate {
            Activating::Yes
        } else {
            Activating::No("the root is not /; --activate runs them")
        }
    }

    /// Runs every activation the host is owed: `asked` (this command's own)
    /// and what earlier runs left pending, recording what fails as pending
    /// again (`Session::settle`). Without activation, lists them as skipped
    /// on standard error and leaves the records as they are.
    pub fn run(self, session: &Session, asked: &Activations) -> Result<Vec<String>> {
        let owed = session.outstanding()?.union(asked);
        match self {
            Activating::Yes => {
                let report = gen_live::activate::run(&owed);
                session.settle(&report.left)?;
                if report.succeeded() {
                    return Ok(report.ran);
                }
                for command in &report.ran {
                    eprintln!("ran {command}");
                }
                Err(Error::Activation {
                    failures: report.failures.join("; "),
                })
            }
            Activating::No(why) => {
                for command in gen_live::activate::shown_commands(&owed) {
                    eprintln!("skipped ({why}): {command}");
                }
                Ok(Vec::new())
            }
        }
    }

    /// Whether the session records activations as pending (it runs them).
    pub fn yes(self) -> bool {
        self == Activating::Yes
    }
}
