//! Validate stage, after the model is checked: lints. An error is a profile
//! that cannot work and refuses the build; a lint is a profile that builds
//! but is probably wrong — a located warning with a stable code
//! (`gen::lint::<name>`) that a profile may allow under `[lints] allow` with
//! a reason. Lints read the checked model and the derived numbers (the
//! connection budget needs `max_connections`) and never change what is
//! written.
//!
//! The table of lints is `registry`; each class of mistake has its file
//! (`connections`, `memory`, `exposure`, `credentials`, `schedules`,
//! `reachability`) with one function per lint, tied to its code in
//! [`checker`].

mod capabilities;
mod collisions;
mod connections;
mod credentials;
mod datatier;
mod exposure;
mod firewall;
mod lint;
mod memory;
mod reachability;
pub mod registry;
mod restore;
mod schedules;

pub use lint::{Lint, LintRecord, Position};
pub use registry::{LintCode, LintInfo};

use crate::derive::Derived;
use crate::load::LoadedProfile;
use crate::model::Deployment;
use crate::source::Underline;

/// What a lint function reads.
pub(crate) struct Context<'a> {
    pub d: &'a Deployment,
    pub derived: &'a Derived,
}

/// One place a lint fires, before it is located in the sources.
#[derive(Debug, Clone)]
pub(crate) struct Finding {
    pub key: String,
    pub underline: Underline,
    /// The key's source line is not quoted: the value may be a credential.
    pub redact: bool,
    pub message: String,
    pub help: String,
}

impl Finding {
    /// A finding at `key`, underlining its value.
    pub fn at(key: impl Into<String>, message: impl Into<String>, help: impl Into<String>) -> Self {
        Finding {
            key: key.into(),
            underline: Underline::Value,
            redact: false,
            message: message.into(),
            help: help.into(),
        }
    }

    /// Underlines the key rather than its value (a whole table).
    pub fn on_key(mut self) -> Self {
        self.underline = Underline::Key;
        self
    }

    /// Names the position without quoting the line.
    pub fn redacted(mut self) -> Self {
        self.redact = true;
        self.underline = Underline::Key;
        self
    }
}

/// The function that looks for `code`.
fn checker(code: LintCode) -> fn(&Context) -> Vec<Finding> {
    match code {
        LintCode::DirectConnections => connections::direct_connections,
        LintCode::PoolerBypass => connections::pooler_bypass,
        LintCode::OverrideExceedsMemory => memory::override_exceeds_memory,
        LintCode::CpuOvercommit => memory::cpu_overcommit,
        LintCode::MemoryUnbounded => memory::memory_unbounded,
        LintCode::PublicMetrics => exposure::public_metrics,
        LintCode::PublicAdminPath => exposure::public_admin_path,
        LintCode::PublicAdminTool => exposure::public_admin_tool,
        LintCode::UnneededCapability => capabilities::unneeded_capability,
        LintCode::WildcardBind => exposure::wildcard_bind,
        LintCode::HstsOff => exposure::hsts_off,
        LintCode::SshOpenToWorld => firewall::ssh_open_to_world,
        LintCode::PublicDatabase => firewall::public_database,
        LintCode::CredentialInEnv => credentials::credential_in_env,
        LintCode::SuperuserLogin => credentials::superuser_login,
        LintCode::RedisNoAuth => credentials::redis_no_auth,
        LintCode::UrlMissingPassword => credentials::url_missing_password,
        LintCode::SingletonReplicated => schedules::singleton_replicated,
        LintCode::NoBackup => schedules::no_backup,
        LintCode::BackupNeverRestored => restore::backup_never_restored,
        LintCode::StaticRootUnreadable => reachability::static_root_unreadable,
        LintCode::CertificateCopy => reachability::certificate_copy,
        LintCode::NoHealthcheck => reachability::no_healthcheck,
        LintCode::EvictingSessions => datatier::evicting_sessions,
        LintCode::ScheduleCollision => collisions::schedule_collision,
    }
}

/// Every lint that fires on a checked profile and is not allowed by it, in
/// the order of the registry, each located in the profile's sources.
pub fn lint(loaded: &LoadedProfile, d: &Deployment, derived: &Derived) -> Vec<Lint> {
    let cx = Context { d, derived };
    let mut out = Vec::new();
    for code in LintCode::ALL {
        if d.allowed_lints.contains_key(&code) {
            continue;
        }
        for finding in checker(code)(&cx) {
            out.push(Lint::locate(&loaded.sources, &loaded.name, code, finding));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    //! Every example of the registry, built through the real pipeline: it
    //! draws its lint and no other, its fix draws none, and the profile the
    //! examples extend draws none.

    use super::registry::{Example, EXAMPLE_BASE};
    use super::*;
    use crate::load::MemoryProfiles;

    /// The base without the tables `omit` names (each header and the lines
    /// up to the next header).
    fn base_without(omit: &[&str]) -> String {
        let mut out = String::new();
        let mut skipping = false;
        for line in EXAMPLE_BASE.lines() {
            if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                skipping = omit.contains(&header);
            }
            if !skipping {
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    }

    fn lints_of(example: &Example) -> Vec<String> {
        let files = MemoryProfiles::default()
            .with("_base", base_without(example.omit))
            .with(
                "example",
                format!("extends = \"_base.toml\"\n{}", example.toml),
            );
        let compiled = crate::compile::Analysed::from_files(&files, "example")
            .unwrap_or_else(|e| panic!("{}\n{e:?}", example.toml));
        compiled
            .lints
            .iter()
            .map(|l| l.code.name().to_string())
            .collect()
    }

    #[test]
    fn the_example_base_draws_no_lint() {
        let empty = Example {
            omit: &[],
            toml: "",
        };
        assert_eq!(lints_of(&empty), Vec::<String>::new());
    }

    #[test]
    fn every_example_draws_its_lint_alone_and_its_fix_none() {
        for code in LintCode::ALL {
            let info = code.info();
            assert_eq!(
                lints_of(&info.example),
                [info.name],
                "the example of `{}`",
                info.name
            );
            assert_eq!(
                lints_of(&info.fix),
                Vec::<String>::new(),
                "the fix of `{}`",
                info.name
            );
        }
    }
}
