//! Validate stage, `[maintenance]`: the schedules of gen's cron jobs (vacuum,
//! certificate renewal, health checks), defaults filled in. Each is written
//! into a cron.d line, so each is parsed here first.

use super::Checker;
use crate::model::MaintenanceSpec;
use crate::profile::Profile;

impl Checker<'_> {
    pub(super) fn maintenance(&mut self, p: &Profile) -> MaintenanceSpec {
        let m = p.maintenance.as_ref();
        let spec = MaintenanceSpec {
            vacuum_schedule: m
                .and_then(|m| m.vacuum_schedule.clone())
                .unwrap_or_else(|| "0 2 * * *".into()),
            certificate_renewal_schedule: m
                .and_then(|m| m.certificate_renewal_schedule.clone())
                .unwrap_or_else(|| "17 3 * * *".into()),
            health_check_schedule: m
                .and_then(|m| m.health_check_schedule.clone())
                .unwrap_or_else(|| "*/5 * * * *".into()),
        };
        self.cron("maintenance.vacuum_schedule", &spec.vacuum_schedule);
        self.cron(
            "maintenance.certificate_renewal_schedule",
            &spec.certificate_renewal_schedule,
        );
        self.cron(
            "maintenance.health_check_schedule",
            &spec.health_check_schedule,
        );
        spec
    }
}
