//! `gen diff`: the target tree against the live root, or against another tree.

use std::collections::BTreeMap;

use camino::Utf8Path;

use crate::cli::{Format, LiveArgs, Outcome};
use crate::commands::live;
use gen_live::accounts::Accounts;
use gen_live::actual::{Actual, LiveFile, LiveRoot};
use gen_live::apply::{self, Target};
use gen_live::diff::{self, HostDiff};
use gen_live::plan::{self, ChangeKind};
use gen_target::error::{Error, Result};
use gen_target::layout::{tree_path, MANIFEST_FILE};
use gen_target::manifest::Manifest;

pub fn run(
    project: &Utf8Path,
    args: &LiveArgs,
    against: Option<&Utf8Path>,
    format: Format,
) -> Result<Outcome> {
    let generated = live::generated(project, args);
    let diffs = match against {
        Some(old) => against_tree(&generated, old, args)?,
        None => {
            let host = live::host(&generated, args)?;
            live::warn_if_stale(&generated, &args.profile, &host)?;
            vec![against_live(
                &generated.join(&args.profile).join(&host),
                live::root(args)?,
            )?]
        }
    };
    print(&diffs, format);
    Ok(if diff::has_differences(&diffs) {
        Outcome::Differences
    } else {
        Outcome::Clean
    })
}

pub fn print(diffs: &[HostDiff], format: Format) {
    match format {
        Format::Json => print!("{}", diff::json(diffs)),
        Format::Markdown => print!("{}", diff::markdown(diffs)),
        Format::Human => print!("{}", diff::human(diffs, live::colour_stdout())),
    }
}

/// One host's tree against the live root.
pub fn against_live(host_dir: &Utf8Path, root: &Utf8Path) -> Result<HostDiff> {
    let target = Target::load(host_dir)?;
    let accounts = Accounts::system()?;
    let root = LiveRoot::new(root);
    let (plan, before) = apply::plan_read_only(&root, &accounts, &target)?;
    let mut old = BTreeMap::new();
    for change in &plan.changes {
        if change.expected_sha256.is_some() && !change.sensitive {
            if let (_, Some(content)) = gen_live::actual::read_one(&root, &accounts, &change.path)?
            {
                old.insert(change.path.clone(), content);
            }
        }
    }
    let new = plan
        .changes
        .iter()
        .filter_map(|c| {
            target
                .contents
                .get(&c.path)
                .map(|b| (c.path.clone(), b.clone()))
        })
        .collect();
    Ok(HostDiff {
        plan,
        before,
        old,
        new,
    })
}

/// Every host of the profile in `generated` against the same host in `old`.
/// Files whose sha256 is unchanged in the manifests are never read.
fn against_tree(
    generated: &Utf8Path,
    old_generated: &Utf8Path,
    args: &LiveArgs,
) -> Result<Vec<HostDiff>> {
    let new_dir = generated.join(&args.profile);
    let old_dir = old_generated.join(&args.profile);
    let mut hosts = live::hosts(&new_dir);
    hosts.extend(live::hosts(&old_dir));
    hosts.sort();
    hosts.dedup();
    if let Some(host) = &args.host {
        hosts.retain(|h| h == host);
    }
    if hosts.is_empty() {
        return Err(Error::usage(format!(
            "neither `{generated}` nor `{old_generated}` has hosts for profile `{}`",
            args.profile
        )));
    }
    // Hosts are independent: read and compare them on every core, in order.
    gen_target::parallel::map(&hosts, gen_target::parallel::threads(), |host| {
        host_against_tree(&new_dir, &old_dir, &args.profile, host)
    })
}

/// One host of `new_dir` against the same host in `old_dir`.
fn host_against_tree(
    new_dir: &Utf8Path,
    old_dir: &Utf8Path,
    profile: &str,
    host: &str,
) -> Result<HostDiff> {
    let bytes = |dir: &Utf8Path| -> Result<Option<Vec<u8>>> {
        let path = dir.join(host).join(MANIFEST_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::read(&path, e)),
        }
    };
    let (new_bytes, old_bytes) = (bytes(new_dir)?, bytes(old_dir)?);
    // Most hosts of a review are untouched: their manifests differ at most in
    // what produced them, so there is nothing to parse, plan or read.
    if let (Some(new), Some(old)) = (&new_bytes, &old_bytes) {
        if Manifest::same_records(new, old) {
            if let Some((tree_hash, files)) = Manifest::summary(new) {
                let plan = gen_live::plan::Plan {
                    format: gen_live::plan::FORMAT,
                    profile: profile.to_string(),
                    host: host.to_string(),
                    tree_hash,
                    unchanged: files,
                    changes: Vec::new(),
                    activations: Default::default(),
                };
                return Ok(HostDiff {
                    plan,
                    before: BTreeMap::new(),
                    old: BTreeMap::new(),
                    new: BTreeMap::new(),
                });
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
            (
                r.path.clone(),
                Actual::Present(LiveFile {
                    sha256: r.sha256.clone(),
                    mode: r.mode.clone(),
                    uid: 0,
                    gid: 0,
                    owner: r.owner.clone(),
                    group: r.group.clone(),
                }),
            )
        })
        .collect();
    let plan = plan::plan(&new_manifest, &before, Some(&old_manifest));
    let mut old = BTreeMap::new();
    let mut new = BTreeMap::new();
    for change in &plan.changes {
        if change.sensitive || change.kind == ChangeKind::UpdateMetadata {
            continue;
        }
        if change.expected_sha256.is_some() {
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
    Ok(HostDiff {
        plan,
        before,
        old,
        new,
    })
}
