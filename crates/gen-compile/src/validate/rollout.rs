//! Validate stage, `[rollout]`: the pull-mode rollout timer every host runs.
//! The repository URL and branch go into a script, so they are held to
//! shapes that need no quoting there.

use super::Checker;
use crate::model::{RolloutSpec, SshAccess};
use crate::profile::Profile;
use crate::shapes;
use crate::units::Duration;
use gen_target::host_path::shown;

impl Checker<'_> {
    pub(super) fn rollout(&mut self, p: &Profile) -> Option<RolloutSpec> {
        let r = p.rollout.as_ref()?;
        self.check(
            shapes::is_repository_url(&r.repository),
            "rollout.repository",
            || format!("`rollout.repository`: `{}` is not an https:// or ssh:// repository URL", shown(&r.repository)),
            "for example `https://git.example.com/ops/deploy.git`; URLs with credentials are refused",
        );
        let branch = r.branch.clone().unwrap_or_else(|| "main".into());
        self.check(
            shapes::is_branch_name(&branch),
            "rollout.branch",
            || {
                format!(
                    "`rollout.branch`: `{}` is not a branch name",
                    shown(&branch)
                )
            },
            "letters, digits and `/._-`, not starting with `-`",
        );
        let interval = r.interval.unwrap_or(Duration(900));
        self.check(
            (60..=86_400).contains(&interval.seconds()),
            "rollout.interval",
            || format!("`rollout.interval`: {interval} is out of range"),
            "between 1m and 1d",
        );
        if let Some(path) = &r.allowed_signers {
            self.path("rollout.allowed_signers", path);
        }
        let checkout = r
            .checkout
            .clone()
            .unwrap_or_else(|| "/var/lib/gen/checkout".into());
        self.path("rollout.checkout", &checkout);
        let gen_binary = r
            .gen_binary
            .clone()
            .unwrap_or_else(|| "/usr/local/bin/gen".into());
        self.path("rollout.gen_binary", &gen_binary);
        let ssh = self.rollout_ssh(r);
        for (i, host) in r.canary.iter().enumerate() {
            self.check(
                p.hosts.contains_key(host),
                &format!("rollout.canary[{i}]"),
                || format!("`rollout.canary`: there is no host `{}`", shown(host)),
                "canaries are hosts of this profile",
            );
        }
        let stagger = r.stagger.unwrap_or(Duration(0));
        self.check(
            stagger.seconds() <= 7 * 86_400,
            "rollout.stagger",
            || format!("`rollout.stagger`: {stagger} is out of range"),
            "at most 7d between waves",
        );
        let waves = r.waves.unwrap_or(1);
        self.check(
            (1..=24).contains(&waves),
            "rollout.waves",
            || format!("`rollout.waves`: {waves} is out of range"),
            "between 1 and 24 waves",
        );
        Some(RolloutSpec {
            repository: r.repository.clone(),
            branch,
            interval,
            allowed_signers: r.allowed_signers.clone(),
            checkout,
            gen_binary,
            canary: r.canary.clone(),
            stagger,
            waves,
            ssh,
        })
    }

    /// `ssh://` access needs a deploy key and a pinned server key, both
    /// outside home directories (the pull unit runs with `ProtectHome=yes`).
    fn rollout_ssh(&mut self, r: &crate::profile::Rollout) -> Option<SshAccess> {
        let over_ssh = r.repository.starts_with("ssh://");
        match (&r.ssh_key, &r.known_hosts) {
            (None, None) => None,
            (Some(key), Some(known_hosts)) => {
                self.check(
                    over_ssh,
                    "rollout.ssh_key",
                    || {
                        "`rollout.ssh_key` is set but `rollout.repository` is not an ssh:// URL"
                            .into()
                    },
                    "a deploy key is only used for an ssh:// repository",
                );
                for (field, path) in [
                    ("rollout.ssh_key", key),
                    ("rollout.known_hosts", known_hosts),
                ] {
                    self.secret_path(field, path);
                    self.check(
                        !path.starts_with("/home/") && !path.starts_with("/root/"),
                        field,
                        || format!("`{field}` is under a home directory, which the pull unit cannot see"),
                        "keep it under /etc/gen/, e.g. `/etc/gen/deploy-key`",
                    );
                }
                Some(SshAccess {
                    key: key.clone(),
                    known_hosts: known_hosts.clone(),
                })
            }
            (Some(_), None) | (None, Some(_)) => {
                let missing = if r.ssh_key.is_none() {
                    "rollout.ssh_key"
                } else {
                    "rollout.known_hosts"
                };
                self.fail(
                    missing,
                    format!("`{missing}` is missing: a deploy key and the known_hosts file that pins the server go together"),
                    "set both `rollout.ssh_key` and `rollout.known_hosts`",
                );
                None
            }
        }
    }
}
