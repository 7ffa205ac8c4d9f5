//! Lint support: when a schedule fires. Both schedule languages of a profile
//! — systemd calendar expressions (timers) and five-field cron schedules
//! (`maintenance.*`) — become one [`Schedule`], a set of allowed values per
//! field, expanded over one leap year at second resolution. Only the forms
//! `schedule::check_calendar` and `schedule::check_cron_schedule` accept are
//! read; anything else is `None` (validation has refused it already).
//!
//! Simplifications, each on the side of fewer findings: a calendar's year
//! field is ignored (every year is taken to be like the reference year), and
//! a schedule that fires on several seconds of one minute counts as firing
//! once, at the first.

use std::collections::BTreeSet;

/// The reference year: a leap year, so `*-02-29` fires, starting on a
/// Saturday (2028-01-01).
pub const YEAR: i32 = 2028;
const YEAR_DAYS: u32 = 366;
/// 0 = Monday … 6 = Sunday, of 2028-01-01.
const FIRST_WEEKDAY: u32 = 5;
const MONTH_DAYS: [u32; 12] = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/// When a schedule fires: allowed values of each field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    months: BTreeSet<u32>,
    days: BTreeSet<u32>,
    /// 0 = Monday … 6 = Sunday.
    weekdays: BTreeSet<u32>,
    hours: BTreeSet<u32>,
    minutes: BTreeSet<u32>,
    seconds: BTreeSet<u32>,
    /// Cron's rule: when both day of month and day of week are restricted, a
    /// day matching either fires. systemd requires both.
    either_day: bool,
}

fn all(low: u32, high: u32) -> BTreeSet<u32> {
    (low..=high).collect()
}

/// One field: `*`, or a `,`-list of `n`, `a<range>b` and `x/step` items,
/// where `range` is the language's range separator (`..` or `-`).
fn field(spec: &str, low: u32, high: u32, range: &str) -> Option<BTreeSet<u32>> {
    let mut out = BTreeSet::new();
    for item in spec.split(',') {
        let (base, step) = match item.split_once('/') {
            Some((base, step)) => (base, Some(step.parse::<u32>().ok().filter(|s| *s > 0)?)),
            None => (item, None),
        };
        let (from, to) = if base == "*" {
            (low, high)
        } else if let Some((a, b)) = base.split_once(range) {
            (a.parse().ok()?, b.parse().ok()?)
        } else {
            let n: u32 = base.parse().ok()?;
            // `n/step` repeats from n to the end of the field.
            (n, if step.is_some() { high } else { n })
        };
        if from < low || to > high || from > to {
            return None;
        }
        let step = step.unwrap_or(1) as usize;
        out.extend((from..=to).step_by(step));
    }
    Some(out)
}

impl Schedule {
    /// A systemd calendar expression (without a time zone: gen's timers are UTC).
    pub fn calendar(value: &str) -> Option<Schedule> {
        let expanded = match value {
            "minutely" => "*-*-* *:*:00",
            "hourly" => "*-*-* *:00:00",
            "daily" => "*-*-* 00:00:00",
            "weekly" => "Mon *-*-* 00:00:00",
            "monthly" => "*-*-01 00:00:00",
            "yearly" | "annually" => "*-01-01 00:00:00",
            "quarterly" => "*-01,04,07,10-01 00:00:00",
            "semiannually" => "*-01,07-01 00:00:00",
            other => other,
        };
        let mut parts: Vec<&str> = expanded.split(' ').collect();
        let mut weekdays = all(0, 6);
        if parts
            .first()
            .is_some_and(|p| p.starts_with(|c: char| c.is_ascii_alphabetic()))
        {
            weekdays = BTreeSet::new();
            let day = |name: &str| WEEKDAYS.iter().position(|d| *d == name).map(|i| i as u32);
            for item in parts.remove(0).split(',') {
                match item.split_once("..") {
                    Some((a, b)) => {
                        let (a, b) = (day(a)?, day(b)?);
                        if a > b {
                            return None;
                        }
                        weekdays.extend(a..=b);
                    }
                    None => {
                        weekdays.insert(day(item)?);
                    }
                }
            }
        }
        let time = parts.pop()?;
        let (months, days) = match parts.pop() {
            None => (all(1, 12), all(1, 31)),
            Some(date) => {
                let fields: Vec<&str> = date.split('-').collect();
                let (month, day) = match fields.as_slice() {
                    [_, month, day] | [month, day] => (*month, *day),
                    _ => return None,
                };
                (field(month, 1, 12, "..")?, field(day, 1, 31, "..")?)
            }
        };
        if !parts.is_empty() {
            return None;
        }
        let clock: Vec<&str> = time.split(':').collect();
        let (hours, minutes, seconds) = match clock.as_slice() {
            [h, m] => (field(h, 0, 23, "..")?, field(m, 0, 59, "..")?, all(0, 0)),
            [h, m, s] => (
                field(h, 0, 23, "..")?,
                field(m, 0, 59, "..")?,
                field(s, 0, 59, "..")?,
            ),
            _ => return None,
        };
        Some(Schedule {
            months,
            days,
            weekdays,
            hours,
            minutes,
            seconds,
            either_day: false,
        })
    }

    /// A five-field cron schedule (`minute hour day month weekday`).
    pub fn cron(value: &str) -> Option<Schedule> {
        let fields: Vec<&str> = value.split(' ').collect();
        let [minute, hour, day, month, weekday] = fields.as_slice() else {
            return None;
        };
        // Cron counts Sunday as 0 (and 7); gen counts from Monday.
        let weekdays: BTreeSet<u32> = field(weekday, 0, 7, "-")?
            .into_iter()
            .map(|d| (d + 6) % 7)
            .collect();
        Some(Schedule {
            months: field(month, 1, 12, "-")?,
            days: field(day, 1, 31, "-")?,
            weekdays,
            hours: field(hour, 0, 23, "-")?,
            minutes: field(minute, 0, 59, "-")?,
            seconds: all(0, 0),
            either_day: *day != "*" && *weekday != "*",
        })
    }

    fn fires_on(&self, month: u32, day: u32, weekday: u32) -> bool {
        if !self.months.contains(&month) {
            return false;
        }
        let (by_day, by_weekday) = (self.days.contains(&day), self.weekdays.contains(&weekday));
        if self.either_day {
            by_day || by_weekday
        } else {
            by_day && by_weekday
        }
    }

    /// Every start over the reference year, in seconds from 2028-01-01
    /// 00:00:00 UTC, ascending; one per minute at most.
    pub fn starts(&self) -> Vec<u64> {
        let mut out = Vec::new();
        let Some(first_second) = self.seconds.first().copied() else {
            return out;
        };
        let mut day_of_year = 0u32;
        for (m, length) in MONTH_DAYS.iter().enumerate() {
            for day in 1..=*length {
                let weekday = (FIRST_WEEKDAY + day_of_year) % 7;
                if self.fires_on(m as u32 + 1, day, weekday) {
                    for hour in &self.hours {
                        for minute in &self.minutes {
                            out.push(
                                u64::from(day_of_year) * 86_400
                                    + u64::from(*hour) * 3600
                                    + u64::from(*minute) * 60
                                    + u64::from(first_second),
                            );
                        }
                    }
                }
                day_of_year += 1;
            }
        }
        debug_assert_eq!(day_of_year, YEAR_DAYS);
        out
    }
}

/// `seconds` from the start of the reference year as `Sat 2028-01-01 02:00:00`.
pub fn show(seconds: u64) -> String {
    let mut day = (seconds / 86_400) as u32;
    let weekday = WEEKDAYS[((FIRST_WEEKDAY + day) % 7) as usize];
    let mut month = 0;
    while month < 11 && day >= MONTH_DAYS[month] {
        day -= MONTH_DAYS[month];
        month += 1;
    }
    let rest = seconds % 86_400;
    format!(
        "{weekday} {YEAR}-{:02}-{:02} {:02}:{:02}:{:02}",
        month + 1,
        day + 1,
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shorthands_and_fields_expand() {
        let daily = Schedule::calendar("daily").expect("daily");
        assert_eq!(daily.starts().len(), 366);
        let monthly = Schedule::calendar("*-*-01 04:00:00").expect("monthly");
        assert_eq!(monthly.starts().len(), 12);
        assert_eq!(show(monthly.starts()[1]), "Tue 2028-02-01 04:00:00");
        let leap = Schedule::calendar("*-02-29 12:00").expect("leap day");
        assert_eq!(leap.starts().len(), 1);
        let quarter_hours = Schedule::calendar("*:0/15").expect("every 15 minutes");
        assert_eq!(quarter_hours.starts().len(), 366 * 24 * 4);
        assert_eq!(Schedule::calendar("Mon..Fri 25:00"), None);
    }

    /// Cron fires on a day matching either restricted day field.
    #[test]
    fn cron_days_are_either_or() {
        let both = Schedule::cron("0 2 1 * 0").expect("cron");
        // 12 firsts of the month + 53 Sundays in 2028, minus October 1st (a Sunday).
        assert_eq!(both.starts().len(), 12 + 53 - 1);
        let sundays = Schedule::cron("0 2 * * 7").expect("cron");
        assert_eq!(show(sundays.starts()[0]), "Sun 2028-01-02 02:00:00");
    }
}
