//! Lints, exposure: capabilities a container adds back after gen drops them
//! all. Two kinds are flagged: one the service cannot need
//! (`NET_BIND_SERVICE`, since service ports are 1024 and up), and those that
//! act on the host itself rather than on the container.

use super::{Context, Finding};
use crate::profile::Capability;
use crate::source::push_key;

/// Capabilities that reach past the container to the host, and what they give.
const HOST_CAPABILITIES: &[(Capability, &str, &str)] = &[
    (
        Capability::SysAdmin,
        "SYS_ADMIN",
        "mounts, namespaces and most of root's power on the host kernel",
    ),
    (
        Capability::NetAdmin,
        "NET_ADMIN",
        "interfaces, routes and firewall rules of its network namespace",
    ),
    (Capability::SysTime, "SYS_TIME", "the host's clock"),
];

pub(super) fn unneeded_capability(cx: &Context) -> Vec<Finding> {
    let mut out = Vec::new();
    for service in &cx.d.services {
        let key = push_key("services", &service.name);
        for cap in &service.options.cap_add {
            let message = if *cap == Capability::NetBindService {
                match service.port {
                    Some(port) if port < 1024 => continue,
                    Some(port) => format!(
                        "`{key}.cap_add`: `NET_BIND_SERVICE` binds ports below 1024, and `{}` listens on {port}",
                        service.name
                    ),
                    None => format!(
                        "`{key}.cap_add`: `NET_BIND_SERVICE` binds ports below 1024, and `{}` listens on none",
                        service.name
                    ),
                }
            } else if let Some((_, name, gives)) =
                HOST_CAPABILITIES.iter().find(|(c, _, _)| c == cap)
            {
                format!(
                    "`{key}.cap_add`: `{name}` gives the container {gives}; an escape from it is an escape onto the host"
                )
            } else {
                continue;
            };
            out.push(Finding::at(
                format!("{key}.cap_add"),
                message,
                "remove it from `cap_add`; if the program truly needs it, allow the lint with the reason under `[lints] allow`",
            ));
        }
    }
    out
}
