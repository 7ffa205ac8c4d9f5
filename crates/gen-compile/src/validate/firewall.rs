//! Validate stage, `[firewall]`: the extra openings and the one invariant
//! that keeps a firewall from locking its administrators out: SSH is opened
//! to `network.admin` only, so a firewall without it is refused here
//! (`firewall-lockout`), before any host gets a ruleset.

use super::Checker;
use crate::model::{AllowSpec, FirewallSpec, HostSpec};
use crate::profile::{Profile, Protocol, Role};
use crate::units::Cidr;
use gen_target::host_path::shown;

impl Checker<'_> {
    pub(super) fn firewall(&mut self, p: &Profile, hosts: &[HostSpec]) -> Option<FirewallSpec> {
        let f = p.firewall.as_ref()?;
        if hosts.iter().any(|h| h.firewall) {
            self.check(
                !p.network.admin.is_empty(),
                "firewall",
                || "`firewall`: `network.admin` lists no network, so the firewall would drop every SSH connection (firewall-lockout)".into(),
                "list where administrators connect from, e.g. `network.admin = [\"203.0.113.7/32\"]`, or set `hosts.<name>.firewall = false` on every host",
            );
        }
        let mut allow = Vec::new();
        for (i, entry) in f.allow.iter().enumerate() {
            let key = format!("firewall.allow[{i}]");
            self.check(
                entry.port != 0,
                &format!("{key}.port"),
                || format!("`{key}.port`: 0 is not a port"),
                "ports are 1 to 65535",
            );
            self.check(
                !entry.from.is_empty(),
                &format!("{key}.from"),
                || format!("`{key}.from` lists no source"),
                "list networks, addresses or `@internal`, `@admin`, `@monitoring`",
            );
            let mut from: Vec<Cidr> = Vec::new();
            for source in &entry.from {
                match resolve(p, hosts, source) {
                    Ok(cidrs) => from.extend(cidrs),
                    Err(problem) => self.fail(
                        &format!("{key}.from"),
                        format!("`{key}.from`: `{}` {problem}", shown(source)),
                        "a network (`10.1.0.0/16`), an address, or `@internal`, `@admin`, `@monitoring`",
                    ),
                }
            }
            from.sort_by_key(|c| (c.address, c.prefix));
            from.dedup();
            let on = entry.hosts.clone().unwrap_or_default();
            for (j, host) in on.iter().enumerate() {
                self.check(
                    hosts.iter().any(|h| &h.name == host),
                    &format!("{key}.hosts[{j}]"),
                    || format!("`{key}.hosts`: there is no host `{}`", shown(host)),
                    "name hosts of this profile",
                );
            }
            allow.push(AllowSpec {
                port: entry.port,
                protocol: entry.protocol.unwrap_or(Protocol::Tcp),
                from,
                from_written: entry.from.clone(),
                hosts: on,
            });
        }
        Some(FirewallSpec { allow })
    }
}

/// The networks one `from` entry names.
fn resolve(p: &Profile, hosts: &[HostSpec], source: &str) -> Result<Vec<Cidr>, String> {
    match source {
        "@internal" => Ok(p.network.internal.clone()),
        "@admin" if p.network.admin.is_empty() => {
            Err("names `network.admin`, which is empty".into())
        }
        "@admin" => Ok(p.network.admin.clone()),
        "@monitoring" => {
            let monitoring: Vec<Cidr> = hosts
                .iter()
                .filter(|h| h.has(Role::Monitoring))
                .map(|h| Cidr::host(h.address))
                .collect();
            if monitoring.is_empty() {
                Err("names the monitoring hosts, and no host has role `monitoring`".into())
            } else {
                Ok(monitoring)
            }
        }
        other if other.starts_with('@') => Err("is not a named network".into()),
        other => other.parse::<Cidr>().map(|c| vec![c]),
    }
}
