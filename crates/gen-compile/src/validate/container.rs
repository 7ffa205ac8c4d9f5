//! Validate stage, the container options of `[services.<name>]`: where the
//! port is published, capabilities, tmpfs mounts, reservations, devices and
//! GPUs, volumes, dependency conditions, stop grace period and log rotation.
//! Old spellings (`publish_public`, a tmpfs string, a `depends_on` list) are
//! expanded here; writing both spellings of one thing is an error.

use std::collections::BTreeMap;

use super::Checker;
use crate::model::{
    ContainerOptions, Deployment, GpuSpec, LoggingSpec, ReservationSpec, TmpfsSpec, VolumeSpec,
};
use crate::profile::{DependsCondition, DependsOn, Gpus, Publish, Runtime, Service, Tmpfs};
use crate::shapes;
use crate::source::push_key;
use crate::units::{ByteSize, Duration};
use gen_target::host_path::shown;

const MIB: u64 = 1024 * 1024;

impl Checker<'_> {
    /// `publish`, or its old spelling `publish_public`; never both.
    pub(super) fn publish(&mut self, key: &str, s: &Service) -> Publish {
        match (s.publish, s.publish_public) {
            (Some(_), Some(_)) => {
                self.fail(
                    &format!("{key}.publish_public"),
                    format!("`{key}` sets both `publish` and `publish_public`"),
                    "keep `publish`; `publish_public = true` is the old spelling of `publish = \"public\"`",
                );
                Publish::Private
            }
            (Some(publish), None) => publish,
            (None, Some(true)) => Publish::Public,
            (None, _) => Publish::Private,
        }
    }

    /// Prometheus scrapes from the monitoring hosts over the private network,
    /// which a port on loopback or no port at all does not reach.
    pub(super) fn publish_scrapable(&mut self, key: &str, s: &Service, publish: Publish) {
        if s.metrics_path.is_some() && matches!(publish, Publish::Loopback | Publish::None) {
            self.fail(
                &format!("{key}.publish"),
                format!(
                    "`{key}.metrics_path`: Prometheus cannot scrape a port published as `{}` (publish-unreachable)",
                    publish.as_str()
                ),
                "use `publish = \"private\"` for a service with `metrics_path`",
            );
        }
    }

    /// Every container option of one service, checked, with defaults.
    pub(super) fn container_options(&mut self, key: &str, s: &Service) -> ContainerOptions {
        if s.runtime == Runtime::Native {
            self.container_only(key, s);
        }
        let tmpfs = match &s.tmpfs {
            None => vec![TmpfsSpec {
                path: "/tmp".into(),
                size: None,
                mode: None,
            }],
            Some(entries) => entries
                .iter()
                .enumerate()
                .map(|(i, entry)| self.tmpfs(&format!("{key}.tmpfs[{i}]"), entry))
                .collect(),
        };
        let reservations = s.reservations.as_ref().map(|r| {
            let limits = s.limits.as_ref();
            let rkey = format!("{key}.reservations");
            if let Some(cpus) = r.cpus {
                self.check(
                    (0.01..=1024.0).contains(&cpus),
                    &format!("{rkey}.cpus"),
                    || format!("`{rkey}.cpus`: {cpus} is out of range"),
                    "a number of cores between 0.01 and 1024",
                );
                if let Some(limit) = limits.and_then(|l| l.cpus) {
                    self.check(
                        cpus <= limit,
                        &format!("{rkey}.cpus"),
                        || format!("`{rkey}.cpus`: {cpus} is above `limits.cpus` ({limit})"),
                        "a reservation is what the replica is guaranteed, at most its limit",
                    );
                }
            }
            if let Some(memory) = r.memory {
                self.check(
                    memory >= ByteSize(6 * MIB),
                    &format!("{rkey}.memory"),
                    || format!("`{rkey}.memory`: {memory} is below the 6MiB docker accepts"),
                    "for example `512MiB`",
                );
                if let Some(limit) = limits.and_then(|l| l.memory) {
                    self.check(
                        memory <= limit,
                        &format!("{rkey}.memory"),
                        || format!("`{rkey}.memory`: {memory} is above `limits.memory` ({limit})"),
                        "a reservation is what the replica is guaranteed, at most its limit",
                    );
                }
            }
            ReservationSpec {
                cpus: r.cpus,
                memory: r.memory,
            }
        });
        let devices = s.devices.clone().unwrap_or_default();
        for (i, device) in devices.iter().enumerate() {
            let dkey = format!("{key}.devices[{i}]");
            self.path(&dkey, device);
            self.check(
                device.starts_with("/dev/"),
                &dkey,
                || format!("`{dkey}`: `{}` is not under /dev", shown(device)),
                "a host device path, e.g. `/dev/dri`",
            );
        }
        let gpus = s.gpus.as_ref().and_then(|g| match g {
            Gpus::Count(n) if (1..=64).contains(n) => Some(GpuSpec::Count(*n)),
            Gpus::All(all) if all == "all" => Some(GpuSpec::All),
            _ => {
                self.fail(
                    &format!("{key}.gpus"),
                    format!("`{key}.gpus` is neither a count from 1 to 64 nor `\"all\"`"),
                    "for example `gpus = 1` or `gpus = \"all\"`",
                );
                None
            }
        });
        let volumes = s
            .volumes
            .iter()
            .flatten()
            .enumerate()
            .map(|(i, v)| {
                let vkey = format!("{key}.volumes[{i}]");
                let bind = v.source.starts_with('/');
                if bind {
                    self.path(&format!("{vkey}.source"), &v.source);
                } else {
                    self.check(
                        shapes::is_name(&v.source),
                        &format!("{vkey}.source"),
                        || {
                            format!(
                                "`{vkey}.source`: `{}` is neither a volume name nor an absolute path",
                                shown(&v.source)
                            )
                        },
                        "a named volume (`uploads`) or a host directory (`/srv/app/media`)",
                    );
                }
                self.path(&format!("{vkey}.target"), &v.target);
                VolumeSpec {
                    source: v.source.clone(),
                    target: v.target.clone(),
                    read_only: v.read_only.unwrap_or(false),
                    bind,
                }
            })
            .collect();
        if let Some(grace) = s.stop_grace_period {
            self.check(
                (1..=600).contains(&grace.seconds()),
                &format!("{key}.stop_grace_period"),
                || format!("`{key}.stop_grace_period`: {grace} is not between 1s and 10m"),
                "for example `30s`",
            );
        }
        let logging = s.logging.as_ref().map_or_else(LoggingSpec::default, |l| {
            let spec = LoggingSpec {
                max_size: l.max_size.unwrap_or(LoggingSpec::default().max_size),
                max_files: l.max_files.unwrap_or(LoggingSpec::default().max_files),
            };
            self.check(
                spec.max_size >= ByteSize(MIB),
                &format!("{key}.logging.max_size"),
                || format!("`{key}.logging.max_size`: {} is below 1MiB", spec.max_size),
                "for example `10MiB`",
            );
            self.check(
                (1..=100).contains(&spec.max_files),
                &format!("{key}.logging.max_files"),
                || format!("`{key}.logging.max_files` must be between 1 and 100"),
                "for example 5",
            );
            spec
        });
        ContainerOptions {
            cap_add: s.cap_add.clone().unwrap_or_default(),
            tmpfs,
            reservations,
            devices,
            gpus,
            volumes,
            stop_grace_period: s.stop_grace_period,
            logging,
            dependencies: dependencies(s.depends_on.as_ref()),
            dependency_table: matches!(s.depends_on, Some(DependsOn::Conditions(_))),
            publish_key: if s.publish.is_none() && s.publish_public.is_some() {
                "publish_public"
            } else {
                "publish"
            },
        }
    }

    fn tmpfs(&mut self, key: &str, entry: &Tmpfs) -> TmpfsSpec {
        let spec = match entry {
            Tmpfs::Path(path) => TmpfsSpec {
                path: path.clone(),
                size: None,
                mode: None,
            },
            Tmpfs::Mount(m) => TmpfsSpec {
                path: m.path.clone(),
                size: m.size,
                mode: m.mode.clone(),
            },
        };
        let path_key = match entry {
            Tmpfs::Path(_) => key.to_string(),
            Tmpfs::Mount(_) => format!("{key}.path"),
        };
        self.path(&path_key, &spec.path);
        if let Some(size) = spec.size {
            self.check(
                size >= ByteSize(MIB),
                &format!("{key}.size"),
                || format!("`{key}.size`: {size} is below 1MiB"),
                "for example `100MiB`",
            );
        }
        if let Some(mode) = &spec.mode {
            self.check(
                (3..=4).contains(&mode.len()) && mode.bytes().all(|b| (b'0'..=b'7').contains(&b)),
                &format!("{key}.mode"),
                || format!("`{key}.mode`: `{}` is not an octal mode", shown(mode)),
                "three or four octal digits, e.g. `\"1777\"`",
            );
        }
        spec
    }

    /// Container options given to a native service are refused rather than ignored.
    fn container_only(&mut self, key: &str, s: &Service) {
        for (field, set) in [
            ("publish", s.publish.is_some()),
            ("cap_add", s.cap_add.is_some()),
            ("reservations", s.reservations.is_some()),
            ("devices", s.devices.is_some()),
            ("gpus", s.gpus.is_some()),
            ("volumes", s.volumes.is_some()),
            ("logging", s.logging.is_some()),
        ] {
            if set {
                self.fail(
                    &format!("{key}.{field}"),
                    format!("`{key}.{field}` applies to container services only"),
                    "native services are sandboxed by `hardening`",
                );
            }
        }
    }

    /// Reservations are guarantees: together they must fit the host, or the
    /// scheduler could not start every replica.
    pub(super) fn host_reservations(&mut self, d: &Deployment) {
        for host in &d.hosts {
            let mut memory: u64 = 0;
            let mut cpus: f64 = 0.0;
            for service in d.services_on(host) {
                if let Some(r) = service.options.reservations {
                    let replicas = u64::from(service.replicas);
                    memory = memory
                        .saturating_add(r.memory.map_or(0, |m| m.bytes()).saturating_mul(replicas));
                    cpus += r.cpus.unwrap_or(0.0) * f64::from(service.replicas);
                }
            }
            let key = push_key("hosts", &host.name);
            self.check(
                memory <= host.memory.bytes(),
                &format!("{key}.hardware.memory"),
                || {
                    format!(
                        "`{key}`: the services' memory reservations ({}) exceed the host's {}",
                        ByteSize(memory),
                        host.memory
                    )
                },
                "lower `reservations.memory` or `replicas`, or give the host more memory",
            );
            self.check(
                cpus <= f64::from(host.cores),
                &format!("{key}.hardware.cores"),
                || {
                    format!(
                        "`{key}`: the services' CPU reservations ({cpus}) exceed the host's {} cores",
                        host.cores
                    )
                },
                "lower `reservations.cpus` or `replicas`, or give the host more cores",
            );
        }
    }
}

impl Checker<'_> {
    /// nginx runs natively on the load balancers, so it reaches a container
    /// only through a published port: `none` is unreachable, and `loopback`
    /// only from nginx on the same host, so every load balancer must run the
    /// service (publish-unreachable).
    pub(super) fn publish_reachability(&mut self, d: &Deployment) {
        for site in &d.sites {
            for (i, location) in site.locations.iter().enumerate() {
                let crate::model::LocationTarget::Service { service: name } = &location.target
                else {
                    continue;
                };
                let Some(service) = d.service(name) else {
                    continue;
                };
                let lkey = format!("{}.locations[{i}].service", push_key("sites", &site.name));
                match service.publish {
                    Publish::None => self.fail(
                        &lkey,
                        format!(
                            "`{lkey}`: service `{name}` has `publish = \"none\"`; nginx cannot reach it (publish-unreachable)"
                        ),
                        "publish the port: `publish = \"private\"`, or `\"loopback\"` when nginx runs on the same host",
                    ),
                    Publish::Loopback => {
                        let running: Vec<&str> =
                            d.hosts_running(service).map(|h| h.name.as_str()).collect();
                        if let Some(lb) = d
                            .hosts_with(crate::profile::Role::LoadBalancer)
                            .find(|h| !running.contains(&h.name.as_str()))
                        {
                            self.fail(
                                &lkey,
                                format!(
                                    "`{lkey}`: service `{name}` is published on loopback only, and load balancer `{}` does not run it (publish-unreachable)",
                                    lb.name
                                ),
                                "use `publish = \"private\"`, or run the service on every load balancer",
                            );
                        }
                    }
                    Publish::Private | Publish::Public => {}
                }
            }
        }
    }

    /// The key of one `depends_on` entry: `depends_on[i]` in the list form,
    /// `depends_on.<name>` in the table form.
    pub(super) fn dependency_key(
        service: &crate::model::ServiceSpec,
        key: &str,
        i: usize,
        dependency: &str,
    ) -> String {
        if service.options.dependency_table {
            push_key(&format!("{key}.depends_on"), dependency)
        } else {
            format!("{key}.depends_on[{i}]")
        }
    }

    /// A dependency waited for as `healthy` needs a healthcheck; `completed`
    /// and `started` do not.
    pub(super) fn needs_healthcheck(service: &crate::model::ServiceSpec, dependency: &str) -> bool {
        service
            .options
            .dependencies
            .get(dependency)
            .is_none_or(|c| *c == DependsCondition::Healthy)
    }
}

/// `depends_on` as a table of conditions; the list form waits for health.
fn dependencies(depends_on: Option<&DependsOn>) -> BTreeMap<String, DependsCondition> {
    match depends_on {
        None => BTreeMap::new(),
        Some(DependsOn::List(names)) => names
            .iter()
            .map(|n| (n.clone(), DependsCondition::Healthy))
            .collect(),
        Some(DependsOn::Conditions(map)) => map.clone(),
    }
}

/// The compose `stop_grace_period`: whole seconds, which compose's Go
/// duration parser reads whatever the size.
pub fn compose_duration(d: Duration) -> String {
    format!("{}s", d.seconds())
}
