//! Apply stage guard: a host firewall that would cut the SSH session `gen
//! apply` runs in is refused before anything is written. The manifest
//! records the networks the firewall's SSH rule admits; sshd says where the
//! session comes from in `SSH_CONNECTION` (`client port server port`).

use std::net::IpAddr;

use gen_target::error::{Error, Result};
use gen_target::manifest::Manifest;

/// Refuses `manifest` when it loads a firewall whose SSH sources do not
/// include the client of `ssh_connection` (the value of `SSH_CONNECTION`).
/// No session (a console, a timer), a loopback client (the firewall accepts
/// loopback), or a tree without a firewall pass.
pub fn refuse_lockout(manifest: &Manifest, ssh_connection: Option<&str>) -> Result<()> {
    let (Some(sources), Some(connection)) = (&manifest.ssh_sources, ssh_connection) else {
        return Ok(());
    };
    let Some(client) = connection
        .split_whitespace()
        .next()
        .and_then(|c| c.parse::<IpAddr>().ok())
        .map(canonical)
    else {
        return Ok(());
    };
    if client.is_loopback() || sources.iter().any(|net| contains(net, client)) {
        return Ok(());
    }
    Err(Error::FirewallLockout {
        client: client.to_string(),
        admin: if sources.is_empty() {
            "none".into()
        } else {
            sources.join(", ")
        },
    })
}

/// An IPv4 client seen through an IPv6 socket (`::ffff:a.b.c.d`) as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Whether the network `net` (`a.b.c.d/n`, or one address) holds `ip`. A
/// network that does not parse holds nothing.
fn contains(net: &str, ip: IpAddr) -> bool {
    let (address, prefix) = net.split_once('/').unwrap_or((net, ""));
    let Ok(address) = address.parse::<IpAddr>() else {
        return false;
    };
    let prefix: u32 = match (prefix, address) {
        ("", IpAddr::V4(_)) => 32,
        ("", IpAddr::V6(_)) => 128,
        (p, _) => match p.parse() {
            Ok(p) => p,
            Err(_) => return false,
        },
    };
    match (address, ip) {
        (IpAddr::V4(net), IpAddr::V4(ip)) if prefix <= 32 => {
            let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
            u32::from(net) & mask == u32::from(ip) & mask
        }
        (IpAddr::V6(net), IpAddr::V6(ip)) if prefix <= 128 => {
            let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
            u128::from(net) & mask == u128::from(ip) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(sources: Option<&[&str]>) -> Manifest {
        Manifest {
            ssh_sources: sources.map(|s| s.iter().map(|x| x.to_string()).collect()),
            ..Manifest::new("p", "h", String::new(), Vec::new())
        }
    }

    #[test]
    fn a_client_inside_network_admin_passes_and_one_outside_is_refused() {
        let m = manifest(Some(&["203.0.113.0/28", "2001:db8::/32"]));
        assert!(refuse_lockout(&m, Some("203.0.113.7 51000 10.0.0.1 22")).is_ok());
        assert!(refuse_lockout(&m, Some("::ffff:203.0.113.9 51000 10.0.0.1 22")).is_ok());
        assert!(refuse_lockout(&m, Some("2001:db8::5 51000 2001:db8::1 22")).is_ok());
        assert!(refuse_lockout(&m, Some("127.0.0.1 51000 127.0.0.1 22")).is_ok());
        let err = refuse_lockout(&m, Some("198.51.100.4 51000 10.0.0.1 22"))
            .expect_err("outside network.admin");
        assert!(err.to_string().contains("198.51.100.4"), "{err}");
    }

    #[test]
    fn no_session_or_no_firewall_passes() {
        assert!(refuse_lockout(&manifest(Some(&["10.0.0.0/8"])), None).is_ok());
        assert!(refuse_lockout(&manifest(None), Some("198.51.100.4 1 10.0.0.1 22")).is_ok());
    }
}
