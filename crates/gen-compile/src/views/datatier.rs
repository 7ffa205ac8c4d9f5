//! View of a containerised data tier: the PostgreSQL and Redis services of a
//! host's compose file (`compose/datatier.j2`), their named volumes, and the
//! app containers on the same host that wait for them to be healthy.

use serde::Serialize;

use super::Scope;
use crate::derive::datatier::{self, POSTGRES_SERVICE, REDIS_SERVICE};
use crate::derive::pg_memory;
use crate::model::ServiceSpec;

/// The compose secret holding the superuser's password.
pub const SUPERUSER_SECRET: &str = "postgres_superuser_password";

#[derive(Serialize)]
pub struct DataService {
    name: &'static str,
    image: String,
    /// The server started on gen's file (argv, no shell).
    command: Vec<String>,
    environment: Vec<(String, String)>,
    secrets: Vec<&'static str>,
    /// Long-syntax mounts: the named data volume, gen's directory read-only.
    volumes: Vec<Mount>,
    /// `<host address>:<port>:<port>`: the private address only.
    publish: String,
    /// The healthcheck `test:` array.
    healthcheck: Vec<String>,
    /// PostgreSQL: the memory it is tuned for, as its limit (compose spelling).
    memory: Option<String>,
    /// PostgreSQL: `/dev/shm` for parallel queries' dynamic shared memory
    /// (Docker's default is 64MB).
    shm_size: Option<&'static str>,
    /// Time to shut down cleanly before docker kills the server.
    stop_grace_period: &'static str,
}

#[derive(Serialize)]
struct Mount {
    #[serde(rename = "type")]
    kind: &'static str,
    source: String,
    target: String,
    read_only: bool,
}

fn bind(path: &str) -> Mount {
    Mount {
        kind: "bind",
        source: path.to_string(),
        target: path.to_string(),
        read_only: true,
    }
}

/// The data-tier services of the scope's host, PostgreSQL first.
pub fn services(scope: &Scope<'_>) -> Vec<DataService> {
    let (d, host) = (scope.d, scope.host);
    let p = d.project.as_str();
    let mut out = Vec::new();
    if let Some(pg) = d
        .postgres
        .as_ref()
        .filter(|_| datatier::postgres_container(d, host))
    {
        let dir = datatier::postgres_config_dir(p, pg.version);
        let budget = pg_memory::budget(d, host);
        out.push(DataService {
            name: POSTGRES_SERVICE,
            image: pg.image.clone().unwrap_or_default(),
            command: vec![
                "postgres".into(),
                "-c".into(),
                format!("config_file={dir}/postgresql.conf"),
            ],
            environment: vec![
                ("PGDATA".into(), datatier::postgres_pgdata(pg.version)),
                (
                    "POSTGRES_PASSWORD_FILE".into(),
                    format!("/run/secrets/{SUPERUSER_SECRET}"),
                ),
            ],
            secrets: vec![SUPERUSER_SECRET],
            volumes: [
                Mount {
                    kind: "volume",
                    source: "postgres-data".into(),
                    target: datatier::postgres_volume_target(pg.version).into(),
                    read_only: false,
                },
                bind(&dir),
            ]
            .into_iter()
            // The bootstrap's script and password files (derive/bootstrap.rs).
            .chain(
                crate::derive::bootstrap::container_mounts(d)
                    .iter()
                    .map(|path| bind(path)),
            )
            .collect(),
            publish: format!("{}:{}:{}", host.address, pg.port, pg.port),
            healthcheck: vec![
                "CMD".into(),
                "pg_isready".into(),
                "--host".into(),
                "127.0.0.1".into(),
                "--port".into(),
                pg.port.to_string(),
                "--username".into(),
                "postgres".into(),
            ],
            memory: Some(budget.memory.compose()),
            shm_size: Some("256m"),
            stop_grace_period: "60s",
        });
    }
    if let Some(redis) = d
        .redis
        .as_ref()
        .filter(|_| datatier::redis_container(d, host))
    {
        let dir = datatier::redis_config_dir(p);
        let mut volumes = vec![
            Mount {
                kind: "volume",
                source: "redis-data".into(),
                target: "/data".into(),
                read_only: false,
            },
            bind(&dir),
        ];
        // redis.conf includes the password file by its host path (already
        // mounted when it lies in gen's directory).
        if let Some(password_file) = redis
            .password_file
            .as_ref()
            .filter(|f| !f.starts_with(&format!("{dir}/")))
        {
            volumes.push(bind(password_file));
        }
        out.push(DataService {
            name: REDIS_SERVICE,
            image: redis.image.clone().unwrap_or_default(),
            command: vec!["redis-server".into(), format!("{dir}/redis.conf")],
            environment: Vec::new(),
            secrets: Vec::new(),
            volumes,
            publish: format!("{}:{}:{}", host.address, redis.port, redis.port),
            // Any answer, NOAUTH included, means the server is up; redis-cli
            // exits 0 on it.
            healthcheck: vec![
                "CMD".into(),
                "redis-cli".into(),
                "-p".into(),
                redis.port.to_string(),
                "ping".into(),
            ],
            memory: None,
            shm_size: None,
            stop_grace_period: "30s",
        });
    }
    out
}

/// The named volumes of the data-tier services.
pub fn volumes(services: &[DataService]) -> Vec<String> {
    services
        .iter()
        .flat_map(|s| &s.volumes)
        .filter(|m| m.kind == "volume")
        .map(|m| m.source.clone())
        .collect()
}

/// The data-tier services on the scope's host that `service` waits for
/// (healthy): PostgreSQL when it uses the database, Redis when it uses Redis.
pub fn depends_on(scope: &Scope<'_>, service: &ServiceSpec) -> Vec<&'static str> {
    let mut out = Vec::new();
    if service.database.is_some() && datatier::postgres_container(scope.d, scope.host) {
        out.push(POSTGRES_SERVICE);
    }
    if service.redis && datatier::redis_container(scope.d, scope.host) {
        out.push(REDIS_SERVICE);
    }
    out
}

/// The superuser's password file, as a compose secret, when PostgreSQL runs
/// in this host's compose file.
pub fn superuser_secret<'a>(scope: &Scope<'a>) -> Option<&'a str> {
    scope
        .d
        .postgres
        .as_ref()
        .filter(|_| datatier::postgres_container(scope.d, scope.host))
        .and_then(|pg| pg.superuser_password_file.as_deref())
}
