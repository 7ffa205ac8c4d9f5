//! Shared by the live-host commands: which `generated/` tree, which host, which root.

use std::fs;

use camino::{Utf8Path, Utf8PathBuf};

use crate::cli::LiveArgs;
use gen_target::error::{Error, Result};
use gen_target::layout;

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
        return Err(Error::Usage {
            message: format!("profile `{}` has no tree in `{generated}`", args.profile),
            help: Some("run `gen build` first, or pass `--generated DIR`".into()),
        });
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

/// Colour only on a terminal and never with `NO_COLOR`.
pub fn colour_stdout() -> bool {
    use std::io::IsTerminal as _;
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}
