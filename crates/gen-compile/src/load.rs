//! Load stage: read a profile and the bases it extends, merge them, and turn the
//! result into the raw [`Profile`] while remembering where every key was written.
//!
//! Merge rule (documented in the README): a profile may name one base with
//! `extends`. Tables merge key by key, recursively; every other value (string,
//! number, boolean, array) in the extending profile replaces the base's value
//! whole. Bases may extend further bases; cycles are an error.

use camino::{Utf8Path, Utf8PathBuf};
use serde_path_to_error::Segment;
use toml::de::{DeTable, DeValue};

use crate::profile::Profile;
use crate::source::{push_index, push_key, KeyLocation, SourceFile, SourceMap, Underline};
use gen_target::error::{Error, Result};

/// Where profiles live inside a project.
pub const PROFILES_DIR: &str = "profiles";

/// How deep `extends` chains may go before gen assumes a mistake.
const MAX_EXTENDS_DEPTH: usize = 8;

/// A profile as loaded from disk, before validation.
#[derive(Debug, Clone)]
pub struct LoadedProfile {
    /// The profile's name: its file name without `.toml`.
    pub name: String,
    /// The profile's own file, project-relative (`profiles/production.toml`).
    pub file: Utf8PathBuf,
    pub profile: Profile,
    pub sources: SourceMap,
}

impl LoadedProfile {
    /// The files that produced this profile, bases first (used for the input hash).
    pub fn files(&self) -> &[SourceFile] {
        &self.sources.files
    }
}

/// Where profile files come from. gen reads them from the project's
/// `profiles/` directory; fuzzing and property tests hand the same pipeline
/// text held in memory, so there is one loader, not two.
pub trait ProfileFiles {
    /// The text of `profiles/<stem>.toml`, or `None` when there is no such file.
    fn read(&self, stem: &str) -> Result<Option<String>>;
    /// The stems of every profile file, bases included, sorted.
    fn stems(&self) -> Result<Vec<String>>;
}

/// The profiles of a project on disk: `<project>/profiles/*.toml`.
#[derive(Debug, Clone)]
pub struct DiskProfiles {
    dir: Utf8PathBuf,
}

impl DiskProfiles {
    pub fn new(project: &Utf8Path) -> DiskProfiles {
        DiskProfiles {
            dir: project.join(PROFILES_DIR),
        }
    }
}

impl ProfileFiles for DiskProfiles {
    /// Reads a profile only if it is a regular file: never through a
    /// symbolic link (a committed `profiles/_x.toml -> ~/.git-credentials`
    /// would otherwise be read and quoted in an error). The file opened must
    /// be the one inspected, so swapping in a link meanwhile is refused too.
    fn read(&self, stem: &str) -> Result<Option<String>> {
        use std::io::Read as _;
        use std::os::unix::fs::MetadataExt as _;
        let path = self.dir.join(format!("{stem}.toml"));
        let shown = display_name(stem);
        let unsafe_file = |message: &str| Error::UnsafeProfile {
            path: shown.clone(),
            message: message.to_string(),
        };
        let inspected = match std::fs::symlink_metadata(&path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::read(shown, e)),
        };
        if inspected.file_type().is_symlink() {
            return Err(unsafe_file("is a symbolic link"));
        }
        if !inspected.is_file() {
            return Err(unsafe_file("is not a regular file"));
        }
        let mut file = std::fs::File::open(&path).map_err(|e| Error::read(shown.clone(), e))?;
        let opened = file.metadata().map_err(|e| Error::read(shown.clone(), e))?;
        if (opened.dev(), opened.ino()) != (inspected.dev(), inspected.ino()) {
            return Err(unsafe_file("was replaced while it was read"));
        }
        let mut text = String::new();
        file.read_to_string(&mut text)
            .map_err(|e| Error::read(shown, e))?;
        Ok(Some(text))
    }

    fn stems(&self) -> Result<Vec<String>> {
        let entries = std::fs::read_dir(&self.dir).map_err(|e| Error::read(&self.dir, e))?;
        let mut stems = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| Error::read(&self.dir, e))?;
            let file_name = entry.file_name();
            let Some(file_name) = file_name.to_str() else {
                continue;
            };
            if let Some(stem) = file_name.strip_suffix(".toml") {
                if !stem.is_empty() {
                    stems.push(stem.to_string());
                }
            }
        }
        stems.sort();
        Ok(stems)
    }
}

/// Profile files held in memory, stem → text.
#[derive(Debug, Clone, Default)]
pub struct MemoryProfiles {
    pub files: std::collections::BTreeMap<String, String>,
}

impl MemoryProfiles {
    pub fn with(mut self, stem: &str, text: impl Into<String>) -> MemoryProfiles {
        self.files.insert(stem.to_string(), text.into());
        self
    }
}

impl ProfileFiles for MemoryProfiles {
    fn read(&self, stem: &str) -> Result<Option<String>> {
        Ok(self.files.get(stem).cloned())
    }

    fn stems(&self) -> Result<Vec<String>> {
        Ok(self.files.keys().cloned().collect())
    }
}

/// Lists the buildable profiles in `profiles_dir`: every `*.toml` whose name
/// does not start with `_` (those are bases that only exist to be extended).
pub fn list_profiles(profiles_dir: &Utf8Path) -> Result<Vec<String>> {
    let files = DiskProfiles {
        dir: profiles_dir.to_path_buf(),
    };
    buildable(&files)
}

/// The stems of `files` that are profiles of their own, not bases.
pub fn buildable(files: &dyn ProfileFiles) -> Result<Vec<String>> {
    Ok(files
        .stems()?
        .into_iter()
        .filter(|stem| !stem.starts_with('_'))
        .collect())
}

/// Loads `<project>/profiles/<name>.toml` and everything it extends. Files are
/// named relative to the project (`profiles/production.toml`) in errors and in
/// the manifest, so the output does not depend on where the project lives.
pub fn load_profile(project: &Utf8Path, name: &str) -> Result<LoadedProfile> {
    load_from(&DiskProfiles::new(project), name)
}

/// Loads profile `name` and everything it extends from `files`.
pub fn load_from(files: &dyn ProfileFiles, name: &str) -> Result<LoadedProfile> {
    if !is_profile_name(name) {
        return Err(Error::Usage {
            message: format!("`{name}` is not a profile name"),
            help: Some("profile names are file names in `profiles/` without `.toml`".into()),
        });
    }
    let Some(text) = files.read(name)? else {
        let known = buildable(files).unwrap_or_default();
        return Err(Error::unknown_profile(
            name,
            &known,
            format!(
                "profiles are the `{PROFILES_DIR}/*.toml` files whose name does not start with `_`"
            ),
        ));
    };

    // Read the chain root-first: production.toml, then _base.toml, ...
    let mut chain: Vec<(SourceFile, toml::Table, Spanned)> = Vec::new();
    let mut next = Some((name.to_string(), text));
    while let Some((stem, text)) = next.take() {
        let shown = display_name(&stem);
        if chain.iter().any(|(file, _, _)| file.name == shown) {
            return Err(Error::Usage {
                message: format!("profile `{name}` extends itself through `{shown}`"),
                help: Some("remove the `extends` that closes the cycle".into()),
            });
        }
        if chain.len() >= MAX_EXTENDS_DEPTH {
            return Err(Error::Usage {
                message: format!("profile `{name}` extends more than {MAX_EXTENDS_DEPTH} bases"),
                help: None,
            });
        }
        let (file, table, spans) = parse_file(shown, text)?;
        next = match table.get("extends") {
            None => None,
            Some(toml::Value::String(base)) => Some(resolve_extends(files, &file, &spans, base)?),
            Some(_) => {
                return Err(spans.error(
                    &file,
                    "extends",
                    "`extends` must be a file name like `_base.toml`",
                ));
            }
        };
        chain.push((file, table, spans));
    }

    // Merge base-first so the profile itself has the last word.
    let mut sources = SourceMap::default();
    let mut merged = toml::Table::new();
    for (file, table, spans) in chain.into_iter().rev() {
        let index = sources.add_file(file);
        spans.record_into(index, &mut sources);
        merge_tables(&mut merged, table);
    }
    // `extends` names this file's base; after merging it says nothing more.
    merged.remove("extends");

    let profile = deserialize(&sources, merged)?;
    Ok(LoadedProfile {
        name: name.to_string(),
        file: display_name(name),
        profile,
        sources,
    })
}

/// The files of profile `name` and of every base it extends, base first:
/// the files `load_from` reads and `compile::input_hash` hashes, found by
/// reading each file's top-level `extends` alone (one parse, no key spans,
/// no merge, no typed profile). `gen diff`, `plan` and `apply` hash these to
/// tell a stale tree, which a whole load made cost tens of milliseconds on a
/// large fleet. Each file is (shown name, text). `None` when the chain would
/// not load; the caller then loads it fully to say why.
pub fn chain_files(files: &dyn ProfileFiles, name: &str) -> Option<Vec<(String, String)>> {
    if !is_profile_name(name) {
        return None;
    }
    let mut chain: Vec<(String, String)> = Vec::new();
    let mut next = Some(name.to_string());
    while let Some(stem) = next.take() {
        let shown = display_name(&stem).into_string();
        if chain.len() >= MAX_EXTENDS_DEPTH || chain.iter().any(|(name, _)| *name == shown) {
            return None;
        }
        let text = files.read(&stem).ok()??;
        let document = DeTable::parse(&text).ok()?;
        next = match document.get_ref().get("extends").map(|v| v.get_ref()) {
            None => None,
            Some(DeValue::String(base)) => {
                let stem = base.strip_suffix(".toml").unwrap_or(base);
                if !is_profile_name(stem) {
                    return None;
                }
                Some(stem.to_string())
            }
            Some(_) => return None,
        };
        drop(document);
        chain.push((shown, text));
    }
    chain.reverse();
    Some(chain)
}

/// The profile files a manifest says its input hash covers
/// (`profiles/<stem>.toml`, base first), read like every other profile
/// file. Their hash equals the input hash exactly when none of them changed,
/// and then neither did their `extends`, so the chain is the same: no parse
/// is needed either way. `None` (an older manifest without the list, a file
/// gone or unsafe, a name of another shape) sends the caller to
/// [`chain_files`].
pub fn recorded_files(files: &dyn ProfileFiles, names: &[String]) -> Option<Vec<(String, String)>> {
    if names.is_empty() {
        return None;
    }
    names
        .iter()
        .map(|name| {
            let stem = Utf8Path::new(name)
                .strip_prefix(PROFILES_DIR)
                .ok()?
                .as_str()
                .strip_suffix(".toml")?;
            if !is_profile_name(stem) || display_name(stem) != name.as_str() {
                return None;
            }
            Some((name.clone(), files.read(stem).ok()??))
        })
        .collect()
}

fn is_profile_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// The base a profile extends: its stem and text.
fn resolve_extends(
    files: &dyn ProfileFiles,
    file: &SourceFile,
    spans: &Spanned,
    base: &str,
) -> Result<(String, String)> {
    let stem = base.strip_suffix(".toml").unwrap_or(base);
    if !is_profile_name(stem) {
        return Err(spans.error(
            file,
            "extends",
            format!(
                "`extends = \"{}\"` must name a profile file in the same directory, like `_base.toml`",
                gen_target::host_path::shown(base)
            ),
        ));
    }
    match files.read(stem)? {
        Some(text) => Ok((stem.to_string(), text)),
        None => Err(spans.error(
            file,
            "extends",
            format!("base profile `{PROFILES_DIR}/{stem}.toml` does not exist"),
        )),
    }
}

/// Key spans of one file, kept until the file gets its index in the source map.
struct Spanned {
    keys: Vec<(String, KeyLocation, bool)>,
}

impl Spanned {
    fn record_into(self, file: usize, sources: &mut SourceMap) {
        for (path, mut location, is_table) in self.keys {
            location.file = file;
            sources.record(path, location, is_table);
        }
    }

    fn error(&self, file: &SourceFile, key: &str, message: impl Into<String>) -> Error {
        let mut single = SourceMap::default();
        single.add_file(file.clone());
        for (path, location, is_table) in &self.keys {
            single.record(path.clone(), location.clone(), *is_table);
        }
        crate::profile_error::invalid(&single, key, Underline::Value, message, None)
    }
}

/// `profiles/<stem>.toml`: how a profile file is named in errors and manifests.
fn display_name(stem: &str) -> Utf8PathBuf {
    Utf8Path::new(PROFILES_DIR).join(format!("{stem}.toml"))
}

fn parse_file(shown: Utf8PathBuf, text: String) -> Result<(SourceFile, toml::Table, Spanned)> {
    let file = SourceFile::new(shown, text);
    let syntax_error = |err: toml::de::Error| {
        let span = err.span().unwrap_or(0..0);
        let message = clip(err.message().trim_end());
        if file.quotable && crate::source::span_quotable(&file.text, &span) {
            Error::Syntax {
                path: file.name.clone(),
                message,
                src: Some(file.named_source()),
                span: Some((span.start, span.len()).into()),
            }
        } else {
            Error::Syntax {
                path: crate::source::position(file.name.as_str(), &file.text, span.start).into(),
                message,
                src: None,
                span: None,
            }
        }
    };
    let document = DeTable::parse(&file.text).map_err(syntax_error)?;
    let mut keys = vec![(
        String::new(),
        KeyLocation {
            file: 0,
            key: 0..0,
            value: 0..0,
        },
        true,
    )];
    collect_table_spans("", document.get_ref(), &mut keys);
    let table: toml::Table = toml::from_str(&file.text).map_err(syntax_error)?;
    Ok((file, table, Spanned { keys }))
}

fn collect_table_spans(
    prefix: &str,
    table: &DeTable<'_>,
    out: &mut Vec<(String, KeyLocation, bool)>,
) {
    for (key, value) in table.iter() {
        let path = push_key(prefix, key.get_ref());
        let location = KeyLocation {
            file: 0,
            key: key.span(),
            value: value.span(),
        };
        out.push((
            path.clone(),
            location,
            matches!(value.get_ref(), DeValue::Table(_)),
        ));
        collect_value_spans(&path, value.get_ref(), out);
    }
}

fn collect_value_spans(
    path: &str,
    value: &DeValue<'_>,
    out: &mut Vec<(String, KeyLocation, bool)>,
) {
    match value {
        DeValue::Table(table) => collect_table_spans(path, table, out),
        DeValue::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                let item_path = push_index(path, index);
                let location = KeyLocation {
                    file: 0,
                    key: item.span(),
                    value: item.span(),
                };
                out.push((item_path.clone(), location, false));
                collect_value_spans(&item_path, item.get_ref(), out);
            }
        }
        _ => {}
    }
}

/// Deep merge: tables merge recursively, anything else in `overlay` replaces.
pub fn merge_tables(base: &mut toml::Table, overlay: toml::Table) {
    for (key, value) in overlay {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(base_table)), toml::Value::Table(overlay_table)) => {
                merge_tables(base_table, overlay_table);
            }
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

fn deserialize(sources: &SourceMap, merged: toml::Table) -> Result<Profile> {
    serde_path_to_error::deserialize(toml::Value::Table(merged)).map_err(|err| {
        let mut path = String::new();
        for segment in err.path().iter() {
            path = match segment {
                Segment::Map { key } => push_key(&path, key),
                Segment::Seq { index } => push_index(&path, *index),
                Segment::Enum { variant } => push_key(&path, variant),
                Segment::Unknown => path,
            };
        }
        let message = clip(err.inner().message().trim_end());
        let underline = if message.starts_with("unknown field") {
            Underline::Key
        } else {
            Underline::Value
        };
        let help = help_for_serde_message(&message);
        if references_credential(&path) && !message.starts_with("unknown field") {
            // serde quotes the value it could not use; here it may be a credential.
            return crate::profile_error::invalid_redacted(
                sources,
                &path,
                format!(
                    "`{path}` has the wrong type (the value is not shown: it may be a credential)"
                ),
                Some("secrets are referenced by the absolute path of a file on the host".into()),
            );
        }
        let shown_key = if path.is_empty() {
            "the profile".to_string()
        } else {
            format!("`{path}`")
        };
        crate::profile_error::invalid(
            sources,
            &path,
            underline,
            format!("{shown_key}: {message}"),
            help,
        )
    })
}

/// Keys whose value names a file holding a credential.
fn references_credential(path: &str) -> bool {
    path.contains(".secrets")
        || [
            "password_file",
            "auth_file",
            "replication_passfile",
            "exporter_passfile",
            "tls_key",
            "certificate_key",
        ]
        .iter()
        .any(|suffix| path.ends_with(suffix))
}

/// A parser's message, cut to a readable length: serde quotes the offending
/// value, which may be 100 KB long.
fn clip(message: &str) -> String {
    const MAX: usize = 300;
    if message.chars().count() <= MAX {
        return message.to_string();
    }
    let mut out: String = message.chars().take(MAX).collect();
    out.push('…');
    out
}

fn help_for_serde_message(message: &str) -> Option<String> {
    if message.starts_with("unknown field") {
        Some("remove the key or fix its spelling; `gen schema` lists every key".into())
    } else if message.starts_with("missing field") {
        Some("add the key; `gen schema` describes what it takes".into())
    } else if message.starts_with("invalid type") {
        Some("change the value to the expected type".into())
    } else if message.starts_with("unknown variant") {
        Some("use one of the listed values".into())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> toml::Table {
        toml::from_str(text).expect("test TOML parses")
    }

    #[test]
    fn tables_merge_and_other_values_replace() {
        let mut base = table("a = 1\nlist = [1, 2]\n[t]\nx = 1\ny = 2\n");
        merge_tables(&mut base, table("list = [3]\n[t]\ny = 3\nz = 4\n"));
        assert_eq!(base, table("a = 1\nlist = [3]\n[t]\nx = 1\ny = 3\nz = 4\n"));
    }

    const BASE: &str = "[project]\nname = \"shop\"\n";

    fn names(files: &[(String, String)]) -> Vec<&str> {
        files.iter().map(|(name, _)| name.as_str()).collect()
    }

    /// The light readers name the same files, with the same text, in the
    /// same order as a whole load, so their hash is the input hash.
    #[test]
    fn chain_and_recorded_files_are_the_files_a_load_reads() {
        let files = MemoryProfiles::default()
            .with("_base", BASE)
            .with("shop", "extends = \"_base.toml\"\n");
        let chain = chain_files(&files, "shop").expect("chain");
        assert_eq!(names(&chain), ["profiles/_base.toml", "profiles/shop.toml"]);
        let recorded: Vec<String> = chain.iter().map(|(name, _)| name.clone()).collect();
        assert_eq!(recorded_files(&files, &recorded), Some(chain.clone()));
        let expected = vec![
            ("profiles/_base.toml".to_string(), BASE.to_string()),
            (
                "profiles/shop.toml".to_string(),
                "extends = \"_base.toml\"\n".to_string(),
            ),
        ];
        assert_eq!(chain, expected);
    }

    #[test]
    fn a_chain_that_would_not_load_is_none() {
        let missing_base = MemoryProfiles::default().with("shop", "extends = \"_gone.toml\"\n");
        assert_eq!(chain_files(&missing_base, "shop"), None);
        let cycle = MemoryProfiles::default()
            .with("a", "extends = \"b.toml\"\n")
            .with("b", "extends = \"a.toml\"\n");
        assert_eq!(chain_files(&cycle, "a"), None);
        let not_a_name = MemoryProfiles::default().with("shop", "extends = \"../x.toml\"\n");
        assert_eq!(chain_files(&not_a_name, "shop"), None);
        let not_toml = MemoryProfiles::default().with("shop", "extends = = 1\n");
        assert_eq!(chain_files(&not_toml, "shop"), None);
        assert_eq!(chain_files(&not_toml, "Shop"), None);
    }

    #[test]
    fn recorded_names_of_another_shape_or_gone_are_none() {
        let files = MemoryProfiles::default().with("shop", BASE);
        assert!(recorded_files(&files, &["profiles/shop.toml".into()]).is_some());
        for bad in [
            "profiles/gone.toml",
            "profiles/../shop.toml",
            "profiles/sub/shop.toml",
            "shop.toml",
            "/etc/profiles/shop.toml",
            "profiles/Shop.toml",
        ] {
            assert_eq!(recorded_files(&files, &[bad.into()]), None, "{bad}");
        }
        assert_eq!(recorded_files(&files, &[]), None);
    }
}
