//! Lints, data tier: a store configured against what its keys are. A Redis
//! that holds job queues and evicts is refused in validation (jobs vanish);
//! one that holds sessions and evicts is a lint, since some deployments
//! accept logging users out under memory pressure.

use super::{Context, Finding};
use crate::profile::{EvictionPolicy, RedisUse};

/// A Redis that holds sessions under an evicting `maxmemory-policy`.
pub(super) fn evicting_sessions(cx: &Context) -> Vec<Finding> {
    let Some(redis) = cx.d.redis.as_ref() else {
        return Vec::new();
    };
    if !redis.holds.contains(&RedisUse::Sessions)
        || redis.maxmemory_policy == EvictionPolicy::Noeviction
    {
        return Vec::new();
    }
    vec![Finding::at(
        "redis.maxmemory_policy",
        format!(
            "`redis.maxmemory_policy`: `{}` evicts keys when Redis is full, and this Redis holds sessions: under memory pressure it logs users out, at random or least recently active first",
            redis.maxmemory_policy.as_str()
        ),
        "use `noeviction` (the default when `holds` lists `sessions`) and size `redis.maxmemory` for the sessions, or keep the cache in a Redis of its own",
    )]
}
