//! nginx upstream servers, derived from where each api service runs.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Serialize;

use crate::model::Deployment;
use crate::profile::ServiceRole;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Upstream {
    pub host: String,
    pub address: IpAddr,
    pub port: u16,
}

/// Every (host, port) an api service answers on: each host with the service's
/// role, each replica's port on it. Hosts in name order, ports ascending. A
/// service published on loopback is reached by each load balancer on its
/// own loopback (validation requires every load balancer to run it), so its
/// ports are listed once, at 127.0.0.1.
pub fn derive_all(deployment: &Deployment) -> BTreeMap<String, Vec<Upstream>> {
    deployment
        .services
        .iter()
        .filter(|s| s.role == ServiceRole::Api && s.port.is_some())
        .map(|service| {
            let loopback = service.publish == crate::profile::Publish::Loopback;
            let servers = deployment
                .hosts_running(service)
                .take(if loopback { 1 } else { usize::MAX })
                .flat_map(|host| {
                    service.host_ports().into_iter().map(|port| Upstream {
                        host: host.name.clone(),
                        address: service.reached_at(host),
                        port,
                    })
                })
                .collect();
            (service.name.clone(), servers)
        })
        .collect()
}
