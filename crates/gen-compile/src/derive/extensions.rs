//! Derive stage: the Debian package each PostgreSQL extension needs on a
//! database host (design §4.2). Contrib extensions ship with the server
//! package; the others come from their own `postgresql-<v>-<name>` package
//! (apt.postgresql.org for versions and extensions Debian's main archive
//! lacks), or from the profile's `postgres.extension_packages`.

use std::collections::BTreeMap;

use crate::model::{Deployment, HostSpec};
use crate::profile::Role;

/// Extensions that ship in `postgresql-<v>` itself (contrib): no package to add.
const CONTRIB: &[&str] = &[
    "adminpack",
    "amcheck",
    "bloom",
    "btree_gin",
    "btree_gist",
    "citext",
    "cube",
    "dblink",
    "earthdistance",
    "fuzzystrmatch",
    "hstore",
    "intarray",
    "isn",
    "lo",
    "ltree",
    "pageinspect",
    "pg_buffercache",
    "pg_freespacemap",
    "pg_prewarm",
    "pg_stat_statements",
    "pg_trgm",
    "pg_visibility",
    "pg_walinspect",
    "pgcrypto",
    "pgrowlocks",
    "pgstattuple",
    "plpgsql",
    "postgres_fdw",
    "seg",
    "tablefunc",
    "tcn",
    "tsm_system_rows",
    "tsm_system_time",
    "unaccent",
    "uuid-ossp",
];

/// Extension → the suffix of its `postgresql-<v>-<suffix>` package.
const PACKAGED: &[(&str, &str)] = &[
    ("hypopg", "hypopg"),
    ("pg_cron", "cron"),
    ("pg_partman", "partman"),
    ("pg_repack", "repack"),
    ("pgaudit", "pgaudit"),
    ("postgis", "postgis-3"),
    ("vector", "pgvector"),
];

/// What installing `extension` on a PostgreSQL `version` host takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExtensionPackage {
    /// Ships with the server package.
    Contrib,
    /// This Debian package.
    Package(String),
    /// Neither gen's table nor the profile's `postgres.extension_packages` knows it.
    Unknown,
}

/// The package of one extension: the profile's `extension_packages` first
/// (it may name a build the team prefers), then contrib, then gen's table.
pub fn package_for(
    extension: &str,
    version: u32,
    declared: &BTreeMap<String, String>,
) -> ExtensionPackage {
    if let Some(package) = declared.get(extension) {
        return ExtensionPackage::Package(package.clone());
    }
    if CONTRIB.contains(&extension) {
        return ExtensionPackage::Contrib;
    }
    match PACKAGED.iter().find(|(name, _)| *name == extension) {
        Some((_, suffix)) => ExtensionPackage::Package(format!("postgresql-{version}-{suffix}")),
        None => ExtensionPackage::Unknown,
    }
}

/// Whether `extension` ships with the server (contrib).
pub fn is_contrib(extension: &str) -> bool {
    CONTRIB.contains(&extension)
}

/// The extension packages `host` needs, sorted and unique: those of every
/// database's extensions, on each database host (a replica replays the
/// primary's `CREATE EXTENSION` and needs the same shared libraries).
/// Unknown extensions are refused by `validate`, so none is left out here
/// silently.
pub fn packages(d: &Deployment, host: &HostSpec) -> Vec<String> {
    let Some(pg) = &d.postgres else {
        return Vec::new();
    };
    if !(host.has(Role::DatabasePrimary) || host.has(Role::DatabaseReplica)) {
        return Vec::new();
    }
    let mut out: Vec<String> = pg
        .databases
        .values()
        .flat_map(|db| db.extensions.iter())
        .filter_map(
            |ext| match package_for(ext, pg.version, &pg.extension_packages) {
                ExtensionPackage::Package(package) => Some(package),
                ExtensionPackage::Contrib | ExtensionPackage::Unknown => None,
            },
        )
        .collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contrib_needs_nothing_and_known_extensions_name_the_versions_package() {
        let none = BTreeMap::new();
        assert_eq!(
            package_for("uuid-ossp", 16, &none),
            ExtensionPackage::Contrib
        );
        assert_eq!(
            package_for("vector", 16, &none),
            ExtensionPackage::Package("postgresql-16-pgvector".into())
        );
        assert_eq!(
            package_for("postgis", 15, &none),
            ExtensionPackage::Package("postgresql-15-postgis-3".into())
        );
        assert_eq!(
            package_for("pg_hashids", 18, &none),
            ExtensionPackage::Unknown
        );
        let declared = BTreeMap::from([(
            "pg_hashids".to_string(),
            "postgresql-18-pg-hashids".to_string(),
        )]);
        assert_eq!(
            package_for("pg_hashids", 18, &declared),
            ExtensionPackage::Package("postgresql-18-pg-hashids".into())
        );
    }

    #[test]
    fn database_hosts_need_the_packages_of_every_databases_extensions() {
        let text = r#"[project]
name = "shop"
[network]
internal = ["10.0.0.0/16"]
[hosts.db1]
address = "10.0.0.10"
roles = ["database_primary"]
hardware = { cores = 4, memory = "16GiB", storage = "ssd" }
[hosts.db2]
address = "10.0.0.11"
roles = ["database_replica"]
hardware = { cores = 4, memory = "16GiB", storage = "ssd" }
[hosts.web1]
address = "10.0.0.20"
roles = ["api"]
hardware = { cores = 4, memory = "16GiB", storage = "ssd" }
[postgres]
version = 16
workload = "web"
extension_packages = { pg_hashids = "postgresql-16-pg-hashids" }
[postgres.roles.shop]
[postgres.roles.replicator]
replication = true
[postgres.databases.shop]
extensions = ["vector", "uuid-ossp", "pg_hashids"]
[postgres.databases.analytics]
owner = "shop"
extensions = ["vector", "postgis"]
"#;
        let files = crate::load::MemoryProfiles::default().with("t", text);
        let (_, d, _) = crate::compile::analyse_from(&files, "t").expect("valid");
        let host = |name: &str| d.host(name).expect("declared").clone();
        let expected = [
            "postgresql-16-pg-hashids",
            "postgresql-16-pgvector",
            "postgresql-16-postgis-3",
        ];
        assert_eq!(packages(&d, &host("db1")), expected);
        assert_eq!(packages(&d, &host("db2")), expected);
        assert!(packages(&d, &host("web1")).is_empty());
    }
}
