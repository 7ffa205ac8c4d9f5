//! Validate stage, `network.container_subnet`: the compose network's subnet
//! gen admits in pg_hba.conf, so it must be a private network of its own.
//! Read after every section, because its default depends on where the
//! containers and the database run.

use super::Checker;
use crate::derive::container_network::{self, DEFAULT_SUBNET};
use crate::model::Deployment;
use crate::profile::Profile;
use crate::units::Cidr;

impl Checker<'_> {
    /// The declared subnet, checked; else the default when containers share
    /// a host with the database they connect to; else none (Docker picks).
    pub(super) fn container_subnet(&mut self, p: &Profile, d: &Deployment) -> Option<Cidr> {
        const KEY: &str = "network.container_subnet";
        let Some(subnet) = p.network.container_subnet else {
            if !container_network::needed(d) {
                return None;
            }
            let default = container_network::default_subnet();
            if let Some(internal) = d
                .internal_networks
                .iter()
                .find(|n| container_network::overlaps(n, &default))
            {
                self.fail(
                    "network.internal",
                    format!(
                        "containers share a host with their database, and the default `{KEY}` `{DEFAULT_SUBNET}` overlaps `network.internal` `{internal}`"
                    ),
                    "set `network.container_subnet` to a private network outside `network.internal`, e.g. `\"192.168.240.0/24\"`",
                );
            }
            return Some(default);
        };
        self.check(
            container_network::is_private(&subnet),
            KEY,
            || format!("`{KEY}`: `{subnet}` is not a private IPv4 network (10/8, 172.16/12, 192.168/16)"),
            "pg_hba.conf admits this network: it must never hold a public address",
        );
        self.check(
            (16..=28).contains(&subnet.prefix),
            KEY,
            || format!("`{KEY}`: `{subnet}` is a /{}, not a /16 to /28", subnet.prefix),
            "a /24 holds 254 containers; wider networks collide with Docker's pools, narrower ones run out",
        );
        for internal in &d.internal_networks {
            self.check(
                !container_network::overlaps(&subnet, internal),
                KEY,
                || format!("`{KEY}`: `{subnet}` overlaps `network.internal` `{internal}`"),
                "the container network must be disjoint from the hosts' networks, or routes to peers would go to the bridge",
            );
        }
        Some(subnet)
    }
}
