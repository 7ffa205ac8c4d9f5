//! Derive stage: the worker limits of nginx's main file on a host that
//! serves sites, from the host's cores.
//!
//! One worker per core (`hosts.<h>.hardware.cores`): nginx workers are
//! single-threaded event loops, and more than one per core only adds
//! context switches. The per-worker connection limit is the SmartAttend
//! guide's `worker_connections 4096` (Debian's 768 is a desktop default):
//! a proxied request holds two connections, the client's and the
//! upstream's, so a host serves `cores × 4096 / 2` clients at once. Each
//! connection is a file descriptor, and a worker also opens the files it
//! serves, its logs and cache entries: the worker's descriptor limit is
//! twice its connections, so reaching `worker_connections` never fails
//! with "Too many open files" first.

use serde::Serialize;

use crate::model::HostSpec;

/// Connections per worker (the SmartAttend guide's value).
pub const WORKER_CONNECTIONS: u32 = 4096;

/// The worker settings of one host's nginx.conf.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Workers {
    pub cores: u32,
    /// `worker_processes`: the host's cores.
    pub processes: u32,
    /// `worker_connections`.
    pub connections: u32,
    /// `worker_rlimit_nofile`: 2 × `worker_connections`.
    pub rlimit_nofile: u32,
    /// Clients served at once when every request is proxied:
    /// processes × connections / 2.
    pub proxied_clients: u64,
}

pub fn workers(host: &HostSpec) -> Workers {
    let processes = host.cores.max(1);
    let connections = WORKER_CONNECTIONS;
    Workers {
        cores: host.cores,
        processes,
        connections,
        rlimit_nofile: connections.saturating_mul(2),
        proxied_clients: u64::from(processes) * u64::from(connections) / 2,
    }
}
