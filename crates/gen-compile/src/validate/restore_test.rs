//! Validate stage, `[backup.restore_test]` and `alerts.restore_age_days`:
//! the schedule (a systemd calendar), the hosts (the primary, which holds
//! the dumps and pgBackRest's configuration) and the verify query, which the
//! generated script runs as `SELECT count(*) FROM (<query>) …` — so it is
//! one line, one statement, a `SELECT`.

use super::Checker;
use crate::calendar::Schedule;
use crate::model::{HostSpec, RestoreTestSpec};
use crate::profile::{Profile, Role};
use crate::schedule::check_calendar;
use crate::shapes;
use gen_target::host_path::shown;

/// The default of `alerts.restore_age_days` when the schedule's period
/// cannot be worked out (a schedule the calendar reader does not expand).
pub const FALLBACK_AGE_DAYS: f64 = 35.0;

/// The default of `alerts.restore_age_days`: twice the longest gap between
/// two runs of `schedule` (over a year, wrapping to the next one) plus one
/// day, in whole days — one missed run is tolerated, two are not.
pub fn default_age_days(schedule: &str) -> f64 {
    let Some(starts) = Schedule::calendar(schedule).map(|s| s.starts()) else {
        return FALLBACK_AGE_DAYS;
    };
    let (Some(first), Some(last)) = (starts.first(), starts.last()) else {
        return FALLBACK_AGE_DAYS;
    };
    // The calendar's reference year is a leap year.
    let year = 366 * 86_400;
    let wrap = first + year - last;
    let gap = starts
        .windows(2)
        .map(|w| w[1] - w[0])
        .chain([wrap])
        .max()
        .unwrap_or(wrap);
    (2 * gap).div_ceil(86_400) as f64 + 1.0
}

/// Whether `query` is one `SELECT` the script may wrap: one line, no `;`,
/// starting with `SELECT` or `WITH`.
fn is_verify_query(query: &str) -> bool {
    let head = query
        .trim_start()
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or("")
        .to_ascii_uppercase();
    shapes::is_plain_text(query)
        && query.len() <= 1000
        && !query.contains(';')
        && !query.contains("--")
        && !query.contains("/*")
        && (head == "SELECT" || head == "WITH")
}

impl Checker<'_> {
    pub(super) fn restore_test(
        &mut self,
        p: &Profile,
        hosts: &[HostSpec],
    ) -> Option<RestoreTestSpec> {
        let age = p.alerts.as_ref().and_then(|a| a.restore_age_days);
        let Some(t) = p.backup.as_ref().and_then(|b| b.restore_test.as_ref()) else {
            if age.is_some() {
                self.fail(
                    "alerts.restore_age_days",
                    "`alerts.restore_age_days` without `[backup.restore_test]`: no restore test records the metric it watches",
                    "add `[backup.restore_test]`, or remove the key",
                );
            }
            return None;
        };
        if let Err(problem) = check_calendar(&t.schedule) {
            self.fail(
                "backup.restore_test.schedule",
                format!(
                    "`backup.restore_test.schedule`: `{}` is not a systemd calendar expression: {problem}",
                    shown(&t.schedule)
                ),
                "for example `*-*-01 05:00:00` (monthly) or `Sat *-*-* 05:00:00` (weekly)",
            );
        }
        self.check(
            is_verify_query(&t.verify_query),
            "backup.restore_test.verify_query",
            || {
                format!(
                    "`backup.restore_test.verify_query`: `{}` is not a single-line `SELECT` without `;` or comments",
                    shown(&t.verify_query)
                )
            },
            "for example `SELECT 1 FROM orders LIMIT 1`: it must return at least one row in the restored database",
        );
        let primary = hosts.iter().find(|h| h.has(Role::DatabasePrimary));
        let names: Vec<String> = match &t.hosts {
            Some(names) => {
                self.check(
                    !names.is_empty(),
                    "backup.restore_test.hosts",
                    || "`backup.restore_test.hosts` is empty".into(),
                    "leave it out to run the restore test on the database primary",
                );
                for name in names {
                    match hosts.iter().find(|h| &h.name == name) {
                        None => self.fail(
                            "backup.restore_test.hosts",
                            format!("`backup.restore_test.hosts`: no host `{}`", shown(name)),
                            "name a host of `[hosts]`",
                        ),
                        Some(h) if !h.has(Role::DatabasePrimary) => self.fail(
                            "backup.restore_test.hosts",
                            format!(
                                "`backup.restore_test.hosts`: `{name}` is not the database primary, which alone holds the backups and their configuration"
                            ),
                            "leave `hosts` out: the restore test runs on the primary",
                        ),
                        Some(_) => {}
                    }
                }
                names.clone()
            }
            None => primary.map(|h| vec![h.name.clone()]).unwrap_or_default(),
        };
        let age_days = age.unwrap_or_else(|| default_age_days(&t.schedule));
        self.positive("alerts.restore_age_days", age_days);
        Some(RestoreTestSpec {
            schedule: t.schedule.clone(),
            hosts: names,
            verify_query: t.verify_query.clone(),
            age_days,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_age_is_twice_the_longest_gap_plus_a_day() {
        assert_eq!(default_age_days("*-*-* 05:00:00"), 3.0);
        assert_eq!(default_age_days("Sat *-*-* 05:00:00"), 15.0);
        // Monthly: the longest gap is 31 days.
        assert_eq!(default_age_days("*-*-01 05:00:00"), 63.0);
    }

    #[test]
    fn a_verify_query_is_one_select() {
        assert!(is_verify_query("SELECT 1 FROM orders LIMIT 1"));
        assert!(is_verify_query("with o as (select 1) select * from o"));
        assert!(!is_verify_query("DELETE FROM orders"));
        assert!(!is_verify_query("SELECT 1; DROP TABLE orders"));
        assert!(!is_verify_query("SELECT 1\nFROM orders"));
        assert!(!is_verify_query("SELECT 1 -- )"));
        assert!(!is_verify_query(""));
    }
}
