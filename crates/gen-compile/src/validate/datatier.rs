//! Validate stage, the data tier's runtime: PostgreSQL and Redis run from
//! Debian's packages (native) or as compose services on their hosts
//! (container). A container needs a pinned image (and PostgreSQL the
//! superuser's password file the image initialises with); the keys of one
//! runtime are refused under the other, and what gen cannot yet run in a
//! container (streaming replicas, TLS, pgBackRest) is refused with
//! what to do instead.

use super::Checker;
use crate::model::HostSpec;
use crate::profile::{Postgres, Profile, Redis, Role, Runtime};
use crate::shapes;
use gen_target::host_path::shown;

impl Checker<'_> {
    /// A container image key: present, pinned.
    fn data_image(&mut self, section: &str, runtime: Runtime, image: Option<&String>) {
        let key = format!("{section}.image");
        match (runtime, image) {
            (Runtime::Container, None) => self.fail(
                &format!("{section}.runtime"),
                format!("`{section}.runtime` is `container` but `{key}` is not set"),
                "name the image with a pinned tag, e.g. `postgres:18.1-bookworm` or `redis:7.2.5-bookworm`",
            ),
            (Runtime::Container, Some(image)) => {
                if let Err(problem) = shapes::check_image(image) {
                    self.fail(
                        &key,
                        format!("`{key}`: `{}` {problem}", shown(image)),
                        "pin the image to a version tag or digest, e.g. `postgres:18.1-bookworm`",
                    );
                }
            }
            (Runtime::Native, Some(_)) => self.fail(
                &key,
                format!("`{key}`: a native {section} runs no image"),
                "remove `image`, or set `runtime = \"container\"`",
            ),
            (Runtime::Native, None) => {}
        }
    }

    pub(super) fn postgres_runtime(
        &mut self,
        pg: &Postgres,
        hosts: &[HostSpec],
    ) -> (Runtime, Option<String>, Option<String>) {
        let runtime = pg.runtime.unwrap_or(Runtime::Native);
        self.data_image("postgres", runtime, pg.image.as_ref());
        match (runtime, &pg.superuser_password_file) {
            (Runtime::Container, None) => self.fail(
                "postgres.runtime",
                "`postgres.runtime` is `container` but `postgres.superuser_password_file` is not set",
                "name a file on the database host holding the superuser's password (the image reads it as POSTGRES_PASSWORD_FILE)",
            ),
            (Runtime::Container, Some(path)) => {
                self.secret_path("postgres.superuser_password_file", path)
            }
            (Runtime::Native, Some(_)) => self.fail(
                "postgres.superuser_password_file",
                "`postgres.superuser_password_file`: a native PostgreSQL's superuser logs in by peer over the socket",
                "remove it, or set `postgres.runtime = \"container\"`",
            ),
            (Runtime::Native, None) => {}
        }
        if runtime == Runtime::Container {
            if hosts.iter().any(|h| h.has(Role::DatabaseReplica)) {
                self.fail(
                    "postgres.runtime",
                    "`postgres.runtime = \"container\"` with hosts of role `database_replica`: gen sets up streaming replicas only for a native PostgreSQL",
                    "run the replicated tier natively, or drop the replicas",
                );
            }
            if pg.tls_certificate.is_some() {
                self.fail(
                    "postgres.tls_certificate",
                    "`postgres.tls_certificate` with `postgres.runtime = \"container\"`: the key would have to be owned by the image's postgres user",
                    "terminate TLS natively, or reach a containerised PostgreSQL over the private network only",
                );
            }
        }
        (
            runtime,
            pg.image.clone().filter(|_| runtime == Runtime::Container),
            pg.superuser_password_file
                .clone()
                .filter(|_| runtime == Runtime::Container),
        )
    }

    pub(super) fn redis_runtime(&mut self, r: &Redis) -> (Runtime, Option<String>) {
        let runtime = r.runtime.unwrap_or(Runtime::Native);
        self.data_image("redis", runtime, r.image.as_ref());
        (
            runtime,
            r.image.clone().filter(|_| runtime == Runtime::Container),
        )
    }

    /// A containerised data tier takes the compose service names `postgres`
    /// and `redis`: no service of the profile may have them.
    pub(super) fn data_service_names(&mut self, p: &Profile) {
        let taken = [
            (
                p.postgres.as_ref().and_then(|pg| pg.runtime),
                crate::derive::datatier::POSTGRES_SERVICE,
                "postgres.runtime",
            ),
            (
                p.redis.as_ref().and_then(|r| r.runtime),
                crate::derive::datatier::REDIS_SERVICE,
                "redis.runtime",
            ),
        ];
        for (runtime, name, key) in taken {
            if runtime == Some(Runtime::Container) && p.services.contains_key(name) {
                self.fail(
                    &crate::source::push_key("services", name),
                    format!("`services.{name}`: `{key} = \"container\"` runs the compose service `{name}`"),
                    "rename the service",
                );
            }
        }
    }

    /// pgBackRest reads the data directory and archives WAL on the host,
    /// which a container's PostgreSQL does not share; pg_dump runs in the
    /// container (`docker compose exec`) and streams the dump to the host.
    pub(super) fn container_backup(&mut self, p: &Profile) {
        let container = p
            .postgres
            .as_ref()
            .is_some_and(|pg| pg.runtime == Some(Runtime::Container));
        let pgbackrest = p
            .backup
            .as_ref()
            .is_some_and(|b| b.method == Some(crate::profile::BackupMethod::Pgbackrest));
        if container && pgbackrest {
            self.fail(
                "backup.method",
                "`backup.method = \"pgbackrest\"` with `postgres.runtime = \"container\"`: pgBackRest reads the data directory and archives WAL on the host, which the container does not share",
                "use `method = \"pg_dump\"` (run in the container), or run PostgreSQL natively",
            );
        }
    }
}
