//! Validate stage, `[redis]`: the one cache of a deployment, and the eviction
//! policy a Redis that carries job queues must keep.

use super::Checker;
use crate::model::{HostSpec, RedisSpec};
use crate::profile::{EvictionPolicy, Persistence, Profile, RedisUse, Role};

impl Checker<'_> {
    pub(super) fn redis(&mut self, p: &Profile, hosts: &[HostSpec]) -> Option<RedisSpec> {
        let caches = hosts.iter().filter(|h| h.has(Role::Cache)).count();
        let Some(r) = &p.redis else {
            if caches > 0 {
                self.fail(
                    "hosts",
                    "hosts have role `cache` but the profile has no `[redis]` table",
                    "add `[redis]`",
                );
            }
            return None;
        };
        if caches != 1 {
            self.fail(
                "redis",
                format!("`[redis]` needs exactly one host with role `cache`, found {caches}"),
                "gen runs one Redis per deployment",
            );
        }
        if r.queues.is_some() && r.holds.is_some() {
            self.fail(
                "redis.queues",
                "`redis.queues` and `redis.holds` are both set",
                "`queues = true` is short for `holds = [\"queues\"]`: keep `holds` and list `queues` there",
            );
        }
        let mut holds: Vec<RedisUse> = match (&r.holds, r.queues) {
            (Some(holds), _) => holds.clone(),
            (None, Some(true)) => vec![RedisUse::Queues],
            (None, _) => Vec::new(),
        };
        holds.sort();
        holds.dedup();
        let queues = holds.contains(&RedisUse::Queues);
        let keeps_keys = queues || holds.contains(&RedisUse::Sessions);
        let policy = r.maxmemory_policy.unwrap_or(if keeps_keys {
            EvictionPolicy::Noeviction
        } else {
            EvictionPolicy::AllkeysLru
        });
        if queues && policy != EvictionPolicy::Noeviction {
            self.fail(
                "redis.maxmemory_policy",
                format!(
                    "`redis.maxmemory_policy`: `{}` evicts keys, but this Redis carries job queues",
                    policy.as_str()
                ),
                "queued jobs would silently disappear under memory pressure; use `noeviction`",
            );
        }
        if let Some(path) = &r.password_file {
            self.secret_path("redis.password_file", path);
        }
        let port = r.port.unwrap_or(6379);
        self.unprivileged_port("redis.port", port, "Redis listens on 6379 by default");
        let (runtime, image) = self.redis_runtime(r);
        Some(RedisSpec {
            runtime,
            image,
            port,
            maxmemory: r.maxmemory,
            maxmemory_policy: policy,
            queues,
            holds,
            persistence: r.persistence.unwrap_or(if queues {
                Persistence::Aof
            } else {
                Persistence::Rdb
            }),
            password_file: r.password_file.clone(),
            extra: self.extra("redis", super::extra::Syntax::Redis, r.extra.as_ref()),
        })
    }
}
