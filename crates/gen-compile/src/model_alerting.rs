//! Validate stage output for `[alerting]` and `[alerts.rules]`: the checked
//! model of where alerts go and of the custom rules, defaults filled in.

use serde::Serialize;

use crate::units::Duration;

/// Alertmanager's version on the platform gen targets (Debian 12 ships
/// 0.25.0): keys that need a newer one are refused (`platform-feature`).
pub const ALERTMANAGER_VERSION: (u32, u32) = (0, 25);

/// The port Alertmanager serves its API on, and the one its cluster gossips on
/// (Debian's and upstream's defaults).
pub const ALERTMANAGER_PORT: u16 = 9093;
pub const ALERTMANAGER_CLUSTER_PORT: u16 = 9094;

/// The severities a rule may carry, most urgent first.
pub const SEVERITIES: [&str; 3] = ["critical", "warning", "info"];

#[derive(Debug, Clone, Serialize)]
pub struct AlertingSpec {
    pub default_receiver: String,
    pub group_wait: Duration,
    pub group_interval: Duration,
    pub repeat_interval: Duration,
    pub smtp: Option<SmtpSpec>,
    /// Sorted by name.
    pub receivers: Vec<ReceiverSpec>,
    /// In the profile's order.
    pub routes: Vec<RouteSpec>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SmtpSpec {
    pub smarthost: String,
    pub from: String,
    pub username: Option<String>,
    pub password_file: Option<String>,
    pub require_tls: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReceiverSpec {
    pub name: String,
    pub email: Vec<String>,
    pub slack: Option<SlackSpec>,
    pub pagerduty: Option<String>,
    pub webhook: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SlackSpec {
    pub url_file: String,
    pub channel: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RouteSpec {
    pub severity: Vec<String>,
    pub service: Vec<String>,
    pub receivers: Vec<String>,
    #[serde(rename = "continue")]
    pub continue_: bool,
}

/// A custom alert rule, checked.
#[derive(Debug, Clone, Serialize)]
pub struct CustomRule {
    pub name: String,
    pub expr: String,
    #[serde(rename = "for")]
    pub for_: Duration,
    pub severity: String,
    pub summary: Option<String>,
    pub service: Option<String>,
}

impl AlertingSpec {
    /// The credential files Alertmanager reads (the host provides them).
    pub fn files(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .smtp
            .iter()
            .filter_map(|s| s.password_file.clone())
            .collect();
        for r in &self.receivers {
            out.extend(r.slack.as_ref().map(|s| s.url_file.clone()));
            out.extend(r.pagerduty.clone());
            out.extend(r.webhook.clone());
        }
        out
    }
}
