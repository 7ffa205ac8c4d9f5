//! Hash stage: the manifest of one host's target tree. It lists every file with
//! its sha256, mode, owner and group, what produced it and what a change to it
//! asks of the host, plus an input hash (profiles, templates, gen version) and
//! a tree hash over the file records. `gen apply` trusts nothing else.
//!
//! A record may also be a symbolic link with no content in the tree: the
//! `[Install]` link `systemctl enable` makes for a unit gen installs
//! (`/etc/systemd/system/timers.target.wants/x.timer` →
//! `/etc/systemd/system/x.timer`). Its `link` is the target, its `sha256`
//! and `size` those of the target's text (as git stores a link), so the tree
//! hash covers it like any file. Records without `link` serialise exactly as
//! before, so manifests of hosts without links keep their tree hash.

use camino::Utf8Path;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::host_path::shown;
use crate::{Activation, Exposure, Validator};

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
    /// The profile files `input_hash` covers, base first
    /// (`profiles/_base.toml`, `profiles/production.toml`): `gen diff`, `plan`
    /// and `apply` re-hash exactly these to tell a stale tree without parsing
    /// them. Empty in manifests of older gens (they then follow `extends`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub profile_files: Vec<String>,
    /// sha256 over the canonical JSON of `files`.
    pub tree_hash: String,
    /// Sorted by `path`.
    pub files: Vec<FileRecord>,
    /// What the host must provide for the tree to work: files and Debian
    /// packages. gen never writes them; `gen apply` checks them before it
    /// writes anything.
    #[serde(default, skip_serializing_if = "Requires::is_empty")]
    pub requires: Requires,
    /// When the tree loads a host firewall: the networks its SSH rule admits
    /// (`network.admin`). `gen apply` refuses to apply it from an SSH session
    /// whose client is outside them (it would cut the session it runs in).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_sources: Option<Vec<String>>,
}

/// What a host must provide. Manifests before packages were listed wrote a
/// bare list of files here; they still parse (as `files`), so a host can
/// apply or roll back to a tree built by an older gen.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Requires {
    /// Sorted: the secret files, certificates and keys the host's files name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
    /// Sorted Debian package names the host's services come from
    /// (`dpkg-query` must report each one installed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub packages: Vec<String>,
}

impl Requires {
    pub fn is_empty(&self) -> bool {
        self.files.is_empty() && self.packages.is_empty()
    }
}

impl<'de> Deserialize<'de> for Requires {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Listed {
            #[serde(default)]
            files: Vec<String>,
            #[serde(default)]
            packages: Vec<String>,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Shape {
            /// The shape before packages: files only.
            Files(Vec<String>),
            Listed(Listed),
        }
        Ok(match Shape::deserialize(deserializer)? {
            Shape::Files(files) => Requires {
                files,
                packages: Vec::new(),
            },
            Shape::Listed(l) => Requires {
                files: l.files,
                packages: l.packages,
            },
        })
    }
}

/// Whether `name` is a Debian package name (policy §5.6.1: lowercase
/// letters, digits, `+`, `-`, `.`; at least two characters, starting
/// alphanumeric): what `gen apply` may pass to `dpkg-query` as an argument.
pub fn is_package_name(name: &str) -> bool {
    name.len() >= 2
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '+' | '-' | '.'))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileRecord {
    /// Absolute path on the host.
    pub path: String,
    /// A symbolic link to this absolute host path, not a file: see
    /// [`wants_link`]. Only `systemctl enable`'s links are accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
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
    /// The host's health gate: an executable whose exit status says whether
    /// the host is healthy. `gen apply` runs it after the activations and
    /// rolls back when it keeps failing. At most one per manifest.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub health_gate: bool,
    /// A service unit's exposure budget: the highest score `gen check` accepts
    /// from `systemd-analyze security` for it (see [`Exposure`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exposure_budget: Option<Exposure>,
}

/// The mode a link record carries: what `lstat` reports for every link on
/// Linux (a link has no mode of its own; the file it names has).
pub const LINK_MODE: &str = "0777";

/// Where `systemctl enable` puts the link for the unit file `unit_path`
/// whose `[Install]` section says `WantedBy=<wanted_by>`:
/// `/etc/systemd/system/<wanted_by>.wants/<unit>`.
pub fn wants_link(unit_path: &str, wanted_by: &str) -> Option<String> {
    let unit = unit_path.rsplit_once('/')?.1;
    (is_unit_name(unit) && is_unit_name(wanted_by))
        .then(|| format!("{SYSTEMD_DIR}/{wanted_by}.wants/{unit}"))
}

/// The directory `systemctl enable` writes its links below.
const SYSTEMD_DIR: &str = "/etc/systemd/system";

impl FileRecord {
    /// The record of the link that enables the unit of `unit` (a unit
    /// file's record) for `wanted_by`; `None` when `unit` is not a unit file.
    pub fn enabling(unit: &FileRecord, wanted_by: &str) -> Option<FileRecord> {
        let path = wants_link(&unit.path, wanted_by)?;
        let name = unit.path.rsplit_once('/')?.1;
        Some(FileRecord {
            path,
            link: Some(unit.path.clone()),
            sha256: sha256_hex(unit.path.as_bytes()),
            size: unit.path.len() as u64,
            mode: LINK_MODE.to_string(),
            owner: "root".to_string(),
            group: "root".to_string(),
            sensitive: false,
            template: unit.template.clone(),
            source: unit.source.clone(),
            // systemd reads `.wants/` links on daemon-reload; enabling starts
            // nothing by itself (the unit file's own record does).
            activation: Activation::DaemonReload {
                unit: name.to_string(),
            },
            validator: Validator::SystemdEnable,
            health_gate: false,
            exposure_budget: None,
        })
    }

    /// The unit a link record enables: the link's own name.
    pub fn enabled_unit(&self) -> Option<&str> {
        self.link.as_ref()?;
        self.path.rsplit_once('/').map(|(_, name)| name)
    }

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
            profile_files: Vec::new(),
            tree_hash,
            files,
            requires: Requires::default(),
            ssh_sources: None,
        }
    }

    /// Pretty JSON with a trailing newline, as written to disk.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = serde_json::to_vec_pretty(self).unwrap_or_default();
        out.push(b'\n');
        out
    }

    /// Whether two manifests, as gen writes them, list the same files with the
    /// same records: byte-equal but for the lines that say what produced them
    /// (`input_hash`, `gen_version`). `gen diff --against` uses it to skip
    /// parsing the hosts a change did not touch; anything else (a manifest
    /// formatted another way) takes the full path.
    pub fn same_records(a: &[u8], b: &[u8]) -> bool {
        fn records(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
            bytes.split(|b| *b == b'\n').filter(|line| {
                !line.starts_with(b"  \"input_hash\": ")
                    && !line.starts_with(b"  \"gen_version\": ")
            })
        }
        // Both lines sit in the first few hundred bytes, before the file
        // records: compare that head line by line and the rest in one go.
        fn split(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
            const MARK: &[u8] = b"\n  \"input_hash\": ";
            let head = &bytes[..bytes.len().min(1024)];
            let start = head.windows(MARK.len()).position(|w| w == MARK)? + 1;
            let end = start + bytes[start..].iter().position(|b| *b == b'\n')?;
            Some(bytes.split_at(end))
        }
        if a.len().abs_diff(b.len()) >= 256 {
            return false;
        }
        match (split(a), split(b)) {
            (Some((head_a, tail_a)), Some((head_b, tail_b))) => {
                tail_a == tail_b && records(head_a).eq(records(head_b))
            }
            _ => records(a).eq(records(b)),
        }
    }

    /// The tree hash and the number of files of a manifest as gen writes it,
    /// without parsing it whole; `None` for any other layout.
    pub fn summary(bytes: &[u8]) -> Option<(String, usize)> {
        let text = std::str::from_utf8(bytes).ok()?;
        let tree_hash = text
            .lines()
            .find_map(|l| l.strip_prefix("  \"tree_hash\": \""))?
            .strip_suffix("\",")?
            .to_string();
        let files = text
            .lines()
            .filter(|l| l.starts_with("      \"path\": "))
            .count();
        Some((tree_hash, files))
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
        for (field, value) in [
            ("gen_version", &manifest.gen_version),
            ("profile", &manifest.profile),
            ("host", &manifest.host),
        ] {
            if !is_plain_name(value) {
                return Err(invalid(format!(
                    "`{field}` is not a plain name: `{}`",
                    shown(value)
                )));
            }
        }
        if !is_hex_digest(&manifest.input_hash) {
            return Err(invalid("`input_hash` is not a sha256 digest".into()));
        }
        if let Some(bad) = manifest
            .requires
            .files
            .iter()
            .find(|p| !crate::host_path::is_safe_path(p) || *p == "/")
        {
            return Err(invalid(format!(
                "required file `{}` is not a safe absolute path",
                shown(bad)
            )));
        }
        if let Some(bad) = manifest
            .requires
            .packages
            .iter()
            .find(|p| !is_package_name(p))
        {
            return Err(invalid(format!(
                "required package `{}` is not a Debian package name",
                shown(bad)
            )));
        }
        for record in &manifest.files {
            if let Err(why) = check_record(record) {
                return Err(invalid(format!(
                    "record for `{}` {why}",
                    shown(&record.path)
                )));
            }
        }
        if manifest.files.iter().filter(|r| r.health_gate).count() > 1 {
            return Err(invalid("more than one record is the health gate".into()));
        }
        if manifest.files.windows(2).any(|w| w[0].path >= w[1].path) {
            return Err(invalid(
                "files are not sorted by path or repeat a path".into(),
            ));
        }
        Ok(manifest)
    }
}

/// Host paths gen never manages: its own journal, and kernel filesystems
/// where a write is an action, not a file.
const FORBIDDEN_ROOTS: [&str; 4] = ["/var/lib/gen", "/proc", "/sys", "/dev"];

/// Letters, digits and `.`, `_`, `-`, `+`: names and versions that are safe
/// to print and to use in a path.
fn is_plain_name(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 255
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'+'))
}

fn is_hex_digest(value: &str) -> bool {
    value.len() == 64
        && value
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A user or group name as `useradd` accepts it.
fn is_account(value: &str) -> bool {
    let bytes = value.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 32
        && (bytes[0].is_ascii_lowercase() || bytes[0] == b'_')
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-'))
}

/// A systemd unit name gen may pass to `systemctl`: never an option.
/// A compose project or service name as gen writes them: lowercase letters,
/// digits, `-` and `_`, starting with a letter or digit (never an option).
pub fn is_compose_name(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 63
        && value
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_'))
}

pub fn is_unit_name(value: &str) -> bool {
    let Some((stem, suffix)) = value.rsplit_once('.') else {
        return false;
    };
    matches!(
        suffix,
        "service" | "timer" | "socket" | "target" | "path" | "mount"
    ) && !stem.is_empty()
        && value.len() <= 255
        && !stem.starts_with('-')
        && stem
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b':' | b'_' | b'.' | b'@' | b'-'))
}

/// Why a link record cannot be trusted, if it cannot: it must be exactly a
/// link `systemctl enable` makes, `<SYSTEMD_DIR>/<unit>.wants/<name>` (or
/// `.requires`) naming a unit file called `<name>`, and its hash and size
/// must be those of its target.
fn check_link(record: &FileRecord, link: &str) -> std::result::Result<(), &'static str> {
    let Some((dir, name)) = record.path.rsplit_once('/') else {
        return Err("is not a safe absolute path");
    };
    let wanted_by = dir
        .strip_prefix(SYSTEMD_DIR)
        .and_then(|d| d.strip_prefix('/'))
        .and_then(|d| {
            d.strip_suffix(".wants")
                .or_else(|| d.strip_suffix(".requires"))
        });
    if !wanted_by.is_some_and(is_unit_name) || !is_unit_name(name) {
        return Err(
            "is a link outside the `.wants/` and `.requires/` directories of /etc/systemd/system",
        );
    }
    if !crate::host_path::is_safe_path(link) || link.rsplit_once('/').map(|(_, n)| n) != Some(name)
    {
        return Err("links to something other than a unit file of the same name");
    }
    if record.sha256 != sha256_hex(link.as_bytes()) || record.size != link.len() as u64 {
        return Err("has a sha256 or size that is not its link's");
    }
    if record.mode != LINK_MODE {
        return Err("is a link with a mode other than 0777");
    }
    Ok(())
}

fn mode_bits_of(record: &FileRecord) -> u32 {
    record.mode_bits().unwrap_or(0)
}

/// Why a record cannot be trusted, if it cannot.
fn check_record(record: &FileRecord) -> std::result::Result<(), &'static str> {
    if !crate::host_path::is_safe_path(&record.path) || record.path == "/" {
        return Err("is not a safe absolute path");
    }
    if let Some(link) = &record.link {
        check_link(record, link)?;
    }
    if record.health_gate && (record.link.is_some() || mode_bits_of(record) & 0o100 == 0) {
        return Err("is the health gate but not an executable file");
    }
    if FORBIDDEN_ROOTS
        .iter()
        .any(|root| record.path == *root || record.path.starts_with(&format!("{root}/")))
    {
        return Err("is under a directory gen never manages (/var/lib/gen, /proc, /sys, /dev)");
    }
    let Some(mode) = record.mode_bits() else {
        return Err("has a malformed mode");
    };
    if mode & 0o7000 != 0 {
        return Err("asks for a setuid, setgid or sticky mode");
    }
    if mode & 0o400 == 0 {
        return Err("has a mode its owner cannot read");
    }
    if !is_hex_digest(&record.sha256) {
        return Err("has a malformed sha256");
    }
    if !is_account(&record.owner) || !is_account(&record.group) {
        return Err("names an owner or group that is not an account name");
    }
    if record.template.chars().any(char::is_control) || record.source.chars().any(char::is_control)
    {
        return Err("holds control characters");
    }
    if let Activation::ComposeService { project, service } = &record.activation {
        if !is_compose_name(project) || !is_compose_name(service) {
            return Err("names a compose project or service that is not a plain name");
        }
    }
    let unit = match &record.activation {
        Activation::None | Activation::ComposeService { .. } => None,
        Activation::Reload { unit }
        | Activation::Restart { unit }
        | Activation::DaemonReload { unit } => Some(unit),
    };
    if unit.is_some_and(|u| !is_unit_name(u)) {
        return Err("names an activation unit that is not a systemd unit name");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(path: &str, sha: char) -> FileRecord {
        FileRecord {
            path: path.into(),
            link: None,
            sha256: sha.to_string().repeat(64),
            size: 1,
            mode: "0644".into(),
            owner: "root".into(),
            group: "root".into(),
            sensitive: false,
            template: "t.j2".into(),
            source: "profiles/p.toml".into(),
            activation: Activation::None,
            validator: Validator::Shell,
            health_gate: false,
            exposure_budget: None,
        }
    }

    #[test]
    fn same_records_ignores_only_what_produced_the_manifest() {
        let a = Manifest::new(
            "p",
            "h",
            "1".repeat(64),
            vec![record("/a", 'a'), record("/b", 'b')],
        );
        let mut b = a.clone();
        b.input_hash = "2".repeat(64);
        b.gen_version = "9.9.9".into();
        assert!(Manifest::same_records(&a.to_json(), &b.to_json()));
        let c = Manifest::new(
            "p",
            "h",
            "1".repeat(64),
            vec![record("/a", 'a'), record("/b", 'c')],
        );
        assert!(!Manifest::same_records(&a.to_json(), &c.to_json()));
        let d = Manifest::new(
            "p",
            "other",
            "1".repeat(64),
            vec![record("/a", 'a'), record("/b", 'b')],
        );
        assert!(!Manifest::same_records(&a.to_json(), &d.to_json()));
    }

    #[test]
    fn requires_reads_the_bare_list_of_older_manifests_and_writes_files_and_packages() {
        let path = Utf8Path::new("m.json");
        let mut m = Manifest::new("p", "h", "1".repeat(64), vec![record("/a", 'a')]);
        let mut old: serde_json::Value = serde_json::from_slice(&m.to_json()).expect("json");
        old["requires"] = serde_json::json!(["/etc/ssl/a.pem"]);
        let parsed = Manifest::parse(path, &serde_json::to_vec(&old).expect("bytes"))
            .expect("an older manifest still parses");
        assert_eq!(parsed.requires.files, vec!["/etc/ssl/a.pem".to_string()]);
        assert!(parsed.requires.packages.is_empty());

        m.requires.files = vec!["/etc/ssl/a.pem".into()];
        m.requires.packages = vec!["nginx".into(), "postgresql-15".into()];
        let json: serde_json::Value = serde_json::from_slice(&m.to_json()).expect("json");
        assert_eq!(
            json["requires"],
            serde_json::json!({"files": ["/etc/ssl/a.pem"], "packages": ["nginx", "postgresql-15"]})
        );
        assert_eq!(Manifest::parse(path, &m.to_json()).expect("parses"), m);

        let mut unknown = json.clone();
        unknown["requires"]["users"] = serde_json::json!(["x"]);
        assert!(Manifest::parse(path, &serde_json::to_vec(&unknown).expect("bytes")).is_err());
    }

    #[test]
    fn package_names_follow_debian_policy() {
        for good in [
            "nginx",
            "postgresql-15",
            "g++",
            "libc6.1",
            "prometheus-node-exporter",
        ] {
            assert!(is_package_name(good), "{good}");
        }
        for bad in ["", "a", "-W", "Nginx", "a b", "x;rm", "--admindir=/"] {
            assert!(!is_package_name(bad), "{bad}");
        }
    }

    #[test]
    fn parse_refuses_a_manifest_edited_without_its_tree_hash() {
        let path = Utf8Path::new("m.json");
        let good = Manifest::new(
            "p",
            "h",
            "1".repeat(64),
            vec![record("/a", 'a'), record("/b", 'b')],
        );
        assert!(Manifest::parse(path, &good.to_json()).is_ok());

        let mut edited = good.clone();
        edited.files[0].sha256 = "c".repeat(64);
        let err =
            Manifest::parse(path, &edited.to_json()).expect_err("tree hash no longer matches");
        assert!(
            err.to_string().contains("tree hash does not match"),
            "{err}"
        );

        let mut escaping = good.clone();
        escaping.files[0].path = "/etc/../root/.ssh/authorized_keys".into();
        escaping.tree_hash = tree_hash(&escaping.files);
        let err = Manifest::parse(path, &escaping.to_json()).expect_err("unsafe path");
        assert!(
            err.to_string().contains("not a safe absolute path"),
            "{err}"
        );

        let mut unsorted = good.clone();
        unsorted.files.swap(0, 1);
        unsorted.tree_hash = tree_hash(&unsorted.files);
        let err = Manifest::parse(path, &unsorted.to_json()).expect_err("unsorted");
        assert!(err.to_string().contains("not sorted"), "{err}");

        let mut future = good;
        future.format = FORMAT + 1;
        assert!(Manifest::parse(path, &future.to_json()).is_err());
    }

    /// A manifest is input too: what a hostile or broken one asks for is
    /// refused before anything is printed or written.
    #[test]
    fn parse_refuses_records_that_ask_for_what_gen_never_writes() {
        let path = Utf8Path::new("m.json");
        let refused = |edit: &dyn Fn(&mut Manifest), expect: &str| {
            let mut m = Manifest::new("p", "h", "1".repeat(64), vec![record("/etc/a", 'a')]);
            edit(&mut m);
            m.tree_hash = tree_hash(&m.files);
            let err = Manifest::parse(path, &m.to_json()).expect_err(expect);
            assert!(err.to_string().contains(expect), "{err}");
        };
        for root in [
            "/var/lib/gen/generations/1",
            "/proc/sys/kernel/x",
            "/sys/power/state",
            "/dev/sda",
            "/var/lib/gen",
        ] {
            refused(&|m| m.files[0].path = root.into(), "never manages");
        }
        refused(&|m| m.files[0].mode = "4755".into(), "setuid");
        refused(&|m| m.files[0].mode = "1777".into(), "sticky");
        refused(&|m| m.files[0].mode = "0044".into(), "owner cannot read");
        refused(
            &|m| m.files[0].owner = "root\u{1b}[2J".into(),
            "not an account name",
        );
        refused(
            &|m| m.files[0].template = "t\n.j2".into(),
            "control characters",
        );
        refused(
            &|m| {
                m.files[0].activation = Activation::Restart {
                    unit: "--now.service".into(),
                }
            },
            "not a systemd unit name",
        );
        refused(
            &|m| {
                m.files[0].activation = Activation::Reload {
                    unit: "nginx".into(),
                }
            },
            "not a systemd unit name",
        );
        for (project, service) in [("shop", "--file=/tmp/x"), ("-p", "postgres"), ("shop", "")] {
            refused(
                &|m| {
                    m.files[0].activation = Activation::ComposeService {
                        project: project.into(),
                        service: service.into(),
                    }
                },
                "compose project or service that is not a plain name",
            );
        }
        refused(
            &|m| m.host = "db1\u{1b}]0;owned\u{7}".into(),
            "not a plain name",
        );
        refused(&|m| m.input_hash = "x".into(), "not a sha256 digest");
        refused(
            &|m| m.requires.files = vec!["/etc/../shadow".into()],
            "required file `/etc/../shadow` is not a safe absolute path",
        );
        refused(
            &|m| m.requires.packages = vec!["--admindir=/tmp".into()],
            "required package `--admindir=/tmp` is not a Debian package name",
        );
        refused(
            &|m| m.files[0].health_gate = true,
            "health gate but not an executable",
        );
        refused(
            &|m| {
                m.files[0].health_gate = true;
                m.files[0].mode = "0755".into();
                let mut second = m.files[0].clone();
                second.path = "/etc/b".into();
                m.files.push(second);
            },
            "more than one record is the health gate",
        );
        refused(&|m| m.files[0].sha256 = "A".repeat(64), "malformed sha256");
        // What gen itself writes passes.
        let ok = Manifest::new(
            "production",
            "db1",
            "1".repeat(64),
            vec![FileRecord {
                activation: Activation::Restart {
                    unit: "postgresql@15-main.service".into(),
                },
                owner: "postgres".into(),
                group: "postgres".into(),
                mode: "0640".into(),
                ..record("/etc/postgresql/15/main/pg_hba.conf", 'a')
            }],
        );
        Manifest::parse(path, &ok.to_json()).expect("gen's own records pass");
    }

    /// A link record is exactly an `[Install]` link of `systemctl enable`,
    /// and its hash is its target's: a manifest cannot ask for a link anywhere
    /// else, or to anything but a unit file of the same name.
    #[test]
    fn link_records_are_only_systemctl_enable_links() {
        let path = Utf8Path::new("m.json");
        let unit = FileRecord {
            activation: Activation::DaemonReload {
                unit: "shop-backup.timer".into(),
            },
            validator: Validator::Systemd,
            ..record("/etc/systemd/system/shop-backup.timer", 'a')
        };
        let link = FileRecord::enabling(&unit, "timers.target").expect("a unit file");
        assert_eq!(
            link.path,
            "/etc/systemd/system/timers.target.wants/shop-backup.timer"
        );
        assert_eq!(link.enabled_unit(), Some("shop-backup.timer"));
        assert_eq!(unit.enabled_unit(), None);
        let ok = Manifest::new("p", "h", "1".repeat(64), vec![unit.clone(), link.clone()]);
        let parsed = Manifest::parse(path, &ok.to_json()).expect("gen's own link passes");
        assert_eq!(parsed.files[1].link.as_deref(), Some(unit.path.as_str()));

        let refused = |edit: &dyn Fn(&mut FileRecord), expect: &str| {
            let mut bad = link.clone();
            edit(&mut bad);
            let m = Manifest::new("p", "h", "1".repeat(64), vec![bad]);
            let err = Manifest::parse(path, &m.to_json()).expect_err(expect);
            assert!(err.to_string().contains(expect), "{err}");
        };
        refused(
            &|r| r.path = "/etc/cron.d/shop-backup.timer".into(),
            "outside",
        );
        refused(
            &|r| r.path = "/etc/systemd/system/shop-backup.timer".into(),
            "outside",
        );
        refused(
            &|r| r.path = "/etc/systemd/system/--now.wants/shop-backup.timer".into(),
            "outside",
        );
        refused(
            &|r| {
                r.link = Some("/etc/shadow".into());
                r.sha256 = sha256_hex(b"/etc/shadow");
                r.size = 11;
            },
            "same name",
        );
        refused(
            &|r| {
                r.link = Some("/etc/../shop-backup.timer".into());
                r.sha256 = sha256_hex(b"/etc/../shop-backup.timer");
            },
            "same name",
        );
        refused(&|r| r.sha256 = "b".repeat(64), "not its link's");
        refused(&|r| r.mode = "0644".into(), "mode other than 0777");
        // Without `link`, a record serialises as before: no `link` key.
        let text = String::from_utf8(ok.to_json()).expect("utf-8");
        assert_eq!(text.matches("\"link\"").count(), 1, "{text}");
    }

    #[test]
    fn summary_reads_the_tree_hash_and_counts_files_as_a_parse_would() {
        let m = Manifest::new(
            "p",
            "h",
            "1".repeat(64),
            vec![record("/a", 'a'), record("/b", 'b'), record("/c", 'c')],
        );
        let bytes = m.to_json();
        assert_eq!(Manifest::summary(&bytes), Some((m.tree_hash.clone(), 3)));
        let parsed = Manifest::parse(Utf8Path::new("m.json"), &bytes).expect("valid");
        assert_eq!(parsed.files.len(), 3);
        assert_eq!(Manifest::summary(b"{\"tree_hash\":\"x\"}"), None);
    }
}
