//! Load stage, `[firewall]`: the raw host-firewall keys. The rules themselves
//! are derived from the topology (`derive::firewall`); these keys only switch
//! the firewall on and add openings gen cannot know about.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The host firewall: an nftables table on every host (unless
/// `hosts.<h>.firewall = false`) that drops inbound traffic except what the
/// deployment's own listeners need, SSH from `network.admin`, and
/// `firewall.allow`. Needs `network.admin`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Firewall {
    /// Extra openings: the escape hatch of the firewall.
    #[serde(default)]
    pub allow: Vec<FirewallAllow>,
}

/// One extra opening.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FirewallAllow {
    /// The port opened (1 to 65535).
    pub port: u16,
    /// `tcp` (default) or `udp`.
    pub protocol: Option<Protocol>,
    /// Who may connect: networks (`10.1.0.0/16`), addresses, or the named
    /// networks `@internal`, `@admin` and `@monitoring` (the monitoring hosts).
    pub from: Vec<String>,
    /// The hosts it opens on (default every host with a firewall).
    pub hosts: Option<Vec<String>>,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    Tcp,
    Udp,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }
}
