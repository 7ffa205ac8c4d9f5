//! Target vocabulary: which real program checks a file. The compile side
//! records it in the manifest; `gen check` dispatches on it.

use serde::{Deserialize, Serialize};

/// The real program that checks an artifact of this kind (`gen check`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Validator {
    Nginx,
    Postgresql,
    PgHba,
    Pgbouncer,
    Redis,
    Systemd,
    /// A unit's `[Install]` link: its unit's `WantedBy=`, and `systemctl
    /// --root is-enabled` on the staged tree.
    SystemdEnable,
    Cron,
    Compose,
    PrometheusConfig,
    PrometheusRules,
    Shell,
    /// A bootstrap script run twice against a throw-away server of the
    /// host's PostgreSQL major: the second run must change nothing.
    Sql,
    /// An nftables ruleset: `nft --check -f` in a throw-away network namespace.
    Nftables,
    /// pgBackRest's configuration: `stanza-create` and `check` against a
    /// throw-away cluster, with the repository replaced by a local directory.
    Pgbackrest,
    /// Alertmanager's configuration: `amtool check-config`.
    Alertmanager,
    /// A systemd `EnvironmentFile=` whose `ARGS` a program receives: parsed
    /// with systemd's rules, every flag checked against `<program> --help`.
    EnvironmentFile,
}
