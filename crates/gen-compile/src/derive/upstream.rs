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
/// role, each replica's port on it. Hosts in name order, ports ascending.
pub fn derive_all(deployment: &Deployment) -> BTreeMap<String, Vec<Upstream>> {
    deployment
        .services
        .iter()
        .filter(|s| s.role == ServiceRole::Api && s.port.is_some())
        .map(|service| {
            let servers = deployment
                .hosts_running(service)
                .flat_map(|host| {
                    service.host_ports().into_iter().map(|port| Upstream {
                        host: host.name.clone(),
                        address: host.address,
                        port,
                    })
                })
                .collect();
            (service.name.clone(), servers)
        })
        .collect()
}
