//! Derive stage: the compose `frontend` network and what it may reach on its
//! own host. A container that connects to the host's private address reaches
//! PostgreSQL from its bridge address, not from the host's: pg_hba.conf must
//! admit the compose subnet, and only for the roles those containers use.

use crate::model::{Deployment, HostSpec, ServiceSpec};
use crate::profile::{Role, Runtime};
use crate::units::Cidr;

/// The subnet gen gives the `frontend` network when containers share a host
/// with their database and the profile names none: inside Docker's default
/// address pools' range, but a /24 Docker's own allocation rarely reaches.
pub const DEFAULT_SUBNET: &str = "172.30.0.0/24";

/// The default subnet as a network.
pub fn default_subnet() -> Cidr {
    Cidr {
        address: std::net::IpAddr::V4(std::net::Ipv4Addr::new(172, 30, 0, 0)),
        prefix: 24,
    }
}

/// Container services on `host` that connect straight to the PostgreSQL on
/// `host` (unpooled, or no pooler in the deployment, and `host` is the
/// primary their `DATABASE_HOST` names).
pub fn direct_database_clients<'a>(d: &'a Deployment, host: &'a HostSpec) -> Vec<&'a ServiceSpec> {
    if d.postgres.is_none() || !host.has(Role::DatabasePrimary) {
        return Vec::new();
    }
    d.services_on(host)
        .filter(|s| s.runtime == Runtime::Container)
        .filter(|s| {
            s.database
                .as_ref()
                .is_some_and(|db| !db.pooled || d.pgbouncer.is_none())
        })
        .collect()
}

/// Whether some host runs containers next to the database they connect to.
pub fn needed(d: &Deployment) -> bool {
    d.hosts
        .iter()
        .any(|h| !direct_database_clients(d, h).is_empty())
}

/// Whether `network` is in the private IPv4 ranges of RFC 1918.
pub fn is_private(network: &Cidr) -> bool {
    let private: [Cidr; 3] = [
        Cidr {
            address: std::net::Ipv4Addr::new(10, 0, 0, 0).into(),
            prefix: 8,
        },
        Cidr {
            address: std::net::Ipv4Addr::new(172, 16, 0, 0).into(),
            prefix: 12,
        },
        Cidr {
            address: std::net::Ipv4Addr::new(192, 168, 0, 0).into(),
            prefix: 16,
        },
    ];
    network.address.is_ipv4()
        && private
            .iter()
            .any(|range| range.prefix <= network.prefix && range.contains(network.address))
}

/// Whether two networks share an address: one holds the other's first address.
pub fn overlaps(a: &Cidr, b: &Cidr) -> bool {
    a.contains(b.address) || b.contains(a.address)
}

/// One pg_hba.conf admission of the compose subnet on a database host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubnetAdmission {
    pub user: String,
    /// The services whose containers log in as `user`.
    pub services: Vec<String>,
}

/// The roles `host`'s containers log in as on `host`'s own PostgreSQL, each
/// once, in service order.
pub fn admissions(d: &Deployment, host: &HostSpec) -> Vec<SubnetAdmission> {
    let mut out: Vec<SubnetAdmission> = Vec::new();
    for service in direct_database_clients(d, host) {
        let Some(db) = &service.database else {
            continue;
        };
        match out.iter_mut().find(|a| a.user == db.user) {
            Some(a) => a.services.push(service.name.clone()),
            None => out.push(SubnetAdmission {
                user: db.user.clone(),
                services: vec![service.name.clone()],
            }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Cidr {
        s.parse().unwrap()
    }

    #[test]
    fn private_means_rfc1918_and_ipv4() {
        assert!(is_private(&net("172.30.0.0/24")));
        assert!(is_private(&net("10.99.0.0/16")));
        assert!(is_private(&net("192.168.77.0/28")));
        assert!(!is_private(&net("172.32.0.0/16")), "outside 172.16/12");
        assert!(!is_private(&net("8.8.8.0/24")));
        assert!(!is_private(&net("fd00::/64")));
        assert!(!is_private(&net("10.0.0.0/7")), "wider than 10/8");
    }

    #[test]
    fn overlap_is_symmetric_and_exact_at_the_edges() {
        assert!(overlaps(&net("10.0.0.0/8"), &net("10.20.0.0/24")));
        assert!(overlaps(&net("10.20.0.0/24"), &net("10.0.0.0/8")));
        assert!(!overlaps(&net("172.30.0.0/24"), &net("172.30.1.0/24")));
        assert!(!overlaps(&net("172.30.0.0/24"), &net("10.20.0.0/16")));
    }

    #[test]
    fn the_default_is_what_its_text_says() {
        assert_eq!(default_subnet(), net(DEFAULT_SUBNET));
    }
}
