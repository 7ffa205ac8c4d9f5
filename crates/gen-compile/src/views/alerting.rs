//! Views of Alertmanager's configuration and of the exporters'
//! `/etc/default` files.

use serde::Serialize;

use super::Scope;
use crate::derive::exporters::{self, Exporter};
use crate::model_alerting::{AlertingSpec, ReceiverSpec, SmtpSpec};

#[derive(Serialize)]
pub struct Alertmanager<'a> {
    project: &'a str,
    default_receiver: &'a str,
    group_wait: String,
    group_interval: String,
    repeat_interval: String,
    smtp: Option<&'a SmtpSpec>,
    receivers: &'a [ReceiverSpec],
    routes: Vec<AmRoute>,
}

/// One Alertmanager route: one receiver. A profile route naming several
/// receivers becomes one route per receiver with the same matchers, each
/// but the last with `continue: true`, so an alert reaches all of them.
#[derive(Debug, Serialize)]
pub struct AmRoute {
    pub receiver: String,
    /// Alertmanager matchers, e.g. `severity=~"critical|warning"`.
    pub matchers: Vec<String>,
    #[serde(rename = "continue")]
    pub continue_: bool,
}

pub fn routes(a: &AlertingSpec) -> Vec<AmRoute> {
    let mut out = Vec::new();
    for route in &a.routes {
        let mut matchers = Vec::new();
        if !route.severity.is_empty() {
            matchers.push(format!("severity=~\"{}\"", route.severity.join("|")));
        }
        if !route.service.is_empty() {
            matchers.push(format!("service=~\"{}\"", route.service.join("|")));
        }
        let last = route.receivers.len().saturating_sub(1);
        for (i, receiver) in route.receivers.iter().enumerate() {
            out.push(AmRoute {
                receiver: receiver.clone(),
                matchers: matchers.clone(),
                continue_: i < last || route.continue_,
            });
        }
    }
    out
}

pub fn alertmanager<'a>(scope: &Scope<'a>) -> Option<Alertmanager<'a>> {
    let d = scope.d;
    let a = d.alerting.as_ref()?;
    Some(Alertmanager {
        project: &d.project,
        default_receiver: &a.default_receiver,
        group_wait: a.group_wait.to_string(),
        group_interval: a.group_interval.to_string(),
        repeat_interval: a.repeat_interval.to_string(),
        smtp: a.smtp.as_ref(),
        receivers: &a.receivers,
        routes: routes(a),
    })
}

#[derive(Serialize)]
pub struct ExporterDefaults {
    exporter: Exporter,
    /// `ARGS` joined by spaces.
    args: String,
}

pub fn exporter_defaults(scope: &Scope<'_>) -> Option<ExporterDefaults> {
    let name = scope.spec.service.as_deref()?;
    let exporter = exporters::exporters(scope.d, scope.host)
        .into_iter()
        .find(|e| e.name == name)?;
    Some(ExporterDefaults {
        args: exporter.args.join(" "),
        exporter,
    })
}
