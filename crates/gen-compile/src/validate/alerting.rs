//! Validate stage, `[alerting]` and `[alerts.rules]`: where Alertmanager sends
//! alerts, and the custom rules rendered beside gen's own. Every credential
//! is a file Alertmanager reads itself (its `*_file` fields), so none is a
//! value here; keys the platform's Alertmanager cannot read are refused
//! (`gen::error::platform-feature`), as are rules with no one to receive them
//! (`gen::error::alerts-unreachable`, in `cross_checks`).

use super::Checker;
use crate::model_alerting::{
    AlertingSpec, CustomRule, ReceiverSpec, RouteSpec, SlackSpec, SmtpSpec, ALERTMANAGER_VERSION,
    SEVERITIES,
};
use crate::profile::Profile;
use crate::shapes;
use crate::units::Duration;
use gen_target::error_code::ErrorCode;
use gen_target::host_path::shown;

/// `[A-Za-z_][A-Za-z0-9_]*`, at most 128 bytes: a Prometheus alert name.
pub fn is_alert_name(value: &str) -> bool {
    let bytes = value.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 128
        && (bytes[0].is_ascii_alphabetic() || bytes[0] == b'_')
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'_')
}

/// A receiver name: a name that may also hold `_`.
fn is_receiver_name(value: &str) -> bool {
    shapes::is_identifier(value, 63, b"-_")
}

/// A Slack channel or user: `#channel` or `@user`, lowercase, no spaces.
fn is_slack_channel(value: &str) -> bool {
    let mut chars = value.chars();
    matches!(chars.next(), Some('#' | '@'))
        && (2..=81).contains(&value.len())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
}

impl Checker<'_> {
    fn coded(&mut self, code: ErrorCode, key: &str, message: String, help: &str) {
        self.errors.push(crate::profile_error::coded(
            self.sources,
            key,
            code,
            message,
            Some(help.to_string()),
        ));
    }

    pub(super) fn alerting(&mut self, p: &Profile) -> Option<AlertingSpec> {
        let a = p.alerting.as_ref()?;
        let duration = |d: Option<Duration>, default: u64| d.unwrap_or(Duration(default));
        let spec = AlertingSpec {
            default_receiver: a.default_receiver.clone(),
            group_wait: duration(a.group_wait, 30),
            group_interval: duration(a.group_interval, 300),
            repeat_interval: duration(a.repeat_interval, 4 * 3600),
            smtp: a.smtp.as_ref().map(|s| SmtpSpec {
                smarthost: s.smarthost.clone(),
                from: s.from.clone(),
                username: s.username.clone(),
                password_file: s.password_file.clone(),
                require_tls: s.require_tls.unwrap_or(true),
            }),
            receivers: a
                .receivers
                .iter()
                .map(|(name, r)| ReceiverSpec {
                    name: name.clone(),
                    email: r.email.clone().unwrap_or_default(),
                    slack: r.slack.as_ref().map(|s| SlackSpec {
                        url_file: s.url_file.clone(),
                        channel: s.channel.clone(),
                    }),
                    pagerduty: r.pagerduty.as_ref().map(|p| p.routing_key_file.clone()),
                    webhook: r.webhook.as_ref().map(|w| w.url_file.clone()),
                })
                .collect(),
            routes: a
                .routes
                .iter()
                .map(|r| RouteSpec {
                    severity: r.severity.clone().unwrap_or_default(),
                    service: r.service.clone().unwrap_or_default(),
                    receivers: r.receivers.clone(),
                    continue_: r.continue_.unwrap_or(false),
                })
                .collect(),
        };
        for (key, d, range) in [
            ("alerting.group_wait", spec.group_wait, 0..=3600),
            ("alerting.group_interval", spec.group_interval, 1..=86_400),
            (
                "alerting.repeat_interval",
                spec.repeat_interval,
                60..=7 * 86_400,
            ),
        ] {
            self.check(
                range.contains(&d.seconds()),
                key,
                || format!("`{key}`: {d} is out of range"),
                "group_wait 0s to 1h, group_interval 1s to 1d, repeat_interval 1m to 7d",
            );
        }
        if let Some(smtp) = &spec.smtp {
            self.check(
                shapes::is_host_port(&smtp.smarthost),
                "alerting.smtp.smarthost",
                || {
                    format!(
                        "`alerting.smtp.smarthost`: `{}` is not `host:port`",
                        shown(&smtp.smarthost)
                    )
                },
                "for example `smtp.example.com:587`",
            );
            self.check(
                shapes::is_email(&smtp.from),
                "alerting.smtp.from",
                || {
                    format!(
                        "`alerting.smtp.from`: `{}` is not an email address",
                        shown(&smtp.from)
                    )
                },
                "for example `alerts@example.com`",
            );
            if let Some(user) = &smtp.username {
                self.text("alerting.smtp.username", user);
            }
            if let Some(file) = &smtp.password_file {
                self.secret_path("alerting.smtp.password_file", file);
            }
        }
        self.check(
            spec.receivers
                .iter()
                .any(|r| r.name == spec.default_receiver),
            "alerting.default_receiver",
            || {
                format!(
                    "`alerting.default_receiver`: `{}` is not a receiver of `[alerting.receivers]`",
                    shown(&spec.default_receiver)
                )
            },
            "name one of the `[alerting.receivers.<name>]` tables",
        );
        for r in &spec.receivers {
            let key = format!("alerting.receivers.{}", r.name);
            self.check(
                is_receiver_name(&r.name),
                &key,
                || format!("`{key}`: `{}` is not a valid receiver name", shown(&r.name)),
                "lowercase letters, digits, `-` and `_`, starting with a letter",
            );
            self.check(
                !r.email.is_empty()
                    || r.slack.is_some()
                    || r.pagerduty.is_some()
                    || r.webhook.is_some(),
                &key,
                || format!("`{key}` sends alerts nowhere"),
                "give it `email`, `slack`, `pagerduty` or `webhook`",
            );
            for (i, address) in r.email.iter().enumerate() {
                self.check(
                    shapes::is_email(address),
                    &format!("{key}.email[{i}]"),
                    || {
                        format!(
                            "`{key}.email[{i}]`: `{}` is not an email address",
                            shown(address)
                        )
                    },
                    "for example `ops@example.com`",
                );
            }
            if !r.email.is_empty() {
                self.check(
                    spec.smtp.is_some(),
                    &format!("{key}.email"),
                    || {
                        format!(
                            "`{key}.email` needs a mail server, and there is no `[alerting.smtp]`"
                        )
                    },
                    "add `[alerting.smtp]` with `smarthost` and `from`",
                );
            }
            if let Some(slack) = &r.slack {
                self.secret_path(&format!("{key}.slack.url_file"), &slack.url_file);
                self.check(
                    is_slack_channel(&slack.channel),
                    &format!("{key}.slack.channel"),
                    || {
                        format!(
                            "`{key}.slack.channel`: `{}` is not a Slack channel",
                            shown(&slack.channel)
                        )
                    },
                    "`#channel` or `@user`",
                );
            }
            if let Some(file) = &r.pagerduty {
                self.secret_path(&format!("{key}.pagerduty.routing_key_file"), file);
            }
            if let Some(file) = &r.webhook {
                self.secret_path(&format!("{key}.webhook.url_file"), file);
                let (major, minor) = ALERTMANAGER_VERSION;
                self.coded(
                    ErrorCode::PlatformFeature,
                    &format!("{key}.webhook.url_file"),
                    format!(
                        "`{key}.webhook.url_file` needs Alertmanager 0.26 or later; Debian 12 ships {major}.{minor}.0, which reads the URL only from its configuration file"
                    ),
                    "send to this endpoint through `slack` or `pagerduty`, or install Alertmanager 0.26+ and keep the URL out of the profile: gen writes no secret into a file",
                );
            }
        }
        for (i, route) in spec.routes.iter().enumerate() {
            let key = format!("alerting.routes[{i}]");
            self.check(
                !route.receivers.is_empty(),
                &format!("{key}.receivers"),
                || format!("`{key}.receivers` is empty"),
                "name the receivers this route notifies",
            );
            for (j, name) in route.receivers.iter().enumerate() {
                self.check(
                    spec.receivers.iter().any(|r| &r.name == name),
                    &format!("{key}.receivers[{j}]"),
                    || format!("`{key}.receivers[{j}]`: `{}` is not a receiver of `[alerting.receivers]`", shown(name)),
                    "name one of the `[alerting.receivers.<name>]` tables",
                );
            }
            for (j, severity) in route.severity.iter().enumerate() {
                self.check(
                    SEVERITIES.contains(&severity.as_str()),
                    &format!("{key}.severity[{j}]"),
                    || {
                        format!(
                            "`{key}.severity[{j}]`: `{}` is not a severity",
                            shown(severity)
                        )
                    },
                    "`critical`, `warning` or `info`",
                );
            }
            for (j, service) in route.service.iter().enumerate() {
                self.check(
                    shapes::is_identifier(service, 63, b"-_"),
                    &format!("{key}.service[{j}]"),
                    || {
                        format!(
                            "`{key}.service[{j}]`: `{}` is not a service label",
                            shown(service)
                        )
                    },
                    "a service name or a scrape job such as `postgres`",
                );
            }
            self.check(
                !route.severity.is_empty() || !route.service.is_empty(),
                &key,
                || format!("`{key}` matches every alert: give it `severity` or `service`"),
                "alerts no route matches go to `default_receiver`",
            );
        }
        Some(spec)
    }

    /// Rules are rendered on every `monitoring` host; someone must receive
    /// what they fire: `[alerting]` (Alertmanager on those hosts) or an
    /// Alertmanager elsewhere (`monitoring.alertmanagers`). And `[alerting]`
    /// needs a host to run on.
    pub(super) fn alerts_reachable(&mut self, d: &crate::model::Deployment) {
        use crate::profile::Role;
        let monitoring = d.hosts_with(Role::Monitoring).next();
        if let Some(host) = monitoring {
            if d.alerting.is_none() && d.monitoring.alertmanagers.is_empty() {
                self.coded(
                    ErrorCode::AlertsUnreachable,
                    &format!("hosts.{}.roles", host.name),
                    format!(
                        "host `{}` evaluates alert rules, but nothing receives the alerts they fire: there is no `[alerting]` and no `monitoring.alertmanagers`",
                        host.name
                    ),
                    "add `[alerting]` with a `default_receiver` and its `[alerting.receivers.<name>]` (email, slack, pagerduty), or list an Alertmanager elsewhere in `monitoring.alertmanagers`",
                );
            }
        } else if d.alerting.is_some() {
            self.fail(
                "alerting",
                "`[alerting]` runs Alertmanager on the hosts with role `monitoring`, and there is none",
                "give a host the role `monitoring`, or remove `[alerting]`",
            );
        }
    }

    /// `[alerts.rules.<Name>]`: custom rules, sorted by name.
    pub(super) fn custom_rules(&mut self, p: &Profile, default_for: Duration) -> Vec<CustomRule> {
        let Some(rules) = p.alerts.as_ref().and_then(|a| a.rules.as_ref()) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (name, rule) in rules {
            let key = format!("alerts.rules.{name}");
            if !is_alert_name(name) {
                self.coded(
                    ErrorCode::AlertRule,
                    &key,
                    format!("`{key}`: `{}` is not an alert name", shown(name)),
                    "alert names are letters, digits and `_`, not starting with a digit",
                );
            }
            if rule.expr.trim().is_empty()
                || rule.expr.contains(['\n', '\r'])
                || !shapes::is_plain_text(&rule.expr)
            {
                self.coded(
                    ErrorCode::AlertRule,
                    &format!("{key}.expr"),
                    format!("`{key}.expr` is empty or spans more than one line"),
                    "write the PromQL expression on one line",
                );
            }
            let severity = rule.severity.clone().unwrap_or_default();
            if !SEVERITIES.contains(&severity.as_str()) {
                self.coded(
                    ErrorCode::AlertRule,
                    &if rule.severity.is_some() {
                        format!("{key}.severity")
                    } else {
                        key.clone()
                    },
                    format!(
                        "`{key}` needs `severity` = `critical`, `warning` or `info`, found `{}`",
                        shown(&severity)
                    ),
                    "routes decide who is notified by severity: every rule carries one",
                );
            }
            let for_ = rule.for_.unwrap_or(default_for);
            self.check(
                for_.seconds() <= 86_400,
                &format!("{key}.for"),
                || format!("`{key}.for`: {for_} is out of range"),
                "between 0s and 1d",
            );
            if let Some(summary) = &rule.summary {
                self.text(&format!("{key}.summary"), summary);
            }
            if let Some(service) = &rule.service {
                self.check(
                    shapes::is_identifier(service, 63, b"-_"),
                    &format!("{key}.service"),
                    || {
                        format!(
                            "`{key}.service`: `{}` is not a service label",
                            shown(service)
                        )
                    },
                    "a service name, as routes match it",
                );
            }
            out.push(CustomRule {
                name: name.clone(),
                expr: rule.expr.trim().to_string(),
                for_,
                severity,
                summary: rule.summary.clone(),
                service: rule.service.clone(),
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alert_names_and_channels() {
        assert!(is_alert_name("DatabasePoolExhausted"));
        assert!(is_alert_name("_x1"));
        assert!(!is_alert_name("1x"));
        assert!(!is_alert_name("a-b"));
        assert!(!is_alert_name(""));
        assert!(is_slack_channel("#alerts"));
        assert!(is_slack_channel("@oncall"));
        assert!(!is_slack_channel("alerts"));
        assert!(!is_slack_channel("#a b"));
    }
}
