//! Validate stage, lints: a host firewall that is on but opens what it
//! should keep closed — SSH to the whole Internet, or a database port to
//! networks outside the deployment and its administrators.

use super::{Context, Finding};
use crate::units::Cidr;

/// `network.admin` contains a `/0`: the firewall's SSH rule admits everyone.
pub(super) fn ssh_open_to_world(cx: &Context) -> Vec<Finding> {
    cx.d.admin_networks
        .iter()
        .filter(|net| net.prefix == 0)
        .map(|net| {
            Finding::at(
                "network.admin",
                format!("`network.admin` contains `{net}`: SSH (and `@admin`) is open to the whole Internet"),
                "list the networks administrators connect from (an office, a VPN, a bastion), e.g. `[\"203.0.113.7/32\"]`",
            )
        })
        .collect()
}

/// Whether `net` lies inside one of `within`.
fn inside(net: &Cidr, within: &[Cidr]) -> bool {
    within
        .iter()
        .any(|w| w.prefix <= net.prefix && w.contains(net.address))
}

/// `firewall.allow` opens PostgreSQL's, PgBouncer's or Redis's port to a
/// network outside `network.internal` and `network.admin`.
pub(super) fn public_database(cx: &Context) -> Vec<Finding> {
    let Some(f) = &cx.d.firewall else {
        return Vec::new();
    };
    let ports: Vec<(u16, &str)> = [
        cx.d.postgres.as_ref().map(|pg| (pg.port, "PostgreSQL")),
        cx.d.pgbouncer.as_ref().map(|pgb| (pgb.port, "PgBouncer")),
        cx.d.redis.as_ref().map(|r| (r.port, "Redis")),
    ]
    .into_iter()
    .flatten()
    .collect();
    let trusted: Vec<Cidr> =
        cx.d.internal_networks
            .iter()
            .chain(&cx.d.admin_networks)
            .copied()
            .collect();
    f.allow
        .iter()
        .enumerate()
        .filter_map(|(i, allow)| {
            let (_, what) = ports.iter().find(|(port, _)| *port == allow.port)?;
            let outside: Vec<String> = allow
                .from
                .iter()
                .filter(|net| !inside(net, &trusted))
                .map(ToString::to_string)
                .collect();
            if outside.is_empty() {
                return None;
            }
            Some(Finding::at(
                format!("firewall.allow[{i}].from"),
                format!(
                    "`firewall.allow[{i}]` opens {what}'s port {} to {}, outside `network.internal` and `network.admin`",
                    allow.port,
                    outside.join(", ")
                ),
                "open database ports to `@internal` or `@admin` only; reach them from elsewhere through SSH or a VPN",
            ))
        })
        .collect()
}
