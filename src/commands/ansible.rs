//! `gen ansible --profile P [--out DIR]`.

use camino::{Utf8Path, Utf8PathBuf};

use crate::cli::Outcome;
use gen_compile::compile;
use gen_target::error::{Error, Result};

pub fn run(project: &Utf8Path, profile: &str, out: Option<&Utf8Path>) -> Result<Outcome> {
    let (loaded, deployment, _) = compile::analyse(project, profile)?;
    let dir = out.map_or_else(
        || project.join("ansible").join(profile),
        Utf8Path::to_path_buf,
    );
    std::fs::create_dir_all(&dir).map_err(|e| Error::write(&dir, e))?;
    let generated = generated_from(project, &dir)?;
    for (name, content) in
        gen_compile::ansible::render(&deployment, loaded.file.as_str(), generated.as_str())?
    {
        let path = dir.join(name);
        std::fs::write(&path, content).map_err(|e| Error::write(&path, e))?;
    }
    eprintln!("wrote {dir}/inventory.ini and {dir}/playbook.yml");
    Ok(Outcome::Clean)
}

/// The project's `generated/` as the playbook in `dir` should name it:
/// relative when `dir` is inside the project (the playbook and the tree move
/// together, e.g. in a checkout on the control node), else absolute.
fn generated_from(project: &Utf8Path, dir: &Utf8Path) -> Result<Utf8PathBuf> {
    let canonical = |path: &Utf8Path| -> Result<Utf8PathBuf> {
        let resolved = std::fs::canonicalize(path).map_err(|e| Error::read(path, e))?;
        Utf8PathBuf::from_path_buf(resolved)
            .map_err(|p| Error::usage(format!("`{}` is not a UTF-8 path", p.display())))
    };
    let project = canonical(project)?;
    let dir = canonical(dir)?;
    Ok(match dir.strip_prefix(&project) {
        Ok(inside) => {
            let mut relative = Utf8PathBuf::new();
            for _ in inside.components() {
                relative.push("..");
            }
            relative.join("generated")
        }
        Err(_) => project.join("generated"),
    })
}
