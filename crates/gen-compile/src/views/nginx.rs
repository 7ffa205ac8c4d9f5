//! Views of the load balancer's files: the nginx site and the health-check
//! script that probes its upstreams and certificates.

use serde::Serialize;

use super::{metric_prefix, Scope};
use crate::catalog::TEXTFILE_DIR;
use crate::derive::health::{self, HealthTarget};
use crate::derive::Upstream;
use crate::model::{LocationTarget, SiteSpec};
use crate::profile::Cache;
use crate::validate::extra;

/// The nginx `upstream` name of a service: `<project>_<service>`, `-` as `_`.
pub fn upstream_name(project: &str, service: &str) -> String {
    format!(
        "{}_{}",
        project.replace('-', "_"),
        service.replace('-', "_")
    )
}

#[derive(Serialize)]
pub struct Site<'a> {
    project: &'a str,
    sites: Vec<SiteView<'a>>,
    /// `[nginx]`, the `http` level.
    nginx: &'a crate::model::NginxHttpSpec,
    /// `nginx.extra` as directives.
    http_extra: Vec<String>,
}

#[derive(Serialize)]
struct SiteView<'a> {
    name: &'a str,
    server_names: String,
    /// `<project>_<site>`: the rate-limit zone and TLS session cache name.
    zone: String,
    /// The `map` variable that carries a WebSocket `Connection` header.
    upgrade_map: String,
    spec: &'a SiteSpec,
    /// `client_max_body_size` as nginx spells it.
    body_size: String,
    locations: Vec<Location<'a>>,
    /// The upstream that answers the site's health path: the first proxied service's.
    health_upstream: Option<String>,
    health_service_path: String,
    upstreams: Vec<UpstreamView<'a>>,
    /// Whether some location carries WebSockets (the `map` is needed).
    websocket: bool,
    /// The site's `extra` as nginx directives.
    extra: Vec<String>,
}

#[derive(Serialize)]
struct Location<'a> {
    path: &'a str,
    upstream: Option<String>,
    root: Option<&'a str>,
    allow: Vec<String>,
    read_timeout: String,
    websocket: bool,
    rate_limited: bool,
    connect_timeout: String,
    send_timeout: String,
    buffering: bool,
    /// `expires` of a static root; `None` when caching is off.
    cache: Option<String>,
    /// `extra` as nginx directives.
    extra: Vec<String>,
}

#[derive(Serialize)]
struct UpstreamView<'a> {
    name: String,
    service: &'a str,
    servers: &'a [Upstream],
}

pub fn site<'a>(scope: &Scope<'a>) -> Site<'a> {
    let d = scope.d;
    // One file holds every site: a service two sites proxy to gets one
    // `upstream` block, written with the first site that uses it (nginx
    // refuses a duplicate upstream name).
    let mut defined: std::collections::BTreeSet<&str> = std::collections::BTreeSet::new();
    let sites = d
        .sites
        .iter()
        .map(|site| {
            let site_id = format!(
                "{}_{}",
                d.project.replace('-', "_"),
                site.name.replace('-', "_")
            );
            let mut upstream_services: Vec<&str> = Vec::new();
            let locations: Vec<Location<'a>> = site
                .locations
                .iter()
                .map(|l| {
                    let (upstream, root) = match &l.target {
                        LocationTarget::Service { service } => {
                            if !upstream_services.contains(&service.as_str()) {
                                upstream_services.push(service);
                            }
                            (Some(upstream_name(&d.project, service)), None)
                        }
                        LocationTarget::Static { root } => (None, Some(root.as_str())),
                    };
                    Location {
                        path: &l.path,
                        upstream,
                        root,
                        allow: l.allow.iter().map(ToString::to_string).collect(),
                        read_timeout: l.read_timeout.to_string(),
                        websocket: l.websocket,
                        rate_limited: l.rate_limited && site.rate_limit.is_some(),
                        connect_timeout: format!("{}s", l.options.connect_timeout.seconds()),
                        send_timeout: format!("{}s", l.options.send_timeout.seconds()),
                        buffering: l.options.buffering,
                        cache: match l.options.cache {
                            Cache::For(d) => Some(d.to_string()),
                            Cache::Off => None,
                        },
                        extra: extra::nginx_lines(&l.options.extra),
                    }
                })
                .collect();
            let health_service = upstream_services.first().and_then(|name| d.service(name));
            SiteView {
                name: &site.name,
                server_names: site.server_names.join(" "),
                zone: site_id.clone(),
                upgrade_map: format!("{site_id}_connection_upgrade"),
                spec: site,
                body_size: site.client_max_body_size.nginx(),
                websocket: locations.iter().any(|l| l.websocket),
                extra: extra::nginx_lines(&site.options.extra),
                locations,
                health_upstream: health_service.map(|s| upstream_name(&d.project, &s.name)),
                health_service_path: health_service
                    .and_then(|s| s.healthcheck.as_ref())
                    .and_then(|h| h.http.clone())
                    .unwrap_or_else(|| site.health_path.clone()),
                upstreams: upstream_services
                    .iter()
                    .filter(|service| defined.insert(service))
                    .map(|service| UpstreamView {
                        name: upstream_name(&d.project, service),
                        service,
                        servers: scope
                            .derived
                            .upstreams
                            .get(*service)
                            .map_or(&[], Vec::as_slice),
                    })
                    .collect(),
            }
        })
        .collect();
    Site {
        project: &d.project,
        sites,
        nginx: &d.nginx,
        http_extra: extra::nginx_lines(&d.nginx.extra),
    }
}

#[derive(Serialize)]
pub struct Healthcheck<'a> {
    project: &'a str,
    metric_prefix: String,
    /// `<textfile dir>/<project>_health.prom`.
    metrics_file: String,
    health_targets: Vec<HealthTarget>,
    sites: &'a [SiteSpec],
}

pub fn healthcheck<'a>(scope: &Scope<'a>) -> Healthcheck<'a> {
    let d = scope.d;
    Healthcheck {
        project: &d.project,
        metric_prefix: metric_prefix(&d.project),
        metrics_file: format!("{TEXTFILE_DIR}/{}_health.prom", d.project),
        health_targets: health::targets(d, scope.derived),
        sites: &d.sites,
    }
}
