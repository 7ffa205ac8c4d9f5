//! Check stage support: the owner record of a sandbox directory, i.e. which
//! gen process made it. A gen killed outright leaves its directory behind;
//! the next one must tell such a leftover from the sandbox of another gen
//! that is still running, and remove only the first.
//!
//! A pid alone is not an identity (pids are reused), so the record is the pid
//! and the process's start time (`/proc/<pid>/stat` field 22, clock ticks
//! since boot). It is written into the directory's name,
//! `gen-check.<pid>-<start>.<random>`, so it exists from the instant the
//! directory does: a file inside would leave a moment in which a directory
//! has no owner, and a gen killed in that moment a directory nobody can
//! judge.

use std::fs;

/// The gen process that made a sandbox directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    pub pid: u32,
    /// Start time of the process, in clock ticks after boot.
    pub start: u64,
}

/// What every sandbox directory's name starts with.
pub const PREFIX: &str = "gen-check.";

impl Owner {
    /// This process, or `None` where `/proc` cannot tell.
    pub fn this_process() -> Option<Owner> {
        Owner::of(std::process::id())
    }

    /// The running (not zombie) process `pid`, if there is one.
    pub fn of(pid: u32) -> Option<Owner> {
        let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // `pid (comm) state ppid ...`: comm may hold spaces and parentheses,
        // so fields are counted after its last `)`; `state` is field 3.
        let (_, rest) = stat.rsplit_once(") ")?;
        let fields: Vec<&str> = rest.split(' ').collect();
        if matches!(fields.first(), Some(&"Z") | Some(&"X")) {
            return None;
        }
        let start = fields.get(22 - 3)?.parse().ok()?;
        Some(Owner { pid, start })
    }

    /// The start of a directory name that records this owner.
    pub fn prefix(&self) -> String {
        format!("{PREFIX}{}-{}.", self.pid, self.start)
    }

    /// The owner recorded in a directory name; `None` for a name gen did not
    /// make this way (another program's, or an older gen's, never removed).
    pub fn parse(name: &str) -> Option<Owner> {
        let record = name.strip_prefix(PREFIX)?.split('.').next()?;
        let (pid, start) = record.split_once('-')?;
        Some(Owner {
            pid: pid.parse().ok()?,
            start: start.parse().ok()?,
        })
    }

    /// Whether the process that made the directory is still running: a
    /// process with its pid exists and started at the same tick.
    pub fn is_alive(&self) -> bool {
        Owner::of(self.pid) == Some(*self)
    }
}

/// When this machine booted, in seconds since the epoch (`btime` in
/// `/proc/stat`). A directory last changed before it belongs to a process
/// of an earlier boot, whatever its pid and start time say now.
pub fn boot_time() -> Option<u64> {
    fs::read_to_string("/proc/stat")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::Owner;

    #[test]
    fn the_record_round_trips_through_a_name() {
        let owner = Owner {
            pid: 4242,
            start: 987_654,
        };
        let name = format!("{}AbC123", owner.prefix());
        assert_eq!(name, "gen-check.4242-987654.AbC123");
        assert_eq!(Owner::parse(&name), Some(owner));
        // Names without a record are not gen's to judge.
        assert_eq!(Owner::parse("gen-check.AbC123"), None);
        assert_eq!(Owner::parse("gen-check.1-x.AbC123"), None);
        assert_eq!(Owner::parse("other.1-2.AbC123"), None);
    }

    #[test]
    fn this_process_is_alive_and_a_changed_start_is_not() {
        let me = Owner::this_process().expect("/proc is mounted");
        assert!(me.is_alive());
        let impostor = Owner {
            start: me.start + 1,
            ..me
        };
        assert!(!impostor.is_alive());
    }
}
