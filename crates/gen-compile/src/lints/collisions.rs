//! Lints, schedules that collide: two scheduled runs that use one resource
//! (the database) expected to run at the same time. Every schedule is
//! expanded over one leap year (`calendar`), each run is the half-open
//! interval [start, start + expected duration), and two runs of different
//! keys that overlap are reported once per pair, at the first overlap.
//!
//! Built-in runs take part with fixed durations: the backup 1h, VACUUM
//! 30m; jobs with their `duration` (default 15m). The database is the
//! deployment's one primary, so a job on an API host that connects to it
//! collides with the backup on the database host.

use super::{Context, Finding};
use crate::calendar::{self, Schedule};
use crate::profile::{Resource, Role};
use crate::source::push_key;

/// One scheduled run, as the lint sees it.
struct Run {
    /// The key that sets its schedule (where a finding is located).
    key: String,
    /// What runs, for the message.
    what: String,
    schedule_text: String,
    starts: Vec<u64>,
    duration: u64,
    uses: Vec<Resource>,
}

/// Backup 1h and VACUUM 30m, as the design of the collision check fixes them.
const BACKUP_SECONDS: u64 = 3600;
const VACUUM_SECONDS: u64 = 1800;

fn runs(cx: &Context) -> Vec<Run> {
    let d = cx.d;
    let mut out = Vec::new();
    let primary = d
        .postgres
        .as_ref()
        .and(d.hosts_with(Role::DatabasePrimary).next());
    if let Some(primary) = primary {
        let vacuum = &d.maintenance.vacuum_schedule;
        if let Some(schedule) = Schedule::cron(vacuum) {
            out.push(Run {
                key: "maintenance.vacuum_schedule".into(),
                what: format!("VACUUM ANALYZE on `{}` (30m)", primary.name),
                schedule_text: vacuum.clone(),
                starts: schedule.starts(),
                duration: VACUUM_SECONDS,
                uses: vec![Resource::Database],
            });
        }
        if let Some(backup) = &d.backup {
            if let Some(schedule) = Schedule::calendar(&backup.schedule) {
                out.push(Run {
                    key: "backup.schedule".into(),
                    what: format!("the backup on `{}` (1h)", primary.name),
                    schedule_text: backup.schedule.clone(),
                    starts: schedule.starts(),
                    duration: BACKUP_SECONDS,
                    uses: vec![Resource::Database],
                });
            }
        }
    }
    for job in &d.jobs {
        let (Some(text), false) = (job.schedule(), job.uses.is_empty()) else {
            continue;
        };
        let Some(schedule) = Schedule::calendar(text) else {
            continue;
        };
        out.push(Run {
            key: format!("{}.schedule", push_key("jobs", &job.name)),
            what: format!(
                "job `{}` on {} ({})",
                job.name,
                job.hosts
                    .iter()
                    .map(|h| format!("`{h}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                job.duration
            ),
            schedule_text: text.to_string(),
            starts: schedule.starts(),
            duration: job.duration.seconds(),
            uses: job.uses.iter().copied().collect(),
        });
    }
    out
}

/// The first pair of overlapping runs of `a` and `b` (half-open intervals),
/// as their two start times.
fn first_overlap(a: &Run, b: &Run) -> Option<(u64, u64)> {
    let (mut i, mut j) = (0, 0);
    while i < a.starts.len() && j < b.starts.len() {
        let (sa, sb) = (a.starts[i], b.starts[j]);
        if sa < sb + b.duration && sb < sa + a.duration {
            return Some((sa, sb));
        }
        // Drop the run that ends first: it cannot overlap anything later.
        if sa + a.duration <= sb + b.duration {
            i += 1;
        } else {
            j += 1;
        }
    }
    None
}

/// Two scheduled runs that use one resource and overlap.
pub(super) fn schedule_collision(cx: &Context) -> Vec<Finding> {
    let runs = runs(cx);
    let mut out = Vec::new();
    for (n, a) in runs.iter().enumerate() {
        for b in &runs[n + 1..] {
            let Some(shared) = a.uses.iter().find(|r| b.uses.contains(r)) else {
                continue;
            };
            let Some((sa, sb)) = first_overlap(a, b) else {
                continue;
            };
            // Located at the run that starts later; of a tie, at the later
            // of VACUUM (a default more often than not), the backup, jobs.
            let (first, first_start, later, later_start) = if sa > sb {
                (b, sb, a, sa)
            } else {
                (a, sa, b, sb)
            };
            out.push(Finding::at(
                later.key.clone(),
                format!(
                    "`{}` (`{}`: {}) starts at {} UTC while `{}` (`{}`: {}) started at {} UTC is expected to run: both use the {}",
                    later.key,
                    later.schedule_text,
                    later.what,
                    calendar::show(later_start),
                    first.key,
                    first.schedule_text,
                    first.what,
                    calendar::show(first_start),
                    shared.as_str()
                ),
                "move one of the schedules so that each starts after the other is expected to end (a job's expected run time is its `duration`); if they are meant to overlap, allow `schedule-collision` with the reason",
            ));
        }
    }
    out
}
