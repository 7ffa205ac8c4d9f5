//! Derive stage: when each host applies a new commit in pull mode. Canary
//! hosts apply at once; every other host belongs to one of `rollout.waves`
//! waves, fixed by a stable hash of its name, and waits `wave × stagger`
//! after the commit, so a bad commit reaches a fleet one slice at a time.

use serde::Serialize;

use crate::model::{exporter_port, Deployment, RolloutSpec};
use crate::profile::Role;

/// FNV-1a of the host name: stable across builds, machines and gen versions
/// (it decides which hosts go first, so it must not move).
fn stable_hash(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// The wave of `host`: 0 for a canary, else 1 + hash(name) mod `waves`.
pub fn wave(rollout: &RolloutSpec, host: &str) -> u32 {
    if rollout.canary.iter().any(|c| c == host) {
        return 0;
    }
    let waves = u64::from(rollout.waves.max(1));
    // The remainder is below `waves`, a u32.
    1 + u32::try_from(stable_hash(host) % waves).unwrap_or(0)
}

/// Seconds `host` waits after a commit's time before applying it.
pub fn delay_seconds(rollout: &RolloutSpec, host: &str) -> u64 {
    u64::from(wave(rollout, host)) * rollout.stagger.seconds()
}

/// What a host of a later wave asks before it applies a commit: whether
/// every canary has applied it and passed its health gate, as the canaries
/// report it to Prometheus (`gen_pull_applied_commit_info{commit=…}`, written
/// only after `gen apply` succeeded, health gate included).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CanaryGate {
    /// `http://<first monitoring host>:9090`.
    pub prometheus: String,
    /// The canaries' names as one anchored PromQL regex, `api1|api2`.
    pub hosts: String,
    pub count: usize,
}

/// The gate of `host`: `None` for a canary, without canaries, or without a
/// monitoring host to ask (then the waves are timed only; `gen explain`
/// says which).
pub fn canary_gate(d: &Deployment, host: &str) -> Option<CanaryGate> {
    let rollout = d.rollout.as_ref()?;
    if rollout.canary.is_empty() || wave(rollout, host) == 0 {
        return None;
    }
    let monitor = d.hosts_with(Role::Monitoring).next()?;
    let address = match monitor.address {
        std::net::IpAddr::V4(a) => a.to_string(),
        std::net::IpAddr::V6(a) => format!("[{a}]"),
    };
    Some(CanaryGate {
        prometheus: format!("http://{address}:{}", exporter_port::PROMETHEUS),
        hosts: rollout.canary.join("|"),
        count: rollout.canary.len(),
    })
}

/// How long a host may go without a successful pull before it is stale:
/// three timer intervals past the longest wave delay.
pub fn stale_after_seconds(rollout: &RolloutSpec) -> u64 {
    3 * rollout.interval.seconds() + u64::from(rollout.waves.max(1)) * rollout.stagger.seconds()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::units::Duration;

    fn rollout(canary: &[&str], waves: u32, stagger: u64) -> RolloutSpec {
        RolloutSpec {
            repository: "https://git.example.com/ops/deploy.git".into(),
            branch: "main".into(),
            interval: Duration(900),
            allowed_signers: None,
            checkout: "/var/lib/gen/checkout".into(),
            gen_binary: "/usr/local/bin/gen".into(),
            canary: canary.iter().map(|c| c.to_string()).collect(),
            stagger: Duration(stagger),
            waves,
            ssh: None,
        }
    }

    #[test]
    fn canaries_go_first_and_the_rest_spread_over_every_wave() {
        let r = rollout(&["api1"], 3, 1800);
        assert_eq!(wave(&r, "api1"), 0);
        assert_eq!(delay_seconds(&r, "api1"), 0);
        let hosts: Vec<String> = (0..60).map(|i| format!("web{i}")).collect();
        let mut seen = std::collections::BTreeSet::new();
        for host in &hosts {
            let w = wave(&r, host);
            assert!((1..=3).contains(&w), "{host}: wave {w}");
            assert_eq!(delay_seconds(&r, host), u64::from(w) * 1800);
            seen.insert(w);
        }
        assert_eq!(seen.len(), 3, "60 hosts fill all three waves");
    }

    #[test]
    fn the_wave_of_a_host_never_moves() {
        // Pinned values (FNV-1a, 64 bit): changing the hash would reorder a
        // running fleet.
        assert_eq!(stable_hash("db1"), 0xca89_6918_f453_f7d6);
        let r = rollout(&[], 4, 600);
        assert_eq!(wave(&r, "db1"), 3);
        assert_eq!(wave(&r, "api2"), 4);
        assert_eq!(delay_seconds(&r, "api2"), 2400);
        let r1 = rollout(&[], 1, 600);
        assert_eq!(wave(&r1, "anything"), 1);
        assert_eq!(delay_seconds(&rollout(&[], 3, 0), "web7"), 0);
    }
}
