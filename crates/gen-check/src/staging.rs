//! Check stage support: a throw-away directory holding one host's generated
//! files, so validators can run on copies whose sandbox-only paths are
//! rewritten in place (one line for one line, so every line number a
//! validator reports is the generated file's), and messages can be mapped back
//! to `generated/<profile>/<host>/root/...`. Each directory is named with
//! its owner record (see [`crate::owner`]) and registered as a live sandbox
//! (see [`crate::sandboxes`]) until it is removed.

use std::fs;
use std::os::unix::fs::PermissionsExt as _;

use camino::{Utf8Path, Utf8PathBuf};

use gen_target::error::{Error, Result};
use gen_target::host_path::join_under;
use gen_target::layout::{tree_path, ROOT_DIR};

use crate::sandboxes::{self, Registration, SandboxId};

pub struct Staging {
    /// Declared before `registration`: the directory is removed before the
    /// sandbox leaves the registry, so an abort never misses it.
    dir: tempfile::TempDir,
    registration: Registration,
    root: Utf8PathBuf,
    generated_root: Utf8PathBuf,
    /// (staged path, generated path), longest staged path first.
    mapped: Vec<(String, String)>,
}

impl Staging {
    /// A new empty staging directory for the host tree at `generated_host`
    /// (`generated/<profile>/<host>`). Readable by every user: PostgreSQL and
    /// Redis run as their own users and read their staged files. Refused
    /// once gen is stopping on a signal.
    pub fn new(generated_host: &Utf8Path) -> Result<Staging> {
        let (dir, registration) = sandboxes::create_dir(&std::env::temp_dir())
            .ok_or(Error::Stopping)?
            .map_err(|e| Error::write("a temporary directory", e))?;
        let root = Utf8PathBuf::from_path_buf(dir.path().to_path_buf()).map_err(|p| {
            Error::usage(format!(
                "temporary directory `{}` is not UTF-8",
                p.display()
            ))
        })?;
        fs::set_permissions(&root, fs::Permissions::from_mode(0o755))
            .map_err(|e| Error::write(root.clone(), e))?;
        Ok(Staging {
            dir,
            registration,
            root,
            generated_root: generated_host.join(ROOT_DIR),
            mapped: Vec::new(),
        })
    }

    /// This sandbox in the registry of live sandboxes.
    pub fn id(&self) -> SandboxId {
        self.registration.id()
    }

    /// The staging directory itself.
    pub fn dir(&self) -> &Utf8Path {
        &self.root
    }

    /// A scratch path in the staging directory.
    pub fn path(&self, name: &str) -> Utf8PathBuf {
        self.root.join(name)
    }

    /// The generated file for a host path.
    pub fn generated(&self, host_path: &str) -> Utf8PathBuf {
        join_under(&self.generated_root, host_path)
    }

    /// Copies the generated file for `host_path` to `<staging>/root/<host_path>`.
    pub fn stage(&mut self, host_path: &str) -> Result<Utf8PathBuf> {
        self.stage_with(host_path, |_| None)
    }

    /// Copies the generated file, replacing each line for which `rewrite`
    /// returns a new one. A replacement must be one line, so line numbers hold.
    pub fn stage_with(
        &mut self,
        host_path: &str,
        rewrite: impl Fn(&str) -> Option<String>,
    ) -> Result<Utf8PathBuf> {
        let source = self.generated(host_path);
        let text = fs::read_to_string(&source).map_err(|e| Error::read(source.clone(), e))?;
        let mut staged_text = String::with_capacity(text.len());
        for line in text.split_inclusive('\n') {
            let (body, end) = match line.strip_suffix('\n') {
                Some(body) => (body, "\n"),
                None => (line, ""),
            };
            match rewrite(body) {
                Some(new) => {
                    staged_text.push_str(&new.replace('\n', " "));
                    staged_text.push_str(end);
                }
                None => staged_text.push_str(line),
            }
        }
        let staged = tree_path(&self.root, host_path);
        self.write(&staged, &staged_text)?;
        self.mapped.push((staged.to_string(), source.to_string()));
        self.mapped
            .sort_by_key(|(staged, _)| std::cmp::Reverse(staged.len()));
        Ok(staged)
    }

    /// The staged copy of the host's root: the files [`Staging::stage`]
    /// copied sit below it at their host paths.
    pub fn host_root(&self) -> Utf8PathBuf {
        self.root.join(ROOT_DIR)
    }

    /// Makes the symbolic link `host_path` → `target` in the staged root, as
    /// `gen apply` makes it on the host (the target is a host path, which
    /// `systemctl --root` resolves inside the staged root).
    pub fn link(&self, host_path: &str, target: &str) -> Result<Utf8PathBuf> {
        let path = tree_path(&self.root, host_path);
        self.make_parents(&path)?;
        match fs::symlink_metadata(&path) {
            Ok(_) => fs::remove_file(&path).map_err(|e| Error::write(path.clone(), e))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::write(path, e)),
        }
        std::os::unix::fs::symlink(target, &path).map_err(|e| Error::write(path.clone(), e))?;
        Ok(path)
    }

    /// Writes a scratch file (creating its directory), readable by everyone.
    pub fn write(&self, path: &Utf8Path, text: &str) -> Result<()> {
        self.make_parents(path)?;
        fs::write(path, text).map_err(|e| Error::write(path, e))?;
        fs::set_permissions(path, fs::Permissions::from_mode(0o644))
            .map_err(|e| Error::write(path, e))
    }

    /// Creates the directories of a scratch path, readable by everyone.
    fn make_parents(&self, path: &Utf8Path) -> Result<()> {
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| Error::write(parent, e))?;
            let mut dir = parent;
            while dir.starts_with(&self.root) && dir != self.root {
                fs::set_permissions(dir, fs::Permissions::from_mode(0o755))
                    .map_err(|e| Error::write(dir, e))?;
                match dir.parent() {
                    Some(up) => dir = up,
                    None => break,
                }
            }
        }
        Ok(())
    }

    /// Maps staged paths in a validator's message back to the generated files,
    /// and the rest of the staging directory to `<sandbox>`.
    pub fn unstage(&self, message: &str) -> String {
        let mut out = message.to_string();
        for (staged, generated) in &self.mapped {
            out = out.replace(staged.as_str(), generated);
        }
        out.replace(self.root.as_str(), "<sandbox>")
    }

    /// Removes the directory now, reporting a failure (drop ignores it).
    pub fn close(self) -> Result<()> {
        let Staging {
            dir,
            registration,
            root,
            ..
        } = self;
        let closed = dir.close().map_err(|e| Error::write(root, e));
        drop(registration);
        closed
    }
}
