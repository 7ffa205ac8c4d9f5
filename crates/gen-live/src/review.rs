//! Diff stage (pure): a whole tree's diffs → one pull-request comment.
//!
//! A review reads the totals first (how many hosts change, how many files,
//! what restarts), then one table row per changed host, one line for all the
//! unchanged ones, then one collapsible section per change — a change made
//! identically on several hosts (same path, same kind, same diff) is shown
//! once, naming every host. Credentials show only that they changed (see
//! [`crate::diff`]). GitHub refuses a comment longer than 65,536 characters,
//! so the largest diffs are cut, each with the command that shows it, until
//! the comment fits; a review of thousands of files drops the last sections
//! too, and says so.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::diff::{self, HostDiff, Presence};
use crate::plan::{Change, ChangeKind};

/// GitHub's limit on a comment's length, in characters.
pub const GITHUB_COMMENT_LIMIT: usize = 65_536;

/// What the review is kept under, in bytes (never fewer than characters):
/// the limit less room for the marker a sticky-comment action adds.
pub const BUDGET: usize = GITHUB_COMMENT_LIMIT - 1_000;

/// The counts a reviewer reads first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Every host of either tree.
    pub hosts: usize,
    /// Hosts with at least one change (added and removed ones included).
    pub hosts_changed: usize,
    pub hosts_added: usize,
    pub hosts_removed: usize,
    /// Profiles every host of which is added (or removed).
    pub profiles_added: Vec<String>,
    pub profiles_removed: Vec<String>,
    pub files_created: usize,
    pub files_updated: usize,
    /// Same content, other mode or owner.
    pub files_metadata: usize,
    pub files_removed: usize,
    /// Services restarted, summed over hosts (`daemon-reload` is not one).
    pub restarts: usize,
    pub reloads: usize,
    /// Hosts on which systemd re-reads its unit files.
    pub daemon_reloads: usize,
}

impl Totals {
    pub fn of(diffs: &[HostDiff]) -> Totals {
        let mut totals = Totals {
            hosts: diffs.len(),
            ..Totals::default()
        };
        let mut by_profile: BTreeMap<&str, Vec<Presence>> = BTreeMap::new();
        for d in diffs {
            by_profile
                .entry(d.plan.profile.as_str())
                .or_default()
                .push(d.presence);
            if !d.plan.is_empty() || !d.pending.is_empty() {
                totals.hosts_changed += 1;
            }
            match d.presence {
                Presence::Added => totals.hosts_added += 1,
                Presence::Removed => totals.hosts_removed += 1,
                Presence::Both => {}
            }
            for change in &d.plan.changes {
                match change.kind {
                    ChangeKind::Create => totals.files_created += 1,
                    ChangeKind::UpdateContent => totals.files_updated += 1,
                    ChangeKind::UpdateMetadata => totals.files_metadata += 1,
                    ChangeKind::Remove => totals.files_removed += 1,
                }
            }
            totals.restarts += d.plan.activations.restart.len();
            totals.reloads += d.plan.activations.reload.len();
            totals.daemon_reloads += usize::from(d.plan.activations.daemon_reload);
        }
        for (profile, presences) in by_profile {
            if presences.iter().all(|p| *p == Presence::Added) {
                totals.profiles_added.push(profile.to_string());
            }
            if presences.iter().all(|p| *p == Presence::Removed) {
                totals.profiles_removed.push(profile.to_string());
            }
        }
        totals
    }

    /// One line: `2 of 9 hosts change (1 added, 1 removed): files 3 created,
    /// …; 2 restarts, 1 reload; daemon-reload on 1 host`.
    pub fn line(&self) -> String {
        let mut out = format!(
            "{} of {} {} change",
            self.hosts_changed,
            self.hosts,
            plural(self.hosts, "host", "hosts")
        );
        let mut side = Vec::new();
        if self.hosts_added > 0 {
            side.push(format!("{} added", self.hosts_added));
        }
        if self.hosts_removed > 0 {
            side.push(format!("{} removed", self.hosts_removed));
        }
        if !side.is_empty() {
            let _ = write!(out, " ({})", side.join(", "));
        }
        let _ = write!(
            out,
            "; files: {} created, {} updated, {} metadata only, {} removed; {} {}, {} {}",
            self.files_created,
            self.files_updated,
            self.files_metadata,
            self.files_removed,
            self.restarts,
            plural(self.restarts, "restart", "restarts"),
            self.reloads,
            plural(self.reloads, "reload", "reloads"),
        );
        if self.daemon_reloads > 0 {
            let _ = write!(
                out,
                "; systemd daemon-reload on {} {}",
                self.daemon_reloads,
                plural(self.daemon_reloads, "host", "hosts")
            );
        }
        out
    }
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 {
        one
    } else {
        many
    }
}

/// Bytes a cut diff's note and its mention at the top may take.
const CUT_NOTE_ROOM: usize = 400;

/// How many cut diffs are tried again once the review fits (each try
/// renders it anew).
const UNCUT_TRIES: usize = 200;

/// The cut diffs the note at the top names; the rest are counted.
const CUT_NAMED: usize = 10;

/// How the review names the older tree in the commands it suggests.
#[derive(Debug, Clone)]
pub struct Options {
    /// `--against` as the user gave it.
    pub against: String,
    /// The most bytes the comment may hold ([`BUDGET`] for GitHub).
    pub budget: usize,
}

/// One change as shown: on every host that makes it identically.
struct Section {
    /// `update <code>/etc/x</code> (mode …)`, without the hosts.
    what: String,
    hosts: Vec<String>,
    body: String,
    /// The unified diff's line count, for the note when it is cut.
    lines: usize,
    cut: bool,
}

fn host_name(d: &HostDiff) -> String {
    format!("{}/{}", d.plan.profile, d.plan.host)
}

fn code(text: &str) -> String {
    format!("<code>{}</code>", html_escape(text))
}

/// Paths and unit names come from profiles: keep `<` and `&` literal in HTML.
fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn what(d: &HostDiff, change: &Change) -> String {
    let mut what = match diff::linked_unit(change) {
        Some(unit) if change.kind == ChangeKind::Remove => format!("disable {}", code(unit)),
        Some(unit) => format!("enable {}", code(unit)),
        None => format!("{} {}", diff::kind_word(change.kind), code(&change.path)),
    };
    if let Some(note) = diff::metadata_note(change, d.before.get(&change.path)) {
        let _ = write!(what, " ({})", html_escape(&note));
    }
    what
}

fn body(d: &HostDiff, change: &Change) -> (String, usize) {
    match diff::unified(d, change) {
        Some(text) => {
            let fence = "`".repeat(diff::longest_backtick_run(&text).max(2) + 1);
            let lines = text.lines().count();
            (format!("{fence}diff\n{text}{fence}\n"), lines)
        }
        None if change.link.is_some() => ("symbolic link\n".into(), 0),
        None if change.sensitive => (format!("{}\n", diff::HIDDEN), 0),
        None => ("metadata only\n".into(), 0),
    }
}

/// Every change of every host, identical ones merged: hosts in both trees
/// first (what a reviewer must read), then added hosts, then removed ones,
/// each in host then path order.
fn sections(diffs: &[HostDiff]) -> Vec<Section> {
    let mut sections: Vec<Section> = Vec::new();
    let mut index: BTreeMap<(String, String), usize> = BTreeMap::new();
    let ordered = [Presence::Both, Presence::Added, Presence::Removed]
        .into_iter()
        .flat_map(|presence| diffs.iter().filter(move |d| d.presence == presence));
    for d in ordered {
        for change in &d.plan.changes {
            let what = what(d, change);
            let (body, lines) = body(d, change);
            let key = (what.clone(), body.clone());
            match index.get(&key) {
                Some(&i) => sections[i].hosts.push(host_name(d)),
                None => {
                    index.insert(key, sections.len());
                    sections.push(Section {
                        what,
                        hosts: vec![host_name(d)],
                        body,
                        lines,
                        cut: false,
                    });
                }
            }
        }
    }
    sections
}

fn hosts_list(hosts: &[String]) -> String {
    hosts.iter().map(|h| code(h)).collect::<Vec<_>>().join(", ")
}

/// The command that shows a cut diff in full.
fn see_command(options: &Options, host: &str) -> String {
    let (profile, host) = host.split_once('/').unwrap_or(("", host));
    format!(
        "gen diff --against {} --profile {profile} --host {host}",
        options.against
    )
}

/// Totals, the table of changed hosts, the unchanged ones on one line.
fn head(diffs: &[HostDiff], totals: &Totals) -> String {
    let mut out = String::from("### gen: what this change does to the hosts\n\n");
    let _ = writeln!(out, "**{}**", totals.line());
    let mut notes = Vec::new();
    for profile in &totals.profiles_added {
        notes.push(format!("- profile `{profile}` added"));
    }
    for profile in &totals.profiles_removed {
        notes.push(format!(
            "- profile `{profile}` removed: its hosts lose every file gen wrote"
        ));
    }
    if !notes.is_empty() {
        let _ = write!(out, "\n{}\n", notes.join("\n"));
    }
    let changed: Vec<&HostDiff> = diffs
        .iter()
        .filter(|d| !d.plan.is_empty() || !d.pending.is_empty())
        .collect();
    if !changed.is_empty() {
        out.push_str(
            "\n| host | | create | update | metadata | remove | unchanged | restart | reload |\n",
        );
        out.push_str("|---|---|---:|---:|---:|---:|---:|---|---|\n");
        for d in &changed {
            let plan = &d.plan;
            let count = |kind| plan.changes.iter().filter(|c| c.kind == kind).count();
            let units = |units: &[String]| {
                if units.is_empty() {
                    "—".to_string()
                } else {
                    units
                        .iter()
                        .map(|u| format!("`{u}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            };
            let mut restart = units(&plan.activations.restart);
            if plan.activations.daemon_reload {
                restart.push_str(" (after daemon-reload)");
            }
            let presence = match d.presence {
                Presence::Both => "",
                Presence::Added => "added",
                Presence::Removed => "removed",
            };
            let _ = writeln!(
                out,
                "| `{}` | {presence} | {} | {} | {} | {} | {} | {restart} | {} |",
                host_name(d),
                count(ChangeKind::Create),
                count(ChangeKind::UpdateContent),
                count(ChangeKind::UpdateMetadata),
                count(ChangeKind::Remove),
                plan.unchanged,
                units(&plan.activations.reload),
            );
        }
    }
    let unchanged: Vec<String> = diffs
        .iter()
        .filter(|d| d.plan.is_empty() && d.pending.is_empty())
        .map(|d| format!("`{}`", host_name(d)))
        .collect();
    if !unchanged.is_empty() {
        let _ = writeln!(
            out,
            "\nUnchanged ({} {}): {}",
            unchanged.len(),
            plural(unchanged.len(), "host", "hosts"),
            unchanged.join(", ")
        );
    }
    out
}

fn render(head: &str, sections: &[Section], shown: usize, options: &Options) -> String {
    let mut out = head.to_string();
    let cut: Vec<&Section> = sections.iter().filter(|s| s.cut).collect();
    if !cut.is_empty() || shown < sections.len() {
        let _ = write!(
            out,
            "\n> [!NOTE]\n> Cut to stay under GitHub's {GITHUB_COMMENT_LIMIT}-character comment limit:"
        );
        if !cut.is_empty() {
            let mut named: Vec<String> = cut
                .iter()
                .take(CUT_NAMED)
                .map(|s| {
                    let first = s.hosts.first().map(String::as_str).unwrap_or("");
                    match s.hosts.len() {
                        1 => format!("{} on `{first}`", s.what),
                        n => format!("{} on `{first}` and {} more", s.what, n - 1),
                    }
                })
                .collect();
            if cut.len() > CUT_NAMED {
                named.push(format!("{} more", cut.len() - CUT_NAMED));
            }
            let _ = write!(
                out,
                " the diffs of the {} largest {} ({}; each section says how to see it)",
                cut.len(),
                plural(cut.len(), "change", "changes"),
                named.join("; ")
            );
        }
        if shown < sections.len() {
            let _ = write!(
                out,
                "{}the last {} {} (not listed)",
                if cut.is_empty() { " " } else { ", and " },
                sections.len() - shown,
                plural(sections.len() - shown, "change", "changes")
            );
        }
        let _ = writeln!(
            out,
            ". `gen diff --against {}` prints everything.",
            options.against
        );
    }
    for section in &sections[..shown] {
        let on = if section.hosts.len() > 1 {
            format!("same change on {}", hosts_list(&section.hosts))
        } else {
            format!("on {}", hosts_list(&section.hosts))
        };
        let _ = writeln!(out, "\n<details><summary>{} {on}</summary>\n", section.what);
        if section.cut {
            let first = section.hosts.first().map(String::as_str).unwrap_or("");
            let _ = writeln!(
                out,
                "diff of {} lines cut to fit the comment; see it with `{}`",
                section.lines,
                see_command(options, first)
            );
        } else {
            out.push_str(&section.body);
        }
        out.push_str("\n</details>\n");
    }
    out
}

/// The whole-tree pull-request comment, at most `options.budget` bytes.
pub fn markdown(diffs: &[HostDiff], options: &Options) -> String {
    let totals = Totals::of(diffs);
    let head = head(diffs, &totals);
    let mut sections = sections(diffs);
    let mut shown = sections.len();
    let mut out = render(&head, &sections, shown, options);
    // Cut the largest diffs first: one big file costs the review least. A
    // diff shorter than the note replacing it is never cut. The length is
    // estimated while cutting and measured again once it should fit.
    let mut estimate = out.len();
    while out.len() > options.budget {
        let largest = sections
            .iter_mut()
            .filter(|s| !s.cut && s.body.len() > CUT_NOTE_ROOM)
            .max_by_key(|s| s.body.len());
        let Some(section) = largest else { break };
        section.cut = true;
        estimate = estimate - section.body.len() + CUT_NOTE_ROOM;
        if estimate <= options.budget {
            out = render(&head, &sections, shown, options);
            estimate = out.len();
        }
    }
    if out.len() > options.budget {
        out = render(&head, &sections, shown, options);
    }
    // The estimate errs high: give back the smallest cut diffs that still fit.
    let mut cut: Vec<usize> = (0..sections.len()).filter(|&i| sections[i].cut).collect();
    if out.len() <= options.budget && cut.len() <= UNCUT_TRIES {
        cut.sort_by_key(|&i| sections[i].body.len());
        for i in cut {
            sections[i].cut = false;
            let tried = render(&head, &sections, shown, options);
            if tried.len() <= options.budget {
                out = tried;
            } else {
                sections[i].cut = true;
                break;
            }
        }
    }
    // Still too long (thousands of changes): keep as many sections as fit.
    if out.len() > options.budget {
        let (mut low, mut high) = (0, shown);
        while low < high {
            let mid = (low + high).div_ceil(2);
            if render(&head, &sections, mid, options).len() <= options.budget {
                low = mid;
            } else {
                high = mid - 1;
            }
        }
        shown = low;
        out = render(&head, &sections, shown, options);
    }
    // Only a table of thousands of hosts gets here: cut it at a line.
    if out.len() > options.budget {
        let note = format!(
            "\n\n(cut: the comment would exceed GitHub's limit; `gen diff --against {}` prints everything)\n",
            options.against
        );
        let keep = options.budget.saturating_sub(note.len());
        let mut end = keep.min(out.len());
        while !out.is_char_boundary(end) {
            end -= 1;
        }
        let end = out[..end].rfind('\n').unwrap_or(end);
        out.truncate(end);
        out.push_str(&note);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Activations, Plan};
    use gen_target::Activation;

    fn change(path: &str, kind: ChangeKind) -> Change {
        Change {
            path: path.into(),
            link: None,
            kind,
            expected_sha256: (kind != ChangeKind::Create).then(|| "a".into()),
            target_sha256: (kind != ChangeKind::Remove).then(|| "b".into()),
            mode: Some("0644".into()),
            owner: Some("root".into()),
            group: Some("root".into()),
            sensitive: false,
            activation: Activation::None,
            action: crate::plan::Action::None,
        }
    }

    fn host(name: &str, changes: Vec<(Change, &str, &str)>, presence: Presence) -> HostDiff {
        let mut old = BTreeMap::new();
        let mut new = BTreeMap::new();
        for (c, o, n) in &changes {
            old.insert(c.path.clone(), o.as_bytes().to_vec());
            new.insert(c.path.clone(), n.as_bytes().to_vec());
        }
        HostDiff {
            plan: Plan {
                format: crate::plan::FORMAT,
                profile: "p".into(),
                host: name.into(),
                tree_hash: String::new(),
                salt: String::new(),
                unchanged: 1,
                changes: changes.into_iter().map(|(c, _, _)| c).collect(),
                activations: Activations::default(),
            },
            before: BTreeMap::new(),
            old,
            new,
            pending: Activations::default(),
            presence,
        }
    }

    fn options(budget: usize) -> Options {
        Options {
            against: "../base/generated".into(),
            budget,
        }
    }

    #[test]
    fn identical_changes_are_merged_and_unchanged_hosts_share_a_line() {
        let same = || (change("/etc/a", ChangeKind::UpdateContent), "x\n", "y\n");
        let diffs = vec![
            host("a1", vec![same()], Presence::Both),
            host("a2", vec![same()], Presence::Both),
            host("b1", vec![], Presence::Both),
            host("b2", vec![], Presence::Both),
        ];
        let md = markdown(&diffs, &options(BUDGET));
        assert!(
            md.contains("same change on <code>p/a1</code>, <code>p/a2</code>"),
            "{md}"
        );
        assert_eq!(md.matches("<details>").count(), 1, "{md}");
        assert!(md.contains("Unchanged (2 hosts): `p/b1`, `p/b2`"), "{md}");
    }

    #[test]
    fn the_largest_diffs_are_cut_first_and_the_comment_fits() {
        let big: String = (0..4000).map(|i| format!("line {i}\n")).collect();
        let diffs = vec![host(
            "a1",
            vec![
                (change("/etc/big", ChangeKind::Create), "", big.as_str()),
                (
                    change("/etc/small", ChangeKind::UpdateContent),
                    "x\n",
                    "y\n",
                ),
            ],
            Presence::Both,
        )];
        let md = markdown(&diffs, &options(10_000));
        assert!(md.len() <= 10_000, "{}", md.len());
        assert!(md.contains("\n-x\n+y\n"), "the small diff stays: {md}");
        assert!(
            md.contains(
                "diff of 4003 lines cut to fit the comment; see it with `gen diff --against ../base/generated --profile p --host a1`"
            ),
            "{md}"
        );
    }

    #[test]
    fn a_review_of_thousands_of_changes_still_fits() {
        let changes = (0..3000)
            .map(|i| {
                (
                    change(&format!("/etc/f{i}"), ChangeKind::UpdateContent),
                    "x\n",
                    "y\n",
                )
            })
            .collect();
        let md = markdown(&[host("a1", changes, Presence::Both)], &options(BUDGET));
        assert!(md.len() <= BUDGET, "{}", md.len());
        assert!(md.contains("(not listed)"), "{}", &md[..2000]);
    }
}
