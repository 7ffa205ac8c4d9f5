//! Validate stage, the nginx options of a site and its locations:
//! Strict-Transport-Security, the security headers, proxy timeouts,
//! buffering, browser caching of static files and `extra`. Header values are
//! written inside double quotes, so a quote, backslash, `$` (an nginx
//! variable) or control character is refused.

use super::extra::Syntax;
use super::Checker;
use crate::model::{LocationOptions, NginxHttpSpec, SiteOptions};
use crate::profile::{FrameOptions, Hsts, Location, Site};
use crate::units::Duration;
use gen_target::host_path::shown;

/// 365 days: the shortest `max-age` browsers' preload lists accept.
const YEAR: u64 = 365 * 86_400;

impl Checker<'_> {
    /// `[nginx]`: the `http` level every site shares.
    pub(super) fn nginx_http(&mut self, p: &crate::profile::Profile) -> NginxHttpSpec {
        let Some(n) = &p.nginx else {
            return NginxHttpSpec::default();
        };
        if let Some(requests) = n.keepalive_requests {
            self.check(
                (1..=1_000_000).contains(&requests),
                "nginx.keepalive_requests",
                || format!("`nginx.keepalive_requests`: {requests} is out of range"),
                "between 1 and 1000000; nginx's default is 1000",
            );
        }
        NginxHttpSpec {
            gzip: n.gzip.unwrap_or(true),
            keepalive_requests: n.keepalive_requests,
            extra: self.extra("nginx", Syntax::NginxHttp, n.extra.as_ref()),
        }
    }

    pub(super) fn site_options(&mut self, key: &str, site: &Site) -> SiteOptions {
        let defaults = SiteOptions::default();
        let hsts = match &site.hsts {
            None | Some(Hsts::Enabled(true)) => defaults.hsts.clone(),
            Some(Hsts::Enabled(false)) => None,
            Some(Hsts::Table(t)) => {
                let max_age = t.max_age.unwrap_or(Duration(2 * YEAR));
                let subdomains = t.include_subdomains.unwrap_or(false);
                let preload = t.preload.unwrap_or(false);
                self.check(
                    max_age.seconds() >= YEAR,
                    &format!("{key}.hsts.max_age"),
                    || format!("`{key}.hsts.max_age`: {max_age} is shorter than a year"),
                    "browsers forget a short policy between visits; use `365d` or more",
                );
                self.check(
                    !preload || subdomains,
                    &format!("{key}.hsts.preload"),
                    || format!("`{key}.hsts.preload` needs `include_subdomains = true`"),
                    "preload lists admit only policies that cover every subdomain",
                );
                let mut value = format!("max-age={}", max_age.seconds());
                if subdomains {
                    value.push_str("; includeSubDomains");
                }
                if preload {
                    value.push_str("; preload");
                }
                Some(value)
            }
        };
        let headers = site.headers.as_ref();
        let mut header = |name: &str, value: Option<&String>, default: String| -> String {
            match value {
                None => default,
                Some(v) => {
                    let hkey = format!("{key}.headers.{name}");
                    self.check(
                        !v.is_empty()
                            && v.len() <= 4096
                            && !v
                                .chars()
                                .any(|c| c.is_control() || matches!(c, '"' | '\\' | '$')),
                        &hkey,
                        || format!("`{hkey}`: `{}` cannot be a header value", shown(v)),
                        "one line without `\"`, `\\` or `$`",
                    );
                    v.clone()
                }
            }
        };
        let csp = headers
            .and_then(|h| h.content_security_policy.as_ref())
            .map(|v| header("content_security_policy", Some(v), String::new()));
        let referrer_policy = header(
            "referrer_policy",
            headers.and_then(|h| h.referrer_policy.as_ref()),
            defaults.referrer_policy.clone(),
        );
        let permissions_policy = header(
            "permissions_policy",
            headers.and_then(|h| h.permissions_policy.as_ref()),
            defaults.permissions_policy.clone(),
        );
        SiteOptions {
            hsts,
            frame_options: headers
                .and_then(|h| h.frame_options)
                .unwrap_or(FrameOptions::Deny),
            content_security_policy: csp,
            referrer_policy,
            permissions_policy,
            extra: self.extra(key, Syntax::NginxServer, site.extra.as_ref()),
        }
    }

    pub(super) fn location_options(&mut self, lkey: &str, location: &Location) -> LocationOptions {
        let defaults = LocationOptions::default();
        let proxied = location.service.is_some();
        for (field, set) in [
            ("connect_timeout", location.connect_timeout.is_some()),
            ("send_timeout", location.send_timeout.is_some()),
            ("buffering", location.buffering.is_some()),
        ] {
            if set && !proxied {
                self.fail(
                    &format!("{lkey}.{field}"),
                    format!("`{lkey}.{field}` only applies to a location with a `service`"),
                    None,
                );
            }
        }
        if location.cache.is_some() && proxied {
            self.fail(
                &format!("{lkey}.cache"),
                format!("`{lkey}.cache` only applies to a location with a `root`"),
                "the service sets its own caching headers",
            );
        }
        for (field, value) in [
            ("connect_timeout", location.connect_timeout),
            ("send_timeout", location.send_timeout),
        ] {
            if let Some(d) = value {
                self.check(
                    (1..=3600).contains(&d.seconds()),
                    &format!("{lkey}.{field}"),
                    || format!("`{lkey}.{field}`: {d} is not between 1s and 1h"),
                    "for example `5s`",
                );
            }
        }
        LocationOptions {
            connect_timeout: location.connect_timeout.unwrap_or(defaults.connect_timeout),
            send_timeout: location.send_timeout.unwrap_or(defaults.send_timeout),
            buffering: location.buffering.unwrap_or(defaults.buffering),
            cache: location.cache.unwrap_or(defaults.cache),
            extra: self.extra(lkey, Syntax::NginxLocation, location.extra.as_ref()),
        }
    }
}
