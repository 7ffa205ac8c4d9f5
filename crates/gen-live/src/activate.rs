//! Apply stage, last step: tell the running system about the files that
//! changed. Units whose unit file is gone are stopped first (systemd still
//! knows a running unit until it stops), then `systemctl daemon-reload`
//! (unit files), restarts and reloads, as the plan's activations list them. The program is `systemctl`
//! unless `GEN_SYSTEMCTL` names another one (tests record the calls instead of
//! running them; a host without systemd can point it at a shim).
//!
//! Activations are promises kept across runs, like NixOS's persisted action
//! lists: an apply records its activations in its generation (`pending`)
//! before running them and narrows the record to the commands that failed;
//! a rollback records what restoring asks. Every later apply, `gen activate`
//! and rollback runs what any record still holds ([`outstanding`]) until it
//! succeeds, so a failed restart is never forgotten behind an "up to date".

use std::process::Command;

use crate::generation::{Generation, State};
use crate::plan::Activations;

pub const SYSTEMCTL_ENV: &str = "GEN_SYSTEMCTL";

/// `systemctl stop`'s exit status for a unit systemd does not know.
const NO_SUCH_UNIT: i32 = 5;
/// Names the program run for compose restarts instead of `docker` (tests
/// record the calls; a host with another engine points it at its CLI).
pub const DOCKER_ENV: &str = "GEN_DOCKER";

/// The compose restarts the activations ask for: each one `docker`'s argv,
/// the project and service as separate arguments (no shell), run after the
/// systemctl commands.
pub fn compose_commands(activations: &Activations) -> Vec<Vec<String>> {
    activations
        .compose_restart
        .iter()
        .map(|s| {
            vec![
                "compose".to_string(),
                "--project-name".to_string(),
                s.project.clone(),
                "restart".to_string(),
                s.service.clone(),
            ]
        })
        .collect()
}

/// Every command the activations ask for, as shown to a person:
/// `systemctl restart x.service`, `docker compose … restart postgres`.
pub fn shown_commands(activations: &Activations) -> Vec<String> {
    commands(activations)
        .iter()
        .map(|args| format!("systemctl {}", args.join(" ")))
        .chain(
            compose_commands(activations)
                .iter()
                .map(|args| format!("docker {}", args.join(" "))),
        )
        .collect()
}

/// The activations as one line of text, the same in `gen diff`, the apply
/// prompt and `gen apply`: `activations: systemctl daemon-reload, systemctl
/// restart x.service` (the JSON of all three is [`Activations`] itself).
pub fn summary(activations: &Activations) -> String {
    format!("activations: {}", shown_commands(activations).join(", "))
}

fn program_from(env: &str, default: &str) -> String {
    std::env::var(env)
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| default.to_string())
}

/// The commands the activations ask for, in the order they run.
pub fn commands(activations: &Activations) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for unit in &activations.stop {
        out.push(vec!["stop".to_string(), unit.clone()]);
    }
    if activations.daemon_reload {
        out.push(vec!["daemon-reload".to_string()]);
    }
    for unit in &activations.restart {
        out.push(vec!["restart".to_string(), unit.clone()]);
    }
    for unit in &activations.reload {
        out.push(vec!["reload".to_string(), unit.clone()]);
    }
    out
}

/// The activations still owed to the host: the pending ones of every
/// generation whose result the host holds (complete), or whose rollback it
/// holds (rolled back). Records being recovered are not counted: recovery
/// decides what they owe.
pub fn outstanding(generations: &[Generation]) -> Activations {
    generations
        .iter()
        .filter(|g| matches!(g.state, State::Complete | State::RolledBack))
        .filter_map(|g| g.pending.as_ref())
        .fold(Activations::default(), |all, pending| all.union(pending))
}

/// What one run of the activations did.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The commands that succeeded, as run.
    pub ran: Vec<String>,
    /// Why each failed command failed.
    pub failures: Vec<String>,
    /// What is still to do: the failed commands, or everything when
    /// `daemon-reload` itself failed (a restart after it ran the old units).
    pub left: Activations,
}

impl Report {
    pub fn succeeded(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Runs every command, even after one fails, and reports them all.
pub fn run(activations: &Activations) -> Report {
    let program = program_from(SYSTEMCTL_ENV, "systemctl");
    let mut report = Report::default();
    let mut left = Activations::default();
    for args in commands(activations) {
        let shown = format!("{program} {}", args.join(" "));
        let failure = match Command::new(&program).args(&args).status() {
            Ok(status) if status.success() => {
                report.ran.push(shown);
                continue;
            }
            // systemctl's "no such unit" (LSB 5): a unit that is not loaded
            // is as stopped as it gets.
            Ok(status) if args[0] == "stop" && status.code() == Some(NO_SUCH_UNIT) => {
                report.ran.push(format!("{shown} (not loaded)"));
                continue;
            }
            Ok(status) => format!("`{shown}` exited with {status}"),
            Err(e) => format!("`{shown}` could not run: {e}"),
        };
        report.failures.push(failure);
        match (args[0].as_str(), args.get(1)) {
            ("restart", Some(unit)) => left.restart.push(unit.clone()),
            ("reload", Some(unit)) => left.reload.push(unit.clone()),
            ("stop", Some(unit)) => left.stop.push(unit.clone()),
            _ => left.daemon_reload = true,
        }
    }
    let docker = program_from(DOCKER_ENV, "docker");
    for (args, service) in compose_commands(activations)
        .into_iter()
        .zip(&activations.compose_restart)
    {
        let shown = format!("{docker} {}", args.join(" "));
        let failure = match Command::new(&docker).args(&args).status() {
            Ok(status) if status.success() => {
                report.ran.push(shown);
                continue;
            }
            Ok(status) => format!("`{shown}` exited with {status}"),
            Err(e) => format!("`{shown}` could not run: {e}"),
        };
        report.failures.push(failure);
        left.compose_restart.push(service.clone());
    }
    report.left = if left.daemon_reload {
        activations.clone()
    } else {
        left
    };
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    fn units(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn what_a_record_still_owes_is_what_failed_of_its_own() {
        let asked = Activations {
            stop: vec![],
            daemon_reload: true,
            restart: units(&["a.service", "b.service"]),
            reload: units(&["c.service", "d.service"]),
            compose_restart: vec![],
        };
        let left = Activations {
            stop: vec![],
            daemon_reload: false,
            // `d` was reloaded by one record and restarted by another: the
            // failed restart leaves the reload owed.
            restart: units(&["b.service", "d.service"]),
            reload: units(&["c.service"]),
            compose_restart: vec![],
        };
        assert_eq!(
            asked.still_in(&left),
            Activations {
                stop: vec![],
                daemon_reload: false,
                restart: units(&["b.service"]),
                reload: units(&["c.service", "d.service"]),
                compose_restart: vec![],
            }
        );
        assert!(asked.still_in(&Activations::default()).is_empty());
        let union = asked.union(&Activations {
            stop: vec![],
            daemon_reload: false,
            restart: units(&["c.service"]),
            reload: units(&["e.service"]),
            compose_restart: vec![],
        });
        assert_eq!(
            union.restart,
            units(&["a.service", "b.service", "c.service"])
        );
        assert_eq!(union.reload, units(&["d.service", "e.service"]));
    }

    /// A compose restart is docker's argv, the names as separate arguments;
    /// a record written before compose restarts existed still reads, and
    /// one without them is written as before.
    #[test]
    fn compose_restarts_are_argv_and_records_stay_compatible() {
        use crate::plan::ComposeService;
        let asked = Activations {
            compose_restart: vec![ComposeService {
                project: "shop".into(),
                service: "postgres".into(),
            }],
            ..Activations::default()
        };
        assert_eq!(
            compose_commands(&asked),
            vec![vec![
                "compose".to_string(),
                "--project-name".into(),
                "shop".into(),
                "restart".into(),
                "postgres".into()
            ]]
        );
        assert_eq!(
            shown_commands(&asked),
            ["docker compose --project-name shop restart postgres"]
        );
        assert!(!asked.is_empty());
        assert_eq!(asked.still_in(&asked), asked);
        assert!(asked.still_in(&Activations::default()).is_empty());
        assert_eq!(asked.union(&Activations::default()), asked);
        let old: Activations =
            serde_json::from_str(r#"{"daemon_reload":true,"restart":[],"reload":[]}"#).unwrap();
        assert!(old.compose_restart.is_empty());
        assert_eq!(
            serde_json::to_string(&old).unwrap(),
            r#"{"daemon_reload":true,"restart":[],"reload":[]}"#
        );
    }
}
