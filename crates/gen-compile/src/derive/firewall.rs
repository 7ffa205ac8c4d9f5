//! Derive stage: the host firewall, computed from the topology. Every
//! listener of a host (`Deployment::bindings`) is opened only to the hosts
//! that connect to it, with the same knowledge the other files use: the
//! PostgreSQL clients are `pg_hba.conf`'s, PgBouncer's are the hosts of the
//! pooled services, Redis's the hosts of the services that use it, the
//! exporters' the monitoring hosts, Alertmanager's the monitoring hosts
//! (and its cluster port their peers). SSH is open to `network.admin` only.
//!
//! Published container ports never reach the `input` hook: Docker DNATs them
//! to the container and the packet is forwarded. gen binds them to the host's
//! private address already (compose `ports`), and filters them in a `forward`
//! chain of its own table at priority `filter - 1`, before Docker's chains:
//! the effect of `DOCKER-USER` rules without editing a chain Docker owns
//! (and recreates when it restarts).

use std::net::IpAddr;

use serde::Serialize;

use crate::model::{exporter_port, Deployment, HostSpec};
use crate::model_alerting::{ALERTMANAGER_CLUSTER_PORT, ALERTMANAGER_PORT};
use crate::profile::{Role, Runtime};
use crate::units::Cidr;

/// The SSH port the admin rule opens.
pub const SSH_PORT: u16 = 22;

/// The nftables table of one project: `gen_<project>` (`-` is not allowed
/// in an nft identifier everywhere, so it becomes `_`).
pub fn table_name(project: &str) -> String {
    format!("gen_{}", project.replace('-', "_"))
}

/// Where the ruleset lives on the host.
pub fn rules_path(project: &str) -> String {
    format!("/etc/gen/firewall/{project}.nft")
}

/// The oneshot unit that loads the ruleset.
pub fn unit_name(project: &str) -> String {
    format!("{project}-firewall.service")
}

/// Whether `host` gets a firewall: the deployment has `[firewall]` and the
/// host did not opt out (`hosts.<h>.firewall = false`).
pub fn applies(d: &Deployment, host: &HostSpec) -> bool {
    d.firewall.is_some() && host.firewall
}

/// The Debian packages the firewall needs on `host`: `nftables` when it
/// has one.
pub fn packages(d: &Deployment, host: &HostSpec) -> Vec<String> {
    if applies(d, host) {
        vec!["nftables".to_string()]
    } else {
        Vec::new()
    }
}

/// The sources a rule admits.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Sources {
    /// From anywhere (nginx's 80 and 443, a `publish_public` service).
    pub anywhere: bool,
    /// IPv4 networks and addresses, sorted, without duplicates.
    pub v4: Vec<String>,
    /// IPv6 networks and addresses, sorted, without duplicates.
    pub v6: Vec<String>,
}

impl Sources {
    fn anywhere() -> Sources {
        Sources {
            anywhere: true,
            ..Sources::default()
        }
    }

    fn of(cidrs: impl IntoIterator<Item = Cidr>) -> Sources {
        let mut all: Vec<Cidr> = cidrs.into_iter().collect();
        all.sort_by_key(|c| (c.address, c.prefix));
        all.dedup();
        let show = |c: &Cidr| {
            let full = if c.address.is_ipv4() { 32 } else { 128 };
            if c.prefix == full {
                c.address.to_string()
            } else {
                c.to_string()
            }
        };
        Sources {
            anywhere: false,
            v4: all
                .iter()
                .filter(|c| c.address.is_ipv4())
                .map(show)
                .collect(),
            v6: all
                .iter()
                .filter(|c| c.address.is_ipv6())
                .map(show)
                .collect(),
        }
    }

    fn hosts<'a>(hosts: impl IntoIterator<Item = &'a HostSpec>) -> Sources {
        Sources::of(hosts.into_iter().map(|h| Cidr::host(h.address)))
    }

    /// Whether no source is admitted (the port stays closed).
    pub fn is_empty(&self) -> bool {
        !self.anywhere && self.v4.is_empty() && self.v6.is_empty()
    }

    /// Whether `ip` is admitted.
    pub fn admits(&self, ip: IpAddr) -> bool {
        self.anywhere
            || self
                .v4
                .iter()
                .chain(&self.v6)
                .filter_map(|s| s.parse::<Cidr>().ok())
                .any(|c| c.contains(ip))
    }
}

/// One opening: a port, who may connect, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rule {
    pub protocol: &'static str,
    pub port: u16,
    pub from: Sources,
    /// What listens there and where its clients come from (the rule's
    /// comment in the file).
    pub comment: String,
}

/// The ruleset of one host.
#[derive(Debug, Clone, Serialize)]
pub struct Ruleset {
    pub table: String,
    /// Ports the host's own processes listen on (the `input` hook).
    pub input: Vec<Rule>,
    /// Published container ports (the `forward` hook, after Docker's DNAT).
    pub forward: Vec<Rule>,
}

impl Ruleset {
    /// The rule of `port` (`tcp`), on either hook.
    pub fn rule(&self, port: u16) -> Option<&Rule> {
        self.input
            .iter()
            .chain(&self.forward)
            .find(|r| r.port == port && r.protocol == "tcp")
    }
}

/// The sources SSH accepts: `network.admin`, as written.
pub fn ssh_sources(d: &Deployment) -> Vec<String> {
    d.admin_networks.iter().map(ToString::to_string).collect()
}

/// The firewall of `host`: SSH from `network.admin`; each listener from
/// its clients; `firewall.allow` entries for this host.
pub fn ruleset(d: &Deployment, host: &HostSpec) -> Ruleset {
    let mut input = Vec::new();
    let mut forward = Vec::new();
    let tcp = |rules: &mut Vec<Rule>, port: u16, from: Sources, comment: String| {
        rules.push(Rule {
            protocol: "tcp",
            port,
            from,
            comment,
        })
    };
    let monitoring = || Sources::hosts(d.hosts_with(Role::Monitoring));
    tcp(
        &mut input,
        SSH_PORT,
        Sources::of(d.admin_networks.iter().copied()),
        "ssh from network.admin".into(),
    );
    tcp(
        &mut input,
        exporter_port::NODE,
        monitoring(),
        "node exporter from the monitoring hosts".into(),
    );
    if d.serves_sites(host) {
        for port in [80, 443] {
            tcp(
                &mut input,
                port,
                Sources::anywhere(),
                "nginx, public".into(),
            );
        }
        tcp(
            &mut input,
            exporter_port::NGINX,
            monitoring(),
            "nginx exporter from the monitoring hosts".into(),
        );
    }
    if let Some(pg) = &d.postgres {
        if host.has(Role::DatabasePrimary) || host.has(Role::DatabaseReplica) {
            // pg_hba.conf's network entries are the clients: one /32 per
            // host, and the compose subnet of containers on this host.
            let clients = crate::derive::hba::entries(d, host)
                .into_iter()
                .filter_map(|e| {
                    e.address
                        .parse::<Cidr>()
                        .ok()
                        .or_else(|| e.address.parse::<IpAddr>().ok().map(Cidr::host))
                });
            // A containerised PostgreSQL is a published port: Docker DNATs
            // it, so it is filtered on the forward hook.
            if crate::derive::datatier::postgres_container(d, host) {
                tcp(
                    &mut forward,
                    pg.port,
                    Sources::of(clients),
                    "postgresql (container) from the clients pg_hba.conf admits".into(),
                );
            } else {
                tcp(
                    &mut input,
                    pg.port,
                    Sources::of(clients),
                    "postgresql from the clients pg_hba.conf admits".into(),
                );
            }
            if crate::derive::exporters::postgres_exporter(d, host) {
                tcp(
                    &mut input,
                    exporter_port::POSTGRES,
                    monitoring(),
                    "postgres exporter from the monitoring hosts".into(),
                );
            }
        }
    }
    if let Some(pgb) = &d.pgbouncer {
        if host.has(Role::Pooler) {
            let clients = d
                .services
                .iter()
                .filter(|s| s.database.as_ref().is_some_and(|db| db.pooled))
                .flat_map(|s| d.hosts_running(s));
            tcp(
                &mut input,
                pgb.port,
                Sources::hosts(clients),
                "pgbouncer from the hosts of the pooled services".into(),
            );
            tcp(
                &mut input,
                exporter_port::PGBOUNCER,
                monitoring(),
                "pgbouncer exporter from the monitoring hosts".into(),
            );
        }
    }
    if let Some(redis) = &d.redis {
        if host.has(Role::Cache) {
            let clients = d
                .services
                .iter()
                .filter(|s| s.redis)
                .flat_map(|s| d.hosts_running(s));
            if crate::derive::datatier::redis_container(d, host) {
                tcp(
                    &mut forward,
                    redis.port,
                    Sources::hosts(clients),
                    "redis (container) from the hosts of the services that use it".into(),
                );
            } else {
                tcp(
                    &mut input,
                    redis.port,
                    Sources::hosts(clients),
                    "redis from the hosts of the services that use it".into(),
                );
            }
            tcp(
                &mut input,
                exporter_port::REDIS,
                monitoring(),
                "redis exporter from the monitoring hosts".into(),
            );
        }
    }
    if host.has(Role::Monitoring) {
        let admin = d.admin_networks.iter().copied();
        let peers = d
            .hosts_with(Role::Monitoring)
            .map(|h| Cidr::host(h.address));
        tcp(
            &mut input,
            exporter_port::PROMETHEUS,
            Sources::of(admin.chain(peers)),
            "prometheus from network.admin and the monitoring hosts".into(),
        );
        if d.alerting.is_some() {
            // Every Prometheus sends to every Alertmanager (`alertmanagers`),
            // and the Alertmanagers of several monitoring hosts gossip over
            // TCP and UDP to deduplicate notifications.
            let admin = d.admin_networks.iter().copied();
            let monitors = d
                .hosts_with(Role::Monitoring)
                .map(|h| Cidr::host(h.address));
            tcp(
                &mut input,
                ALERTMANAGER_PORT,
                Sources::of(admin.chain(monitors)),
                "alertmanager from network.admin and the monitoring hosts".into(),
            );
            let peers: Vec<&HostSpec> = d
                .hosts_with(Role::Monitoring)
                .filter(|h| h.name != host.name)
                .collect();
            if !peers.is_empty() {
                for protocol in ["tcp", "udp"] {
                    input.push(Rule {
                        protocol,
                        port: ALERTMANAGER_CLUSTER_PORT,
                        from: Sources::hosts(peers.iter().copied()),
                        comment: "alertmanager cluster from the other monitoring hosts".into(),
                    });
                }
            }
        }
    }
    let balancers: Vec<&HostSpec> = d.hosts.iter().filter(|h| d.serves_sites(h)).collect();
    for service in d.services_on(host) {
        let proxied = d.sites.iter().flat_map(|s| &s.locations).any(|l| {
            matches!(&l.target, crate::model::LocationTarget::Service { service: name } if name == &service.name)
        });
        let (from, why) = if service.publish_public {
            (
                Sources::anywhere(),
                "published on every interface".to_string(),
            )
        } else {
            let mut clients: Vec<&HostSpec> = Vec::new();
            let mut why = Vec::new();
            if proxied {
                clients.extend(balancers.iter().copied());
                why.push("the load balancers");
            }
            if service.metrics_path.is_some() {
                clients.extend(d.hosts_with(Role::Monitoring));
                why.push("the monitoring hosts");
            }
            let why = if why.is_empty() {
                "no client in the deployment".to_string()
            } else {
                format!("from {}", why.join(" and "))
            };
            (Sources::hosts(clients), why)
        };
        let (rules, runtime) = match service.runtime {
            Runtime::Container => (&mut forward, "container"),
            Runtime::Native => (&mut input, "native"),
        };
        for port in service.host_ports() {
            tcp(
                rules,
                port,
                from.clone(),
                format!("service {} ({runtime}) {why}", service.name),
            );
        }
    }
    if let Some(f) = &d.firewall {
        for (i, allow) in f.allow.iter().enumerate() {
            if allow.hosts.is_empty() || allow.hosts.contains(&host.name) {
                input.push(Rule {
                    protocol: allow.protocol.as_str(),
                    port: allow.port,
                    from: Sources::of(allow.from.iter().copied()),
                    comment: format!("firewall.allow[{i}] from {}", allow.from_written.join(", ")),
                });
            }
        }
    }
    Ruleset {
        table: table_name(&d.project),
        input,
        forward,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::MemoryProfiles;

    fn profile(extra: &str) -> String {
        format!(
            "[project]\nname = \"shop\"\n[network]\ninternal = [\"10.0.0.0/16\"]\nadmin = [\"203.0.113.7/32\"]\n\
             [hosts.lb1]\naddress = \"10.0.0.2\"\nroles = [\"load_balancer\"]\nhardware = {{ cores = 2, memory = \"2GiB\", storage = \"ssd\" }}\n\
             [hosts.app1]\naddress = \"10.0.1.1\"\nroles = [\"api\", \"worker\"]\nhardware = {{ cores = 4, memory = \"8GiB\", storage = \"ssd\" }}\n\
             [hosts.db1]\naddress = \"10.0.2.1\"\nroles = [\"database_primary\", \"pooler\", \"cache\"]\nhardware = {{ cores = 4, memory = \"16GiB\", storage = \"ssd\" }}\n\
             [hosts.mon1]\naddress = \"10.0.3.1\"\nroles = [\"monitoring\"]\nhardware = {{ cores = 2, memory = \"4GiB\", storage = \"ssd\" }}\n\
             [services.api]\nruntime = \"container\"\nimage = \"r/api:1.0\"\nport = 8000\nreplicas = 2\nmetrics_path = \"/metrics\"\ndatabase = {{ user = \"app\" }}\nredis = true\n\
             [services.report]\nruntime = \"container\"\nrole = \"worker\"\nimage = \"r/report:1.0\"\ndatabase = {{ user = \"report\", pooled = false, connections = 2 }}\n\
             [postgres]\nversion = 15\nworkload = \"web\"\ndatabase = \"shop\"\nusers = [\"app\", \"report\"]\n\
             [pgbouncer]\n[redis]\n\
             [sites.www]\nserver_names = [\"shop.example\"]\ncertificate = \"/etc/ssl/c.pem\"\ncertificate_key = \"/etc/ssl/k.pem\"\n\
             [[sites.www.locations]]\npath = \"/\"\nservice = \"api\"\n\
             [alerting]\ndefault_receiver = \"ops\"\n\
             [alerting.receivers.ops]\npagerduty = {{ routing_key_file = \"/etc/prometheus/secrets/pagerduty\" }}\n\
             [firewall]\n{extra}"
        )
    }

    fn deployment(extra: &str) -> Deployment {
        let files = MemoryProfiles::default().with("shop", profile(extra));
        crate::compile::analyse_from(&files, "shop")
            .map(|(_, d, _)| d)
            .expect("valid profile")
    }

    fn host<'a>(d: &'a Deployment, name: &str) -> &'a HostSpec {
        d.host(name).expect("host")
    }

    fn v4(rules: &Ruleset, port: u16) -> Vec<String> {
        rules
            .rule(port)
            .expect("a rule for the port")
            .from
            .v4
            .clone()
    }

    #[test]
    fn each_listener_is_open_to_its_clients_only() {
        let d = deployment("");
        let db = ruleset(&d, host(&d, "db1"));
        assert_eq!(db.table, "gen_shop");
        assert_eq!(v4(&db, 22), ["203.0.113.7"]);
        // PostgreSQL: the pooler (itself) for `app`, app1 for the unpooled `report`.
        assert_eq!(v4(&db, 5432), ["10.0.1.1", "10.0.2.1"]);
        assert_eq!(v4(&db, 6432), ["10.0.1.1"]);
        assert_eq!(v4(&db, 6379), ["10.0.1.1"]);
        for exporter in [9100, 9187, 9127, 9121] {
            assert_eq!(v4(&db, exporter), ["10.0.3.1"], "port {exporter}");
        }
        assert!(db.rule(80).is_none());
        let lb = ruleset(&d, host(&d, "lb1"));
        assert!(lb.rule(443).expect("https").from.anywhere);
        let app = ruleset(&d, host(&d, "app1"));
        // Containers: filtered after Docker's DNAT, from the balancer and Prometheus.
        assert!(app.input.iter().all(|r| r.port != 8000));
        assert_eq!(
            app.forward.iter().map(|r| r.port).collect::<Vec<_>>(),
            [8000, 8001]
        );
        assert_eq!(v4(&app, 8001), ["10.0.0.2", "10.0.3.1"]);
        let mon = ruleset(&d, host(&d, "mon1"));
        assert_eq!(v4(&mon, 9090), ["10.0.3.1", "203.0.113.7"]);
    }

    #[test]
    fn alertmanagers_are_open_to_every_prometheus_and_gossip_with_their_peers() {
        let d = deployment("");
        let mon = ruleset(&d, host(&d, "mon1"));
        assert_eq!(v4(&mon, 9093), ["10.0.3.1", "203.0.113.7"]);
        assert!(
            mon.input.iter().all(|r| r.port != 9094),
            "no peer to gossip with"
        );

        let files = MemoryProfiles::default().with(
            "shop",
            profile("").replace(
                "[hosts.mon1]",
                "[hosts.mon2]\naddress = \"10.0.3.2\"\nroles = [\"monitoring\"]\nhardware = { cores = 2, memory = \"4GiB\", storage = \"ssd\" }\n[hosts.mon1]",
            ),
        );
        let d = crate::compile::analyse_from(&files, "shop")
            .map(|(_, d, _)| d)
            .expect("valid profile");
        let mon = ruleset(&d, host(&d, "mon1"));
        assert_eq!(v4(&mon, 9093), ["10.0.3.1", "10.0.3.2", "203.0.113.7"]);
        let cluster: Vec<(&str, Vec<String>)> = mon
            .input
            .iter()
            .filter(|r| r.port == 9094)
            .map(|r| (r.protocol, r.from.v4.clone()))
            .collect();
        assert_eq!(
            cluster,
            [
                ("tcp", vec!["10.0.3.2".to_string()]),
                ("udp", vec!["10.0.3.2".to_string()])
            ]
        );
        let db = ruleset(&d, host(&d, "db1"));
        assert!(db.rule(9093).is_none() && db.rule(9094).is_none());
    }

    #[test]
    fn every_network_listener_has_a_rule() {
        let d = deployment("");
        for h in &d.hosts {
            let rules = ruleset(&d, h);
            for binding in d.bindings(h) {
                if binding.port == exporter_port::NGINX_STUB_STATUS {
                    continue; // loopback only
                }
                assert!(
                    rules.rule(binding.port).is_some(),
                    "{} on {} has no rule",
                    binding.owner,
                    h.name
                );
            }
        }
    }

    #[test]
    fn allow_entries_open_named_networks_on_their_hosts() {
        let d = deployment(
            "[[firewall.allow]]\nport = 6432\nfrom = [\"@admin\", \"@monitoring\"]\nhosts = [\"db1\"]\n\
             [[firewall.allow]]\nport = 51820\nprotocol = \"udp\"\nfrom = [\"@internal\"]\n",
        );
        let db = ruleset(&d, host(&d, "db1"));
        let extra: Vec<&Rule> = db
            .input
            .iter()
            .filter(|r| r.comment.starts_with("firewall.allow"))
            .collect();
        assert_eq!(extra.len(), 2);
        assert_eq!(extra[0].from.v4, ["10.0.3.1", "203.0.113.7"]);
        assert_eq!(
            (extra[1].protocol, extra[1].from.v4.clone()),
            ("udp", vec!["10.0.0.0/16".to_string()])
        );
        let app = ruleset(&d, host(&d, "app1"));
        assert_eq!(
            app.input
                .iter()
                .filter(|r| r.comment.starts_with("firewall.allow"))
                .count(),
            1
        );
    }

    #[test]
    fn nftables_is_needed_only_where_a_firewall_is() {
        let d = deployment("");
        assert_eq!(packages(&d, host(&d, "db1")), ["nftables"]);
        let mut d = d;
        if let Some(h) = d.hosts.iter_mut().find(|h| h.name == "db1") {
            h.firewall = false;
        }
        assert!(packages(&d, host(&d, "db1")).is_empty());
        d.firewall = None;
        assert!(packages(&d, host(&d, "app1")).is_empty());
    }
}
