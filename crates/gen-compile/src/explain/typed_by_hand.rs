//! `gen explain`, the settings of a file typed by hand (`extra`): gen writes
//! them as they are, so the explanation lists them apart from the derived
//! values, each with the profile key it came from.

use serde::Serialize;

use crate::artifact_kind::ArtifactKind;
use crate::catalog::ArtifactSpec;
use crate::model::{Deployment, ExtraSpec, HostSpec};
use crate::profile::Runtime;
use crate::source::push_key;

#[derive(Debug, Serialize)]
pub struct HandTyped {
    /// The profile key, `sites.main.extra.ssl_buffer_size`.
    pub key: String,
    /// The value as the profile holds it (TOML).
    pub value: String,
}

fn entries(key: &str, extra: &ExtraSpec, out: &mut Vec<HandTyped>) {
    for (name, value) in extra {
        out.push(HandTyped {
            key: push_key(&format!("{key}.extra"), name),
            value: value.to_string(),
        });
    }
}

/// Every `extra` entry written into `spec`'s file on `host`.
pub fn typed_by_hand(d: &Deployment, host: &HostSpec, spec: &ArtifactSpec) -> Vec<HandTyped> {
    let mut out = Vec::new();
    match spec.kind {
        ArtifactKind::ComposeFile => {
            for s in d
                .services_on(host)
                .filter(|s| s.runtime == Runtime::Container)
            {
                entries(&push_key("services", &s.name), &s.extra, &mut out);
            }
        }
        ArtifactKind::NativeUnit => {
            if let Some(s) = spec.service.as_deref().and_then(|n| d.service(n)) {
                entries(&push_key("services", &s.name), &s.extra, &mut out);
            }
        }
        ArtifactKind::NginxSite => {
            entries("nginx", &d.nginx.extra, &mut out);
            for site in &d.sites {
                let key = push_key("sites", &site.name);
                entries(&key, &site.options.extra, &mut out);
                for (i, location) in site.locations.iter().enumerate() {
                    entries(
                        &format!("{key}.locations[{i}]"),
                        &location.options.extra,
                        &mut out,
                    );
                }
            }
        }
        ArtifactKind::PgbouncerIni => {
            if let Some(p) = &d.pgbouncer {
                entries("pgbouncer", &p.extra, &mut out);
            }
        }
        ArtifactKind::RedisConf => {
            if let Some(r) = &d.redis {
                entries("redis", &r.extra, &mut out);
            }
        }
        _ => {}
    }
    out
}
