//! Lints, reachability: configuration that is valid on paper but that the
//! host will not serve as written — files nginx cannot read, certificates
//! nothing renews, instances nothing checks.

use super::{Context, Finding};
use crate::model::LocationTarget;
use crate::profile::Role;
use crate::source::push_key;

/// Where certbot keeps the certificates it renews.
const CERTBOT_LIVE: &str = "/etc/letsencrypt/live/";

/// A static root under a home directory (`/home/<user>`, `/root`).
pub(super) fn static_root_unreadable(cx: &Context) -> Vec<Finding> {
    let mut out = Vec::new();
    for site in &cx.d.sites {
        for (index, location) in site.locations.iter().enumerate() {
            let LocationTarget::Static { root } = &location.target else {
                continue;
            };
            let under_home = root == "/root"
                || root.starts_with("/root/")
                || root.starts_with("/home/") && root.len() > "/home/".len();
            if !under_home {
                continue;
            }
            let key = format!("{}.locations[{index}].root", push_key("sites", &site.name));
            out.push(Finding::at(
                key.clone(),
                format!(
                    "`{key}`: `{root}` is inside a home directory, which nginx (user `www-data`) cannot enter: homes are 0750 on Ubuntu 21.04 and later, 0700 on Debian 12, so every file answers 403"
                ),
                "deploy the files to a directory nginx can read, such as `/srv/<project>/`, and point `root` there",
            ));
        }
    }
    out
}

/// A site certificate outside certbot's live directory, while gen renews
/// with certbot on the load balancers.
pub(super) fn certificate_copy(cx: &Context) -> Vec<Finding> {
    let d = cx.d;
    let Some(balancer) = d.hosts_with(Role::LoadBalancer).next() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for site in &d.sites {
        if site.certificate.starts_with(CERTBOT_LIVE) {
            continue;
        }
        let key = format!("{}.certificate", push_key("sites", &site.name));
        out.push(Finding::at(
            key.clone(),
            format!(
                "`{key}`: `{}` is outside `{CERTBOT_LIVE}`, but what gen renews is certbot's: `certbot renew` on `{}` writes the new certificate there and nginx keeps serving this file until it expires",
                site.certificate, balancer.name
            ),
            format!(
                "point `certificate` and `certificate_key` at `{CERTBOT_LIVE}<name>/fullchain.pem` and `privkey.pem`; if another process renews this file (a company CA), allow `certificate-copy` with that reason"
            ),
        ));
    }
    out
}

/// A service that sites proxy to, with several upstream servers and no
/// healthcheck.
pub(super) fn no_healthcheck(cx: &Context) -> Vec<Finding> {
    let d = cx.d;
    let mut out = Vec::new();
    for service in d.services.iter().filter(|s| s.healthcheck.is_none()) {
        let proxied = d.sites.iter().flat_map(|s| &s.locations).any(|l| {
            matches!(&l.target, LocationTarget::Service { service: name } if *name == service.name)
        });
        let servers = cx.derived.upstreams.get(&service.name).map_or(0, Vec::len);
        if !proxied || servers < 2 {
            continue;
        }
        let key = push_key("services", &service.name);
        out.push(
            Finding::at(
                key.clone(),
                format!(
                    "`{key}` has {servers} upstream servers behind nginx and no `healthcheck`: nginx only skips an instance that refuses connections, so one that hangs or answers errors keeps its share of requests"
                ),
                "add `healthcheck = { http = \"/health\" }` with a path that checks what the service needs: gen's probes on the load balancer then check every upstream server and report the broken one",
            )
            .on_key(),
        );
    }
    out
}
