//! Load stage, the nginx options of `[sites.<name>]` and their locations:
//! Strict-Transport-Security, security headers, browser caching of static
//! files. `hsts = true` stays the short spelling of `hsts = {}`.

use std::borrow::Cow;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

use crate::units::Duration;

/// nginx's `http` level on the load balancers, written at the top of the
/// site file (Debian's nginx.conf includes it inside `http`). Worker
/// settings belong to nginx.conf itself, which gen does not write yet.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NginxHttp {
    /// Compress text responses (default true): Debian turns gzip on; gen adds
    /// the types, minimum length and `Vary`. `false` turns it off per server.
    pub gzip: Option<bool>,
    /// Requests per keep-alive connection (default nginx's 1000).
    pub keepalive_requests: Option<u32>,
    /// `http`-level directives typed by hand. Names gen writes are refused.
    #[schemars(with = "Option<std::collections::BTreeMap<String, serde_json::Value>>")]
    pub extra: Option<super::Extra>,
}

/// Strict-Transport-Security: on or off, or its parameters.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Hsts {
    Enabled(bool),
    Table(HstsTable),
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HstsTable {
    /// How long browsers remember to use HTTPS only (default `730d`, at least `365d`).
    pub max_age: Option<Duration>,
    /// The policy covers every subdomain too (default false).
    pub include_subdomains: Option<bool>,
    /// Ask to be listed in browsers' preload lists; needs `include_subdomains`.
    pub preload: Option<bool>,
}

/// The security headers every response carries. Absent values keep gen's.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Headers {
    /// `X-Frame-Options`: `DENY` (default) or `SAMEORIGIN`.
    pub frame_options: Option<FrameOptions>,
    /// `Content-Security-Policy` (default none).
    pub content_security_policy: Option<String>,
    /// `Referrer-Policy` (default `strict-origin-when-cross-origin`).
    pub referrer_policy: Option<String>,
    /// `Permissions-Policy` (default `camera=(), microphone=(), geolocation=()`).
    pub permissions_policy: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum FrameOptions {
    #[serde(rename = "DENY")]
    Deny,
    #[serde(rename = "SAMEORIGIN")]
    SameOrigin,
}

impl FrameOptions {
    pub fn as_str(self) -> &'static str {
        match self {
            FrameOptions::Deny => "DENY",
            FrameOptions::SameOrigin => "SAMEORIGIN",
        }
    }
}

/// How long browsers may cache a static location's files: a duration, or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cache {
    For(Duration),
    Off,
}

impl<'de> Deserialize<'de> for Cache {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        if text == "off" {
            return Ok(Cache::Off);
        }
        text.parse()
            .map(Cache::For)
            .map_err(|e: String| de::Error::custom(format!("{e}, or `off`")))
    }
}

impl Serialize for Cache {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Cache::For(d) => serializer.collect_str(d),
            Cache::Off => serializer.serialize_str("off"),
        }
    }
}

impl JsonSchema for Cache {
    fn schema_name() -> Cow<'static, str> {
        "Cache".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": "^([0-9]{1,12}(s|m|h|d)|off)$",
            "description": "How long browsers cache the files (`1h`, `365d`), or `off`.",
            "examples": ["1h", "off"]
        })
    }
}
