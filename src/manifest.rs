//! Hash stage: the manifest of one host's target tree. It lists every file with
//! its sha256, mode, owner and group, what produced it and what a change to it
//! asks of the host, plus an input hash (profiles, templates, gen version) and
//! a tree hash over the file records. `gen apply` trusts nothing else.

use camino::Utf8Path;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::catalog::{Activation, Validator};
use crate::error::{Error, Result};

/// Bumped when the manifest's shape changes incompatibly.
pub const FORMAT: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: u32,
    pub gen_version: String,
    pub profile: String,
    pub host: String,
    /// sha256 over gen's version, the profile files and every template.
    pub input_hash: String,
    /// sha256 over the canonical JSON of `files`.
    pub tree_hash: String,
    /// Sorted by `path`.
    pub files: Vec<FileRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileRecord {
    /// Absolute path on the host.
    pub path: String,
    pub sha256: String,
    pub size: u64,
    /// Octal, e.g. `0644`.
    pub mode: String,
    pub owner: String,
    pub group: String,
    /// Holds or references credentials: diffs show only that it changed.
    pub sensitive: bool,
    pub template: String,
    /// The profile file the host's values came from.
    pub source: String,
    pub activation: Activation,
    pub validator: Validator,
}

impl FileRecord {
    pub fn mode_bits(&self) -> Option<u32> {
        u32::from_str_radix(&self.mode, 8)
            .ok()
            .filter(|m| *m <= 0o7777)
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

pub fn mode_string(mode: u32) -> String {
    format!("{mode:04o}")
}

/// The tree hash: sha256 of the canonical JSON of the sorted file records.
pub fn tree_hash(files: &[FileRecord]) -> String {
    let canonical = serde_json::to_vec(files).unwrap_or_default();
    sha256_hex(&canonical)
}

impl Manifest {
    pub fn new(
        profile: &str,
        host: &str,
        input_hash: String,
        mut files: Vec<FileRecord>,
    ) -> Manifest {
        files.sort_by(|a, b| a.path.cmp(&b.path));
        let tree_hash = tree_hash(&files);
        Manifest {
            format: FORMAT,
            gen_version: env!("CARGO_PKG_VERSION").to_string(),
            profile: profile.to_string(),
            host: host.to_string(),
            input_hash,
            tree_hash,
            files,
        }
    }

    /// Pretty JSON with a trailing newline, as written to disk.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).unwrap_or_default();
        out.push(b'\n');
        out
    }

    pub fn read(path: &Utf8Path) -> Result<Manifest> {
        let bytes = std::fs::read(path).map_err(|e| Error::read(path, e))?;
        Manifest::parse(path, &bytes)
    }

    /// Parses and checks a manifest: its format, its tree hash and every record.
    pub fn parse(path: &Utf8Path, bytes: &[u8]) -> Result<Manifest> {
        let invalid = |message: String| Error::Manifest {
            path: path.to_path_buf(),
            message,
        };
        let manifest: Manifest =
            serde_json::from_slice(bytes).map_err(|e| invalid(e.to_string()))?;
        if manifest.format != FORMAT {
            return Err(invalid(format!(
                "format {} is not the supported format {FORMAT}",
                manifest.format
            )));
        }
        if tree_hash(&manifest.files) != manifest.tree_hash {
            return Err(invalid(
                "the tree hash does not match the file records".into(),
            ));
        }
        for record in &manifest.files {
            if !crate::syntax::is_safe_path(&record.path)
                || record.mode_bits().is_none()
                || record.sha256.len() != 64
            {
                return Err(invalid(format!(
                    "record for `{}` is malformed",
                    crate::syntax::shown(&record.path)
                )));
            }
        }
        if manifest.files.windows(2).any(|w| w[0].path >= w[1].path) {
            return Err(invalid(
                "files are not sorted by path or repeat a path".into(),
            ));
        }
        Ok(manifest)
    }
}
