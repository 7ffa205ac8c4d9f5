//! The pipeline driver: load → validate → derive → render → hash, for one
//! profile, producing every host's artifacts and manifest in memory.

use camino::Utf8Path;
use sha2::{Digest, Sha256};

use crate::derive::{self, Derived};
use crate::error::Result;
use crate::load::{self, DiskProfiles, LoadedProfile, MemoryProfiles, ProfileFiles};
use crate::manifest::{self, FileRecord, Manifest};
use crate::model::Deployment;
use crate::render::{Artifact, Renderer, TEMPLATES};
use crate::validate;

/// One host's target state.
#[derive(Debug, Clone)]
pub struct CompiledHost {
    pub host: String,
    pub artifacts: Vec<Artifact>,
    pub manifest: Manifest,
}

/// A profile compiled for all its hosts.
#[derive(Debug)]
pub struct CompiledProfile {
    pub name: String,
    pub loaded: LoadedProfile,
    pub deployment: Deployment,
    pub derived: Derived,
    pub hosts: Vec<CompiledHost>,
}

/// Front half of the pipeline: a profile's checked model and derived values.
pub fn analyse(project: &Utf8Path, name: &str) -> Result<(LoadedProfile, Deployment, Derived)> {
    analyse_from(&DiskProfiles::new(project), name)
}

/// [`analyse`] over profile files from anywhere.
pub fn analyse_from(
    files: &dyn ProfileFiles,
    name: &str,
) -> Result<(LoadedProfile, Deployment, Derived)> {
    let loaded = load::load_from(files, name)?;
    let deployment = validate::validate(&loaded)?;
    let derived = derive::derive(&deployment, &loaded.sources)?;
    Ok((loaded, deployment, derived))
}

/// Compiles `<project>/profiles/<name>.toml`.
pub fn compile(project: &Utf8Path, name: &str, renderer: &Renderer) -> Result<CompiledProfile> {
    compile_from(&DiskProfiles::new(project), name, renderer)
}

/// Compiles one profile given as text, with no base to extend: the whole
/// pipeline, pure and in memory (fuzzing and property tests drive this).
pub fn compile_text(name: &str, text: &str, renderer: &Renderer) -> Result<CompiledProfile> {
    compile_from(&MemoryProfiles::default().with(name, text), name, renderer)
}

/// Compiles profile `name` read from `files`.
pub fn compile_from(
    files: &dyn ProfileFiles,
    name: &str,
    renderer: &Renderer,
) -> Result<CompiledProfile> {
    let (loaded, deployment, derived) = analyse_from(files, name)?;
    let input_hash = input_hash(&loaded);
    let profile_file = loaded.file.to_string();
    let hosts = deployment
        .hosts
        .iter()
        .map(|host| {
            let artifacts = renderer.render_host(&deployment, &derived, host, &profile_file)?;
            let records = artifacts
                .iter()
                .map(|a| FileRecord {
                    path: a.spec.path.clone(),
                    sha256: manifest::sha256_hex(&a.content),
                    size: a.content.len() as u64,
                    mode: manifest::mode_string(a.spec.mode),
                    owner: a.spec.owner.to_string(),
                    group: a.spec.group.to_string(),
                    sensitive: a.spec.sensitive,
                    template: a.spec.template.to_string(),
                    source: profile_file.clone(),
                    activation: a.spec.activation.clone(),
                    validator: a.spec.validator,
                })
                .collect();
            Ok(CompiledHost {
                host: host.name.clone(),
                manifest: Manifest::new(
                    &deployment.profile,
                    &host.name,
                    input_hash.clone(),
                    records,
                ),
                artifacts,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(CompiledProfile {
        name: name.to_string(),
        loaded,
        deployment,
        derived,
        hosts,
    })
}

/// sha256 over gen's version, the profile files (root first, by project-relative
/// name and content) and every embedded template.
pub fn input_hash(loaded: &LoadedProfile) -> String {
    let mut hasher = Sha256::new();
    let mut field = |bytes: &[u8]| {
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    };
    field(concat!("gen ", env!("CARGO_PKG_VERSION")).as_bytes());
    for file in loaded.files() {
        field(file.name.as_str().as_bytes());
        field(file.text.as_bytes());
    }
    for (name, source) in TEMPLATES {
        field(name.as_bytes());
        field(source.as_bytes());
    }
    manifest::hex(&hasher.finalize())
}
