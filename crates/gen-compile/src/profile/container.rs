//! Load stage, the container options of `[services.<name>]` and the `extra`
//! escape hatch: the raw shapes, mirroring the TOML. Old spellings stay
//! accepted (`publish_public`, a tmpfs string, a `depends_on` list); which
//! spelling wins is decided in `validate::container`.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::units::ByteSize;

/// Where a container publishes its port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Publish {
    /// The host's private address, one port per replica (default).
    #[default]
    Private,
    /// 127.0.0.1 only: nginx on the same host reaches it, nothing else does.
    Loopback,
    /// No host port: other containers of the compose project reach it by name.
    None,
    /// Every interface: around nginx and around a host firewall.
    Public,
}

impl Publish {
    pub fn as_str(self) -> &'static str {
        match self {
            Publish::Private => "private",
            Publish::Loopback => "loopback",
            Publish::None => "none",
            Publish::Public => "public",
        }
    }
}

/// A Linux capability a container may add back after gen drops them all.
/// The list is fixed: `SYS_MODULE`, `SYS_RAWIO`, `SYS_PTRACE`, `BPF` and
/// the like are not on it; `SYS_ADMIN` and `NET_ADMIN` are, with a warning
/// (`gen lints`: unneeded-capability).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Capability {
    AuditWrite,
    Chown,
    DacOverride,
    DacReadSearch,
    Fowner,
    Fsetid,
    IpcLock,
    Kill,
    Mknod,
    NetAdmin,
    NetBindService,
    NetRaw,
    Setfcap,
    Setgid,
    Setpcap,
    Setuid,
    SysAdmin,
    SysChroot,
    SysNice,
    SysResource,
    SysTime,
}

/// A tmpfs mount: a container path, or a path with a size and mode.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Tmpfs {
    Path(String),
    Mount(TmpfsMount),
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TmpfsMount {
    /// Absolute path inside the container.
    pub path: String,
    /// Largest size (at least 1MiB); default docker's, half the host's memory.
    pub size: Option<ByteSize>,
    /// Octal permission bits, e.g. `"1777"`.
    pub mode: Option<String>,
}

/// Resources guaranteed to a replica; each at most its `limits`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Reservations {
    pub cpus: Option<f64>,
    pub memory: Option<ByteSize>,
}

/// GPUs a container reserves: a count, or `"all"`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Gpus {
    Count(u32),
    All(String),
}

/// A volume: a named volume (`source` a name) or a bind mount (`source` an
/// absolute path on the host).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Volume {
    pub source: String,
    /// Absolute path inside the container.
    pub target: String,
    /// Mount read-only (default false).
    pub read_only: Option<bool>,
}

/// What a dependency must reach before the service starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DependsCondition {
    /// Running and passing its healthcheck.
    Healthy,
    /// Run to completion with exit status 0 (a one-shot container).
    Completed,
    /// Started.
    Started,
}

impl DependsCondition {
    /// The compose `condition:` value.
    pub fn compose(self) -> &'static str {
        match self {
            DependsCondition::Healthy => "service_healthy",
            DependsCondition::Completed => "service_completed_successfully",
            DependsCondition::Started => "service_started",
        }
    }
}

/// Other services of the same host first: a list (each must be healthy) or
/// a table of conditions.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum DependsOn {
    List(Vec<String>),
    Conditions(BTreeMap<String, DependsCondition>),
}

/// Container log rotation (json-file driver).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Logging {
    /// Size of one log file (default `10MiB`).
    pub max_size: Option<ByteSize>,
    /// Log files kept (default 5).
    pub max_files: Option<u32>,
}

/// Settings typed by hand, written as they are in a marked block of the file.
/// Values are strings, numbers, booleans or arrays (the setting repeated);
/// names gen writes itself are refused.
pub type Extra = BTreeMap<String, toml::Value>;
