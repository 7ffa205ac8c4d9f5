//! Check stage: the host firewall's nftables ruleset, with `nft --check -f`
//! inside `unshare -rn` (a user and network namespace of its own). The
//! kernel checks the whole transaction (every expression, hook and
//! priority) without loading it; nothing touches this machine's firewall,
//! and no privilege is needed.

use super::tool::{run, which};
use super::{FileReport, HostCheck};
use gen_target::error::Result;

pub fn check(host: &mut HostCheck, files: &mut [FileReport]) -> Result<()> {
    for file in files {
        let staged = host.staging.stage(&file.path)?;
        let (Some(unshare), Some(nft)) = (which("unshare"), which("nft")) else {
            file.skip("`nft` (nftables) or `unshare` is not installed");
            continue;
        };
        file.ran("nft --check -f (in unshare -rn)");
        let out = run(host
            .command(unshare)
            .args(["--user", "--map-root-user", "--net", "--"])
            .arg(nft)
            .args(["--check", "--file"])
            .arg(&staged));
        if !out.success {
            for line in out.lines() {
                file.fail(host.staging.unstage(&line));
            }
        }
    }
    Ok(())
}
