//! `gen ansible --profile P [--out DIR]`.

use camino::Utf8Path;

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
    for (name, content) in gen_compile::ansible::render(&deployment, loaded.file.as_str())? {
        let path = dir.join(name);
        std::fs::write(&path, content).map_err(|e| Error::write(&path, e))?;
    }
    eprintln!("wrote {dir}/inventory.ini and {dir}/playbook.yml");
    Ok(Outcome::Clean)
}
