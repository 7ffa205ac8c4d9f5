//! Plan stage (pure): target manifest + actual state + the manifest of the
//! previous apply → the changes that make the host equal the target, each with
//! the live content it expects to replace and what the running system must do
//! afterwards. Like NixOS's switch-to-configuration, every change is classified
//! by the action it needs: none, reload or restart.
//!
//! A plan is also a file (`gen plan --out`): `gen apply --plan` recomputes the
//! plan on the host and refuses unless it is exactly the one reviewed, so a
//! host that drifted since is never written.
//!
//! A change is sensitive when either side may hold a credential: the target
//! record or the previous apply's record is marked sensitive or private, or
//! the live file is readable by its owner only. A sensitive change never
//! carries the plain sha256 of a content (a guessable secret is confirmed by
//! its hash): its digests are salted with the plan's own random salt, and
//! `gen apply --plan` recomputes them with that salt to compare.

use std::collections::{BTreeMap, BTreeSet};

use camino::Utf8Path;
use serde::{Deserialize, Serialize};

use crate::actual::Actual;
use crate::generation::Generation;
use gen_target::error::{Error, Result};
use gen_target::manifest::{sha256_hex, FileRecord, Manifest};
use gen_target::Activation;

/// Bumped when the plan file's shape changes incompatibly (2: `salt`, and
/// salted digests for sensitive changes).
pub const FORMAT: u32 = 2;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    pub format: u32,
    pub profile: String,
    pub host: String,
    /// The tree hash of the manifest this plan applies.
    pub tree_hash: String,
    /// Random, drawn for each plan: the digests of sensitive changes are
    /// `sha256(salt ":" sha256(content))`, so the same secret gives unrelated
    /// digests in two plans and no precomputed table finds it.
    pub salt: String,
    /// Managed files already as the target wants them.
    pub unchanged: usize,
    /// Sorted by path.
    pub changes: Vec<Change>,
    /// In the shape every output shows ([`Shown`]); read back either way.
    #[serde(serialize_with = "shown")]
    pub activations: Activations,
}

/// Activations as gen shows them (diff, plan, apply, rollback, activate):
/// every field, always, so a reader parses one type. Generation records
/// keep [`Activations`]' own form, which leaves out empty `stop` and
/// `compose_restart` so that a gen older than those fields still reads them.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Shown<'a> {
    pub stop: &'a [String],
    pub daemon_reload: bool,
    pub restart: &'a [String],
    pub reload: &'a [String],
    pub compose_restart: &'a [ComposeService],
}

fn shown<S: serde::Serializer>(
    activations: &Activations,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    activations.shown().serialize(serializer)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// The file does not exist on the host.
    Create,
    /// Other content (mode and owner may differ too).
    UpdateContent,
    /// Same content, other mode, owner or group.
    UpdateMetadata,
    /// A previous apply managed the file; the manifest no longer lists it.
    Remove,
}

/// What the running system must do for one change, least disruptive first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    None,
    Reload,
    Restart,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Change {
    pub path: String,
    /// A unit's `[Install]` link, not a file: the path it holds (the
    /// target's; for a removal, the previous apply's). Creating or updating
    /// one enables the unit, removing one disables it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    pub kind: ChangeKind,
    /// The live content's sha256 this change replaces; `None`: the file must
    /// not exist. Salted (see [`Plan::salt`]) when the change is sensitive.
    pub expected_sha256: Option<String>,
    /// The content's sha256 afterwards; `None`: the file is removed. Salted
    /// when the change is sensitive.
    pub target_sha256: Option<String>,
    /// Target mode, owner and group (absent for removals).
    pub mode: Option<String>,
    pub owner: Option<String>,
    pub group: Option<String>,
    /// Credentials on either side: diffs never print the content, nor a
    /// plain digest of it.
    pub sensitive: bool,
    pub activation: Activation,
    pub action: Action,
}

/// The commands the changes ask for, run in this order after every file is written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Activations {
    /// Units whose unit file the change removes, stopped first: a unit
    /// dropped from the profile must not keep running until the next boot.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stop: Vec<String>,
    pub daemon_reload: bool,
    pub restart: Vec<String>,
    /// Units reloaded; a unit that is restarted is not also reloaded.
    pub reload: Vec<String>,
    /// Compose services restarted, after the units (the compose unit may
    /// have just recreated them). Absent from records written before gen
    /// knew them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub compose_restart: Vec<ComposeService>,
}

/// One service of a compose project (`docker compose --project-name
/// <project> restart <service>`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComposeService {
    pub project: String,
    pub service: String,
}

impl Activations {
    /// These activations in the shape every output shows.
    pub fn shown(&self) -> Shown<'_> {
        Shown {
            stop: &self.stop,
            daemon_reload: self.daemon_reload,
            restart: &self.restart,
            reload: &self.reload,
            compose_restart: &self.compose_restart,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.stop.is_empty()
            && !self.daemon_reload
            && self.restart.is_empty()
            && self.reload.is_empty()
            && self.compose_restart.is_empty()
    }

    /// Both sets of commands, as one run: a unit restarted by either is not
    /// also reloaded.
    pub fn union(&self, other: &Activations) -> Activations {
        let restart: BTreeSet<String> =
            self.restart.iter().chain(&other.restart).cloned().collect();
        let reload: BTreeSet<String> = self.reload.iter().chain(&other.reload).cloned().collect();
        // A unit brought back (restarted) after it was dropped is not stopped.
        let stop: BTreeSet<String> = self.stop.iter().chain(&other.stop).cloned().collect();
        let compose_restart: BTreeSet<ComposeService> = self
            .compose_restart
            .iter()
            .chain(&other.compose_restart)
            .cloned()
            .collect();
        Activations {
            stop: stop.difference(&restart).cloned().collect(),
            daemon_reload: self.daemon_reload || other.daemon_reload,
            reload: reload.difference(&restart).cloned().collect(),
            restart: restart.into_iter().collect(),
            compose_restart: compose_restart.into_iter().collect(),
        }
    }

    /// The part of these commands that `left` (what a run did not get done)
    /// still holds. A reload here counts as left when the run restarted the
    /// unit instead and that failed.
    pub fn still_in(&self, left: &Activations) -> Activations {
        Activations {
            stop: self
                .stop
                .iter()
                .filter(|u| left.stop.contains(u))
                .cloned()
                .collect(),
            daemon_reload: self.daemon_reload && left.daemon_reload,
            restart: self
                .restart
                .iter()
                .filter(|u| left.restart.contains(u))
                .cloned()
                .collect(),
            reload: self
                .reload
                .iter()
                .filter(|u| left.reload.contains(u) || left.restart.contains(u))
                .cloned()
                .collect(),
            compose_restart: self
                .compose_restart
                .iter()
                .filter(|s| left.compose_restart.contains(s))
                .cloned()
                .collect(),
        }
    }
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Reads a plan file written by `gen plan --out`, refusing anything that
    /// is not a plan of the format this gen writes.
    pub fn read(path: &Utf8Path) -> Result<Plan> {
        let bytes = std::fs::read(path).map_err(|e| Error::read(path, e))?;
        let plan: Plan = serde_json::from_slice(&bytes).map_err(|e| Error::PlanMismatch {
            message: format!("`{path}` is not a gen plan: {e}"),
        })?;
        if plan.format != FORMAT {
            return Err(Error::PlanMismatch {
                message: format!(
                    "`{path}` has plan format {}, gen reads {FORMAT}",
                    plan.format
                ),
            });
        }
        Ok(plan)
    }
}

/// A record's content is secret-bearing: marked sensitive, or neither group
/// nor others may read it.
pub fn is_sensitive(record: &FileRecord) -> bool {
    record.sensitive || is_private_mode(&record.mode)
}

/// An octal mode that neither group nor others may read (or no mode at all).
fn is_private_mode(mode: &str) -> bool {
    u32::from_str_radix(mode, 8).map_or(true, |m| m & 0o044 == 0)
}

/// Whether a change at `path` may show a credential: the target record, the
/// previous apply's record or the live file says so.
fn sensitive_path(
    record: Option<&FileRecord>,
    previous: Option<&FileRecord>,
    live: &Actual,
) -> bool {
    record.is_some_and(is_sensitive)
        || previous.is_some_and(is_sensitive)
        || matches!(live, Actual::Present(file) if is_private_mode(&file.mode))
}

/// A fresh salt for one plan: 16 bytes from the kernel's generator, in hex.
pub fn new_salt() -> Result<String> {
    let mut bytes = [0u8; 16];
    let mut filled = 0;
    while filled < bytes.len() {
        match rustix::rand::getrandom(&mut bytes[filled..], rustix::rand::GetRandomFlags::empty()) {
            Ok(n) => filled += n,
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(Error::read("the kernel's random generator", e.into())),
        }
    }
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The digest a plan records for a content whose sha256 is `sha256`: the
/// plain one, or for a sensitive change the salted one. Salting the content's
/// sha256 (not the content) lets a plan be recomputed from the scan's hashes
/// alone; a guess still costs a salted hash per plan.
fn digest(sha256: &str, sensitive: bool, salt: &str) -> String {
    if sensitive {
        format!(
            "salted:{}",
            sha256_hex(format!("{salt}:{sha256}").as_bytes())
        )
    } else {
        sha256.to_string()
    }
}

/// Computes the plan, salting the digests of sensitive changes with `salt`
/// ([`new_salt`]; the reviewed plan's own salt to compare with it). `actual`
/// must hold every path of `target` and of `previous` (absent paths as
/// `Actual::Absent`).
pub fn plan(
    target: &Manifest,
    actual: &BTreeMap<String, Actual>,
    previous: Option<&Manifest>,
    salt: &str,
) -> Plan {
    let previous_records: BTreeMap<&str, &FileRecord> = previous
        .map(|m| m.files.as_slice())
        .unwrap_or_default()
        .iter()
        .map(|r| (r.path.as_str(), r))
        .collect();
    let mut changes = Vec::new();
    let mut unchanged = 0;
    for record in &target.files {
        let live = actual.get(&record.path).unwrap_or(&Actual::Absent);
        let kind = match live {
            Actual::Absent => Some(ChangeKind::Create),
            // A link: gen's own is left alone; another (a link elsewhere,
            // or a file) is replaced, and recorded first like any file.
            Actual::Link(link) if record.link.as_ref() == Some(&link.target) => None,
            _ if record.link.is_some() => Some(ChangeKind::UpdateContent),
            // A link a previous apply made where the target wants a file.
            Actual::Link(_) => Some(ChangeKind::UpdateContent),
            Actual::Present(file) if file.sha256 != record.sha256 => {
                Some(ChangeKind::UpdateContent)
            }
            Actual::Present(file)
                if file.mode != record.mode
                    || file.owner != record.owner
                    || file.group != record.group =>
            {
                Some(ChangeKind::UpdateMetadata)
            }
            Actual::Present(_) => None,
        };
        let Some(kind) = kind else {
            unchanged += 1;
            continue;
        };
        // Content that did not change asks nothing of the services reading it.
        let activation = if kind == ChangeKind::UpdateMetadata {
            Activation::None
        } else {
            record.activation.clone()
        };
        let sensitive = sensitive_path(
            Some(record),
            previous_records.get(record.path.as_str()).copied(),
            live,
        );
        changes.push(Change {
            path: record.path.clone(),
            link: record.link.clone(),
            kind,
            expected_sha256: live.sha256().map(|s| digest(s, sensitive, salt)),
            target_sha256: Some(digest(&record.sha256, sensitive, salt)),
            mode: Some(record.mode.clone()),
            owner: Some(record.owner.clone()),
            group: Some(record.group.clone()),
            sensitive,
            action: action_of(&activation, record.link.is_some()),
            activation,
        });
    }
    let managed: BTreeSet<&str> = target.files.iter().map(|r| r.path.as_str()).collect();
    for record in previous.map(|m| m.files.as_slice()).unwrap_or_default() {
        if managed.contains(record.path.as_str()) {
            continue;
        }
        // Only what gen wrote is removed: any file at a file's path, but at
        // a link's path only the link gen made (one changed since is no
        // longer gen's, and stays).
        let (live, expected) = match (actual.get(&record.path), &record.link) {
            (Some(live @ Actual::Present(file)), None) => (live, file.sha256.clone()),
            (Some(live @ Actual::Link(now)), Some(link)) if now.target == *link => {
                (live, now.sha256.clone())
            }
            _ => continue,
        };
        let sensitive = sensitive_path(None, Some(record), live);
        // A removed unit file is not restarted (see `activations`): systemd
        // only needs a daemon-reload to forget it.
        let activation = record.activation.clone();
        changes.push(Change {
            path: record.path.clone(),
            link: record.link.clone(),
            kind: ChangeKind::Remove,
            expected_sha256: Some(digest(&expected, sensitive, salt)),
            target_sha256: None,
            mode: None,
            owner: None,
            group: None,
            sensitive,
            action: action_of(&activation, record.link.is_some()),
            activation,
        });
    }
    changes.sort_by(|a, b| a.path.cmp(&b.path));
    let activations = activations(changes.iter().map(|c| Asked {
        activation: &c.activation,
        path: &c.path,
        removed: c.kind == ChangeKind::Remove,
        link: c.link.is_some(),
    }));
    Plan {
        format: FORMAT,
        profile: target.profile.clone(),
        host: target.host.clone(),
        tree_hash: target.tree_hash.clone(),
        salt: salt.to_string(),
        unchanged,
        changes,
        activations,
    }
}

/// What a change asks of the running system. A link asks systemd to
/// re-read its dependencies (daemon-reload), nothing of the unit itself.
fn action_of(activation: &Activation, link: bool) -> Action {
    if link {
        return Action::Reload;
    }
    match activation {
        Activation::None => Action::None,
        Activation::Reload { .. } => Action::Reload,
        Activation::Restart { .. }
        | Activation::DaemonReload { .. }
        | Activation::ComposeService { .. } => Action::Restart,
    }
}

/// What a rollback of `generation` asks of the host: each restored path's
/// activation as the generation's manifest records it (restoring a file asks
/// what writing it did); a unit file restored to absence, and an `[Install]`
/// link, only need systemd to re-read its units.
pub fn restore_activations(generation: &Generation) -> Activations {
    let recorded: BTreeMap<&str, (&Activation, bool)> = generation
        .manifest
        .files
        .iter()
        .map(|r| (r.path.as_str(), (&r.activation, r.link.is_some())))
        .collect();
    activations(generation.before.iter().filter_map(|before| {
        recorded
            .get(before.path.as_str())
            .map(|(activation, link)| Asked {
                activation,
                path: &before.path,
                removed: before.file.is_none(),
                link: *link,
            })
    }))
}

/// What one changed path asks of the running system.
struct Asked<'a> {
    activation: &'a Activation,
    path: &'a str,
    /// The path is gone afterwards.
    removed: bool,
    /// The path is a unit's `[Install]` link.
    link: bool,
}

/// The activations a set of changes asks for. A removed unit file or a link
/// asks for the daemon-reload of its `DaemonReload` activation, not for the
/// restart; and a unit whose own unit file is removed is stopped, and neither
/// restarted nor reloaded (systemd forgets it at the daemon-reload: a restart
/// could only fail, and would then stay pending for ever).
fn activations<'a>(changes: impl Iterator<Item = Asked<'a>>) -> Activations {
    let mut daemon_reload = false;
    let mut restart = BTreeSet::new();
    let mut reload = BTreeSet::new();
    let mut compose_restart = BTreeSet::new();
    let mut gone = BTreeSet::new();
    for asked in changes {
        let daemon_reload_only = asked.removed || asked.link;
        if asked.removed && !asked.link {
            // The unit's own file, not a drop-in that reloads it.
            if let (Activation::DaemonReload { unit }, Some((_, name))) =
                (asked.activation, asked.path.rsplit_once('/'))
            {
                if name == unit {
                    gone.insert(name.to_string());
                }
            }
        }
        match asked.activation {
            Activation::None => {}
            Activation::Reload { unit } => {
                reload.insert(unit.clone());
            }
            Activation::Restart { unit } => {
                restart.insert(unit.clone());
            }
            Activation::DaemonReload { unit } => {
                daemon_reload = true;
                if !daemon_reload_only {
                    restart.insert(unit.clone());
                }
            }
            Activation::ComposeService { project, service } => {
                compose_restart.insert(ComposeService {
                    project: project.clone(),
                    service: service.clone(),
                });
            }
        }
    }
    let restart: BTreeSet<String> = restart.difference(&gone).cloned().collect();
    let reload = reload
        .iter()
        .filter(|u| !restart.contains(*u) && !gone.contains(*u))
        .cloned()
        .collect();
    Activations {
        stop: gone.into_iter().collect(),
        daemon_reload,
        restart: restart.into_iter().collect(),
        reload,
        compose_restart: compose_restart.into_iter().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actual::LiveFile;
    use gen_target::Validator;

    fn record(path: &str, sha: char, activation: Activation) -> FileRecord {
        FileRecord {
            path: path.into(),
            link: None,
            sha256: sha.to_string().repeat(64),
            size: 1,
            mode: "0644".into(),
            owner: "root".into(),
            group: "root".into(),
            sensitive: false,
            template: "t".into(),
            source: "s".into(),
            activation,
            validator: Validator::Shell,
            health_gate: false,
            exposure_budget: None,
        }
    }

    fn live(sha: char, mode: &str) -> Actual {
        Actual::Present(LiveFile {
            sha256: sha.to_string().repeat(64),
            mode: mode.into(),
            uid: 0,
            gid: 0,
            owner: "root".into(),
            group: "root".into(),
        })
    }

    #[test]
    fn classifies_every_kind_of_change() {
        let reload = Activation::Reload {
            unit: "nginx.service".into(),
        };
        let restart = Activation::Restart {
            unit: "nginx.service".into(),
        };
        let target = Manifest::new(
            "p",
            "h",
            String::new(),
            vec![
                record("/a", 'a', reload.clone()),
                record("/b", 'b', restart.clone()),
                record("/c", 'c', reload.clone()),
                record("/d", 'd', Activation::None),
            ],
        );
        let previous = Manifest::new(
            "p",
            "h",
            String::new(),
            vec![
                record(
                    "/e",
                    'e',
                    Activation::DaemonReload {
                        unit: "x.service".into(),
                    },
                ),
                record("/f", 'f', Activation::None),
            ],
        );
        let actual = BTreeMap::from([
            ("/a".to_string(), Actual::Absent),
            ("/b".to_string(), live('0', "0644")),
            ("/c".to_string(), live('c', "0600")),
            ("/d".to_string(), live('d', "0644")),
            ("/e".to_string(), live('e', "0644")),
            ("/f".to_string(), Actual::Absent),
        ]);
        let plan = plan(&target, &actual, Some(&previous), "salt");
        let kinds: Vec<_> = plan
            .changes
            .iter()
            .map(|c| (c.path.as_str(), c.kind, c.action))
            .collect();
        assert_eq!(
            kinds,
            vec![
                ("/a", ChangeKind::Create, Action::Reload),
                ("/b", ChangeKind::UpdateContent, Action::Restart),
                ("/c", ChangeKind::UpdateMetadata, Action::None),
                ("/e", ChangeKind::Remove, Action::Restart),
            ]
        );
        assert_eq!(plan.unchanged, 1);
        assert_eq!(plan.changes[0].expected_sha256, None);
        assert_eq!(plan.changes[3].target_sha256, None);
        assert_eq!(
            plan.activations,
            Activations {
                stop: vec![],
                daemon_reload: true,
                restart: vec!["nginx.service".into()],
                reload: vec![],
                compose_restart: vec![],
            }
        );
    }

    #[test]
    fn either_side_makes_a_change_sensitive_and_salts_its_digests() {
        let target = Manifest::new(
            "p",
            "h",
            String::new(),
            vec![
                record("/public", 'a', Activation::None),
                record("/private-live", 'b', Activation::None),
                record("/sensitive-before", 'c', Activation::None),
            ],
        );
        let mut was_sensitive = record("/sensitive-before", 'd', Activation::None);
        was_sensitive.sensitive = true;
        let previous = Manifest::new("p", "h", String::new(), vec![was_sensitive]);
        let actual = BTreeMap::from([
            ("/public".to_string(), live('0', "0644")),
            ("/private-live".to_string(), live('0', "0600")),
            ("/sensitive-before".to_string(), live('d', "0644")),
        ]);
        let salted = |salt| plan(&target, &actual, Some(&previous), salt);
        let (one, two) = (salted("one"), salted("two"));
        let sensitive: Vec<bool> = one.changes.iter().map(|c| c.sensitive).collect();
        assert_eq!(sensitive, vec![true, false, true]);
        let plain = "0".repeat(64);
        assert_eq!(
            one.changes[1].expected_sha256.as_deref(),
            Some(plain.as_str())
        );
        for (a, b) in [
            (&one.changes[0], &two.changes[0]),
            (&one.changes[2], &two.changes[2]),
        ] {
            let digest = a.expected_sha256.as_deref().unwrap_or_default();
            assert!(digest.starts_with("salted:"), "{digest}");
            assert_ne!(a.expected_sha256, b.expected_sha256);
            assert_ne!(a.target_sha256, b.target_sha256);
        }
        assert_eq!(one, salted("one"));
    }

    /// A unit dropped with its unit file is stopped and forgotten, not
    /// restarted: the restart could only fail, and would stay pending for ever.
    #[test]
    fn a_unit_removed_with_its_file_is_stopped_not_restarted_or_reloaded() {
        let unit = "app.service";
        let previous = Manifest::new(
            "p",
            "h",
            String::new(),
            vec![
                record(
                    "/etc/app/app.conf",
                    'a',
                    Activation::Restart { unit: unit.into() },
                ),
                record(
                    "/etc/app/other.conf",
                    'b',
                    Activation::Reload {
                        unit: "web.service".into(),
                    },
                ),
                record(
                    "/etc/systemd/system/app.service",
                    'c',
                    Activation::DaemonReload { unit: unit.into() },
                ),
            ],
        );
        let target = Manifest::new("p", "h", String::new(), Vec::new());
        let actual = previous
            .files
            .iter()
            .map(|r| {
                (
                    r.path.clone(),
                    live(r.sha256.chars().next().unwrap(), "0644"),
                )
            })
            .collect();
        let plan = plan(&target, &actual, Some(&previous), "salt");
        assert_eq!(plan.changes.len(), 3);
        assert_eq!(
            plan.activations,
            Activations {
                stop: vec![unit.into()],
                daemon_reload: true,
                restart: vec![],
                reload: vec!["web.service".into()],
                compose_restart: vec![],
            }
        );
    }
}
