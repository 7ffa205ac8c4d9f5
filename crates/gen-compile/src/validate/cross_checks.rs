//! Validate stage, last step: invariants between sections, checked once every
//! section has been read into the model. Each section alone can be right while
//! the whole is wrong: a service no host runs, a location proxying to a worker,
//! two things on one host on the same port, memory limits beyond the host's.

use std::collections::{BTreeMap, BTreeSet};

use super::Checker;
use crate::model::{Deployment, HostSpec, LocationTarget, ServiceSpec, SiteSpec};
use crate::profile::{Role, Runtime, ServiceRole};
use crate::source::push_key;
use crate::units::ByteSize;
use gen_target::host_path::shown;

impl Checker<'_> {
    /// Invariants between sections, once every section has been read. Each
    /// service is checked whole before the next, and each host likewise, so
    /// problems are reported grouped by what they concern.
    pub(super) fn cross_checks(&mut self, d: &Deployment) {
        for service in &d.services {
            let key = push_key("services", &service.name);
            self.service_needs(d, service, &key);
            self.service_dependencies(d, service, &key);
        }
        self.dependency_cycles(d);
        self.host_reservations(d);
        self.publish_reachability(d);
        self.secret_names(d);
        for site in &d.sites {
            self.site_upstreams(d, site);
        }
        for host in &d.hosts {
            self.host_ports(d, host);
            self.host_memory(d, host);
            self.host_cores(d, host);
        }
        self.shared_buffers(d);
    }

    /// A service needs a host with its role to run on, and the sections
    /// behind what it uses: `[postgres]` (which must list its role),
    /// `[pgbouncer]` when it connects through the pooler, `[redis]`.
    fn service_needs(&mut self, d: &Deployment, service: &ServiceSpec, key: &str) {
        if d.hosts_running(service).next().is_none() {
            self.fail(
                &format!("{key}.role"),
                format!(
                    "`{key}`: no host has role `{}` to run it",
                    service.role.host_role().as_str()
                ),
                "give a host that role, or change the service's `role`",
            );
        }
        if let Some(db) = &service.database {
            match &d.postgres {
                None => self.fail(
                    &format!("{key}.database"),
                    format!("`{key}.database`: the profile has no `[postgres]`"),
                    None,
                ),
                Some(pg) if !pg.users.contains(&db.user) => self.fail(
                    &format!("{key}.database.user"),
                    format!(
                        "`{key}.database.user`: `{}` is not one of `postgres.users`",
                        db.user
                    ),
                    "pg_hba.conf admits only declared roles; add it to `postgres.users`",
                ),
                Some(_) => {}
            }
            if db.pooled && d.pgbouncer.is_none() {
                self.fail(
                    &format!("{key}.database.pooled"),
                    format!("`{key}.database.pooled`: the profile has no `[pgbouncer]`"),
                    "set `pooled = false` or add `[pgbouncer]`",
                );
            }
        }
        if service.redis && d.redis.is_none() {
            self.fail(
                &format!("{key}.redis"),
                format!("`{key}.redis`: the profile has no `[redis]`"),
                None,
            );
        }
    }

    /// `depends_on` names another container of the same compose project
    /// (same host role) that has a healthcheck to wait for.
    fn service_dependencies(&mut self, d: &Deployment, service: &ServiceSpec, key: &str) {
        for (i, dependency) in service.depends_on.iter().enumerate() {
            let dkey = Self::dependency_key(service, key, i, dependency);
            match d.service(dependency) {
                None => self.fail(
                    &dkey,
                    format!("`{dkey}`: there is no service `{}`", shown(dependency)),
                    None,
                ),
                Some(other)
                    if other.runtime != Runtime::Container
                        || service.runtime != Runtime::Container
                        || other.role != service.role =>
                {
                    self.fail(
                        &dkey,
                        format!(
                            "`{dkey}`: `{dependency}` does not run in the same compose project"
                        ),
                        "`depends_on` orders containers of the same host role",
                    )
                }
                Some(other)
                    if other.healthcheck.is_none()
                        && Self::needs_healthcheck(service, dependency) =>
                {
                    self.fail(
                        &dkey,
                        format!("`{dkey}`: `{dependency}` has no healthcheck to wait for"),
                        "add a `healthcheck` to it",
                    )
                }
                Some(other) if other.name == service.name => self.fail(
                    &dkey,
                    format!("`{dkey}`: a service cannot depend on itself"),
                    None,
                ),
                Some(_) => {}
            }
        }
    }

    fn dependency_cycles(&mut self, d: &Deployment) {
        // Depth-first search over `depends_on`; a back edge is a cycle.
        fn visit<'a>(
            d: &'a Deployment,
            name: &'a str,
            stack: &mut Vec<&'a str>,
            done: &mut BTreeSet<&'a str>,
        ) -> Option<Vec<String>> {
            if let Some(pos) = stack.iter().position(|n| *n == name) {
                return Some(
                    stack[pos..]
                        .iter()
                        .map(|s| s.to_string())
                        .chain([name.to_string()])
                        .collect(),
                );
            }
            if !done.insert(name) {
                return None;
            }
            stack.push(name);
            if let Some(service) = d.service(name) {
                for dep in &service.depends_on {
                    if let Some(cycle) = visit(d, dep, stack, done) {
                        return Some(cycle);
                    }
                }
            }
            stack.pop();
            None
        }
        let mut done = BTreeSet::new();
        for service in &d.services {
            let mut stack = Vec::new();
            if let Some(cycle) = visit(d, &service.name, &mut stack, &mut done) {
                self.fail(
                    &format!("services.{}.depends_on", cycle[0]),
                    format!(
                        "services depend on each other in a cycle: {}",
                        cycle.join(" → ")
                    ),
                    "compose could never start them",
                );
                return;
            }
        }
    }

    /// Compose names secrets per project: two containers on one host that use
    /// the same secret name must mean the same file.
    fn secret_names(&mut self, d: &Deployment) {
        for host in &d.hosts {
            let mut seen: BTreeMap<&str, (&str, &str)> = BTreeMap::new();
            for service in d
                .services_on(host)
                .filter(|s| s.runtime == Runtime::Container)
            {
                for (name, path) in &service.secrets {
                    match seen.get(name.as_str()) {
                        Some((other, other_path)) if other_path != path => {
                            let key = format!("services.{}.secrets.{name}", service.name);
                            self.fail(
                                &key,
                                format!("`{key}` is `{path}`, but service `{other}` on host `{}` uses secret `{name}` for `{other_path}`", host.name),
                                "containers on one host share secret names; give one of them another name",
                            );
                        }
                        Some(_) => {}
                        None => {
                            seen.insert(name, (&service.name, path));
                        }
                    }
                }
            }
        }
    }

    /// Every location that proxies to a service names an api service that
    /// listens on a port, the port the location expects if it names one.
    fn site_upstreams(&mut self, d: &Deployment, site: &SiteSpec) {
        for (i, location) in site.locations.iter().enumerate() {
            let lkey = format!("{}.locations[{i}]", push_key("sites", &site.name));
            let LocationTarget::Service { service: name } = &location.target else {
                continue;
            };
            let Some(service) = d.service(name) else {
                self.fail(
                    &format!("{lkey}.service"),
                    format!("`{lkey}.service`: there is no service `{}`", shown(name)),
                    "name a service declared under `[services]`",
                );
                continue;
            };
            let Some(port) = service.port else {
                self.fail(
                    &format!("{lkey}.service"),
                    format!("`{lkey}.service`: service `{name}` listens on no port"),
                    "give the service a `port`",
                );
                continue;
            };
            if let Some(wanted) = location.port {
                if wanted != port {
                    self.fail(
                        &format!("{lkey}.port"),
                        format!("`{lkey}.port`: service `{name}` listens on {port}, not {wanted}"),
                        "fix the port here or on the service",
                    );
                }
            }
            if service.role != ServiceRole::Api {
                self.fail(
                    &format!("{lkey}.service"),
                    format!(
                        "`{lkey}.service`: `{name}` is a worker; nginx proxies to api services"
                    ),
                    "set the service's `role = \"api\"`",
                );
            }
        }
    }

    /// No two things on one host listen on the same port.
    fn host_ports(&mut self, d: &Deployment, host: &HostSpec) {
        let mut seen: BTreeMap<u16, String> = BTreeMap::new();
        for binding in d.bindings(host) {
            if let Some(owner) = seen.insert(binding.port, binding.owner.clone()) {
                self.fail(
                    &binding.key,
                    format!(
                        "port {} on host `{}` is claimed by both {owner} and {}",
                        binding.port, host.name, binding.owner
                    ),
                    "no two things on one host may listen on the same port",
                );
            }
        }
    }

    /// The memory limits of what runs on a host (every replica of its
    /// services, and Redis's `maxmemory` on the cache) fit in its memory. The
    /// error points at the last limit that counted.
    fn host_memory(&mut self, d: &Deployment, host: &HostSpec) {
        let mut used: u64 = 0;
        let mut last_key = format!("{}.hardware.memory", push_key("hosts", &host.name));
        for service in d.services_on(host) {
            if let Some(memory) = service.memory {
                used =
                    used.saturating_add(memory.bytes().saturating_mul(u64::from(service.replicas)));
                last_key = format!("{}.limits.memory", push_key("services", &service.name));
            }
        }
        if host.has(Role::Cache) {
            if let Some(maxmemory) = d.redis.as_ref().and_then(|r| r.maxmemory) {
                used = used.saturating_add(maxmemory.bytes());
                last_key = "redis.maxmemory".into();
            }
        }
        if used > host.memory.bytes() {
            self.fail(
                &last_key,
                format!(
                    "memory limits on host `{}` add up to {}, more than its {}",
                    host.name,
                    ByteSize(used),
                    host.memory
                ),
                "lower the limits or replicas, or declare more memory",
            );
        }
    }

    /// One replica's CPU limit fits in the host's cores: docker refuses to
    /// start a container asking for more CPUs than the host has, and a
    /// systemd quota beyond them limits nothing. (Replicas that add up to
    /// more are a lint, `cpu-overcommit`.)
    fn host_cores(&mut self, d: &Deployment, host: &HostSpec) {
        for service in d.services_on(host) {
            let Some(cpus) = service.cpus.filter(|c| *c > f64::from(host.cores)) else {
                continue;
            };
            let key = format!("{}.limits.cpus", push_key("services", &service.name));
            self.fail(
                &key,
                format!(
                    "`{key}`: {cpus} cores per replica, but host `{}` has {}: docker refuses to start the container",
                    host.name, host.cores
                ),
                "lower `limits.cpus` to the host's cores at most, or declare the host's real `cores`",
            );
        }
    }

    /// An overridden `shared_buffers` leaves room on every database host:
    /// PostgreSQL allocates it whole at start, and a server asking for as
    /// much as the host has does not start. (Other memory overrides beyond
    /// what PostgreSQL has are a lint, `override-exceeds-memory`.)
    fn shared_buffers(&mut self, d: &Deployment) {
        let Some(pg) = &d.postgres else { return };
        let Some(size) = pg
            .overrides
            .get("shared_buffers")
            .and_then(|value| crate::units::postgres_memory("shared_buffers", value))
        else {
            return;
        };
        let smallest = d
            .hosts
            .iter()
            .filter(|h| h.has(Role::DatabasePrimary) || h.has(Role::DatabaseReplica))
            .min_by_key(|h| h.memory);
        if let Some(host) = smallest.filter(|h| size >= h.memory) {
            self.fail(
                "postgres.overrides.shared_buffers",
                format!(
                    "`postgres.overrides.shared_buffers` is {size}, as much as host `{}` has ({}): PostgreSQL could not start",
                    host.name, host.memory
                ),
                "remove the override (gen derives a quarter of the host's memory) or lower it well below the host's memory",
            );
        }
    }
}
