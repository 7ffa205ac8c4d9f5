//! `gen graph`: the deployment as a picture (Mermaid or Graphviz dot): hosts,
//! the components on each, their ports, and who connects to whom.

use std::fmt::Write as _;

use crate::derive::Derived;
use crate::model::{exporter_port, Deployment, LocationTarget};
use crate::profile::{Role, Runtime, ServiceRole};

/// One node: a component on a host.
struct Node {
    id: String,
    host: String,
    label: String,
}

struct Edge {
    from: String,
    to: String,
    label: String,
    dashed: bool,
}

fn id(host: &str, component: &str) -> String {
    format!(
        "{}__{}",
        host.replace('-', "_"),
        component.replace('-', "_")
    )
}

fn model(d: &Deployment, derived: &Derived) -> (Vec<Node>, Vec<Edge>) {
    let mut nodes = Vec::new();
    let mut edges = Vec::new();
    for host in &d.hosts {
        let mut add = |component: &str, label: String| {
            nodes.push(Node {
                id: id(&host.name, component),
                host: host.name.clone(),
                label,
            });
        };
        if d.serves_sites(host) {
            add("nginx", "nginx :80 :443".into());
        }
        for service in d.services_on(host) {
            let ports = service.host_ports();
            let port = match (ports.first(), ports.last()) {
                (Some(a), Some(b)) if a != b => format!(" :{a}-{b}"),
                (Some(a), _) => format!(" :{a}"),
                _ => String::new(),
            };
            let runtime = if service.runtime == Runtime::Container {
                "container"
            } else {
                "systemd"
            };
            let replicas = if service.replicas > 1 {
                format!(" x{}", service.replicas)
            } else {
                String::new()
            };
            add(
                &format!("svc_{}", service.name),
                format!("{} ({runtime}{replicas}){port}", service.name),
            );
        }
        if let Some(pgb) = &d.pgbouncer {
            if host.has(Role::Pooler) {
                add("pgbouncer", format!("pgbouncer :{}", pgb.port));
            }
        }
        if let Some(pg) = &d.postgres {
            if host.has(Role::DatabasePrimary) {
                add(
                    "postgres",
                    format!("postgresql {} primary :{}", pg.version, pg.port),
                );
            }
            if host.has(Role::DatabaseReplica) {
                add(
                    "postgres",
                    format!("postgresql {} replica :{}", pg.version, pg.port),
                );
            }
        }
        if let Some(redis) = &d.redis {
            if host.has(Role::Cache) {
                add("redis", format!("redis :{}", redis.port));
            }
        }
        if host.has(Role::Monitoring) {
            add(
                "prometheus",
                format!("prometheus :{}", exporter_port::PROMETHEUS),
            );
        }
    }
    let has = |node_id: &str| nodes.iter().any(|n| n.id == node_id);
    // nginx → api services.
    for lb in d.hosts_with(Role::LoadBalancer) {
        for site in &d.sites {
            for location in &site.locations {
                let LocationTarget::Service { service } = &location.target else {
                    continue;
                };
                for upstream in derived.upstreams.get(service).into_iter().flatten() {
                    let edge = Edge {
                        from: id(&lb.name, "nginx"),
                        to: id(&upstream.host, &format!("svc_{service}")),
                        label: location.path.clone(),
                        dashed: false,
                    };
                    if !edges
                        .iter()
                        .any(|e: &Edge| e.from == edge.from && e.to == edge.to)
                    {
                        edges.push(edge);
                    }
                }
            }
        }
    }
    // services → pooler / primary, redis.
    for service in &d.services {
        for host in d.hosts_running(service) {
            let from = id(&host.name, &format!("svc_{}", service.name));
            if let Some(db) = &service.database {
                let targets: Vec<String> = if db.pooled {
                    d.hosts_with(Role::Pooler)
                        .map(|h| id(&h.name, "pgbouncer"))
                        .collect()
                } else {
                    d.primary()
                        .map(|p| id(&p.name, "postgres"))
                        .into_iter()
                        .collect()
                };
                for to in targets {
                    edges.push(Edge {
                        from: from.clone(),
                        to,
                        label: db.user.clone(),
                        dashed: false,
                    });
                }
            }
            if service.redis {
                for cache in d.hosts_with(Role::Cache) {
                    edges.push(Edge {
                        from: from.clone(),
                        to: id(&cache.name, "redis"),
                        label: if service.role == ServiceRole::Worker {
                            "jobs".into()
                        } else {
                            String::new()
                        },
                        dashed: false,
                    });
                }
            }
        }
    }
    if let Some(primary) = d.primary() {
        for pooler in d.hosts_with(Role::Pooler) {
            edges.push(Edge {
                from: id(&pooler.name, "pgbouncer"),
                to: id(&primary.name, "postgres"),
                label: "pools".into(),
                dashed: false,
            });
            for replica in d.hosts_with(Role::DatabaseReplica) {
                edges.push(Edge {
                    from: id(&pooler.name, "pgbouncer"),
                    to: id(&replica.name, "postgres"),
                    label: "read-only".into(),
                    dashed: false,
                });
            }
        }
        let sync = d.postgres.as_ref().map_or(0, |p| p.synchronous_replicas);
        for replica in d.hosts_with(Role::DatabaseReplica) {
            edges.push(Edge {
                from: id(&primary.name, "postgres"),
                to: id(&replica.name, "postgres"),
                label: if sync > 0 {
                    "streaming (sync)".into()
                } else {
                    "streaming".into()
                },
                dashed: false,
            });
        }
    }
    for monitor in d.hosts_with(Role::Monitoring) {
        for host in &d.hosts {
            if let Some(target) = nodes
                .iter()
                .find(|n| n.host == host.name && n.id != id(&monitor.name, "prometheus"))
            {
                edges.push(Edge {
                    from: id(&monitor.name, "prometheus"),
                    to: target.id.clone(),
                    label: "scrape".into(),
                    dashed: true,
                });
            }
        }
    }
    edges.retain(|e| has(&e.from) && has(&e.to));
    (nodes, edges)
}

fn label_text(label: &str) -> String {
    label.replace('"', "'")
}

pub fn mermaid(d: &Deployment, derived: &Derived) -> String {
    let (nodes, edges) = model(d, derived);
    let mut out = String::from("flowchart LR\n");
    for host in &d.hosts {
        let roles: Vec<&str> = host.roles.iter().map(|r| r.as_str()).collect();
        let _ = writeln!(
            out,
            "  subgraph {}[\"{} {}\"]",
            host.name.replace('-', "_"),
            host.name,
            host.address
        );
        let _ = writeln!(out, "    %% roles: {}", roles.join(", "));
        for node in nodes.iter().filter(|n| n.host == host.name) {
            let _ = writeln!(out, "    {}[\"{}\"]", node.id, label_text(&node.label));
        }
        out.push_str("  end\n");
    }
    for edge in &edges {
        let arrow = if edge.dashed { "-.->" } else { "-->" };
        if edge.label.is_empty() {
            let _ = writeln!(out, "  {} {arrow} {}", edge.from, edge.to);
        } else {
            let _ = writeln!(
                out,
                "  {} {arrow}|\"{}\"| {}",
                edge.from,
                label_text(&edge.label),
                edge.to
            );
        }
    }
    out
}

pub fn dot(d: &Deployment, derived: &Derived) -> String {
    let (nodes, edges) = model(d, derived);
    let mut out = format!(
        "digraph \"{}\" {{\n  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\"];\n",
        d.profile
    );
    for host in &d.hosts {
        let _ = writeln!(
            out,
            "  subgraph \"cluster_{}\" {{\n    label=\"{} {}\";",
            host.name, host.name, host.address
        );
        for node in nodes.iter().filter(|n| n.host == host.name) {
            let _ = writeln!(
                out,
                "    {} [label=\"{}\"];",
                node.id,
                label_text(&node.label)
            );
        }
        out.push_str("  }\n");
    }
    for edge in &edges {
        let style = if edge.dashed {
            ", style=dashed, color=gray"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "  {} -> {} [label=\"{}\"{style}];",
            edge.from,
            edge.to,
            label_text(&edge.label)
        );
    }
    out.push_str("}\n");
    out
}
