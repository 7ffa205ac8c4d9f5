//! Validate stage, `[sites]`: the public nginx sites, their host names,
//! certificates, rate limits and locations. No host name is served by two
//! sites, and no metrics location is left open to the internet.

use std::collections::{BTreeMap, BTreeSet};

use super::Checker;
use crate::model::{HostSpec, LocationSpec, LocationTarget, RateLimitSpec, SiteSpec};
use crate::profile::{Location, Profile, Role, Site};
use crate::shapes;
use crate::source::push_key;
use crate::units::{ByteSize, Duration};
use gen_target::host_path::shown;

impl Checker<'_> {
    pub(super) fn sites(&mut self, p: &Profile, hosts: &[HostSpec]) -> Vec<SiteSpec> {
        if !p.sites.is_empty() && !hosts.iter().any(|h| h.has(Role::LoadBalancer)) {
            self.fail(
                "sites",
                "sites are declared but no host has role `load_balancer`",
                "give the nginx hosts the role `load_balancer`",
            );
        }
        // Server name → the site that claimed it first, across all sites.
        let mut all_names: BTreeMap<String, String> = BTreeMap::new();
        p.sites
            .iter()
            .map(|(name, site)| self.site(name, site, &mut all_names))
            .collect()
    }

    fn site(
        &mut self,
        name: &str,
        site: &Site,
        all_names: &mut BTreeMap<String, String>,
    ) -> SiteSpec {
        let key = push_key("sites", name);
        self.name(&key, name, "site name");
        self.server_names(&key, name, site, all_names);
        self.path(&format!("{key}.certificate"), &site.certificate);
        self.secret_path(&format!("{key}.certificate_key"), &site.certificate_key);
        let health_path = site.health_path.clone().unwrap_or_else(|| "/health".into());
        self.url_path(&format!("{key}.health_path"), &health_path);
        let rate_limit = site.rate_limit.as_ref().map(|r| {
            self.check(
                (1..=100_000).contains(&r.requests_per_second),
                &format!("{key}.rate_limit.requests_per_second"),
                || {
                    format!(
                        "`{key}.rate_limit.requests_per_second`: {} is out of range",
                        r.requests_per_second
                    )
                },
                "between 1 and 100000",
            );
            RateLimitSpec {
                requests_per_second: r.requests_per_second,
                burst: r.burst.unwrap_or(r.requests_per_second.saturating_mul(2)),
            }
        });
        if site.locations.is_empty() {
            self.fail(
                &format!("{key}.locations"),
                format!("`{key}` has no `locations`"),
                "add `[[sites.<name>.locations]]` with a `path` and a `service`",
            );
        }
        let mut paths = BTreeSet::new();
        let mut locations = Vec::new();
        for (i, location) in site.locations.iter().enumerate() {
            let lkey = format!("{key}.locations[{i}]");
            locations.push(self.location(&lkey, name, location, &health_path, &mut paths));
        }
        let options = self.site_options(&key, site);
        SiteSpec {
            name: name.to_string(),
            server_names: site.server_names.clone(),
            certificate: site.certificate.clone(),
            certificate_key: site.certificate_key.clone(),
            client_max_body_size: site
                .client_max_body_size
                .unwrap_or(ByteSize(10 * 1024 * 1024)),
            rate_limit,
            hsts: options.hsts.is_some(),
            health_path,
            locations,
            options,
        }
    }

    /// The host names a site answers to: DNS names, each claimed by one site
    /// only, because nginx would answer with only one of them.
    fn server_names(
        &mut self,
        key: &str,
        name: &str,
        site: &Site,
        all_names: &mut BTreeMap<String, String>,
    ) {
        if site.server_names.is_empty() {
            self.fail(
                &format!("{key}.server_names"),
                format!("`{key}.server_names` is empty"),
                "list the host names the site answers to",
            );
        }
        for (i, server_name) in site.server_names.iter().enumerate() {
            let skey = format!("{key}.server_names[{i}]");
            self.check(
                shapes::is_dns_name(server_name),
                &skey,
                || format!("`{skey}`: `{}` is not a host name", shown(server_name)),
                "lowercase DNS labels separated by dots, optionally starting with `*.`",
            );
            if let Some(other) = all_names.insert(server_name.clone(), name.to_string()) {
                self.fail(
                    &skey,
                    format!("`{skey}`: `{server_name}` is already served by site `{other}`"),
                    "nginx would answer with only one of them",
                );
            }
        }
    }

    /// One location of site `name`: a path no other location of the site
    /// (nor its health check) uses, proxying to a service or serving a static
    /// root. Whether the service exists is a cross-check.
    fn location(
        &mut self,
        lkey: &str,
        name: &str,
        location: &Location,
        health_path: &str,
        paths: &mut BTreeSet<String>,
    ) -> LocationSpec {
        self.url_path(&format!("{lkey}.path"), &location.path);
        if !paths.insert(location.path.clone()) {
            self.fail(
                &format!("{lkey}.path"),
                format!(
                    "`{lkey}.path`: `{}` is declared twice in site `{name}`",
                    location.path
                ),
                "nginx refuses duplicate locations",
            );
        }
        if location.path == health_path {
            self.fail(
                &format!("{lkey}.path"),
                format!(
                    "`{lkey}.path`: `{}` is the site's health path",
                    location.path
                ),
                "gen writes the health location itself; change `health_path` or this path",
            );
        }
        let target = match (&location.service, &location.root) {
            (Some(service), None) => LocationTarget::Service {
                service: service.clone(),
            },
            (None, Some(root)) => {
                self.path(&format!("{lkey}.root"), root);
                if location.port.is_some() {
                    self.fail(
                        &format!("{lkey}.port"),
                        format!("`{lkey}.port` only applies to a location with a `service`"),
                        None,
                    );
                }
                LocationTarget::Static { root: root.clone() }
            }
            _ => {
                self.fail(
                    lkey,
                    format!("`{lkey}` needs exactly one of `service` or `root`"),
                    None,
                );
                LocationTarget::Static { root: "/".into() }
            }
        };
        let allow = location.allow.clone().unwrap_or_default();
        if location.path.starts_with("/metrics") && allow.is_empty() {
            self.fail(
                &format!("{lkey}.path"),
                format!("`{lkey}`: a metrics location is open to the internet"),
                "add `allow = [\"10.0.0.0/8\"]` with the monitoring networks",
            );
        }
        LocationSpec {
            path: location.path.clone(),
            target,
            port: location.port,
            allow,
            read_timeout: location.read_timeout.unwrap_or(Duration(60)),
            websocket: location.websocket.unwrap_or(false),
            rate_limited: location.rate_limited.unwrap_or(true),
            options: self.location_options(lkey, location),
        }
    }
}
