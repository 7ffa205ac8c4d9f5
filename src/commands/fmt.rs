//! `gen fmt [--check] [FILE…]`: formats profiles the way the repository
//! keeps them, with taplo's formatter (the one Even Better TOML runs on save)
//! and the options of the repository's `.taplo.toml`, so the CLI, CI and an
//! editor agree byte for byte. Formatting keeps comments and never changes
//! what a profile means; `--check` changes nothing and exits 1 naming every
//! file that is not formatted, which is what CI runs.

use std::sync::Arc;

use camino::{Utf8Path, Utf8PathBuf};
use miette::NamedSource;

use crate::cli::Outcome;
use gen_compile::load::PROFILES_DIR;
use gen_target::error::{Error, Result};

/// taplo's options for profiles, the `[formatting]` table of `.taplo.toml`
/// as `(key, value)`; a test keeps the two the same.
pub const OPTIONS: [(&str, &str); 6] = [
    // Keys stay in the order the author wrote them: the order explains.
    ("reorder_keys", "false"),
    // An array or inline table keeps the lines its author gave it: a long
    // `command = [...]` may stay on one line, a list of locations may be one
    // element a line, and nothing is folded or unfolded behind their back.
    ("array_auto_expand", "false"),
    ("array_auto_collapse", "false"),
    ("inline_table_expand", "false"),
    // One space before a trailing comment: taplo's alignment pads a whole
    // block of lines out to its longest, which a long inline table makes
    // hundreds of columns wide.
    ("align_comments", "false"),
    // A blank line between tables, never a run of them.
    ("allowed_blank_lines", "1"),
];

fn options() -> taplo::formatter::Options {
    let mut options = taplo::formatter::Options::default();
    // `OPTIONS` is a constant a test parses; a key it does not know is a
    // mistake in this file, caught by that test, not a user's.
    let _ = options.update_from_str(OPTIONS.iter().copied());
    options
}

/// `text` formatted, or the first TOML syntax error in it (formatting around
/// an error could move what the author meant).
pub fn format(path: &Utf8Path, text: &str) -> Result<String> {
    let parsed = taplo::parser::parse(text);
    if let Some(error) = parsed.errors.first() {
        let start = usize::from(error.range.start());
        let len = usize::from(error.range.len());
        return Err(Error::Syntax {
            path: path.to_owned(),
            message: error.message.clone(),
            src: Some(NamedSource::new(path.as_str(), Arc::new(text.to_string()))),
            span: Some((start, len).into()),
        });
    }
    Ok(taplo::formatter::format_syntax(
        parsed.into_syntax(),
        options(),
    ))
}

pub fn run(project: &Utf8Path, check: bool, files: &[Utf8PathBuf]) -> Result<Outcome> {
    let files = if files.is_empty() {
        profile_files(project)?
    } else {
        files.to_vec()
    };
    let mut unformatted = Vec::new();
    for file in &files {
        // Like the loader: a profile is a regular file, never followed through a link.
        let metadata = file.symlink_metadata().map_err(|e| Error::read(file, e))?;
        if !metadata.is_file() {
            return Err(Error::UnsafeProfile {
                path: file.clone(),
                message: "is not a regular file".into(),
            });
        }
        let text = std::fs::read_to_string(file).map_err(|e| Error::read(file, e))?;
        let formatted = format(file, &text)?;
        if formatted == text {
            continue;
        }
        if check {
            println!("not formatted: {file}");
        } else {
            write_in_place(file, &formatted, metadata.permissions())?;
            println!("formatted {file}");
        }
        unformatted.push(file);
    }
    if check && !unformatted.is_empty() {
        eprintln!(
            "{} of {} profile(s) not formatted; run `gen fmt`",
            unformatted.len(),
            files.len()
        );
        return Ok(Outcome::Differences);
    }
    Ok(Outcome::Clean)
}

/// Every `*.toml` directly in `<project>/profiles/`, bases included, sorted.
fn profile_files(project: &Utf8Path) -> Result<Vec<Utf8PathBuf>> {
    let dir = project.join(PROFILES_DIR);
    let entries = dir.read_dir_utf8().map_err(|e| Error::read(&dir, e))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::read(&dir, e))?;
        if entry.path().extension() == Some("toml") {
            files.push(entry.path().to_owned());
        }
    }
    files.sort();
    Ok(files)
}

/// Replaces `file` by renaming a complete sibling over it, so a crash leaves
/// the old profile or the new one, never half of one.
fn write_in_place(file: &Utf8Path, text: &str, permissions: std::fs::Permissions) -> Result<()> {
    let name = file.file_name().unwrap_or("profile");
    let temporary = file.with_file_name(format!(".{name}.gen-fmt"));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&temporary)
        .and_then(|mut out| {
            std::io::Write::write_all(&mut out, text.as_bytes())?;
            out.set_permissions(permissions)?;
            out.sync_all()
        })
        .and_then(|()| std::fs::rename(&temporary, file));
    written.map_err(|e| {
        let _ = std::fs::remove_file(&temporary);
        Error::write(file, e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_option_is_one_taplo_knows() {
        let mut options = taplo::formatter::Options::default();
        options
            .update_from_str(OPTIONS.iter().copied())
            .expect("taplo knows every option");
    }

    /// taplo and Even Better TOML read `.taplo.toml`; `gen fmt` must format
    /// the profiles exactly as they do.
    #[test]
    fn the_taplo_configs_have_the_same_options() {
        // The repository's, and the one `gen init` writes into a new project.
        for (name, text, globs) in [
            (
                ".taplo.toml",
                include_str!("../../.taplo.toml"),
                &[
                    "profiles/*.toml",
                    "tests/fixtures/*/profiles/*.toml",
                    "src/commands/init/*.toml",
                ][..],
            ),
            (
                "init/taplo.toml",
                include_str!("init/taplo.toml"),
                &["profiles/*.toml"][..],
            ),
        ] {
            same_options(name, text, globs);
        }
    }

    fn same_options(name: &str, text: &str, globs: &[&str]) {
        let config: toml::Table = toml::from_str(text).expect("TOML");
        let rule = &config["rule"].as_array().expect("[[rule]]")[0];
        let formatting = rule["formatting"].as_table().expect("[rule.formatting]");
        let theirs: std::collections::BTreeMap<String, String> = formatting
            .iter()
            .map(|(k, v)| (k.clone(), v.to_string()))
            .collect();
        let ours: std::collections::BTreeMap<String, String> = OPTIONS
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(theirs, ours, "{name}");
        let include = rule["include"].as_array().expect("include");
        for glob in globs {
            assert!(
                include.iter().any(|g| g.as_str() == Some(*glob)),
                "{name}: {glob}"
            );
        }
    }

    #[test]
    fn formatting_keeps_comments_and_is_stable() {
        let text = "#:schema ../docs/profile.schema.json\n# why\n[project]   # inline\nname=\"x\"\n\n\n\n[network]\ninternal = [ \"10.0.0.0/8\" ]\n";
        let once = format(Utf8Path::new("p.toml"), text).expect("formats");
        assert!(
            once.contains("# why") && once.contains("# inline"),
            "{once}"
        );
        assert!(once.contains("name = \"x\""), "{once}");
        assert!(!once.contains("\n\n\n"), "{once}");
        assert_eq!(
            format(Utf8Path::new("p.toml"), &once).expect("formats"),
            once
        );
    }

    #[test]
    fn a_syntax_error_is_refused_not_formatted_around() {
        let err = format(Utf8Path::new("p.toml"), "[project\nname = \"x\"\n").expect_err("error");
        assert!(matches!(err, Error::Syntax { .. }), "{err:?}");
    }
}
