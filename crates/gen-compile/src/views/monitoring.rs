//! Views of the monitoring host's files: prometheus.yml and the alert rules.

use serde::Serialize;

use super::{metric_prefix, Scope};
use crate::catalog;
use crate::derive::rollout;
use crate::derive::scrape::{self, ScrapeJob};
use crate::model::{AlertSpec, MonitoringSpec, RedisSpec};

#[derive(Serialize)]
pub struct Prometheus<'a> {
    project: &'a str,
    profile: &'a str,
    monitoring: &'a MonitoringSpec,
    /// The rules file this config loads (the catalogue's path for it).
    rules_path: String,
    /// Every Alertmanager alerts go to: gen's on the monitoring hosts, then
    /// `monitoring.alertmanagers`.
    alertmanagers: Vec<String>,
    scrape_jobs: Vec<ScrapeJob>,
}

pub fn prometheus<'a>(scope: &Scope<'a>) -> Prometheus<'a> {
    let d = scope.d;
    Prometheus {
        project: &d.project,
        profile: &d.profile,
        monitoring: &d.monitoring,
        rules_path: catalog::rules_path(&d.project),
        alertmanagers: crate::derive::exporters::alertmanagers(d),
        scrape_jobs: scrape::jobs(d),
    }
}

#[derive(Serialize)]
pub struct Rules<'a> {
    project: &'a str,
    profile: &'a str,
    metric_prefix: String,
    alerts: &'a AlertSpec,
    thresholds: Thresholds,
    /// Which alert groups apply: each needs the component it watches.
    sites: bool,
    http: bool,
    postgres: bool,
    replicas: bool,
    backup: bool,
    pgbouncer: bool,
    redis: Option<&'a RedisSpec>,
    /// With pull mode: how long a host may go without a successful pull.
    pull_stale_seconds: Option<u64>,
    /// `[alerts.rules]`, rendered in a group of their own.
    custom_rules: &'a [crate::model_alerting::CustomRule],
    /// With a restore test: `alerts.restore_age_days`, and in seconds.
    restore_age_days: Option<f64>,
    restore_age_seconds: Option<f64>,
}

/// The profile's thresholds in the units the rules compare with.
#[derive(Serialize)]
struct Thresholds {
    /// `alerts.certificate_expiry_days` × 86400.
    certificate_expiry_seconds: f64,
    /// `alerts.disk_usage` × 100, rounded.
    disk_usage_percent: i64,
    /// `alerts.error_ratio` × 100.
    error_percent: f64,
    /// `alerts.connection_saturation` × 100, rounded.
    connection_saturation_percent: i64,
    /// `alerts.backup_age_hours` × 3600.
    backup_age_seconds: f64,
    /// How long the backup metric may be absent: whole hours of `alerts.backup_age_hours`.
    backup_missing_for: String,
}

fn percent(ratio: f64) -> i64 {
    (ratio * 100.0).round() as i64
}

pub fn rules<'a>(scope: &Scope<'a>) -> Rules<'a> {
    let d = scope.d;
    let a = &d.alerts;
    Rules {
        project: &d.project,
        profile: &d.profile,
        metric_prefix: metric_prefix(&d.project),
        alerts: a,
        thresholds: Thresholds {
            certificate_expiry_seconds: a.certificate_expiry_days * 86400.0,
            disk_usage_percent: percent(a.disk_usage),
            error_percent: a.error_ratio * 100.0,
            connection_saturation_percent: percent(a.connection_saturation),
            backup_age_seconds: a.backup_age_hours * 3600.0,
            backup_missing_for: format!("{}h", a.backup_age_hours as i64),
        },
        sites: !d.sites.is_empty(),
        http: scrape::any_service_metrics(d),
        postgres: d.postgres.is_some(),
        replicas: d.has_replicas(),
        backup: d.backup.is_some() || d.pgbackrest.is_some(),
        pgbouncer: d.pgbouncer.is_some(),
        redis: d.redis.as_ref(),
        pull_stale_seconds: d.rollout.as_ref().map(rollout::stale_after_seconds),
        custom_rules: &a.rules,
        restore_age_days: d.restore_test.as_ref().map(|t| t.age_days),
        restore_age_seconds: d.restore_test.as_ref().map(|t| t.age_days * 86400.0),
    }
}
