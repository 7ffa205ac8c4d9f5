//! Derive stage: the URLs the load balancer's health-check script probes:
//! every upstream server of every service with an HTTP health check.

use serde::Serialize;

use super::Derived;
use crate::model::Deployment;

#[derive(Debug, Clone, Serialize)]
pub struct HealthTarget {
    pub service: String,
    /// `http://<address>:<port><healthcheck.http>`.
    pub url: String,
}

pub fn targets(d: &Deployment, derived: &Derived) -> Vec<HealthTarget> {
    let mut out = Vec::new();
    for service in &d.services {
        let Some(path) = service.healthcheck.as_ref().and_then(|h| h.http.as_ref()) else {
            continue;
        };
        for upstream in derived.upstreams.get(&service.name).into_iter().flatten() {
            out.push(HealthTarget {
                service: service.name.clone(),
                url: format!("http://{}:{}{}", upstream.address, upstream.port, path),
            });
        }
    }
    out
}
