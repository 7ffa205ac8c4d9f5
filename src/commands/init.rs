//! `gen init`: a starter deployment repository in the project directory — a
//! commented one-host profile that builds without a lint and passes
//! `gen check --strict`, a `.gitignore` for gen's scratch trees, the CI
//! workflows of `docs/examples/` (the same files, compiled in), and the
//! editor schemas the profile's `#:schema` line names, with a `.taplo.toml`
//! that formats profiles as `gen fmt` does. It never
//! overwrites: when any of its files exists, it writes none and names them.

use camino::Utf8Path;

use crate::cli::Outcome;
use gen_target::error::{Error, Result};

/// What `gen init` writes, relative to the project directory.
const FILES: [(&str, &str); 7] = [
    ("profiles/pilot.toml", include_str!("init/pilot.toml")),
    // The editor schema the profile's `#:schema` line names, at the same
    // relative path as in gen's repository: it works offline, with no URL to
    // keep alive, and describes exactly the gen that wrote it (after
    // upgrading gen, `gen schema > docs/profile.schema.json` refreshes it).
    (
        "docs/profile.schema.json",
        include_str!("../../docs/profile.schema.json"),
    ),
    (
        "docs/profile-base.schema.json",
        include_str!("../../docs/profile-base.schema.json"),
    ),
    // An editor formats the profiles as `gen fmt` does.
    (".taplo.toml", include_str!("init/taplo.toml")),
    (
        ".gitignore",
        "# gen's scratch trees while it builds (generated/ itself is committed:\n# the pull-request review is its diff).\n/generated.gen-new\n/generated.gen-old\n/generated/.*.gen-new\n/generated/.*.gen-old\n# What each generated file was rendered from, so a rebuild renders only\n# what changed (a cache: never committed, rebuilt when missing).\n/generated.gen-cache\n/generated.gen-cache.tmp\n",
    ),
    (
        ".github/workflows/gen.yml",
        include_str!("../../docs/examples/github-actions.yml"),
    ),
    (
        ".github/workflows/gen-comment.yml",
        include_str!("../../docs/examples/github-actions-comment.yml"),
    ),
];

pub fn run(project: &Utf8Path) -> Result<Outcome> {
    let existing: Vec<&str> = FILES
        .iter()
        .map(|(path, _)| *path)
        .filter(|path| project.join(path).symlink_metadata().is_ok())
        .collect();
    if !existing.is_empty() {
        return Err(Error::Usage {
            message: format!(
                "`gen init` would overwrite `{}` in `{project}`",
                existing.join("`, `")
            ),
            help: Some(
                "gen init writes a new project and never overwrites: run it in an empty directory, or move these files away"
                    .into(),
            ),
        });
    }
    for (path, content) in FILES {
        let path = project.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::write(parent, e))?;
        }
        // create_new: a file appearing since the check above is not overwritten either.
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .and_then(|mut file| std::io::Write::write_all(&mut file, content.as_bytes()))
            .map_err(|e| Error::write(&path, e))?;
        println!("wrote {path}");
    }
    println!(
        "next: edit {}, then `gen build`, `gen check` and commit profiles/ and generated/",
        project.join("profiles/pilot.toml")
    );
    Ok(Outcome::Clean)
}
