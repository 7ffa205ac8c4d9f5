//! Load stage support: the profile files read from disk and where every key in
//! them came from, so any later stage can point an error at a file, line and key.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::ops::Range;
use std::sync::Arc;

use camino::Utf8PathBuf;
use miette::{NamedSource, SourceSpan};

/// One profile file as read from disk.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path as the user should see it (relative to the project when possible).
    pub name: Utf8PathBuf,
    pub text: Arc<String>,
    /// Whether errors may quote this file at all (see [`file_quotable`]).
    pub quotable: bool,
}

impl SourceFile {
    pub fn new(name: Utf8PathBuf, text: String) -> SourceFile {
        let quotable = file_quotable(&text);
        SourceFile {
            name,
            text: Arc::new(text),
            quotable,
        }
    }

    pub fn named_source(&self) -> NamedSource<Arc<String>> {
        NamedSource::new(self.name.as_str(), Arc::clone(&self.text)).with_language("toml")
    }
}

/// Where one key of the merged profile was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyLocation {
    pub file: usize,
    pub key: Range<usize>,
    pub value: Range<usize>,
}

/// Which part of a key's definition an error should underline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Underline {
    Key,
    Value,
}

/// The longest source line an error quotes. miette pads the underline to the
/// span's column, and Rust's formatter panics on a width past 65535, so a
/// value on a very long line would crash gen while reporting it; past this
/// length gen names the file, line and column instead of quoting the line.
pub const MAX_QUOTED_LINE: usize = 1024;

/// Whether errors may quote a file at all. A file holding control characters
/// (TOML refuses them, but they are in the file) is never quoted: an escape
/// sequence in an error message could rewrite what the terminal shows. Nor is
/// a file that seems to hold a credential: miette shows the lines around the
/// one in error, so an unrelated mistake would print it.
pub fn file_quotable(text: &str) -> bool {
    !text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r'))
        && !crate::credential::text_holds_credential(text)
}

/// Whether an error can quote the lines `span` starts and ends on.
pub fn span_quotable(text: &str, span: &Range<usize>) -> bool {
    let line_length = |offset: usize| {
        let offset = offset.min(text.len());
        let start = text.as_bytes()[..offset]
            .iter()
            .rposition(|b| *b == b'\n')
            .map_or(0, |i| i + 1);
        let end = text.as_bytes()[offset..]
            .iter()
            .position(|b| *b == b'\n')
            .map_or(text.len(), |i| offset + i);
        end - start
    };
    text.is_char_boundary(span.start.min(text.len()))
        && line_length(span.start) <= MAX_QUOTED_LINE
        && line_length(span.end) <= MAX_QUOTED_LINE
}

/// `file:line:column` of a byte offset, column counted in characters.
pub fn position(name: &str, text: &str, offset: usize) -> String {
    let (line, column) = line_column(text, offset);
    format!("{name}:{line}:{column}")
}

/// The line and column (from 1, column counted in characters) of a byte offset.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// A located source excerpt ready for a diagnostic.
#[derive(Debug, Clone)]
pub struct Located {
    pub src: NamedSource<Arc<String>>,
    pub span: SourceSpan,
    /// Whether the error may quote the excerpt.
    pub quotable: bool,
}

/// Every key path of the merged profile (`hosts.db1.hardware.memory`,
/// `sites.main.locations[1].service`) mapped to the file and span that set it.
/// A profile that extends a base overrides the base's locations key by key,
/// exactly like it overrides the values.
#[derive(Debug, Clone, Default)]
pub struct SourceMap {
    pub files: Vec<SourceFile>,
    keys: BTreeMap<String, KeyLocation>,
}

impl SourceMap {
    pub fn add_file(&mut self, file: SourceFile) -> usize {
        self.files.push(file);
        self.files.len() - 1
    }

    /// Records the location of a key. A later record for the same key (from the
    /// extending profile) replaces the earlier one; when the new value is not a
    /// table it also replaces everything the base had below that key, because
    /// merging replaces non-table values whole.
    pub fn record(&mut self, path: String, location: KeyLocation, is_table: bool) {
        if !is_table {
            self.forget_below(&path);
        }
        self.keys.insert(path, location);
    }

    /// Removes every key below `path`. Keys below it sort right after its
    /// `.` and `[` prefixes, so only those ranges are visited: recording stays
    /// linear in the number of keys however large the profile is.
    fn forget_below(&mut self, path: &str) {
        for prefix in [format!("{path}."), format!("{path}[")] {
            let below: Vec<String> = self
                .keys
                .range(prefix.clone()..)
                .map(|(key, _)| key)
                .take_while(|key| key.starts_with(&prefix))
                .cloned()
                .collect();
            for key in below {
                self.keys.remove(&key);
            }
        }
    }

    /// The source location of `path`, or of its nearest recorded ancestor when
    /// the key itself is absent (a missing key is reported at its table).
    pub fn locate(&self, path: &str, underline: Underline) -> Option<Located> {
        let mut current = path.to_string();
        loop {
            if let Some(location) = self.keys.get(&current) {
                let file = self.files.get(location.file)?;
                let range = match underline {
                    Underline::Key if !location.key.is_empty() => location.key.clone(),
                    _ => location.value.clone(),
                };
                return Some(Located {
                    src: file.named_source(),
                    span: (range.start, range.len()).into(),
                    quotable: file.quotable && span_quotable(&file.text, &range),
                });
            }
            current = parent_path(&current)?;
        }
    }

    /// Every key at or below `prefix` that holds a value (not a table), with
    /// the file and line that set it and the value as written: what `gen
    /// explain` shows as a file's inputs.
    pub fn entries_under(&self, prefix: &str) -> Vec<KeyEntry> {
        let dotted = format!("{prefix}.");
        let indexed = format!("{prefix}[");
        let mut out = Vec::new();
        for (key, location) in &self.keys {
            let below = key == prefix || key.starts_with(&dotted) || key.starts_with(&indexed);
            let Some(file) = self.files.get(location.file) else {
                continue;
            };
            let Some(text) = file.text.get(location.value.clone()) else {
                continue;
            };
            // Tables and arrays of tables are shown through their leaves.
            if !below
                || key.ends_with(']')
                || text.starts_with('[') && text.contains('\n')
                || self.is_table(key)
            {
                continue;
            }
            let line = file.text[..location.value.start].matches('\n').count() + 1;
            out.push(KeyEntry {
                key: key.clone(),
                file: file.name.to_string(),
                line,
                value: text.split_whitespace().collect::<Vec<_>>().join(" "),
            });
        }
        out
    }

    fn is_table(&self, key: &str) -> bool {
        let dotted = format!("{key}.");
        self.keys
            .range(dotted.clone()..)
            .next()
            .is_some_and(|(k, _)| k.starts_with(&dotted))
    }
}

/// One profile key as `gen explain` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KeyEntry {
    pub key: String,
    pub file: String,
    pub line: usize,
    pub value: String,
}

/// `a.b[2].c` → `a.b[2]` → `a.b` → `a` → none.
pub fn parent_path(path: &str) -> Option<String> {
    if path.is_empty() {
        return None;
    }
    let cut = path.rfind(['.', '[']).unwrap_or(0);
    Some(path[..cut].to_string())
}

/// Appends a map key to a key path, quoting it when it is not a bare TOML key.
pub fn push_key(path: &str, key: &str) -> String {
    let mut out = String::with_capacity(path.len() + key.len() + 1);
    out.push_str(path);
    if !path.is_empty() {
        out.push('.');
    }
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        out.push_str(key);
    } else {
        let _ = write!(out, "{key:?}");
    }
    out
}

/// Appends an array index to a key path.
pub fn push_index(path: &str, index: usize) -> String {
    format!("{path}[{index}]")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_walk_up_to_the_root() {
        assert_eq!(parent_path("a.b[2].c").as_deref(), Some("a.b[2]"));
        assert_eq!(parent_path("a.b[2]").as_deref(), Some("a.b"));
        assert_eq!(parent_path("a").as_deref(), Some(""));
        assert_eq!(parent_path(""), None);
    }

    #[test]
    fn keys_that_are_not_bare_are_quoted() {
        assert_eq!(push_key("hosts", "db1"), "hosts.db1");
        assert_eq!(push_key("", "hosts"), "hosts");
        assert_eq!(push_key("env", "a.b"), "env.\"a.b\"");
    }

    #[test]
    fn an_override_forgets_the_base_locations_below_it() {
        let mut map = SourceMap::default();
        let loc = |file| KeyLocation {
            file,
            key: 0..1,
            value: 0..1,
        };
        map.record("a".into(), loc(0), true);
        map.record("a.b".into(), loc(0), false);
        map.record("a[0]".into(), loc(0), false);
        map.record("a".into(), loc(1), true);
        assert_eq!(map.keys.len(), 3, "a table merges: base keys below stay");
        map.record("a".into(), loc(1), false);
        assert_eq!(map.keys.len(), 1, "a scalar replaces: base keys below go");
        assert_eq!(map.keys["a"].file, 1);
    }
}
