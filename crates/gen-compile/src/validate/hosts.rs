//! Validate stage, `[hosts]`: every machine's name, address, roles and
//! hardware. Internal services bind to a host's address, so it must be unique
//! and inside `network.internal`.

use std::collections::{BTreeMap, BTreeSet};

use super::Checker;
use crate::model::HostSpec;
use crate::profile::{Profile, Role};
use crate::source::push_key;
use crate::units::ByteSize;

impl Checker<'_> {
    pub(super) fn hosts(&mut self, p: &Profile) -> Vec<HostSpec> {
        let mut seen_addresses: BTreeMap<std::net::IpAddr, &str> = BTreeMap::new();
        let mut hosts = Vec::new();
        if p.hosts.is_empty() {
            self.fail(
                "hosts",
                "the profile declares no hosts",
                "add at least one `[hosts.<name>]` table",
            );
        }
        for (name, host) in &p.hosts {
            let key = push_key("hosts", name);
            self.name(&key, name, "host name");
            if let Some(other) = seen_addresses.insert(host.address, name) {
                self.fail(
                    &format!("{key}.address"),
                    format!(
                        "`{key}.address`: {} is already the address of host `{other}`",
                        host.address
                    ),
                    "every host needs its own address",
                );
            }
            if !p
                .network
                .internal
                .iter()
                .any(|net| net.contains(host.address))
            {
                self.fail(
                    &format!("{key}.address"),
                    format!("`{key}.address`: {} is outside every `network.internal` network", host.address),
                    "hosts bind internal services to this address; add its network to `network.internal`",
                );
            }
            if host.roles.is_empty() {
                self.fail(
                    &format!("{key}.roles"),
                    format!("`{key}.roles` is empty"),
                    "give the host at least one role",
                );
            }
            let roles: BTreeSet<Role> = host.roles.iter().copied().collect();
            if roles.contains(&Role::DatabasePrimary) && roles.contains(&Role::DatabaseReplica) {
                self.fail(
                    &format!("{key}.roles"),
                    format!("`{key}.roles`: a host cannot be both `database_primary` and `database_replica`"),
                    "put the replica on another host",
                );
            }
            let hw = &host.hardware;
            self.check(
                (1..=1024).contains(&hw.cores),
                &format!("{key}.hardware.cores"),
                || format!("`{key}.hardware.cores`: {} is out of range", hw.cores),
                "cores is between 1 and 1024",
            );
            self.check(
                hw.memory >= ByteSize(256 * 1024 * 1024) && hw.memory <= ByteSize(64 << 40),
                &format!("{key}.hardware.memory"),
                || format!("`{key}.hardware.memory`: {} is out of range", hw.memory),
                "memory is between 256MiB and 64TiB",
            );
            hosts.push(HostSpec {
                name: name.clone(),
                address: host.address,
                roles,
                cores: hw.cores,
                memory: hw.memory,
                storage: hw.storage,
                disk: hw.disk,
                firewall: host.firewall.unwrap_or(true),
            });
        }
        hosts
    }
}
