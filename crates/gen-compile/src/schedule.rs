//! Validate stage: the two schedule languages a profile writes, systemd
//! calendar expressions (`backup.schedule`, for timers) and five-field cron
//! schedules (`maintenance.*`, for cron.d). A schedule is copied verbatim into
//! a unit or a cron line, where a mistake would surface only on the host (or
//! start a new cron job), so each is parsed here within the bounds its real
//! parser applies.

use gen_target::host_path::shown;

/// A systemd `OnCalendar=` expression in the forms gen accepts: a shorthand
/// (`daily`, `weekly`, …) or `[weekdays] [year-month-day] hour:minute[:second]`,
/// every component `*`, a number in its range, a list (`,`), a range (`..`)
/// or a repetition (`/`). Anything `systemd-analyze calendar` would refuse is
/// refused here first; `gen check` still runs it.
pub fn check_calendar(value: &str) -> Result<(), String> {
    const SHORTHANDS: &[&str] = &[
        "minutely",
        "hourly",
        "daily",
        "weekly",
        "monthly",
        "yearly",
        "annually",
        "quarterly",
        "semiannually",
    ];
    const WEEKDAYS: &[&str] = &["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    if value.is_empty() || value.len() > 128 {
        return Err("it is empty or longer than 128 characters".into());
    }
    if SHORTHANDS.contains(&value) {
        return Ok(());
    }
    let mut parts: Vec<&str> = value.split(' ').collect();
    if parts.iter().any(|p| p.is_empty()) || parts.len() > 3 {
        return Err("it needs `[weekdays] [date] time`, separated by single spaces".into());
    }
    let weekday_ok = |spec: &str| {
        spec.split(',').all(|item| {
            let mut ends = item.split("..");
            let valid = |d: Option<&str>| d.is_some_and(|d| WEEKDAYS.contains(&d));
            match (ends.next(), ends.next(), ends.next()) {
                (a, None, None) => valid(a),
                (a, b, None) => valid(a) && valid(b),
                _ => false,
            }
        })
    };
    if parts
        .first()
        .is_some_and(|p| p.starts_with(|c: char| c.is_ascii_alphabetic()))
    {
        if !weekday_ok(parts[0]) {
            return Err(format!(
                "`{}` is not a list of weekdays like `Mon..Fri`",
                shown(parts[0])
            ));
        }
        parts.remove(0);
    }
    let Some(time) = parts.pop() else {
        return Err("it has no time of day (`03:00`)".into());
    };
    // Each component: `*`, or `,`-separated numbers, ranges `a..b` and repetitions `a/b`.
    let component = |spec: &str, what: &str, low: u32, high: u32| -> Result<(), String> {
        if spec == "*" {
            return Ok(());
        }
        for item in spec.split(',') {
            let (range, step) = match item.split_once('/') {
                Some((range, step)) => (range, Some(step)),
                None => (item, None),
            };
            if let Some(step) = step {
                let ok =
                    step.len() <= 4 && step.parse::<u32>().is_ok_and(|s| s > 0 && s <= high.max(1));
                if !ok {
                    return Err(format!(
                        "the {what} repetition `/{}` is not valid",
                        shown(step)
                    ));
                }
            }
            let number = |n: &str| -> Result<u32, String> {
                let parsed = if n.len() <= 4 {
                    n.parse::<u32>().ok()
                } else {
                    None
                };
                parsed
                    .filter(|v| (low..=high).contains(v))
                    .ok_or_else(|| format!("the {what} `{}` is outside {low}-{high}", shown(n)))
            };
            if range == "*" && step.is_some() {
                continue;
            }
            match range.split_once("..") {
                Some((a, b)) if number(a)? > number(b)? => {
                    return Err(format!("the {what} range `{range}` runs backwards"));
                }
                Some(_) => {}
                None => {
                    number(range)?;
                }
            }
        }
        Ok(())
    };
    let clock: Vec<&str> = time.split(':').collect();
    if !(2..=3).contains(&clock.len()) {
        return Err(format!(
            "`{}` is not a time like `03:00` or `*:0/15`",
            shown(time)
        ));
    }
    component(clock[0], "hour", 0, 23)?;
    component(clock[1], "minute", 0, 59)?;
    if let Some(second) = clock.get(2) {
        component(second, "second", 0, 59)?;
    }
    if let Some(date) = parts.pop() {
        let fields: Vec<&str> = date.split('-').collect();
        let (year, month, day) = match fields.as_slice() {
            [year, month, day] => (Some(*year), *month, *day),
            [month, day] => (None, *month, *day),
            _ => {
                return Err(format!(
                    "`{}` is not a date like `*-*-*` or `*-01-01`",
                    shown(date)
                ))
            }
        };
        if let Some(year) = year {
            component(year, "year", 1970, 2199)?;
        }
        component(month, "month", 1, 12)?;
        component(day, "day", 1, 31)?;
    }
    if !parts.is_empty() {
        return Err("it needs `[weekdays] [date] time`".into());
    }
    Ok(())
}

/// Checks a five-field cron schedule: every field a list of `*`, numbers,
/// ranges and steps within that field's bounds. Names and `@daily` shortcuts
/// are refused to keep one spelling.
pub fn check_cron_schedule(value: &str) -> Result<(), String> {
    const BOUNDS: [(&str, u32, u32); 5] = [
        ("minute", 0, 59),
        ("hour", 0, 23),
        ("day of month", 1, 31),
        ("month", 1, 12),
        ("day of week", 0, 7),
    ];
    let fields: Vec<&str> = value.split(' ').collect();
    if fields.len() != 5 || fields.iter().any(|f| f.is_empty()) {
        return Err("it needs exactly five fields separated by single spaces".into());
    }
    for (field, (what, low, high)) in fields.iter().zip(BOUNDS) {
        for item in field.split(',') {
            let (range, step) = match item.split_once('/') {
                Some((range, step)) => (range, Some(step)),
                None => (item, None),
            };
            if let Some(step) = step {
                let step: u32 = step
                    .parse()
                    .map_err(|_| format!("the {what} step `{}` is not a number", shown(step)))?;
                if step == 0 || step > high {
                    return Err(format!("the {what} step {step} is out of range"));
                }
            }
            if range == "*" {
                continue;
            }
            let number = |s: &str| -> Result<u32, String> {
                let n: u32 = s
                    .parse()
                    .map_err(|_| format!("the {what} `{}` is not a number", shown(s)))?;
                if n < low || n > high {
                    return Err(format!("the {what} {n} is outside {low}-{high}"));
                }
                Ok(n)
            };
            match range.split_once('-') {
                Some((a, b)) => {
                    if number(a)? > number(b)? {
                        return Err(format!("the {what} range `{range}` runs backwards"));
                    }
                }
                None => {
                    number(range)?;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{check_calendar, check_cron_schedule};

    #[test]
    fn calendar_expressions_are_checked_like_systemd_does() {
        for good in [
            "daily",
            "*-*-* 03:15:00",
            "Mon..Fri *-*-* 02:00",
            "Sat,Sun 04:30",
            "*:0/15",
            "*-01-01 00:00:00",
            "2026-*-1,15 12:00",
        ] {
            assert_eq!(check_calendar(good), Ok(()), "{good:?}");
        }
        for bad in [
            "",
            "*-*-* 25:00:00",
            "*-*-* 03:60",
            "*-13-* 03:00",
            "Funday 03:00",
            "*-*-* 03",
            "nightly",
            "*-*-*  03:00",
            "03:00;rm",
            "*-*-* 03:00 extra",
            "Mon..Fri..Sun 03:00",
            "*-*-* 03:00/0",
        ] {
            assert!(check_calendar(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn cron_fields_are_bounded() {
        assert!(check_cron_schedule("0 2 * * *").is_ok());
        assert!(check_cron_schedule("*/5 * * * 1-5").is_ok());
        assert!(check_cron_schedule("0,30 8-18 1 1,6 0").is_ok());
        for bad in [
            "0 2 * *",
            "60 * * * *",
            "* 24 * * *",
            "* * 0 * *",
            "*/0 * * * *",
            "0 2 * * * root",
            "@daily",
            "0  2 * * *",
            "5-1 * * * *",
            "0 2 * * *\n* * * * * root x",
        ] {
            assert!(check_cron_schedule(bad).is_err(), "{bad:?}");
        }
    }
}
