//! Validate stage, `[monitoring]` and `[alerts]`: the Prometheus scrape
//! interval and Alertmanager targets, and the thresholds of the alert rules.

use super::Checker;
use crate::model::{AlertSpec, MonitoringSpec};
use crate::profile::Profile;
use crate::shapes;
use crate::units::Duration;
use gen_target::host_path::shown;

impl Checker<'_> {
    pub(super) fn monitoring(&mut self, p: &Profile) -> MonitoringSpec {
        let m = p.monitoring.as_ref();
        let scrape_interval = m.and_then(|m| m.scrape_interval).unwrap_or(Duration(15));
        self.check(
            (5..=300).contains(&scrape_interval.seconds()),
            "monitoring.scrape_interval",
            || format!("`monitoring.scrape_interval`: {scrape_interval} is out of range"),
            "between 5s and 5m",
        );
        let alertmanagers = m.and_then(|m| m.alertmanagers.clone()).unwrap_or_default();
        for (i, target) in alertmanagers.iter().enumerate() {
            self.check(
                shapes::is_host_port(target),
                &format!("monitoring.alertmanagers[{i}]"),
                || {
                    format!(
                        "`monitoring.alertmanagers[{i}]`: `{}` is not `host:port`",
                        shown(target)
                    )
                },
                "for example `10.0.3.10:9093`",
            );
        }
        MonitoringSpec {
            scrape_interval,
            alertmanagers,
        }
    }

    pub(super) fn alerts(&mut self, p: &Profile) -> AlertSpec {
        let a = p.alerts.as_ref();
        let get = |f: fn(&crate::profile::Alerts) -> Option<f64>, default: f64| {
            a.and_then(f).unwrap_or(default)
        };
        let for_ = a.and_then(|a| a.for_).unwrap_or(Duration(300));
        let spec = AlertSpec {
            for_,
            error_ratio: get(|a| a.error_ratio, 0.05),
            latency_p95_seconds: get(|a| a.latency_p95_seconds, 1.0),
            replication_lag_seconds: get(|a| a.replication_lag_seconds, 30.0),
            connection_saturation: get(|a| a.connection_saturation, 0.8),
            disk_usage: get(|a| a.disk_usage, 0.85),
            backup_age_hours: get(|a| a.backup_age_hours, 26.0),
            certificate_expiry_days: get(|a| a.certificate_expiry_days, 14.0),
            rules: self.custom_rules(p, for_),
        };
        self.fraction("alerts.error_ratio", spec.error_ratio);
        self.fraction("alerts.connection_saturation", spec.connection_saturation);
        self.fraction("alerts.disk_usage", spec.disk_usage);
        self.positive("alerts.latency_p95_seconds", spec.latency_p95_seconds);
        self.positive(
            "alerts.replication_lag_seconds",
            spec.replication_lag_seconds,
        );
        self.positive("alerts.backup_age_hours", spec.backup_age_hours);
        self.positive(
            "alerts.certificate_expiry_days",
            spec.certificate_expiry_days,
        );
        self.check(
            (60..=86_400).contains(&spec.for_.seconds()),
            "alerts.for",
            || format!("`alerts.for`: {} is out of range", spec.for_),
            "between 1m and 1d",
        );
        spec
    }
}
