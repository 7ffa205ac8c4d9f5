//! View of redis.conf on the cache host.

use serde::Serialize;

use super::Scope;
use crate::model::{HostSpec, RedisSpec};

#[derive(Serialize)]
pub struct Conf<'a> {
    host: &'a HostSpec,
    redis: &'a RedisSpec,
    /// `maxmemory` as redis.conf spells it: declared, or a quarter of the
    /// host's memory (`derive`).
    maxmemory: String,
    /// `redis.extra` as redis.conf directives.
    extra: Vec<String>,
    /// Runs as the `redis` compose service (data in its volume at `/data`,
    /// logs to docker).
    container: bool,
    project: &'a str,
}

pub fn conf<'a>(scope: &Scope<'a>) -> Option<Conf<'a>> {
    let redis = scope.d.redis.as_ref()?;
    Some(Conf {
        host: scope.host,
        redis,
        extra: crate::validate::extra::redis_lines(&redis.extra),
        maxmemory: scope.derived.redis_maxmemory?.redis(),
        container: crate::derive::datatier::redis_container(scope.d, scope.host),
        project: &scope.d.project,
    })
}
