//! Derive stage: a containerised data tier. Where PostgreSQL and Redis run as
//! compose services, what their containers are called, where gen's
//! configuration is mounted, where the image keeps its data, and what of a
//! native postgresql.conf changes inside a container. The tuning, pg_hba.conf
//! and validators are the native ones: only locations and the runtime differ.

use crate::escape::postgres_quote;
use crate::model::{Deployment, HostSpec, PostgresSpec};
use crate::profile::{Role, Runtime};

use super::postgres::{PostgresConf, SettingOrigin};

/// The compose service names gen gives the data tier.
pub const POSTGRES_SERVICE: &str = "postgres";
pub const REDIS_SERVICE: &str = "redis";

/// Whether `host` runs PostgreSQL as a compose service.
pub fn postgres_container(d: &Deployment, host: &HostSpec) -> bool {
    d.postgres
        .as_ref()
        .is_some_and(|pg| pg.runtime == Runtime::Container)
        && host.has(Role::DatabasePrimary)
}

/// Whether `host` runs Redis as a compose service.
pub fn redis_container(d: &Deployment, host: &HostSpec) -> bool {
    d.redis
        .as_ref()
        .is_some_and(|r| r.runtime == Runtime::Container)
        && host.has(Role::Cache)
}

/// Whether `host`'s compose file holds a data-tier service.
pub fn any_container(d: &Deployment, host: &HostSpec) -> bool {
    postgres_container(d, host) || redis_container(d, host)
}

/// Where a containerised PostgreSQL's configuration lives, on the host and
/// (mounted read-only at the same path) in the container. The major version
/// is in the path, as in Debian's layout: gen check picks its server by it,
/// and a new major starts from a directory of its own.
pub fn postgres_config_dir(project: &str, version: u32) -> String {
    format!("/etc/{project}/postgres/{version}")
}

/// Where a containerised Redis's redis.conf lives, host and container.
pub fn redis_config_dir(project: &str) -> String {
    format!("/etc/{project}/redis")
}

/// What the data volume is mounted on: the official image moved its data
/// directory to `/var/lib/postgresql/<major>/docker` in 18 and declares
/// `/var/lib/postgresql` the volume (docker-library/postgres#1259); before,
/// `/var/lib/postgresql/data` is both.
pub fn postgres_volume_target(version: u32) -> &'static str {
    if version >= 18 {
        "/var/lib/postgresql"
    } else {
        "/var/lib/postgresql/data"
    }
}

/// The image's `PGDATA` for a major version.
pub fn postgres_pgdata(version: u32) -> String {
    if version >= 18 {
        format!("/var/lib/postgresql/{version}/docker")
    } else {
        "/var/lib/postgresql/data".to_string()
    }
}

/// Changes a native conf into the container's: the image's data directory,
/// gen's files at their mounted path, every interface of the container (it
/// is published on the host's private address only), logs to docker, and on
/// 18 `io_method = worker` (Docker's default seccomp profile blocks
/// io_uring, moby/moby#46762). Runs before `postgres.overrides`, which win.
pub fn containerise(conf: &mut PostgresConf, pg: &PostgresSpec, project: &str) {
    let dir = postgres_config_dir(project, pg.version);
    let pgdata = postgres_pgdata(pg.version);
    let image = |reason: &str| SettingOrigin::Topology {
        reason: reason.to_string(),
    };
    conf.set(
        "data_directory",
        postgres_quote(&pgdata),
        image("the image's PGDATA, on the data volume"),
    );
    conf.set(
        "hba_file",
        postgres_quote(&format!("{dir}/pg_hba.conf")),
        image("gen's pg_hba.conf, mounted read-only"),
    );
    conf.set(
        "ident_file",
        postgres_quote(&format!("{pgdata}/pg_ident.conf")),
        image("the one initdb wrote in the data directory"),
    );
    conf.set(
        "external_pid_file",
        postgres_quote(""),
        image("none: docker supervises the server"),
    );
    conf.set(
        "cluster_name",
        postgres_quote(project),
        image("the compose project"),
    );
    conf.set(
        "listen_addresses",
        postgres_quote("*"),
        image("every interface of the container; published on the host's private address only"),
    );
    conf.set(
        "logging_collector",
        "off".into(),
        image("logs go to docker (`docker compose logs postgres`)"),
    );
    if pg.version >= 18 {
        conf.set(
            "io_method",
            postgres_quote("worker"),
            image("Docker's default seccomp profile blocks io_uring (moby/moby#46762)"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_18_images_keep_data_under_a_versioned_directory() {
        assert_eq!(postgres_volume_target(17), "/var/lib/postgresql/data");
        assert_eq!(postgres_pgdata(17), "/var/lib/postgresql/data");
        assert_eq!(postgres_volume_target(18), "/var/lib/postgresql");
        assert_eq!(postgres_pgdata(18), "/var/lib/postgresql/18/docker");
        assert!(postgres_pgdata(18).starts_with(postgres_volume_target(18)));
    }
}
