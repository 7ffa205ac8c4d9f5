//! Validate stage output, the container, nginx and `extra` options: checked
//! and with their defaults filled in (see `validate::container`,
//! `validate::nginx_options`, `validate::extra`).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::profile::{Cache, Capability, DependsCondition, FrameOptions};
use crate::units::{ByteSize, Duration};

/// Settings typed by hand (`extra`), checked for the syntax of their file.
pub type ExtraSpec = BTreeMap<String, toml::Value>;

/// What a container runs with beyond the common process keys. Empty for a
/// native service, except `stop_grace_period`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ContainerOptions {
    pub cap_add: Vec<Capability>,
    pub tmpfs: Vec<TmpfsSpec>,
    pub reservations: Option<ReservationSpec>,
    pub devices: Vec<String>,
    pub gpus: Option<GpuSpec>,
    pub volumes: Vec<VolumeSpec>,
    pub stop_grace_period: Option<Duration>,
    pub logging: LoggingSpec,
    /// `depends_on` with its condition per dependency (list form: healthy).
    pub dependencies: BTreeMap<String, DependsCondition>,
    /// `depends_on` was written as a table (keys `depends_on.<name>`).
    pub dependency_table: bool,
    /// How the profile spells where the port is published: `publish`, or
    /// the old `publish_public`.
    pub publish_key: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct TmpfsSpec {
    pub path: String,
    pub size: Option<ByteSize>,
    /// Octal digits, e.g. `1777`.
    pub mode: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct ReservationSpec {
    pub cpus: Option<f64>,
    pub memory: Option<ByteSize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GpuSpec {
    Count(u32),
    All,
}

#[derive(Debug, Clone, Serialize)]
pub struct VolumeSpec {
    pub source: String,
    pub target: String,
    pub read_only: bool,
    /// A bind mount (absolute host path) rather than a named volume.
    pub bind: bool,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct LoggingSpec {
    pub max_size: ByteSize,
    pub max_files: u32,
}

impl Default for LoggingSpec {
    fn default() -> Self {
        LoggingSpec {
            max_size: ByteSize(10 * 1024 * 1024),
            max_files: 5,
        }
    }
}

/// nginx's `http` level, written once at the top of the site file.
#[derive(Debug, Clone, Serialize)]
pub struct NginxHttpSpec {
    pub gzip: bool,
    pub keepalive_requests: Option<u32>,
    pub extra: ExtraSpec,
}

impl Default for NginxHttpSpec {
    fn default() -> Self {
        NginxHttpSpec {
            gzip: true,
            keepalive_requests: None,
            extra: ExtraSpec::new(),
        }
    }
}

/// A site's response headers and hand-typed server directives.
#[derive(Debug, Clone, Serialize)]
pub struct SiteOptions {
    /// The `Strict-Transport-Security` value, when on.
    pub hsts: Option<String>,
    pub frame_options: FrameOptions,
    pub content_security_policy: Option<String>,
    pub referrer_policy: String,
    pub permissions_policy: String,
    pub extra: ExtraSpec,
}

impl Default for SiteOptions {
    fn default() -> Self {
        SiteOptions {
            hsts: Some("max-age=63072000".into()),
            frame_options: FrameOptions::Deny,
            content_security_policy: None,
            referrer_policy: "strict-origin-when-cross-origin".into(),
            permissions_policy: "camera=(), microphone=(), geolocation=()".into(),
            extra: ExtraSpec::new(),
        }
    }
}

/// A location's proxy timeouts, buffering, caching and hand-typed directives.
#[derive(Debug, Clone, Serialize)]
pub struct LocationOptions {
    pub connect_timeout: Duration,
    pub send_timeout: Duration,
    pub buffering: bool,
    pub cache: Cache,
    pub extra: ExtraSpec,
}

impl Default for LocationOptions {
    fn default() -> Self {
        LocationOptions {
            connect_timeout: Duration(5),
            send_timeout: Duration(60),
            buffering: true,
            cache: Cache::For(Duration(3600)),
            extra: ExtraSpec::new(),
        }
    }
}
