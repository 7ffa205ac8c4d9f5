//! Load stage: the raw `[alerting]` section (Alertmanager on the monitoring
//! hosts: where alerts go) and custom `[alerts.rules.<Name>]`, mirroring the
//! TOML exactly. Secrets are never values: every credential is the path of a
//! file Alertmanager reads itself (its `*_file` fields).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::units::Duration;

/// Alertmanager on every host with role `monitoring`; with two or more they
/// form a cluster and Prometheus sends to all of them.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Alerting {
    /// The receiver of alerts no route matches.
    pub default_receiver: String,
    /// How long to wait for more alerts of a new group before notifying (default `30s`).
    pub group_wait: Option<Duration>,
    /// How long to wait before notifying about new alerts of a group already notified (default `5m`).
    pub group_interval: Option<Duration>,
    /// How long to wait before repeating a notification still firing (default `4h`).
    pub repeat_interval: Option<Duration>,
    /// The mail server email receivers send through.
    pub smtp: Option<Smtp>,
    /// Receivers by name (`[a-z][a-z0-9_-]*`): each lists where its alerts go.
    #[serde(default)]
    pub receivers: BTreeMap<String, Receiver>,
    /// Routes in order: the first that matches an alert decides its receivers,
    /// unless it says `continue = true`.
    #[serde(default)]
    pub routes: Vec<Route>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Smtp {
    /// `host:port` of the mail server.
    pub smarthost: String,
    /// The sender address.
    pub from: String,
    /// The SMTP login, when the server asks for one.
    pub username: Option<String>,
    /// The file holding the SMTP password (read by user `prometheus`).
    pub password_file: Option<String>,
    /// Require STARTTLS (default true).
    pub require_tls: Option<bool>,
}

/// Where one receiver's alerts go: any of email, Slack, PagerDuty, webhook.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Receiver {
    /// Addresses mailed through `[alerting.smtp]`.
    pub email: Option<Vec<String>>,
    pub slack: Option<Slack>,
    pub pagerduty: Option<Pagerduty>,
    /// Needs Alertmanager 0.26 or later (`url_file`): not on Debian 12.
    pub webhook: Option<Webhook>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Slack {
    /// The file holding the incoming-webhook URL.
    pub url_file: String,
    /// The channel, e.g. `#alerts`.
    pub channel: String,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Pagerduty {
    /// The file holding the Events API v2 routing key.
    pub routing_key_file: String,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Webhook {
    /// The file holding the webhook URL.
    pub url_file: String,
}

/// One route: alerts whose labels match every list given go to `receivers`.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// Severities matched (`critical`, `warning`, `info`).
    pub severity: Option<Vec<String>>,
    /// `service` labels matched (a service or a scrape job such as `postgres`).
    pub service: Option<Vec<String>>,
    /// Receivers notified, in order.
    pub receivers: Vec<String>,
    /// Keep matching later routes after this one (default false).
    #[serde(rename = "continue")]
    pub continue_: Option<bool>,
}

/// A custom Prometheus alert rule, rendered beside gen's own.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertRule {
    /// PromQL expression, one line.
    pub expr: String,
    /// How long the expression must hold before the alert fires (default `alerts.for`).
    #[serde(rename = "for")]
    pub for_: Option<Duration>,
    /// `critical`, `warning` or `info`.
    pub severity: Option<String>,
    /// One line shown in the notification.
    pub summary: Option<String>,
    /// The `service` label routes match.
    pub service: Option<String>,
}

/// `[alerts.rules]`: custom rules by alert name.
pub type AlertRules = BTreeMap<String, AlertRule>;
