//! `gen graph`: the deployment as a picture (Mermaid or Graphviz dot): hosts,
//! the components on each, their ports, and who connects to whom. Kept
//! readable as the fleet grows: Prometheus scrapes are drawn once per target
//! host (from the group of monitoring hosts when there are several), and
//! database edges say which database or pool they carry.

use std::fmt::Write as _;

use crate::derive::Derived;
use crate::model::{exporter_port, Deployment, HostSpec, LocationTarget};
use crate::profile::{Role, Runtime, ServiceRole};

/// One node: a component on a host.
struct Node {
    id: String,
    host: String,
    label: String,
}

/// Where an edge starts or ends: one component, a whole host's box, or the
/// box grouping every monitoring host.
#[derive(Debug, Clone, PartialEq, Eq)]
enum End {
    Node(String),
    Host(String),
    Monitoring,
}

struct Edge {
    from: End,
    to: End,
    label: String,
    dashed: bool,
}

/// The Mermaid/dot id of the box around the monitoring hosts (host names
/// are plain names, so none can take this id).
const MONITORING_GROUP: &str = "group__monitoring";

fn host_id(host: &str) -> String {
    host.replace('-', "_")
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
    // nginx → api services, one edge per pair with every path it serves.
    for lb in d.hosts_with(Role::LoadBalancer) {
        for site in &d.sites {
            for location in &site.locations {
                let LocationTarget::Service { service } = &location.target else {
                    continue;
                };
                for upstream in derived.upstreams.get(service).into_iter().flatten() {
                    let from = End::Node(id(&lb.name, "nginx"));
                    let to = End::Node(id(&upstream.host, &format!("svc_{service}")));
                    match edges
                        .iter_mut()
                        .find(|e: &&mut Edge| e.from == from && e.to == to)
                    {
                        Some(edge) => {
                            if !edge.label.split(", ").any(|p| p == location.path) {
                                edge.label = format!("{}, {}", edge.label, location.path);
                            }
                        }
                        None => edges.push(Edge {
                            from,
                            to,
                            label: location.path.clone(),
                            dashed: false,
                        }),
                    }
                }
            }
        }
    }
    // services → pooler / primary, redis.
    let database = d.postgres.as_ref().map(|pg| pg.database.as_str());
    let pool_names: Vec<&str> = derived
        .pools
        .iter()
        .flat_map(|plan| plan.databases.iter().map(|db| db.name.as_str()))
        .collect();
    for service in &d.services {
        for host in d.hosts_running(service) {
            let from = End::Node(id(&host.name, &format!("svc_{}", service.name)));
            if let Some(db) = &service.database {
                let (targets, databases): (Vec<String>, String) = if db.pooled {
                    (
                        d.hosts_with(Role::Pooler)
                            .map(|h| id(&h.name, "pgbouncer"))
                            .collect(),
                        pool_names.join(", "),
                    )
                } else {
                    (
                        d.primary()
                            .map(|p| id(&p.name, "postgres"))
                            .into_iter()
                            .collect(),
                        database.unwrap_or_default().to_string(),
                    )
                };
                let label = if databases.is_empty() {
                    db.user.clone()
                } else {
                    format!("{} on {databases}", db.user)
                };
                for to in targets {
                    edges.push(Edge {
                        from: from.clone(),
                        to: End::Node(to),
                        label: label.clone(),
                        dashed: false,
                    });
                }
            }
            if service.redis {
                for cache in d.hosts_with(Role::Cache) {
                    edges.push(Edge {
                        from: from.clone(),
                        to: End::Node(id(&cache.name, "redis")),
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
    // pooler → database servers, one edge per pool and server it points at.
    if let Some(plan) = &derived.pools {
        for pooler in d.hosts_with(Role::Pooler) {
            for pool in &plan.databases {
                for server in d
                    .hosts
                    .iter()
                    .filter(|h| pool.hosts.split(',').any(|a| a == h.address.to_string()))
                {
                    edges.push(Edge {
                        from: End::Node(id(&pooler.name, "pgbouncer")),
                        to: End::Node(id(&server.name, "postgres")),
                        label: pool.name.clone(),
                        dashed: false,
                    });
                }
            }
        }
    }
    if let Some(primary) = d.primary() {
        let sync = d.postgres.as_ref().map_or(0, |p| p.synchronous_replicas);
        for replica in d.hosts_with(Role::DatabaseReplica) {
            edges.push(Edge {
                from: End::Node(id(&primary.name, "postgres")),
                to: End::Node(id(&replica.name, "postgres")),
                label: if sync > 0 {
                    "streaming (sync)".into()
                } else {
                    "streaming".into()
                },
                dashed: false,
            });
        }
    }
    // Prometheus scrapes every host: one edge per target host, from the group
    // when several monitoring hosts scrape the same targets.
    let monitors: Vec<&str> = d
        .hosts_with(Role::Monitoring)
        .map(|h| h.name.as_str())
        .collect();
    let scraper = match monitors.as_slice() {
        [] => None,
        [one] => Some(End::Node(id(one, "prometheus"))),
        _ => Some(End::Monitoring),
    };
    if let Some(scraper) = scraper {
        for host in &d.hosts {
            let is_monitor = monitors.contains(&host.name.as_str());
            let has_target = nodes
                .iter()
                .any(|n| n.host == host.name && n.id != id(&host.name, "prometheus"));
            // A host's own Prometheus scrapes it locally, and monitoring
            // hosts in a group scrape one another: both are said in labels.
            if is_monitor || !has_target {
                continue;
            }
            edges.push(Edge {
                from: scraper.clone(),
                to: End::Host(host.name.clone()),
                label: "scrape".into(),
                dashed: true,
            });
        }
    }
    let exists = |end: &End| match end {
        End::Node(node_id) => nodes.iter().any(|n| &n.id == node_id),
        End::Host(host) => nodes.iter().any(|n| &n.host == host),
        End::Monitoring => !monitors.is_empty(),
    };
    edges.retain(|e| exists(&e.from) && exists(&e.to));
    (nodes, edges)
}

fn label_text(label: &str) -> String {
    label.replace('"', "'")
}

/// The hosts in drawing order: the others as the profile lists them, then
/// the monitoring hosts, which share a box when there are several.
fn host_order(d: &Deployment) -> (Vec<&HostSpec>, Vec<&HostSpec>) {
    d.hosts.iter().partition(|h| !h.has(Role::Monitoring))
}

fn monitoring_group_label(monitors: &[&HostSpec]) -> String {
    let names: Vec<&str> = monitors.iter().map(|h| h.name.as_str()).collect();
    format!(
        "monitoring: {}, each scrapes every host and the others",
        names.join(", ")
    )
}

/// Draws every host's box, the monitoring hosts inside one group box when
/// there are several; `open_group` writes the group box's first lines.
fn draw_hosts(
    d: &Deployment,
    out: &mut String,
    host_box: impl Fn(&mut String, &HostSpec, &str),
    open_group: impl Fn(&mut String, &str),
    close_group: &str,
) {
    let (others, monitors) = host_order(d);
    for host in others {
        host_box(out, host, "  ");
    }
    if monitors.len() > 1 {
        open_group(out, &monitoring_group_label(&monitors));
        for host in &monitors {
            host_box(out, host, "    ");
        }
        out.push_str(close_group);
    } else {
        for host in &monitors {
            host_box(out, host, "  ");
        }
    }
}

pub fn mermaid(d: &Deployment, derived: &Derived) -> String {
    let (nodes, edges) = model(d, derived);
    let mut out = String::from("flowchart LR\n");
    let host_box = |out: &mut String, host: &HostSpec, indent: &str| {
        let roles: Vec<&str> = host.roles.iter().map(|r| r.as_str()).collect();
        let _ = writeln!(
            out,
            "{indent}subgraph {}[\"{} {}\"]",
            host_id(&host.name),
            host.name,
            host.address
        );
        let _ = writeln!(out, "{indent}  %% roles: {}", roles.join(", "));
        for node in nodes.iter().filter(|n| n.host == host.name) {
            let _ = writeln!(
                out,
                "{indent}  {}[\"{}\"]",
                node.id,
                label_text(&node.label)
            );
        }
        let _ = writeln!(out, "{indent}end");
    };
    draw_hosts(
        d,
        &mut out,
        host_box,
        |out, label| {
            let _ = writeln!(out, "  subgraph {MONITORING_GROUP}[\"{label}\"]");
        },
        "  end\n",
    );
    let end_id = |end: &End| match end {
        End::Node(node_id) => node_id.clone(),
        End::Host(host) => host_id(host),
        End::Monitoring => MONITORING_GROUP.to_string(),
    };
    for edge in &edges {
        let arrow = if edge.dashed { "-.->" } else { "-->" };
        if edge.label.is_empty() {
            let _ = writeln!(out, "  {} {arrow} {}", end_id(&edge.from), end_id(&edge.to));
        } else {
            let _ = writeln!(
                out,
                "  {} {arrow}|\"{}\"| {}",
                end_id(&edge.from),
                label_text(&edge.label),
                end_id(&edge.to)
            );
        }
    }
    out
}

pub fn dot(d: &Deployment, derived: &Derived) -> String {
    let (nodes, edges) = model(d, derived);
    // `compound` lets an edge end at a cluster's border (lhead/ltail).
    let mut out = format!(
        "digraph \"{}\" {{\n  rankdir=LR;\n  compound=true;\n  node [shape=box, fontname=\"Helvetica\"];\n",
        d.profile
    );
    let host_box = |out: &mut String, host: &HostSpec, indent: &str| {
        let _ = writeln!(
            out,
            "{indent}subgraph \"cluster_{}\" {{\n{indent}  label=\"{} {}\";",
            host.name, host.name, host.address
        );
        for node in nodes.iter().filter(|n| n.host == host.name) {
            let _ = writeln!(
                out,
                "{indent}  {} [label=\"{}\"];",
                node.id,
                label_text(&node.label)
            );
        }
        let _ = writeln!(out, "{indent}}}");
    };
    draw_hosts(
        d,
        &mut out,
        host_box,
        |out, label| {
            let _ = writeln!(
                out,
                "  subgraph \"cluster_{MONITORING_GROUP}\" {{\n    label=\"{label}\";"
            );
        },
        "  }\n",
    );
    // dot draws edges between nodes: a host or group end is its first node,
    // with the edge clipped at the cluster's border.
    let first_node = |host: &str| nodes.iter().find(|n| n.host == host).map(|n| n.id.clone());
    let end = |end: &End| -> Option<(String, Option<String>)> {
        match end {
            End::Node(node_id) => Some((node_id.clone(), None)),
            End::Host(host) => first_node(host).map(|n| (n, Some(format!("cluster_{host}")))),
            End::Monitoring => d
                .hosts_with(Role::Monitoring)
                .next()
                .and_then(|h| first_node(&h.name))
                .map(|n| (n, Some(format!("cluster_{MONITORING_GROUP}")))),
        }
    };
    for edge in &edges {
        let (Some((from, tail)), Some((to, head))) = (end(&edge.from), end(&edge.to)) else {
            continue;
        };
        let mut attributes = format!("label=\"{}\"", label_text(&edge.label));
        if let Some(tail) = tail {
            let _ = write!(attributes, ", ltail=\"{tail}\"");
        }
        if let Some(head) = head {
            let _ = write!(attributes, ", lhead=\"{head}\"");
        }
        if edge.dashed {
            attributes.push_str(", style=dashed, color=gray");
        }
        let _ = writeln!(out, "  {from} -> {to} [{attributes}];");
    }
    out.push_str("}\n");
    out
}
