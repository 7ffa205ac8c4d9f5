//! View of the host's cron.d file.

use serde::Serialize;

use super::Scope;
use crate::derive::cron::{self, CronJob};

#[derive(Serialize)]
pub struct Cron<'a> {
    /// `MAILTO=`: the admin address, or empty (no mail).
    admin_email: Option<&'a str>,
    cron_jobs: Vec<CronJob>,
}

pub fn cron<'a>(scope: &Scope<'a>) -> Cron<'a> {
    Cron {
        admin_email: scope.d.admin_email.as_deref(),
        cron_jobs: cron::jobs(scope.d, scope.host),
    }
}
