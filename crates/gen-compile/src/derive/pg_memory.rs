//! Derive stage: the memory PostgreSQL tunes for on a database host. PGTune
//! assumes the server has the machine to itself; on a host it shares, it
//! gets the host's memory less its other tenants (every service's memory
//! limit times its replicas, Redis's `maxmemory` on the cache host), capped
//! by `postgres.memory`. A host with nothing else on it keeps PGTune's
//! numbers exactly.

use serde::Serialize;

use super::BudgetError;
use crate::model::{Deployment, HostSpec};
use crate::profile::Role;
use crate::source::push_key;
use crate::units::ByteSize;

/// Less than this left for PostgreSQL is refused: PGTune itself warns below
/// 256MB, and the server's own fixed costs leave nothing to tune.
pub const FLOOR: ByteSize = ByteSize(512 * 1024 * 1024);

const MIB: u64 = 1024 * 1024;

/// Redis `maxmemory`: declared, or a quarter of the cache host's memory,
/// rounded down to whole MiB.
pub fn redis_maxmemory(d: &Deployment) -> Option<ByteSize> {
    d.redis.as_ref().map(|redis| {
        redis.maxmemory.unwrap_or_else(|| {
            let host_memory = d
                .hosts_with(Role::Cache)
                .next()
                .map_or(0, |h| h.memory.bytes());
            ByteSize(host_memory / 4 / MIB * MIB)
        })
    })
}

/// Something else on the host that holds memory PostgreSQL cannot use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tenant {
    /// `service api (2 x 1GiB)`, `redis maxmemory`.
    pub what: String,
    pub bytes: ByteSize,
    /// The key that sets it, for errors.
    #[serde(skip)]
    pub key: String,
}

/// PostgreSQL's memory on one host, and how it was reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemoryBudget {
    pub host_memory: ByteSize,
    pub tenants: Vec<Tenant>,
    /// `postgres.memory`, when declared.
    pub cap: Option<ByteSize>,
    /// Host memory less the tenants (saturating at 0).
    pub left: ByteSize,
    /// What PGTune is given: `left`, or the cap when that is lower.
    pub memory: ByteSize,
}

impl MemoryBudget {
    /// Whether PGTune sees anything but the host's whole memory.
    pub fn is_reduced(&self) -> bool {
        self.memory != self.host_memory
    }

    /// The subtraction, as `gen explain` and postgresql.conf print it:
    /// `host 16GiB - service api 1GiB - redis maxmemory 1GiB = 14GiB`.
    pub fn line(&self) -> String {
        let mut text = format!("host memory {}", self.host_memory);
        for tenant in &self.tenants {
            text.push_str(&format!(" - {} {}", tenant.what, tenant.bytes));
        }
        if !self.tenants.is_empty() {
            text.push_str(&format!(" = {}", self.left));
        }
        if let Some(cap) = self.cap {
            if cap < self.left {
                text.push_str(&format!("; capped at postgres.memory {cap}"));
            } else {
                text.push_str(&format!("; postgres.memory {cap} is not lower"));
            }
        }
        text
    }
}

/// The memory PostgreSQL on `host` is tuned for.
pub fn budget(d: &Deployment, host: &HostSpec) -> MemoryBudget {
    let mut tenants = Vec::new();
    for service in d.services_on(host) {
        let Some(memory) = service.memory else {
            continue;
        };
        let bytes = ByteSize(memory.bytes().saturating_mul(u64::from(service.replicas)));
        let what = if service.replicas > 1 {
            format!("service {} ({} x {memory})", service.name, service.replicas)
        } else {
            format!("service {}", service.name)
        };
        tenants.push(Tenant {
            what,
            bytes,
            key: format!("{}.limits.memory", push_key("services", &service.name)),
        });
    }
    if host.has(Role::Cache) {
        if let Some(maxmemory) = redis_maxmemory(d) {
            tenants.push(Tenant {
                what: "redis maxmemory".into(),
                bytes: maxmemory,
                key: "redis.maxmemory".into(),
            });
        }
    }
    let used = tenants
        .iter()
        .fold(0u64, |sum, t| sum.saturating_add(t.bytes.bytes()));
    let left = ByteSize(host.memory.bytes().saturating_sub(used));
    let cap = d.postgres.as_ref().and_then(|pg| pg.memory);
    let memory = cap.map_or(left, |cap| cap.min(left));
    MemoryBudget {
        host_memory: host.memory,
        tenants,
        cap,
        left,
        memory,
    }
}

/// A host whose budget leaves PostgreSQL less than [`FLOOR`], or whose
/// `postgres.memory` asks for more than the host leaves; blamed on the key
/// that asks for the memory.
pub fn check(host: &HostSpec, budget: &MemoryBudget) -> Option<BudgetError> {
    if let Some(cap) = budget.cap.filter(|cap| *cap > budget.left) {
        return Some(BudgetError {
            key: "postgres.memory".into(),
            message: format!(
                "`postgres.memory`: {cap} is more than host `{}` leaves PostgreSQL ({})",
                host.name,
                budget.line()
            ),
            help: "`postgres.memory` may only lower what the host leaves; remove it, or lower the other tenants' limits".into(),
        });
    }
    if budget.memory < FLOOR {
        let key = match (budget.cap, budget.tenants.last()) {
            (Some(cap), _) if cap < FLOOR => "postgres.memory".to_string(),
            (_, Some(tenant)) => tenant.key.clone(),
            _ => format!("{}.hardware.memory", push_key("hosts", &host.name)),
        };
        return Some(BudgetError {
            key,
            message: format!(
                "PostgreSQL on host `{}` would have {}, less than {FLOOR} ({})",
                host.name,
                budget.memory,
                budget.line()
            ),
            help: "lower the memory limits of what else runs on the host, move it to another host, or declare more memory".into(),
        });
    }
    None
}
