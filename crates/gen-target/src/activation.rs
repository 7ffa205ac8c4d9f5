//! Target vocabulary: what a changed file asks of the running host. The
//! compile side records it in the manifest; the live side acts on it.

use serde::{Deserialize, Serialize};

/// What a changed file asks of the running system, ordered from least to most
/// disruptive (NixOS classifies changes the same way).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Activation {
    /// Nothing reads the file until its next scheduled use (cron, scripts).
    None,
    /// `systemctl reload <unit>` (after the validator passed on the staged file).
    Reload { unit: String },
    /// `systemctl restart <unit>`.
    Restart { unit: String },
    /// A unit file: `systemctl daemon-reload`, then restart the unit.
    DaemonReload { unit: String },
    /// A file a compose service reads (a containerised database's
    /// configuration): `docker compose --project-name <project> restart
    /// <service>`, that service only.
    ComposeService { project: String, service: String },
}
