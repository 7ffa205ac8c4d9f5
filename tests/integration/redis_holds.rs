//! `redis.holds`: what a Redis's keys are decides its default eviction
//! policy (`noeviction` with queues or sessions) and what gen refuses;
//! `queues = true` stays as shorthand for `holds = ["queues"]`, never
//! together with `holds`.
#![allow(clippy::unwrap_used)]

use super::support::{Project, SMALL};

fn with_redis(redis: &str) -> String {
    format!("{SMALL}\n[redis]\npassword_file = \"/etc/redis/pass.conf\"\n{redis}")
        .replace("roles = [", "roles = [\"cache\", ")
}

fn redis_conf(redis: &str) -> String {
    let project = Project::new().profile("small", &with_redis(redis));
    let run = project.gen(&["build"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let host = std::fs::read_dir(project.path().join("generated/small"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::read_to_string(host.join("root/etc/redis/redis.conf")).unwrap()
}

fn policy(conf: &str) -> &str {
    conf.lines()
        .find_map(|l| l.strip_prefix("maxmemory-policy "))
        .unwrap()
}

#[test]
fn sessions_or_queues_keep_their_keys_by_default_and_a_cache_evicts() {
    assert_eq!(
        policy(&redis_conf("holds = [\"sessions\", \"cache\"]\n")),
        "noeviction"
    );
    assert_eq!(policy(&redis_conf("holds = [\"queues\"]\n")), "noeviction");
    assert_eq!(policy(&redis_conf("queues = true\n")), "noeviction");
    assert_eq!(policy(&redis_conf("holds = [\"cache\"]\n")), "allkeys-lru");
    assert_eq!(policy(&redis_conf("")), "allkeys-lru");
    // queues means AOF persistence, as with `queues = true`.
    assert!(redis_conf("holds = [\"queues\", \"cache\"]\n").contains("appendonly yes"));
}

#[test]
fn queues_and_holds_together_or_queues_that_evict_are_refused() {
    let project =
        Project::new().profile("small", &with_redis("queues = true\nholds = [\"cache\"]\n"));
    let run = project.gen(&["build"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("`redis.queues` and `redis.holds` are both set"),
        "{}",
        run.stderr
    );
    let project = Project::new().profile(
        "small",
        &with_redis("holds = [\"queues\"]\nmaxmemory_policy = \"allkeys-lru\"\n"),
    );
    let run = project.gen(&["build"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("this Redis carries job queues"),
        "{}",
        run.stderr
    );
    let project = Project::new().profile("small", &with_redis("holds = [\"logs\"]\n"));
    assert_eq!(project.gen(&["build"]).code, 2);
}
