//! The pipeline driver: load → validate → derive → render → hash, for one
//! profile, producing every host's artifacts and manifest in memory.

use camino::Utf8Path;
use sha2::{Digest, Sha256};

use crate::artifact_kind::{templates, ArtifactKind};
use crate::derive::{self, Derived};
use crate::lints::{self, Lint};
use crate::load::{self, DiskProfiles, LoadedProfile, MemoryProfiles, ProfileFiles};
use crate::model::{Deployment, HostSpec};
use crate::render::{Artifact, Renderer};
use crate::validate;
use gen_target::error::Result;
use gen_target::manifest::{self, FileRecord, Manifest};
use gen_target::parallel;

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

/// A profile through the front half of the pipeline, ready to render host by
/// host: what `gen build` streams to disk without holding the fleet's files.
#[derive(Debug)]
pub struct Analysed {
    pub name: String,
    pub loaded: LoadedProfile,
    pub deployment: Deployment,
    pub derived: Derived,
    /// The lints that fired and are not allowed; they never change the tree.
    pub lints: Vec<Lint>,
    input_hash: String,
    profile_file: String,
}

impl Analysed {
    pub fn new(project: &Utf8Path, name: &str) -> Result<Analysed> {
        Analysed::from_files(&DiskProfiles::new(project), name)
    }

    /// [`Analysed::new`] over profile files from anywhere.
    pub fn from_files(files: &dyn ProfileFiles, name: &str) -> Result<Analysed> {
        let (loaded, deployment, derived) = analyse_from(files, name)?;
        Ok(Analysed {
            name: name.to_string(),
            input_hash: input_hash(&loaded),
            profile_file: loaded.file.to_string(),
            lints: lints::lint(&loaded, &deployment, &derived),
            loaded,
            deployment,
            derived,
        })
    }

    /// Renders and hashes one host's artifacts and manifest. Hosts are
    /// independent of each other, so they may be compiled in any order or at once.
    pub fn compile_host(&self, host: &HostSpec, renderer: &Renderer) -> Result<CompiledHost> {
        let artifacts =
            renderer.render_host(&self.deployment, &self.derived, host, &self.profile_file)?;
        let mut records: Vec<FileRecord> = artifacts
            .iter()
            .map(|a| FileRecord {
                path: a.spec.path.clone(),
                link: None,
                sha256: manifest::sha256_hex(&a.content),
                size: a.content.len() as u64,
                mode: manifest::mode_string(a.spec.mode),
                owner: a.spec.owner.to_string(),
                group: a.spec.group.to_string(),
                sensitive: a.spec.sensitive,
                template: a.spec.template.to_string(),
                source: self.profile_file.clone(),
                activation: a.spec.activation.clone(),
                validator: a.spec.validator,
                health_gate: a.spec.kind == ArtifactKind::HealthGate,
                exposure_budget: a.spec.kind.exposure_budget().map(|(budget, _)| budget),
            })
            .collect();
        // Each unit with an `[Install]` section is enabled: the link
        // `systemctl enable` would make is one more record, applied, diffed
        // and rolled back like a file.
        let links: Vec<FileRecord> = artifacts
            .iter()
            .zip(&records)
            .filter_map(|(a, record)| FileRecord::enabling(record, a.spec.kind.entry().enables?))
            .collect();
        records.extend(links);
        Ok(CompiledHost {
            host: host.name.clone(),
            manifest: Manifest {
                requires: gen_target::manifest::Requires {
                    files: derive::requirements::files(&self.deployment, host),
                    packages: derive::requirements::packages(&self.deployment, host),
                },
                ssh_sources: derive::firewall::applies(&self.deployment, host)
                    .then(|| derive::firewall::ssh_sources(&self.deployment)),
                ..Manifest::new(
                    &self.deployment.profile,
                    &host.name,
                    self.input_hash.clone(),
                    records,
                )
            },
            artifacts,
        })
    }

    /// `f` applied to every compiled host, on `threads` threads, results in
    /// host order (see `parallel::map`).
    pub fn map_hosts<R: Send>(
        &self,
        renderer: &Renderer,
        threads: usize,
        f: impl Fn(CompiledHost) -> Result<R> + Sync,
    ) -> Result<Vec<R>> {
        parallel::map(&self.deployment.hosts, threads, |host| {
            f(self.compile_host(host, renderer)?)
        })
    }
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
    let analysed = Analysed::from_files(files, name)?;
    let hosts = analysed.map_hosts(renderer, parallel::threads(), Ok)?;
    Ok(CompiledProfile {
        name: analysed.name,
        loaded: analysed.loaded,
        deployment: analysed.deployment,
        derived: analysed.derived,
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
    for (name, source) in templates() {
        field(name.as_bytes());
        field(source.as_bytes());
    }
    manifest::hex(&hasher.finalize())
}
