//! Validate stage, `[rollout]`: the pull-mode rollout timer every host runs.
//! The repository URL and branch go into a script, so they are held to
//! shapes that need no quoting there.

use super::Checker;
use crate::model::RolloutSpec;
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
        Some(RolloutSpec {
            repository: r.repository.clone(),
            branch,
            interval,
            allowed_signers: r.allowed_signers.clone(),
            checkout,
            gen_binary,
        })
    }
}
