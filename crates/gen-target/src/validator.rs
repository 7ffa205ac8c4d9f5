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
    /// Alertmanager's configuration: `amtool check-config`.
    Alertmanager,
    /// A systemd `EnvironmentFile=` whose `ARGS` a program receives: parsed
    /// with systemd's rules, every flag checked against `<program> --help`.
    EnvironmentFile,
}
