//! Lints, credentials: what is probably a secret in the profile, and the
//! logins that are stronger or weaker than they should be. Values that are
//! certainly credentials (passwords, tokens, `user:password@` URLs, webhook
//! URLs) are refused in validation (`credential::looks_like_secret`); these
//! are the likely ones, and the credentials that are missing.

use super::{Context, Finding};
use crate::credential::likely_credential;
use crate::profile::Role;
use crate::source::push_key;

/// An environment value that probably carries a credential.
pub(super) fn credential_in_env(cx: &Context) -> Vec<Finding> {
    let mut out = Vec::new();
    for service in &cx.d.services {
        let key = push_key("services", &service.name);
        for (var, value) in &service.environment {
            let Some(why) = likely_credential(var, value) else {
                continue;
            };
            let var_key = push_key(&format!("{key}.environment"), var);
            let secret = var.to_ascii_lowercase();
            out.push(
                Finding::at(
                    var_key.clone(),
                    format!(
                        "`{var_key}` looks like a credential ({why}): environment values are written into the service's compose file or unit, committed under `generated/` and shown by `docker inspect`"
                    ),
                    format!(
                        "put the value in a file on the host and reference it under `secrets` (`{secret} = \"/etc/{}/secrets/{secret}\"`); the service reads its path from `{}_FILE`",
                        cx.d.project,
                        var.to_ascii_uppercase()
                    ),
                )
                .redacted(),
            );
        }
    }
    out
}

/// A service that logs in as the superuser.
pub(super) fn superuser_login(cx: &Context) -> Vec<Finding> {
    let mut out = Vec::new();
    for service in &cx.d.services {
        let Some(db) = service.database.as_ref().filter(|db| db.user == "postgres") else {
            continue;
        };
        let key = format!("{}.database.user", push_key("services", &service.name));
        out.push(Finding::at(
            key.clone(),
            format!(
                "`{key}`: `{}` logs in to PostgreSQL as `{}`, the superuser: one SQL injection can read every database, drop the cluster or run programs on the server",
                service.name, db.user
            ),
            "create a role that owns the application's database, list it in `postgres.users`, and log in as that",
        ));
    }
    out
}

/// Redis without `password_file`: gen binds it to the cache host's private
/// address, so the whole internal network can use it.
pub(super) fn redis_no_auth(cx: &Context) -> Vec<Finding> {
    let d = cx.d;
    let Some(redis) = d.redis.as_ref().filter(|r| r.password_file.is_none()) else {
        return Vec::new();
    };
    let Some(host) = d.hosts_with(Role::Cache).next() else {
        return Vec::new();
    };
    let address = match host.address {
        std::net::IpAddr::V6(v6) => format!("[{v6}]:{}", redis.port),
        v4 => format!("{v4}:{}", redis.port),
    };
    vec![Finding::at(
        "redis",
        format!(
            "`[redis]` has no `password_file`: Redis on `{}` listens on {address} and serves every client of the internal network without a password",
            host.name
        ),
        format!(
            "add `password_file = \"/etc/redis/{}-requirepass.conf\"`, a file on the host holding `requirepass <secret>` that `redis` can read, and give the services the same secret under `secrets`",
            d.project
        ),
    )
    .on_key()]
}

/// Whether a URL names a password in its user part.
fn has_password(url: &str) -> bool {
    url.split_once("://")
        .and_then(|(_, rest)| rest.split(['/', '?']).next())
        .and_then(|authority| authority.rsplit_once('@'))
        .is_some_and(|(userinfo, _)| userinfo.contains(':'))
}

/// A Redis or PostgreSQL URL in the environment without the password its
/// server requires.
pub(super) fn url_missing_password(cx: &Context) -> Vec<Finding> {
    let d = cx.d;
    let redis_requires = d.redis.as_ref().is_some_and(|r| r.password_file.is_some());
    let mut out = Vec::new();
    for service in &d.services {
        let key = push_key("services", &service.name);
        for (var, value) in &service.environment {
            let server = if value.starts_with("redis://") || value.starts_with("rediss://") {
                redis_requires.then_some(("Redis", "it requires one (`redis.password_file`)"))
            } else if value.starts_with("postgres://") || value.starts_with("postgresql://") {
                d.postgres.as_ref().map(|_| {
                    (
                        "PostgreSQL",
                        "gen's pg_hba.conf admits network logins only with one (scram-sha-256)",
                    )
                })
            } else {
                None
            };
            let Some((server, why)) = server.filter(|_| !has_password(value)) else {
                continue;
            };
            let var_key = push_key(&format!("{key}.environment"), var);
            out.push(Finding::at(
                var_key.clone(),
                format!(
                    "`{var_key}` connects to {server} without a password, but {why}: the service fails at its first connection, not at deploy time"
                ),
                format!(
                    "put the whole URL, password included, in a file on the host and reference it under `secrets` (`{} = \"/etc/{}/secrets/{}\"`); the service reads its path from `{}_FILE`",
                    var.to_ascii_lowercase(),
                    d.project,
                    var.to_ascii_lowercase(),
                    var.to_ascii_uppercase()
                ),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::has_password;

    #[test]
    fn passwords_are_read_from_the_user_part() {
        assert!(has_password("redis://:pw@cache:6379/0"));
        assert!(has_password("postgres://app:pw@db/app"));
        assert!(!has_password("redis://cache:6379/0"));
        assert!(!has_password("postgres://app@db:5432/app"));
    }
}
