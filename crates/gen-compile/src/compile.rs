//! The pipeline driver: load → validate → derive → render → hash, for one
//! profile, producing every host's artifacts and manifest in memory.

use camino::Utf8Path;
use sha2::{Digest, Sha256};

use crate::artifact_kind::{templates, ArtifactKind};
use crate::catalog::ArtifactSpec;
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
    /// The files `input_hash` covers, base first, for each manifest.
    profile_files: Vec<String>,
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
            profile_files: loaded.files().iter().map(|f| f.name.to_string()).collect(),
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
        let manifest = self.manifest(
            host,
            artifacts.iter().map(|a| {
                (
                    &a.spec,
                    manifest::sha256_hex(&a.content),
                    a.content.len() as u64,
                )
            }),
        );
        Ok(CompiledHost {
            host: host.name.clone(),
            manifest,
            artifacts,
        })
    }

    /// The artifacts the catalogue places on `host`, in manifest order.
    pub fn artifacts(&self, host: &HostSpec) -> Vec<ArtifactSpec> {
        crate::catalog::artifacts_for(&self.deployment, host)
    }

    /// The template context `spec` of `host` renders from, built for `want`.
    pub fn context(
        &self,
        host: &HostSpec,
        renderer: &Renderer,
        spec: &ArtifactSpec,
        want: crate::views::Want<'_>,
    ) -> Result<crate::views::Context> {
        renderer.context(
            &self.deployment,
            &self.derived,
            host,
            &self.profile_file,
            spec,
            want,
        )
    }

    /// `host`'s manifest from its artifacts' specs, sha256 (hex) and sizes:
    /// all it needs of the files, so a rebuild that reuses a file never reads it.
    pub fn manifest<'s>(
        &self,
        host: &HostSpec,
        files: impl Iterator<Item = (&'s ArtifactSpec, String, u64)>,
    ) -> Manifest {
        let files: Vec<(&ArtifactSpec, FileRecord)> = files
            .map(|(spec, sha256, size)| {
                let record = FileRecord {
                    path: spec.path.clone(),
                    link: None,
                    sha256,
                    size,
                    mode: manifest::mode_string(spec.mode),
                    owner: spec.owner.to_string(),
                    group: spec.group.to_string(),
                    sensitive: spec.sensitive,
                    template: spec.template.to_string(),
                    source: self.profile_file.clone(),
                    activation: spec.activation.clone(),
                    validator: spec.validator,
                    health_gate: spec.kind == ArtifactKind::HealthGate,
                    exposure_budget: spec.kind.exposure_budget().map(|(budget, _)| budget),
                };
                (spec, record)
            })
            .collect();
        // Each unit with an `[Install]` section is enabled: the link
        // `systemctl enable` would make is one more record, applied, diffed
        // and rolled back like a file.
        let links: Vec<FileRecord> = files
            .iter()
            .filter_map(|(spec, record)| FileRecord::enabling(record, spec.kind.entry().enables?))
            .collect();
        let mut records: Vec<FileRecord> = files.into_iter().map(|(_, record)| record).collect();
        records.extend(links);
        Manifest {
            requires: gen_target::manifest::Requires {
                files: derive::requirements::files(&self.deployment, host),
                packages: derive::requirements::packages(&self.deployment, host),
            },
            ssh_sources: derive::firewall::applies(&self.deployment, host)
                .then(|| derive::firewall::ssh_sources(&self.deployment)),
            profile_files: self.profile_files.clone(),
            ..Manifest::new(
                &self.deployment.profile,
                &host.name,
                self.input_hash.clone(),
                records,
            )
        }
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
    input_hash_of(
        loaded
            .files()
            .iter()
            .map(|f| (f.name.as_str(), f.text.as_str())),
    )
}

/// [`input_hash`] of a profile's files as (name, text), base first
/// (`load::chain_files`).
pub fn input_hash_of<'a>(files: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut hasher = Sha256::new();
    let mut field = |bytes: &[u8]| {
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    };
    field(concat!("gen ", env!("CARGO_PKG_VERSION")).as_bytes());
    for (name, text) in files {
        field(name.as_bytes());
        field(text.as_bytes());
    }
    for (name, source) in templates() {
        field(name.as_bytes());
        field(source.as_bytes());
    }
    manifest::hex(&hasher.finalize())
}
