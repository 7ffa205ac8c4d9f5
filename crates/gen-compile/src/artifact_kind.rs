//! Render stage support: the one table of artifact kinds. Each kind is one
//! entry here (its template, the program that validates it, its file mode and
//! owner) and one arm in each exhaustive `match` on [`ArtifactKind`]: where it
//! goes and which hosts get it (`catalog`), what its template sees (`views`),
//! what `gen explain` says about it (`explain`). Adding a kind is a template,
//! a variant here, and the arms the compiler then asks for.

use gen_target::{Exposure, Validator};

/// Every kind of file gen renders for a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ArtifactKind {
    /// `/etc/<project>/compose.yaml`: the containers of a host.
    ComposeFile,
    /// `<project>-compose.service`: runs the compose file.
    ComposeUnit,
    /// `<project>-<service>.service`: one native service.
    NativeUnit,
    /// `/etc/nginx/sites-enabled/<project>.conf`.
    NginxSite,
    /// `/usr/local/sbin/<project>-healthcheck`: upstream and certificate probes.
    HealthcheckScript,
    /// `/usr/local/sbin/<project>-health-gate`: whether the host is healthy,
    /// as an exit status; `gen apply` runs it after restarts.
    HealthGate,
    PostgresqlConf,
    PgHba,
    /// `/usr/local/sbin/<project>-backup`: pg_dump, verified, with retention.
    BackupScript,
    BackupService,
    BackupTimer,
    PgbouncerIni,
    RedisConf,
    PrometheusConfig,
    PrometheusRules,
    /// `/usr/local/sbin/gen-pull`: pull-mode rollout.
    PullScript,
    PullService,
    PullTimer,
    /// `/etc/cron.d/<project>`.
    CronJobs,
    /// `<project>-job-<name>.service`: one job, a oneshot unit.
    JobUnit,
    /// `<project>-job-<name>.timer`: a scheduled job's schedule.
    JobTimer,
    /// `/usr/local/sbin/<project>-sql-migrate`: gen's SQL runner (`jobs.<name>.sql`).
    SqlRunner,
    /// `/etc/<project>/postgres/bootstrap.sql`: the primary's roles,
    /// databases, extensions, grants and replication slots, created if missing.
    DbBootstrapSql,
    /// `<project>-db-bootstrap.service`: runs the bootstrap as `postgres`.
    DbBootstrapUnit,
    /// `/usr/local/sbin/<project>-replica-init`: clones the primary into a
    /// replica's pristine data directory.
    ReplicaInitScript,
    /// `<project>-replica-init.service`: runs it as `postgres` before PostgreSQL.
    ReplicaInitUnit,
    /// `/etc/gen/firewall/<project>.nft`: the host firewall, one nftables table.
    FirewallRules,
    /// `<project>-firewall.service`: loads the firewall at boot.
    FirewallUnit,
    /// `/etc/pgbackrest/pgbackrest.conf`: the stanza and its repository.
    PgbackrestConf,
    /// `<project>-backup-{full,diff}.service`: one pgBackRest backup.
    PgbackrestService,
    /// `<project>-backup-{full,diff}.timer`.
    PgbackrestTimer,
    AlertmanagerConfig,
    ExporterDefaults,
    /// `/usr/local/sbin/<project>-restore-test`: restores the newest backup
    /// into a throw-away server and runs the verify query.
    RestoreTestScript,
    /// `<project>-restore-test.service`: runs it as `postgres`.
    RestoreTestService,
    /// `<project>-restore-test.timer`.
    RestoreTestTimer,
    /// `/etc/systemd/system/prometheus-{pgbouncer,redis}-exporter.service`:
    /// Debian's exporter unit, replaced so the exporter can log in.
    ExporterUnit,
    /// `/usr/local/sbin/<project>-redis-exporter-auth`: redis_exporter's
    /// password map from Redis's `requirepass` file, at the unit's start.
    RedisExporterAuth,
    /// `/etc/nginx/nginx.conf`: nginx's main file, workers sized from the cores.
    NginxConf,
}

/// The fixed facts of a kind.
#[derive(Debug, Clone, Copy)]
pub struct KindEntry {
    /// Template name under `templates/`.
    pub template: &'static str,
    /// The template's text, embedded so `gen` runs from any directory.
    pub source: &'static str,
    pub validator: Validator,
    pub mode: u32,
    pub owner: &'static str,
    pub group: &'static str,
    /// The target whose `.wants/` the unit is linked into, as its template's
    /// `[Install]` section says (`WantedBy=`): gen records the link
    /// `systemctl enable` would make, so the unit starts at boot. `None`:
    /// not a unit, or one something else starts (a service its timer runs).
    pub enables: Option<&'static str>,
}

impl KindEntry {
    /// The same entry, its file in group `group`.
    const fn in_group(self, group: &'static str) -> KindEntry {
        KindEntry { group, ..self }
    }

    /// The same entry, for a unit wanted by `target`.
    const fn wanted_by(self, target: &'static str) -> KindEntry {
        KindEntry {
            enables: Some(target),
            ..self
        }
    }
}

macro_rules! template {
    ($name:literal) => {
        ($name, include_str!(concat!("../templates/", $name)))
    };
}

const fn entry(
    (template, source): (&'static str, &'static str),
    validator: Validator,
    mode: u32,
    owner: &'static str,
) -> KindEntry {
    KindEntry {
        template,
        source,
        validator,
        mode,
        owner,
        group: owner,
        enables: None,
    }
}

impl ArtifactKind {
    /// Every kind. A kind missing here has its template missing from
    /// [`templates`], which `render`'s test of the templates on disk catches.
    pub const ALL: [ArtifactKind; 39] = [
        ArtifactKind::ComposeFile,
        ArtifactKind::ComposeUnit,
        ArtifactKind::NativeUnit,
        ArtifactKind::NginxSite,
        ArtifactKind::HealthcheckScript,
        ArtifactKind::HealthGate,
        ArtifactKind::PostgresqlConf,
        ArtifactKind::PgHba,
        ArtifactKind::BackupScript,
        ArtifactKind::BackupService,
        ArtifactKind::BackupTimer,
        ArtifactKind::PgbouncerIni,
        ArtifactKind::RedisConf,
        ArtifactKind::PrometheusConfig,
        ArtifactKind::PrometheusRules,
        ArtifactKind::PullScript,
        ArtifactKind::PullService,
        ArtifactKind::PullTimer,
        ArtifactKind::CronJobs,
        ArtifactKind::JobUnit,
        ArtifactKind::JobTimer,
        ArtifactKind::SqlRunner,
        ArtifactKind::DbBootstrapSql,
        ArtifactKind::DbBootstrapUnit,
        ArtifactKind::ReplicaInitScript,
        ArtifactKind::ReplicaInitUnit,
        ArtifactKind::FirewallRules,
        ArtifactKind::FirewallUnit,
        ArtifactKind::PgbackrestConf,
        ArtifactKind::PgbackrestService,
        ArtifactKind::PgbackrestTimer,
        ArtifactKind::AlertmanagerConfig,
        ArtifactKind::ExporterDefaults,
        ArtifactKind::RestoreTestScript,
        ArtifactKind::RestoreTestService,
        ArtifactKind::RestoreTestTimer,
        ArtifactKind::ExporterUnit,
        ArtifactKind::RedisExporterAuth,
        ArtifactKind::NginxConf,
    ];

    /// The table. Modes: files that name credential files or hold access
    /// rules are not world-readable; scripts are executable. Units with an
    /// `[Install]` section are enabled; the backup and pull services have
    /// none: their timers start them.
    pub const fn entry(self) -> KindEntry {
        use ArtifactKind as K;
        use Validator as V;
        match self {
            // It names the secret files the containers read: root-only.
            K::ComposeFile => entry(
                template!("compose/compose.yaml.j2"),
                V::Compose,
                0o640,
                "root",
            ),
            K::ComposeUnit => entry(
                template!("systemd/compose.service.j2"),
                V::Systemd,
                0o644,
                "root",
            )
            .wanted_by("multi-user.target"),
            K::NativeUnit => entry(
                template!("systemd/native.service.j2"),
                V::Systemd,
                0o644,
                "root",
            )
            .wanted_by("multi-user.target"),
            K::NginxSite => entry(template!("nginx/site.conf.j2"), V::Nginx, 0o644, "root"),
            K::HealthcheckScript => entry(
                template!("scripts/healthcheck.sh.j2"),
                V::Shell,
                0o755,
                "root",
            ),
            K::HealthGate => entry(
                template!("scripts/health-gate.sh.j2"),
                V::Shell,
                0o755,
                "root",
            ),
            K::PostgresqlConf => entry(
                template!("postgres/postgresql.conf.j2"),
                V::Postgresql,
                0o644,
                "postgres",
            ),
            K::PgHba => entry(
                template!("postgres/pg_hba.conf.j2"),
                V::PgHba,
                0o640,
                "postgres",
            ),
            // Run by its service as `postgres`, which may read and run it.
            K::BackupScript => entry(template!("scripts/backup.sh.j2"), V::Shell, 0o750, "root")
                .in_group("postgres"),
            K::BackupService => entry(
                template!("systemd/backup.service.j2"),
                V::Systemd,
                0o644,
                "root",
            ),
            K::BackupTimer => entry(
                template!("systemd/backup.timer.j2"),
                V::Systemd,
                0o644,
                "root",
            )
            .wanted_by("timers.target"),
            K::PgbouncerIni => entry(
                template!("pgbouncer/pgbouncer.ini.j2"),
                V::Pgbouncer,
                0o640,
                "postgres",
            ),
            K::RedisConf => entry(template!("redis/redis.conf.j2"), V::Redis, 0o640, "redis"),
            K::PrometheusConfig => entry(
                template!("prometheus/prometheus.yml.j2"),
                V::PrometheusConfig,
                0o644,
                "root",
            ),
            K::PrometheusRules => entry(
                template!("prometheus/rules.yml.j2"),
                V::PrometheusRules,
                0o644,
                "root",
            ),
            K::PullScript => entry(template!("rollout/gen-pull.sh.j2"), V::Shell, 0o755, "root"),
            K::PullService => entry(
                template!("rollout/gen-pull.service.j2"),
                V::Systemd,
                0o644,
                "root",
            ),
            K::PullTimer => entry(
                template!("rollout/gen-pull.timer.j2"),
                V::Systemd,
                0o644,
                "root",
            )
            .wanted_by("timers.target"),
            K::CronJobs => entry(template!("cron/jobs.cron.j2"), V::Cron, 0o644, "root"),
            // No `[Install]`: what a job gates requires it, its timer starts
            // it, or activation runs it when it changes.
            K::JobUnit => entry(
                template!("systemd/job.service.j2"),
                V::Systemd,
                0o644,
                "root",
            ),
            K::JobTimer => entry(template!("systemd/job.timer.j2"), V::Systemd, 0o644, "root")
                .wanted_by("timers.target"),
            // Run by the `postgres` user's job units: readable and executable by all.
            K::SqlRunner => entry(
                template!("scripts/sql-migrate.sh.j2"),
                V::Shell,
                0o755,
                "root",
            ),
            // It names the password files; postgres runs it, root owns it.
            K::DbBootstrapSql => entry(
                template!("bootstrap/bootstrap.sql.j2"),
                V::Sql,
                0o640,
                "root",
            )
            .in_group("postgres"),
            K::DbBootstrapUnit => entry(
                template!("bootstrap/db-bootstrap.service.j2"),
                V::Systemd,
                0o644,
                "root",
            )
            .wanted_by("multi-user.target"),
            // Who may reach what is nobody else's business on the host.
            K::FirewallRules => entry(
                template!("firewall/rules.nft.j2"),
                V::Nftables,
                0o640,
                "root",
            ),
            K::FirewallUnit => entry(
                template!("firewall/firewall.service.j2"),
                V::Systemd,
                0o644,
                "root",
            )
            .wanted_by("multi-user.target"),
            // postgres runs it: group postgres may execute, nobody may write.
            K::ReplicaInitScript => entry(
                template!("replica/replica-init.sh.j2"),
                V::Shell,
                0o750,
                "root",
            )
            .in_group("postgres"),
            K::ReplicaInitUnit => entry(
                template!("replica/replica-init.service.j2"),
                V::Systemd,
                0o644,
                "root",
            )
            .wanted_by("multi-user.target"),
            // Names the credentials fragment and the repository: readable by
            // PostgreSQL's archive_command and the backup units only.
            K::PgbackrestConf => entry(
                template!("pgbackrest/pgbackrest.conf.j2"),
                V::Pgbackrest,
                0o640,
                "root",
            )
            .in_group("postgres"),
            K::PgbackrestService => entry(
                template!("pgbackrest/backup.service.j2"),
                V::Systemd,
                0o644,
                "root",
            ),
            K::PgbackrestTimer => entry(
                template!("pgbackrest/backup.timer.j2"),
                V::Systemd,
                0o644,
                "root",
            )
            .wanted_by("timers.target"),
            // Names the credential files Alertmanager (user `prometheus`) reads.
            K::AlertmanagerConfig => entry(
                template!("prometheus/alertmanager.yml.j2"),
                V::Alertmanager,
                0o640,
                "root",
            )
            .in_group("prometheus"),
            K::ExporterDefaults => entry(
                template!("exporters/default.j2"),
                V::EnvironmentFile,
                0o644,
                "root",
            ),
            // Run by its service as `postgres`, which may read and run it.
            K::RestoreTestScript => entry(
                template!("restore_test/restore-test.sh.j2"),
                V::Shell,
                0o750,
                "root",
            )
            .in_group("postgres"),
            K::RestoreTestService => entry(
                template!("restore_test/restore-test.service.j2"),
                V::Systemd,
                0o644,
                "root",
            ),
            K::RestoreTestTimer => entry(
                template!("restore_test/restore-test.timer.j2"),
                V::Systemd,
                0o644,
                "root",
            )
            .wanted_by("timers.target"),
            // No `[Install]`: the package's own link (made at install) names
            // the unit, and systemd loads this file under that name.
            K::ExporterUnit => entry(
                template!("exporters/exporter.service.j2"),
                V::Systemd,
                0o644,
                "root",
            ),
            // Holds no secret: it reads one from the unit's credentials.
            K::RedisExporterAuth => entry(
                template!("exporters/redis-exporter-auth.sh.j2"),
                V::Shell,
                0o755,
                "root",
            ),
            K::NginxConf => entry(template!("nginx/nginx.conf.j2"), V::Nginx, 0o644, "root"),
        }
    }

    pub const fn template(self) -> &'static str {
        self.entry().template
    }

    /// The highest `systemd-analyze security` score a service unit of this
    /// kind may have, and why it is that high; `None` for everything that is
    /// not a service unit. `gen check` scores each unit against it
    /// (`--strict` fails one above it); README "Least privilege" lists them.
    pub const fn exposure_budget(self) -> Option<(Exposure, &'static str)> {
        use ArtifactKind as K;
        let (tenths, why) = match self {
            K::NativeUnit | K::JobUnit => (
                35,
                "an application or its job: its own user, a read-only system",
            ),
            K::BackupService | K::DbBootstrapUnit | K::ReplicaInitUnit | K::PgbackrestService => (
                45,
                "database work as `postgres` over the local socket, writing at most one directory \
                 (for a containerised PostgreSQL: the docker client's sandbox, as the compose unit's)",
            ),
            K::RestoreTestService => (
                45,
                "a throw-away server as `postgres` on a Unix socket in its own state directory",
            ),
            K::FirewallUnit => (
                30,
                "loads the host's ruleset: root with CAP_NET_ADMIN only, no network of its own",
            ),
            K::ComposeUnit => (
                25,
                "runs as root to reach the Docker daemon's socket, which is                  root-equivalent; the containers' own sandbox is the compose file's",
            ),
            K::ExporterUnit => (
                45,
                "a metrics exporter as `prometheus`: listens on the private address and \
                 reads its source over the network or a Unix socket",
            ),
            K::PullService => (
                30,
                "gen apply writes host configuration owned by other users anywhere                  its manifest says: root, a writable system, file capabilities",
            ),
            K::ComposeFile
            | K::NginxSite
            | K::HealthcheckScript
            | K::HealthGate
            | K::PostgresqlConf
            | K::PgHba
            | K::BackupScript
            | K::BackupTimer
            | K::PgbouncerIni
            | K::RedisConf
            | K::PrometheusConfig
            | K::PrometheusRules
            | K::PullScript
            | K::PullTimer
            | K::CronJobs
            | K::JobTimer
            | K::SqlRunner
            | K::DbBootstrapSql
            | K::ReplicaInitScript
            | K::FirewallRules
            | K::PgbackrestConf
            | K::PgbackrestTimer
            | K::AlertmanagerConfig
            | K::ExporterDefaults
            | K::RestoreTestScript
            | K::RestoreTestTimer
            | K::RedisExporterAuth
            | K::NginxConf => return None,
        };
        match Exposure::tenths(tenths) {
            Some(budget) => Some((budget, why)),
            None => None,
        }
    }
}

/// Templates that are not an artifact of a host: the shared header every
/// artifact includes, and the Ansible inventory and playbook (`gen ansible`).
const SUPPORT_TEMPLATES: [(&str, &str); 7] = [
    template!("ansible/inventory.ini.j2"),
    template!("ansible/playbook.yml.j2"),
    template!("compose/service.j2"),
    template!("header.j2"),
    template!("systemd/docker-client.j2"),
    template!("compose/datatier.j2"),
    template!("compose/job.j2"),
];

/// The text of a template that is not an artifact's (`ansible/…`, `header.j2`).
pub fn support_template(name: &str) -> Option<&'static str> {
    SUPPORT_TEMPLATES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, source)| *source)
}

/// Every embedded template by name, sorted: what the renderer loads and what
/// the input hash covers.
pub fn templates() -> Vec<(&'static str, &'static str)> {
    let mut all: Vec<(&str, &str)> = ArtifactKind::ALL
        .iter()
        .map(|kind| {
            let entry = kind.entry();
            (entry.template, entry.source)
        })
        .chain(SUPPORT_TEMPLATES)
        .collect();
    all.sort_by(|a, b| a.0.cmp(b.0));
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_are_executable_and_nothing_is_writable_by_others() {
        for kind in ArtifactKind::ALL {
            let entry = kind.entry();
            assert_eq!(entry.mode & 0o022, 0, "{kind:?} is group/other-writable");
            let script = entry.validator == Validator::Shell;
            assert_eq!(entry.mode & 0o100 != 0, script, "{kind:?}");
        }
    }

    /// The link gen records and the `[Install]` section `systemctl enable`
    /// reads must agree, or a reboot starts something else than `gen diff`
    /// said.
    #[test]
    fn a_kind_is_enabled_exactly_as_its_install_section_says() {
        for kind in ArtifactKind::ALL {
            let entry = kind.entry();
            let wanted_by: Vec<&str> = entry
                .source
                .split("[Install]")
                .nth(1)
                .into_iter()
                .flat_map(str::lines)
                .filter_map(|line| line.strip_prefix("WantedBy="))
                .collect();
            match entry.enables {
                Some(target) => assert_eq!(wanted_by, vec![target], "{kind:?}"),
                None => assert!(
                    !entry.source.contains("[Install]"),
                    "{kind:?} has an [Install] section but is not enabled"
                ),
            }
        }
    }

    /// `RemoveIPC=` deletes every IPC object of the unit's user when the
    /// unit stops. gen's units run as users that live services share
    /// (`postgres` for backups, bootstrap and restore tests; an
    /// application's user for its jobs): the running cluster's shared
    /// memory would go with them.
    #[test]
    fn no_unit_removes_the_ipc_of_a_user_it_shares() {
        for (name, source) in templates() {
            assert!(
                !source.lines().any(|l| l.trim().starts_with("RemoveIPC=")),
                "{name} sets RemoveIPC="
            );
        }
    }

    #[test]
    fn all_lists_every_kind_once_with_its_own_template() {
        let mut templates: Vec<&str> = ArtifactKind::ALL.iter().map(|k| k.template()).collect();
        templates.sort_unstable();
        templates.dedup();
        assert_eq!(templates.len(), ArtifactKind::ALL.len());
    }
}
