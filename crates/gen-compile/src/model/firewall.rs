//! Validate stage output, `[firewall]`: the extra openings with their named
//! networks resolved to addresses, so the derive stage never looks a name up.

use serde::Serialize;

use crate::profile::Protocol;
use crate::units::Cidr;

/// The firewall of the hosts that have one (`hosts.<h>.firewall`).
#[derive(Debug, Clone, Serialize)]
pub struct FirewallSpec {
    /// `firewall.allow`, in profile order.
    pub allow: Vec<AllowSpec>,
}

/// One `firewall.allow` entry.
#[derive(Debug, Clone, Serialize)]
pub struct AllowSpec {
    pub port: u16,
    pub protocol: Protocol,
    /// The sources, `@…` names resolved, sorted and deduplicated.
    pub from: Vec<Cidr>,
    /// The sources as written (for the rule's comment).
    pub from_written: Vec<String>,
    /// The hosts it opens on; empty: every host with a firewall.
    pub hosts: Vec<String>,
}
