//! View of one compose service's container options: each typed option as
//! compose spells it (`views::services` holds the rest of the service).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::json;

use super::Scope;
use crate::model::{GpuSpec, ServiceSpec};
use crate::validate::extra;

#[derive(Serialize)]
pub struct ComposeOptions {
    /// `tmpfs:` entries: `path` or `path:size=…,mode=…`.
    tmpfs: Vec<String>,
    /// `deploy.resources.reservations`: cpus and memory as compose spells them.
    reservation_cpus: Option<String>,
    reservation_memory: Option<String>,
    /// `deploy.resources.reservations.devices`: the NVIDIA GPU request.
    gpu_devices: Vec<serde_json::Value>,
    /// `devices:` entries, `host:container`.
    devices: Vec<String>,
    /// `volumes:` in compose's long syntax.
    volumes: Vec<serde_json::Value>,
    /// `depends_on`: name → compose condition.
    dependencies: BTreeMap<String, &'static str>,
    stop_grace_period: Option<String>,
    log_max_size: String,
    log_max_files: String,
    /// `extra`: key → the value as JSON.
    extra: BTreeMap<String, String>,
}

pub fn compose_options(_scope: &Scope<'_>, s: &ServiceSpec) -> ComposeOptions {
    let o = &s.options;
    let tmpfs = o
        .tmpfs
        .iter()
        .map(|t| {
            let mut opts = Vec::new();
            if let Some(size) = t.size {
                opts.push(format!("size={}", size.compose()));
            }
            if let Some(mode) = &t.mode {
                opts.push(format!("mode={mode}"));
            }
            if opts.is_empty() {
                t.path.clone()
            } else {
                format!("{}:{}", t.path, opts.join(","))
            }
        })
        .collect();
    let gpu_devices = match o.gpus {
        None => Vec::new(),
        Some(GpuSpec::All) => {
            vec![json!({"driver": "nvidia", "count": "all", "capabilities": ["gpu"]})]
        }
        Some(GpuSpec::Count(n)) => {
            vec![json!({"driver": "nvidia", "count": n, "capabilities": ["gpu"]})]
        }
    };
    ComposeOptions {
        tmpfs,
        reservation_cpus: o.reservations.and_then(|r| r.cpus).map(|c| c.to_string()),
        reservation_memory: o.reservations.and_then(|r| r.memory).map(|m| m.compose()),
        gpu_devices,
        devices: o.devices.iter().map(|d| format!("{d}:{d}")).collect(),
        volumes: o
            .volumes
            .iter()
            .map(|v| {
                json!({
                    "type": if v.bind { "bind" } else { "volume" },
                    "source": v.source,
                    "target": v.target,
                    "read_only": v.read_only,
                })
            })
            .collect(),
        dependencies: o
            .dependencies
            .iter()
            .map(|(name, c)| (name.clone(), c.compose()))
            .collect(),
        stop_grace_period: o
            .stop_grace_period
            .map(crate::validate::container::compose_duration),
        log_max_size: o.logging.max_size.compose(),
        log_max_files: o.logging.max_files.to_string(),
        extra: extra::compose_entries(&s.extra),
    }
}
