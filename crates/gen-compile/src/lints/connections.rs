//! Lints, connection budget: services that hold PostgreSQL's connections
//! directly. Connections that cannot fit at all are an error in `derive`;
//! these are the ones that fit today and run out under load.

use super::{Context, Finding};
use crate::derive::connections::{breakdown, direct_uses, largest, DirectUse};
use crate::source::push_key;

/// No pooler, and the direct connections take more than half of
/// `max_connections`.
pub(super) fn direct_connections(cx: &Context) -> Vec<Finding> {
    let d = cx.d;
    if d.pgbouncer.is_some() {
        return Vec::new();
    }
    let Some(max_connections) = d
        .primary()
        .and_then(|primary| cx.derived.postgres.get(&primary.name))
        .map(|conf| conf.max_connections)
    else {
        return Vec::new();
    };
    let uses = direct_uses(d);
    let direct: u64 = uses.iter().map(DirectUse::total).sum();
    let Some(largest) = largest(&uses).filter(|_| direct * 2 > max_connections) else {
        return Vec::new();
    };
    vec![Finding::at(
        largest.key(),
        format!(
            "services hold {direct} of PostgreSQL's {max_connections} connections directly ({}) and no pooler shares them: a few more instances, or pools growing under a slow query, exhaust the server",
            breakdown(&uses)
        ),
        "give a host the role `pooler` and add `[pgbouncer]`: the services then share a few pooled server connections; or lower `database.connections`",
    )]
}

/// A pooler exists and a service connects around it: `pooled = false`, or
/// a PostgreSQL URL in its environment naming the server's own port.
pub(super) fn pooler_bypass(cx: &Context) -> Vec<Finding> {
    let d = cx.d;
    let (Some(pg), Some(pgb)) = (&d.postgres, &d.pgbouncer) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for service in &d.services {
        let key = push_key("services", &service.name);
        if let Some(db) = service.database.as_ref().filter(|db| !db.pooled) {
            out.push(Finding::at(
                format!("{key}.database.pooled"),
                format!(
                    "`{key}.database.pooled = false`: `{}` opens {} connections straight to PostgreSQL while PgBouncer pools the other services; they come out of the pools' budget and skip the pooler's queue",
                    service.name, db.connections
                ),
                "remove `pooled = false` so the service goes through PgBouncer; if it needs a session of its own (LISTEN/NOTIFY, advisory locks), allow `pooler-bypass` with that reason",
            ));
        }
        for (var, value) in &service.environment {
            let Some(port) = postgres_url_port(value) else {
                continue;
            };
            if port == pg.port && port != pgb.port {
                let var_key = push_key(&format!("{key}.environment"), var);
                out.push(Finding::at(
                    var_key.clone(),
                    format!(
                        "`{var_key}` connects to PostgreSQL's port {port}, around the PgBouncer that listens on {}",
                        pgb.port
                    ),
                    format!(
                        "drop the URL and use `DATABASE_HOST` and `DATABASE_PORT`, which gen sets to the pooler; or name port {} in it",
                        pgb.port
                    ),
                ));
            }
        }
    }
    out
}

/// The port of a `postgres://` or `postgresql://` URL (5432 when it names
/// none), or `None` for any other value.
fn postgres_url_port(value: &str) -> Option<u16> {
    let rest = value
        .strip_prefix("postgresql://")
        .or_else(|| value.strip_prefix("postgres://"))?;
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    // `[::1]:5432`: the port follows the bracket; several hosts take the first.
    let first = host_port.split(',').next().unwrap_or_default();
    let port = match first.rsplit_once(']') {
        Some((_, after)) => after.strip_prefix(':'),
        None => first.rsplit_once(':').map(|(_, port)| port),
    };
    match port {
        None | Some("") => Some(5432),
        Some(port) => port.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::postgres_url_port;

    #[test]
    fn url_ports_default_to_postgresql_s() {
        assert_eq!(
            postgres_url_port("postgresql://stet@db1:5432/stet"),
            Some(5432)
        );
        assert_eq!(postgres_url_port("postgres://db1/stet"), Some(5432));
        assert_eq!(
            postgres_url_port("postgres://u@db1:6432/x?sslmode=require"),
            Some(6432)
        );
        assert_eq!(postgres_url_port("postgresql://[::1]:6543/x"), Some(6543));
        assert_eq!(postgres_url_port("redis://cache:6379"), None);
        assert_eq!(postgres_url_port("postgres://db1:none/x"), None);
    }
}
