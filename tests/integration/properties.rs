//! Properties of the build over generated *valid* profiles: random but
//! consistent topologies of 1–8 hosts with random roles and hardware,
//! services, sites and optional PostgreSQL, PgBouncer and Redis.
//!
//! - the build is deterministic: two runs are byte-identical, and the output
//!   does not depend on the order tables appear in the TOML text;
//! - every rendered file passes a fast syntax check (`shapes`): YAML parses,
//!   nginx braces balance and every directive ends with `;`, `{` or `}`,
//!   postgresql.conf is `name = value`, pg_hba rules have their columns, cron
//!   jobs have 5 fields + user + command, systemd files are `[Section]` /
//!   `Key=Value`, and shell scripts pass `bash -n`;
//! - every environment value taken from the profile appears in the compose
//!   file exactly once, as one scalar.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};

use gen_compile::compile::{self, CompiledProfile};
use gen_compile::render::Renderer;
use proptest::prelude::*;

use super::shapes;

#[derive(Debug, Clone)]
struct Topology {
    hosts: Vec<HostGen>,
    apis: Vec<ServiceGen>,
    postgres: bool,
    replicas: usize,
    pgbouncer: bool,
    redis: bool,
    site: bool,
    backup: bool,
    /// PostgreSQL major version, 13 to 18.
    pg_version: u32,
}

#[derive(Debug, Clone)]
struct HostGen {
    cores: u32,
    memory_gib: u32,
    storage: &'static str,
}

#[derive(Debug, Clone)]
struct ServiceGen {
    native: bool,
    replicas: u32,
    value: String,
}

fn topology() -> impl Strategy<Value = Topology> {
    let host = (
        1u32..=64,
        2u32..=256,
        prop::sample::select(vec!["ssd", "hdd", "nvme", "san"]),
    )
        .prop_map(|(cores, memory_gib, storage)| HostGen {
            cores,
            memory_gib,
            storage,
        });
    let service = (any::<bool>(), 1u32..=4, "[a-zA-Z0-9 :*&!|#'\"{}%$-]{0,24}").prop_map(
        |(native, replicas, value)| ServiceGen {
            native,
            replicas: if native { 1 } else { replicas },
            value,
        },
    );
    (
        prop::collection::vec(host, 1..=8),
        prop::collection::vec(service, 1..=3),
        any::<bool>(),
        0usize..=2,
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        13u32..=18,
    )
        .prop_map(
            |(hosts, apis, postgres, replicas, pgbouncer, redis, site, backup, pg_version)| {
                Topology {
                    replicas: if postgres {
                        replicas.min(hosts.len().saturating_sub(1))
                    } else {
                        0
                    },
                    hosts,
                    apis,
                    postgres,
                    pgbouncer: postgres && pgbouncer,
                    redis,
                    site,
                    backup: postgres && backup,
                    pg_version,
                }
            },
        )
}

/// The environment value of service `i`: the generated text behind a unique
/// prefix, so it can be counted in the output.
fn profile_value(i: usize, s: &ServiceGen) -> String {
    format!("pv{i}~{}", s.value)
}

/// The profile as TOML tables.
fn tables(t: &Topology) -> Vec<String> {
    let mut out = vec![
        "[project]\nname = \"prop\"\n".to_string(),
        "[network]\ninternal = [\"10.0.0.0/16\"]\n".to_string(),
        // Host 0 evaluates alert rules: someone receives them.
        "[alerting]\ndefault_receiver = \"ops\"\n[alerting.receivers.ops]\npagerduty = { routing_key_file = \"/etc/prometheus/secrets/pd\" }\n".to_string(),
    ];
    let n = t.hosts.len();
    for (i, h) in t.hosts.iter().enumerate() {
        // Host 0 is the front: load balancer, api, cache, pooler and monitoring.
        // The last hosts carry the database; the rest run api services.
        let mut roles = vec!["api"];
        if i == 0 {
            roles.extend(["load_balancer", "monitoring"]);
            if t.redis {
                roles.push("cache");
            }
            if t.pgbouncer {
                roles.push("pooler");
            }
        }
        if t.postgres {
            let first_db = n - 1 - t.replicas;
            if i == first_db {
                roles.push("database_primary");
            } else if i > first_db {
                roles.push("database_replica");
            }
        }
        out.push(format!(
            "[hosts.h{i}]\naddress = \"10.0.{}.{}\"\nroles = [{}]\nhardware = {{ cores = {}, memory = \"{}GiB\", storage = \"{}\" }}\n",
            i / 200,
            10 + i % 200,
            roles.iter().map(|r| format!("\"{r}\"")).collect::<Vec<_>>().join(", "),
            h.cores,
            h.memory_gib,
            h.storage
        ));
    }
    for (i, s) in t.apis.iter().enumerate() {
        let value = super::support::toml_string(&profile_value(i, s));
        let mut table = format!("[services.s{i}]\nport = {}\n", 8000 + i * 10);
        if s.native {
            table.push_str(&format!(
                "runtime = \"native\"\ncommand = [\"/opt/s{i}/bin/serve\", {value}]\nuser = \"svc{i}\"\n"
            ));
        } else {
            table.push_str(&format!(
                "runtime = \"container\"\nimage = \"registry.example.com/s{i}:1.{i}.0\"\nreplicas = {}\nhealthcheck = {{ http = \"/health\" }}\n",
                s.replicas
            ));
        }
        table.push_str(&format!("environment = {{ PROP_VALUE_{i} = {value} }}\n"));
        if t.postgres && i == 0 {
            // Unpooled, up to 8 hosts × 4 replicas × 5 connections fit the
            // 190 that PGTune's 200 leave; more would be refused.
            table.push_str(&format!(
                "database = {{ user = \"app\", pooled = {}, connections = 5 }}\n",
                t.pgbouncer
            ));
        }
        if t.redis && i == 0 {
            table.push_str("redis = true\n");
        }
        out.push(table);
    }
    if t.postgres {
        out.push(format!(
            "[postgres]\nversion = {}\nworkload = \"web\"\ndatabase = \"app\"\nusers = [\"app\"]\n",
            t.pg_version
        ));
    }
    if t.pgbouncer {
        out.push("[pgbouncer]\npool_mode = \"transaction\"\n".into());
    }
    if t.redis {
        out.push("[redis]\nmaxmemory = \"256MiB\"\n".into());
    }
    if t.backup {
        out.push("[backup]\nretention_days = 7\ndestination = \"/var/backups/prop\"\n".into());
    }
    if t.site {
        out.push(
            "[sites.main]\nserver_names = [\"prop.example.com\"]\ncertificate = \"/etc/ssl/prop.pem\"\ncertificate_key = \"/etc/ssl/prop.key\"\n\n[[sites.main.locations]]\npath = \"/\"\nservice = \"s0\"\n".into(),
        );
    }
    out
}

fn files(compiled: &CompiledProfile) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for host in &compiled.hosts {
        for a in &host.artifacts {
            out.insert(format!("{}:{}", host.host, a.spec.path), a.content.clone());
        }
        out.insert(
            format!("{}:manifest.json", host.host),
            serde_json::to_vec(&host.manifest).expect("manifest serialises"),
        );
    }
    out
}

fn bash_syntax_ok(script: &[u8]) -> Result<(), String> {
    let mut child = Command::new("bash")
        .arg("-n")
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    std::io::Write::write_all(child.stdin.as_mut().expect("stdin"), script)
        .map_err(|e| e.to_string())?;
    let output = child.wait_with_output().map_err(|e| e.to_string())?;
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("GEN_PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(48),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn valid_topologies_build_deterministically_into_well_formed_files(
        t in topology(),
        order in any::<prop::sample::Index>(),
    ) {
        let renderer = Renderer::new();
        let tables = tables(&t);
        let text = tables.concat();
        let compiled = match compile::compile_text("prop", &text, &renderer) {
            Ok(c) => c,
            Err(e) => {
                // Generated topologies are valid by construction, except where
                // memory limits outgrow a small host: that refusal is correct.
                let shown = format!("{e:?}");
                prop_assume!(!shown.contains("memory limits on host"));
                return Err(TestCaseError::fail(format!("{shown}\n{text}")));
            }
        };
        let first = files(&compiled);

        // Deterministic: again, and with the tables in another order.
        let again = files(&compile::compile_text("prop", &text, &renderer).expect("builds again"));
        prop_assert_eq!(&first, &again);
        let mut shuffled = tables.clone();
        let rotate = order.index(shuffled.len());
        shuffled.rotate_left(rotate);
        let last = shuffled.len() - 1;
        shuffled.swap(0, last);
        let reordered = compile::compile_text("prop", &shuffled.concat(), &renderer)
            .expect("reordered profile builds");
        // The input hash covers the profile text, which changed; the files do not.
        for (path, content) in files(&reordered) {
            if path.ends_with("manifest.json") {
                continue;
            }
            prop_assert_eq!(Some(&content), first.get(&path), "{}", path);
        }

        for host in &compiled.hosts {
            for a in &host.artifacts {
                let text = String::from_utf8(a.content.clone()).expect("UTF-8");
                prop_assert!(text.ends_with('\n') && !text.ends_with("\n\n"), "{}", a.spec.path);
                if let Err(problem) = shapes::shape(&a.spec.path, &text) {
                    return Err(TestCaseError::fail(format!("{}: {problem}\n{text}", a.spec.path)));
                }
                if shapes::kind(&a.spec.path) == shapes::Kind::Shell {
                    if let Err(problem) = bash_syntax_ok(&a.content) {
                        return Err(TestCaseError::fail(format!("{}: {problem}", a.spec.path)));
                    }
                }
                if a.spec.path.ends_with("compose.yaml") {
                    let scalars = shapes::yaml_strings(&text);
                    for (i, s) in t.apis.iter().enumerate() {
                        let on_host = text.contains(&format!("\"s{i}\":"));
                        if s.native || !on_host {
                            continue;
                        }
                        let name = format!("PROP_VALUE_{i}");
                        prop_assert!(scalars.contains(&name), "{} missing", name);
                        let value = profile_value(i, s);
                        let count = scalars.iter().filter(|v| **v == value).count();
                        prop_assert_eq!(count, 1, "PROP_VALUE_{} = {:?}\n{}", i, value, text);
                    }
                }
            }
        }
    }
}
