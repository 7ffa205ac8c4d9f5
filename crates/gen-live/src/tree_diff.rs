//! Diff stage, tree against tree: `gen diff --against OLD` compares a
//! profile's generated tree with an older one (a review's base), host by
//! host, without a live root. The older manifest plays the live host: its
//! records are the "actual" state the plan starts from, so the output is the
//! same plan and diff `gen diff` shows against a host that holds the old tree.

use std::collections::BTreeMap;

use camino::Utf8Path;

use crate::actual::{Actual, LiveFile, LiveLink};
use crate::diff::{HostDiff, Presence};
use crate::plan::{self, ChangeKind, Plan};
use gen_target::error::{Error, Result};
use gen_target::layout::{self, tree_path, MANIFEST_FILE};
use gen_target::manifest::Manifest;

/// Every host of `profile` in `generated` against the same host in
/// `old_generated`, or, without a profile, every host of every profile of
/// both trees: a profile or host only one tree holds is all files created
/// (added) or all files removed (removed). `host` keeps only that host.
/// Files whose sha256 is unchanged in the manifests are never read.
pub fn against_tree(
    generated: &Utf8Path,
    old_generated: &Utf8Path,
    profile: Option<&str>,
    host: Option<&str>,
) -> Result<Vec<HostDiff>> {
    let profiles = match profile {
        // Only a plain folder name: anything else is no profile of either
        // tree (the error below names the ones there are).
        Some(profile) if profile.contains('/') || profile.starts_with('.') => Vec::new(),
        Some(profile) => vec![profile.to_string()],
        None => {
            let mut all = host_dirs(generated);
            all.extend(host_dirs(old_generated));
            all.sort();
            all.dedup();
            all
        }
    };
    // Profile and host folders are listed from the directory entries alone:
    // a folder without a manifest in either tree is dropped once its
    // manifests are read, so no host costs a `stat` of its manifest first.
    let mut pairs = Vec::new();
    for profile in &profiles {
        let mut hosts = host_dirs(&generated.join(profile));
        hosts.extend(host_dirs(&old_generated.join(profile)));
        hosts.sort();
        hosts.dedup();
        pairs.extend(
            hosts
                .into_iter()
                .filter(|h| host.is_none_or(|wanted| wanted == h))
                .map(|h| (profile.clone(), h)),
        );
    }
    // Hosts are independent: read and compare them on every core, in order.
    let diffs: Vec<HostDiff> = gen_target::parallel::map(
        &pairs,
        gen_target::parallel::threads(),
        |(profile, host)| {
            host_against_tree(
                &generated.join(profile),
                &old_generated.join(profile),
                profile,
                host,
            )
        },
    )?
    .into_iter()
    .flatten()
    .collect();
    if diffs.is_empty() {
        if let Some(profile) = profile {
            let mut known = self::profiles(generated);
            known.extend(self::profiles(old_generated));
            known.sort();
            known.dedup();
            if !known.iter().any(|k| k == profile) {
                return Err(Error::unknown_profile(
                    profile,
                    &known,
                    format!("the profiles of `{generated}` and `{old_generated}`"),
                ));
            }
        }
        let what = match (profile, host) {
            (Some(profile), Some(host)) => format!("host `{host}` of profile `{profile}`"),
            (Some(profile), None) => format!("hosts for profile `{profile}`"),
            (None, Some(host)) => format!("host `{host}` in any profile"),
            (None, None) => "profiles".to_string(),
        };
        return Err(Error::usage(format!(
            "neither `{generated}` nor `{old_generated}` has {what}"
        )));
    }
    Ok(diffs)
}

/// The folders of `dir` that may be profiles or hosts (not hidden), from the
/// directory entries alone; a missing folder has none.
fn host_dirs(dir: &Utf8Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir() || t.is_symlink()))
                .filter_map(|e| e.file_name().to_str().map(str::to_string))
                .filter(|name| !name.starts_with('.'))
                .collect()
        })
        .unwrap_or_default()
}

/// The profiles of a `generated/` tree: its folders holding at least one
/// host, sorted. A missing tree has none.
pub fn profiles(generated: &Utf8Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(generated)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().to_str().map(str::to_string))
                .filter(|name| !name.starts_with('.'))
                .filter(|name| !layout::hosts(&generated.join(name)).is_empty())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

/// One host of `new_dir` against the same host in `old_dir`.
fn host_against_tree(
    new_dir: &Utf8Path,
    old_dir: &Utf8Path,
    profile: &str,
    host: &str,
) -> Result<Option<HostDiff>> {
    let bytes = |dir: &Utf8Path| -> Result<Option<Vec<u8>>> {
        let path = dir.join(host).join(MANIFEST_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::read(&path, e)),
        }
    };
    let (new_bytes, old_bytes) = (bytes(new_dir)?, bytes(old_dir)?);
    if new_bytes.is_none() && old_bytes.is_none() {
        return Ok(None);
    }
    // Most hosts of a review are untouched: their manifests differ at most in
    // what produced them, so there is nothing to parse, plan or read.
    if let (Some(new), Some(old)) = (&new_bytes, &old_bytes) {
        if Manifest::same_records(new, old) {
            if let Some((tree_hash, files)) = Manifest::summary(new) {
                let plan = Plan {
                    format: plan::FORMAT,
                    profile: profile.to_string(),
                    host: host.to_string(),
                    tree_hash,
                    salt: String::new(),
                    unchanged: files,
                    changes: Vec::new(),
                    activations: Default::default(),
                };
                return Ok(Some(HostDiff {
                    plan,
                    before: BTreeMap::new(),
                    old: BTreeMap::new(),
                    new: BTreeMap::new(),
                    pending: Default::default(),
                    presence: Presence::Both,
                }));
            }
        }
    }
    let parse = |dir: &Utf8Path, bytes: &Option<Vec<u8>>| -> Result<Manifest> {
        match bytes {
            Some(bytes) => Manifest::parse(&dir.join(host).join(MANIFEST_FILE), bytes),
            None => Ok(Manifest::new(profile, host, String::new(), Vec::new())),
        }
    };
    let new_manifest = parse(new_dir, &new_bytes)?;
    let old_manifest = parse(old_dir, &old_bytes)?;
    let before: BTreeMap<String, Actual> = old_manifest
        .files
        .iter()
        .map(|r| {
            let actual = match &r.link {
                Some(target) => Actual::Link(LiveLink {
                    target: target.clone(),
                    sha256: r.sha256.clone(),
                    uid: 0,
                    gid: 0,
                }),
                None => Actual::Present(LiveFile {
                    sha256: r.sha256.clone(),
                    mode: r.mode.clone(),
                    uid: 0,
                    gid: 0,
                    owner: r.owner.clone(),
                    group: r.group.clone(),
                }),
            };
            (r.path.clone(), actual)
        })
        .collect();
    let plan = plan::plan(
        &new_manifest,
        &before,
        Some(&old_manifest),
        &plan::new_salt()?,
    );
    let mut old = BTreeMap::new();
    let mut new = BTreeMap::new();
    for change in &plan.changes {
        if change.sensitive || change.kind == ChangeKind::UpdateMetadata || change.link.is_some() {
            continue;
        }
        // A link in the old tree has no file there to read.
        if change.expected_sha256.is_some()
            && !matches!(before.get(&change.path), Some(Actual::Link(_)))
        {
            let path = tree_path(&old_dir.join(host), &change.path);
            old.insert(
                change.path.clone(),
                std::fs::read(&path).map_err(|e| Error::read(&path, e))?,
            );
        }
        if change.target_sha256.is_some() {
            let path = tree_path(&new_dir.join(host), &change.path);
            new.insert(
                change.path.clone(),
                std::fs::read(&path).map_err(|e| Error::read(&path, e))?,
            );
        }
    }
    Ok(Some(HostDiff {
        plan,
        before,
        old,
        new,
        pending: Default::default(),
        presence: match (&new_bytes, &old_bytes) {
            (Some(_), None) => Presence::Added,
            (None, Some(_)) => Presence::Removed,
            _ => Presence::Both,
        },
    }))
}
