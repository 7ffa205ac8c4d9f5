//! Lints, exposure: what a profile puts on the internet without saying so.
//! A location under `/metrics` with no `allow` list is an error in
//! validation; these are the ways around it (a catch-all prefix, a port
//! published on every interface, a native service bound to `0.0.0.0`) and
//! the missing HSTS header.

use super::{Context, Finding};
use crate::model::{Deployment, LocationSpec, LocationTarget, ServiceSpec, SiteSpec};
use crate::profile::Runtime;
use crate::source::push_key;

/// The first path segments of well-known administration interfaces.
const ADMIN_SEGMENTS: &[&str] = &[
    "admin",
    "administration",
    "django-admin",
    "wp-admin",
    "pgadmin",
    "phpmyadmin",
    "adminer",
    "flower",
    "grafana",
    "prometheus",
    "alertmanager",
    "kibana",
    "jaeger",
    "rq",
    "sidekiq",
    "horizon",
];

/// Images of monitoring and administration tools, by the last component of
/// the repository, and the tool's name.
const ADMIN_IMAGES: &[(&str, &str)] = &[
    ("grafana", "Grafana"),
    ("grafana-enterprise", "Grafana"),
    ("prometheus", "Prometheus"),
    ("alertmanager", "Alertmanager"),
    ("all-in-one", "Jaeger"),
    ("jaeger-query", "Jaeger"),
    ("pgadmin4", "pgAdmin"),
    ("kibana", "Kibana"),
    ("adminer", "Adminer"),
    ("phpmyadmin", "phpMyAdmin"),
    ("mher-flower", "Flower"),
    ("flower", "Flower"),
    ("portainer-ce", "Portainer"),
    ("portainer", "Portainer"),
    ("redis-commander", "Redis Commander"),
];

/// Default ports of those tools, for images gen does not recognise.
const ADMIN_PORTS: &[(u16, &str)] = &[
    (9090, "Prometheus"),
    (9093, "Alertmanager"),
    (16686, "Jaeger"),
    (5050, "pgAdmin"),
    (5555, "Flower"),
];

fn location_key(site: &SiteSpec, index: usize) -> String {
    format!("{}.locations[{index}]", push_key("sites", &site.name))
}

/// The location nginx answers `path` from: the longest prefix that matches.
fn answering<'a>(site: &'a SiteSpec, path: &str) -> Option<(usize, &'a LocationSpec)> {
    site.locations
        .iter()
        .enumerate()
        .filter(|(_, l)| path.starts_with(l.path.as_str()))
        .max_by_key(|(_, l)| l.path.len())
}

fn proxies_to<'a>(d: &'a Deployment, location: &LocationSpec) -> Option<&'a ServiceSpec> {
    match &location.target {
        LocationTarget::Service { service } => d.service(service),
        LocationTarget::Static { .. } => None,
    }
}

/// A public location whose prefix covers a service's `metrics_path`, with
/// no longer, allow-listed location in front of it.
pub(super) fn public_metrics(cx: &Context) -> Vec<Finding> {
    let d = cx.d;
    let networks = d
        .internal_networks
        .iter()
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let mut out = Vec::new();
    for site in &d.sites {
        let mut seen: Vec<&str> = Vec::new();
        for location in &site.locations {
            let Some(service) = proxies_to(d, location) else {
                continue;
            };
            let Some(metrics) = service.metrics_path.as_deref() else {
                continue;
            };
            if seen.contains(&service.name.as_str()) {
                continue;
            }
            seen.push(&service.name);
            let Some((index, answer)) = answering(site, metrics) else {
                continue;
            };
            let answered_by_service = proxies_to(d, answer).is_some_and(|s| s.name == service.name);
            if !answered_by_service || !answer.allow.is_empty() {
                continue;
            }
            let lkey = location_key(site, index);
            out.push(Finding::at(
                format!("{lkey}.path"),
                format!(
                    "`{lkey}`: `{}` sends every path below it to `{}`, the service's metrics at `{metrics}` included: anyone who reaches the site reads them",
                    answer.path, service.name
                ),
                format!(
                    "add the location `{{ path = \"{metrics}\", service = \"{}\", allow = [{networks}] }}`: nginx answers from the longest prefix, so only those networks reach the metrics",
                    service.name
                ),
            ));
        }
    }
    out
}

/// A location under a well-known administration path with no `allow` list.
pub(super) fn public_admin_path(cx: &Context) -> Vec<Finding> {
    let mut out = Vec::new();
    for site in &cx.d.sites {
        for (index, location) in site.locations.iter().enumerate() {
            let segment = location
                .path
                .trim_start_matches('/')
                .split('/')
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase();
            if !location.allow.is_empty() || !ADMIN_SEGMENTS.contains(&segment.as_str()) {
                continue;
            }
            let lkey = location_key(site, index);
            out.push(Finding::at(
                format!("{lkey}.path"),
                format!(
                    "`{lkey}`: `{}` looks like an administration interface and has no `allow` list: its login page is open to the internet",
                    location.path
                ),
                "add `allow = [...]` with the networks administrators come from (the office, the VPN)",
            ));
        }
    }
    out
}

/// A container publishing a monitoring or administration tool's port on
/// every interface.
pub(super) fn public_admin_tool(cx: &Context) -> Vec<Finding> {
    let d = cx.d;
    let mut out = Vec::new();
    for service in d.services.iter().filter(|s| s.publish_public) {
        let by_image = service.image.as_deref().and_then(|image| {
            let repository = image.split(['@']).next().unwrap_or(image);
            let last = repository.rsplit('/').next().unwrap_or(repository);
            let name = last.split(':').next().unwrap_or(last);
            ADMIN_IMAGES
                .iter()
                .find(|(known, _)| *known == name)
                .map(|(_, tool)| *tool)
        });
        let by_port = service.port.and_then(|port| {
            ADMIN_PORTS
                .iter()
                .find(|(known, _)| *known == port)
                .map(|(_, tool)| *tool)
        });
        let Some(tool) = by_image.or(by_port) else {
            continue;
        };
        let key = push_key("services", &service.name);
        let spelled = if service.options.publish_key == "publish_public" {
            "publish_public = true"
        } else {
            "publish = \"public\""
        };
        out.push(Finding::at(
            format!("{key}.{}", service.options.publish_key),
            format!(
                "`{key}.{spelled}` publishes {tool} on every interface: around nginx, its TLS and `allow` lists, and around a host firewall such as ufw, which published container ports bypass"
            ),
            format!("remove `{}`: the port is then published on the host's private address only; reach the tool over the private network or a VPN, or through a site location with `allow`", service.options.publish_key),
        ));
    }
    out
}

/// Whether a command argument or environment value binds every interface.
fn binds_everywhere(value: &str) -> bool {
    let value = value.rsplit_once('=').map_or(value, |(_, v)| v);
    matches!(value, "0.0.0.0" | "::" | "[::]" | "*")
        || value.starts_with("0.0.0.0:")
        || value.starts_with("[::]:")
}

/// A native service that binds `0.0.0.0` or `::`.
pub(super) fn wildcard_bind(cx: &Context) -> Vec<Finding> {
    let mut out = Vec::new();
    for service in
        cx.d.services
            .iter()
            .filter(|s| s.runtime == Runtime::Native)
    {
        let key = push_key("services", &service.name);
        let from_command = service
            .command
            .iter()
            .enumerate()
            .skip(1)
            .find(|(_, arg)| binds_everywhere(arg))
            .map(|(i, arg)| (format!("{key}.command[{i}]"), arg.clone()));
        let from_environment = service
            .environment
            .iter()
            .find(|(var, value)| {
                let var = var.to_ascii_uppercase();
                (var.contains("HOST") || var.contains("BIND") || var.contains("LISTEN"))
                    && binds_everywhere(value)
            })
            .map(|(var, value)| (push_key(&format!("{key}.environment"), var), value.clone()));
        let Some((at, value)) = from_command.or(from_environment) else {
            continue;
        };
        out.push(Finding::at(
            at,
            format!(
                "native service `{}` binds every interface (`{value}`), public ones included: clients reach it around nginx, its TLS, rate limit and `allow` lists",
                service.name
            ),
            "bind `127.0.0.1` when nginx runs on the same host, or the host's private address",
        ));
    }
    out
}

/// A site with `hsts = false`.
pub(super) fn hsts_off(cx: &Context) -> Vec<Finding> {
    cx.d
        .sites
        .iter()
        .filter(|site| !site.hsts)
        .map(|site| {
            let key = format!("{}.hsts", push_key("sites", &site.name));
            Finding::at(
                key.clone(),
                format!(
                    "`{key} = false`: browsers are not told to stay on HTTPS, so a first plain-HTTP request can be answered by anyone on the path before the redirect"
                ),
                "remove `hsts = false`: gen then sends `Strict-Transport-Security: max-age=63072000`",
            )
        })
        .collect()
}
