//! Diff stage (pure): plans → what a reviewer reads. Human text (a unified
//! diff per file, coloured only when asked), JSON, or Markdown for a pull
//! request comment (`review`: totals, a table of changed hosts, then one
//! collapsible section per change). Credentials (a change marked sensitive by the plan: either side
//! may hold one) never have their content or a digest of it shown: only that
//! it changed. A unit's `[Install]` link reads as what it does: `enable
//! <unit>` or `disable <unit>`, with the link and what it replaces.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use similar::TextDiff;

use crate::actual::Actual;
use crate::plan::{Activations, Change, ChangeKind, Plan};

/// One host's plan with the contents it replaces and writes.
#[derive(Debug, Clone)]
pub struct HostDiff {
    pub plan: Plan,
    /// The state each changed path is in now (live host, or the older tree).
    pub before: BTreeMap<String, Actual>,
    /// Old and new content of the changed paths (never read for unchanged ones).
    pub old: BTreeMap<String, Vec<u8>>,
    pub new: BTreeMap<String, Vec<u8>>,
    /// Activations earlier runs on the live host did not get done (none for
    /// a tree against a tree): applying runs them, so they are a difference.
    pub pending: Activations,
    /// Whether the host is in both trees, or only in the new one (added) or
    /// the old one (removed). A live host is always `Both`.
    pub presence: Presence,
}

/// Which side of a tree-against-tree diff holds a host.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Presence {
    #[default]
    Both,
    Added,
    Removed,
}

pub fn has_differences(diffs: &[HostDiff]) -> bool {
    diffs
        .iter()
        .any(|d| !d.plan.is_empty() || !d.pending.is_empty())
}

/// The pending activations as the commands that will run, one line.
fn pending_line(pending: &Activations) -> String {
    crate::activate::shown_commands(pending).join(", ")
}

pub(crate) const HIDDEN: &str = "content changed (credentials: not shown)";

pub(crate) fn kind_word(kind: ChangeKind) -> &'static str {
    match kind {
        ChangeKind::Create => "create",
        ChangeKind::UpdateContent => "update",
        ChangeKind::UpdateMetadata => "metadata",
        ChangeKind::Remove => "remove",
    }
}

/// The unit a link change enables or disables: the link's name.
pub(crate) fn linked_unit(change: &Change) -> Option<&str> {
    change.link.as_ref()?;
    change.path.rsplit_once('/').map(|(_, name)| name)
}

/// What a change does, as its line starts: `create /etc/x`, or for a link
/// `enable x.timer`.
fn what(change: &Change) -> String {
    match linked_unit(change) {
        Some(unit) if change.kind == ChangeKind::Remove => format!("disable {unit}"),
        Some(unit) => format!("enable {unit}"),
        None => format!("{} {}", kind_word(change.kind), change.path),
    }
}

/// The link a link change makes or removes, and what it replaces.
fn link_note(change: &Change, before: Option<&Actual>) -> Option<String> {
    let link = change.link.as_ref()?;
    let mut note = format!("{} → {link}", change.path);
    if change.kind != ChangeKind::Remove {
        match before {
            Some(Actual::Link(live)) => {
                let _ = write!(note, ", replaces a link to {}", live.target);
            }
            Some(Actual::Present(_)) => note.push_str(", replaces a file"),
            _ => {}
        }
    }
    Some(note)
}

fn action_word(change: &Change) -> String {
    use gen_target::Activation;
    if change.link.is_some() {
        return "daemon-reload".into();
    }
    match &change.activation {
        Activation::None => String::new(),
        Activation::Reload { unit } => format!("reload {unit}"),
        Activation::Restart { unit } => format!("restart {unit}"),
        Activation::DaemonReload { unit } if change.kind == ChangeKind::Remove => {
            format!("daemon-reload (for {unit})")
        }
        Activation::DaemonReload { unit } => format!("daemon-reload, restart {unit}"),
        Activation::ComposeService { project, service } => {
            format!("restart compose service {project}/{service}")
        }
    }
}

/// Mode and owner before → after, when they change.
pub(crate) fn metadata_note(change: &Change, before: Option<&Actual>) -> Option<String> {
    if change.link.is_some() {
        return link_note(change, before);
    }
    let (Some(mode), Some(owner), Some(group)) = (&change.mode, &change.owner, &change.group)
    else {
        return None;
    };
    match before {
        Some(Actual::Present(live)) => {
            let mut notes = Vec::new();
            if &live.mode != mode {
                notes.push(format!("mode {} → {mode}", live.mode));
            }
            if &live.owner != owner || &live.group != group {
                notes.push(format!(
                    "owner {}:{} → {owner}:{group}",
                    live.owner, live.group
                ));
            }
            (!notes.is_empty()).then(|| notes.join(", "))
        }
        _ => Some(format!("mode {mode}, owner {owner}:{group}")),
    }
}

/// The unified diff of one change's content, or `None` when it has none to
/// show (metadata only) or must not be shown (credentials).
pub(crate) fn unified(diff: &HostDiff, change: &Change) -> Option<String> {
    if change.sensitive || change.kind == ChangeKind::UpdateMetadata || change.link.is_some() {
        return None;
    }
    let old = String::from_utf8_lossy(
        diff.old
            .get(&change.path)
            .map(Vec::as_slice)
            .unwrap_or_default(),
    )
    .into_owned();
    let new = String::from_utf8_lossy(
        diff.new
            .get(&change.path)
            .map(Vec::as_slice)
            .unwrap_or_default(),
    )
    .into_owned();
    let text = TextDiff::from_lines(&old, &new);
    let (a, b) = match change.kind {
        ChangeKind::Create => ("/dev/null".to_string(), format!("b{}", change.path)),
        ChangeKind::Remove => (format!("a{}", change.path), "/dev/null".to_string()),
        _ => (format!("a{}", change.path), format!("b{}", change.path)),
    };
    let mut out = text
        .unified_diff()
        .context_radius(3)
        .header(&a, &b)
        .to_string();
    if !out.ends_with('\n') {
        out.push('\n');
    }
    Some(out)
}

/// Human text, one block per change, colour only when `colour`.
pub fn human(diffs: &[HostDiff], colour: bool) -> String {
    // anstyle writes the escapes (the same crate clap colours its help with).
    use anstyle::{AnsiColor, Style};
    let paint = |style: Style, line: &str| {
        if colour {
            format!("{}{line}{}", style.render(), style.render_reset())
        } else {
            line.to_string()
        }
    };
    let bold = Style::new().bold();
    let mut out = String::new();
    for diff in diffs {
        let plan = &diff.plan;
        let _ = writeln!(
            out,
            "{}",
            paint(
                bold,
                &format!(
                    "{}/{}{}: {} change(s), {} unchanged",
                    plan.profile,
                    plan.host,
                    match diff.presence {
                        Presence::Both => "",
                        Presence::Added => " (added)",
                        Presence::Removed => " (removed)",
                    },
                    plan.changes.len(),
                    plan.unchanged
                )
            )
        );
        if !diff.pending.is_empty() {
            let _ = writeln!(
                out,
                "{}",
                paint(
                    bold,
                    &format!(
                        "pending from an earlier run (the next `gen apply` or `gen activate` runs them): {}",
                        pending_line(&diff.pending)
                    )
                )
            );
        }
        for change in &plan.changes {
            let mut head = what(change);
            if let Some(note) = metadata_note(change, diff.before.get(&change.path)) {
                let _ = write!(head, " ({note})");
            }
            let action = action_word(change);
            if !action.is_empty() {
                let _ = write!(head, " [{action}]");
            }
            let _ = writeln!(out, "{}", paint(bold, &head));
            if change.sensitive && change.kind != ChangeKind::UpdateMetadata {
                let _ = writeln!(out, "  {HIDDEN}");
            }
            if let Some(text) = unified(diff, change) {
                for line in text.lines() {
                    let style = if line.starts_with("+++") || line.starts_with("---") {
                        bold
                    } else if line.starts_with('+') {
                        AnsiColor::Green.on_default()
                    } else if line.starts_with('-') {
                        AnsiColor::Red.on_default()
                    } else if line.starts_with("@@") {
                        AnsiColor::Cyan.on_default()
                    } else {
                        Style::new()
                    };
                    let _ = writeln!(out, "{}", paint(style, line));
                }
            }
        }
        if !plan.activations.is_empty() {
            let _ = writeln!(
                out,
                "{}",
                paint(bold, &crate::activate::summary(&plan.activations))
            );
        }
    }
    out
}

pub fn json(diffs: &[HostDiff]) -> String {
    let hosts: Vec<_> = diffs
        .iter()
        .map(|diff| {
            let changes: Vec<_> = diff
                .plan
                .changes
                .iter()
                .map(|change| {
                    let mut value = serde_json::to_value(change).unwrap_or_default();
                    if let Some(object) = value.as_object_mut() {
                        if let Some(unit) = linked_unit(change) {
                            let verb = if change.kind == ChangeKind::Remove {
                                "disable"
                            } else {
                                "enable"
                            };
                            object.insert(verb.into(), unit.into());
                        }
                        object.insert("diff".into(), unified(diff, change).into());
                        // Not even a salted digest: a diff says only that a
                        // credential changed (the plan file keeps salted ones
                        // to detect drift).
                        if change.sensitive {
                            object.remove("expected_sha256");
                            object.remove("target_sha256");
                        }
                        if change.sensitive && change.kind != ChangeKind::UpdateMetadata {
                            object.insert("note".into(), HIDDEN.into());
                        }
                    }
                    value
                })
                .collect();
            serde_json::json!({
                "profile": diff.plan.profile,
                "host": diff.plan.host,
                "tree_hash": diff.plan.tree_hash,
                "unchanged": diff.plan.unchanged,
                "changes": changes,
                "activations": diff.plan.activations.shown(),
                "pending": diff.pending.shown(),
                "presence": diff.presence,
            })
        })
        .collect();
    let mut out = serde_json::to_string_pretty(&serde_json::json!({
        "differences": has_differences(diffs),
        "totals": crate::review::Totals::of(diffs),
        "hosts": hosts,
    }))
    .unwrap_or_default();
    out.push('\n');
    out
}

/// Backticks a fence must outnumber to hold `text`.
pub(crate) fn longest_backtick_run(text: &str) -> usize {
    text.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}
