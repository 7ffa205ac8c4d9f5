//! Derive stage: the files a host must provide for its tree to work. gen
//! never writes a secret, a certificate or a key: profiles name files the
//! host holds. The manifest lists the ones this host's files name, so
//! `gen apply` can refuse before a service restarts without them.

use crate::model::{Deployment, HostSpec};
use crate::profile::Role;

/// Every file the artifacts of `host` name and the host must hold, sorted:
/// the secrets of the services it runs, the certificates and keys of the
/// sites it serves and of PostgreSQL's TLS, a replica's replication
/// passfile, a containerised PostgreSQL's superuser password file, the
/// role password files a native primary's bootstrap reads,
/// PgBouncer's auth file, Redis's password file and the pull
/// mode's signers, deploy key and known hosts.
pub fn files(d: &Deployment, host: &HostSpec) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for service in d.services_on(host) {
        out.extend(service.secrets.values().cloned());
    }
    for job in d.jobs_on(host) {
        out.extend(job.process.secrets.values().cloned());
    }
    if d.serves_sites(host) {
        for site in &d.sites {
            out.push(site.certificate.clone());
            out.push(site.certificate_key.clone());
        }
    }
    if let Some(pg) = &d.postgres {
        let database = host.has(Role::DatabasePrimary) || host.has(Role::DatabaseReplica);
        if database {
            if let Some(tls) = &pg.tls {
                out.push(tls.certificate.clone());
                out.push(tls.key.clone());
            }
        }
        if host.has(Role::DatabaseReplica) {
            out.push(pg.replication_passfile.clone());
        }
        // A containerised PostgreSQL's compose secret.
        if super::datatier::postgres_container(d, host) {
            out.extend(pg.superuser_password_file.clone());
        } else if host.has(Role::DatabasePrimary) {
            // A native primary's bootstrap reads each role's password file.
            out.extend(pg.roles.values().filter_map(|r| r.password_file.clone()));
        }
    }
    if let Some(pgbouncer) = d.pgbouncer.as_ref().filter(|_| host.has(Role::Pooler)) {
        out.push(pgbouncer.auth_file.clone());
    }
    if let Some(redis) = d.redis.as_ref().filter(|_| host.has(Role::Cache)) {
        out.extend(redis.password_file.clone());
    }
    if let Some(rollout) = &d.rollout {
        out.extend(rollout.allowed_signers.clone());
        if let Some(ssh) = &rollout.ssh {
            out.push(ssh.key.clone());
            out.push(ssh.known_hosts.clone());
        }
    }
    out.sort();
    out.dedup();
    out
}
