//! Container options, nginx options and the `extra` escape hatch: a profile
//! using every one builds, passes the real validators (compose schema,
//! `nginx -t`, pgbouncer, redis, systemd-analyze), and renders as the
//! snapshots show; the invariants between them are refused with the key;
//! hostile `extra` names and values in every syntax are refused or inert.

use std::collections::BTreeMap;

use gen_compile::compile::{self, CompiledProfile};
use gen_compile::render::Renderer;

use super::support::bundled::text;
use super::support::{hostile_values, rendered, toml_string, valid_with, Project, VALID};

/// `VALID` with every new option set: a GPU worker behind no port, an api
/// with capabilities, tmpfs, reservations, volumes, dependency conditions,
/// a native service with `extra`, site headers and HSTS, a streaming
/// location, a cached static root, and `extra` in every syntax.
pub fn options_profile() -> String {
    let text = valid_with(
        "limits = { memory = \"1GiB\" }\n",
        r#"limits = { memory = "1GiB", cpus = 1.0 }
replicas = 2
publish = "loopback"
user = "1000:1000"
cap_add = ["CHOWN", "SETUID", "SETGID"]
tmpfs = ["/run", { path = "/tmp", size = "100MiB", mode = "1777" }]
reservations = { cpus = 0.5, memory = "512MiB" }
volumes = [
  { source = "uploads", target = "/app/uploads" },
  { source = "/srv/shop/media", target = "/app/media", read_only = true },
]
depends_on = { ml = "started" }
stop_grace_period = "45s"
logging = { max_size = "20MiB", max_files = 3 }
extra = { shm_size = "1gb", stop_signal = "SIGTERM", sysctls = { "net.core.somaxconn" = 1024 } }
"#,
    )
    .replace(
        "[redis]\nqueues = true\n",
        "[redis]\nqueues = true\nextra = { lazyfree-lazy-eviction = true, latency-monitor-threshold = 100 }\n",
    )
    .replace(
        "pool_mode = \"transaction\"\n",
        "pool_mode = \"transaction\"\nextra = { server_check_delay = 10, application_name_add_host = 1 }\n",
    )
    .replace(
        "certificate_key = \"/etc/ssl/shop.key\"\n",
        r#"certificate_key = "/etc/ssl/shop.key"
hsts = { max_age = "730d", include_subdomains = true, preload = true }
headers = { frame_options = "SAMEORIGIN", content_security_policy = "default-src 'self'; img-src 'self' data:", referrer_policy = "no-referrer" }
extra = { ssl_buffer_size = "4k", proxy_hide_header = ["X-Powered-By", "Server"] }
"#,
    )
    .replace(
        "path = \"/\"\nservice = \"api\"\n",
        r#"path = "/"
service = "api"
connect_timeout = "3s"
send_timeout = "120s"
buffering = false
websocket = true
extra = { proxy_max_temp_file_size = "0", proxy_cache_bypass = "$http_upgrade" }
"#,
    );
    format!(
        "{text}
[nginx]
keepalive_requests = 500
extra = {{ server_names_hash_bucket_size = 128 }}

[[sites.main.locations]]
path = \"/assets/\"
root = \"/srv/shop/dist/assets\"
cache = \"365d\"

[[sites.main.locations]]
path = \"/downloads/\"
root = \"/srv/shop/downloads\"
cache = \"off\"

[services.ml]
runtime = \"container\"
image = \"ghcr.io/shop/ml:2.0.0\"
port = 9000
publish = \"none\"
gpus = 1
devices = [\"/dev/dri\"]
read_only = true

[services.trainer]
runtime = \"container\"
image = \"ghcr.io/shop/ml:2.0.0\"
command = [\"train\"]
gpus = \"all\"
logging = {{ max_files = 2 }}

[services.agent]
runtime = \"native\"
command = [\"/usr/local/bin/agent\"]
user = \"agent\"
stop_grace_period = \"2m\"
extra = {{ OOMScoreAdjust = -500, Nice = 5, UMask = \"0027\" }}
"
    )
}

fn build(profile: &str) -> CompiledProfile {
    compile::compile_text("shop", profile, &Renderer::new())
        .unwrap_or_else(|e| panic!("{}", rendered(&e)))
}

fn file<'a>(compiled: &'a CompiledProfile, path: &str) -> &'a str {
    compiled
        .hosts
        .iter()
        .flat_map(|h| &h.artifacts)
        .find(|a| a.spec.path == path)
        .map(|a| std::str::from_utf8(&a.content).expect("UTF-8"))
        .unwrap_or_else(|| panic!("no {path}"))
}

/// The error text of a profile that must not build.
fn refused(profile: &str) -> String {
    match compile::compile_text("shop", profile, &Renderer::new()) {
        Ok(_) => panic!("the profile built"),
        Err(e) => rendered(&e),
    }
}

#[test]
fn every_option_passes_the_real_validators() {
    let project = Project::new().profile("shop", &options_profile());
    let run = project.gen(&["build"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out = super::support::gen_command()
        .arg("-C")
        .arg(project.path())
        .args(["check", "--strict"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn compose_service_options_render_as_compose_spells_them() {
    let compiled = build(&options_profile());
    insta::assert_snapshot!(file(&compiled, "/etc/shop/compose.yaml"));
}

#[test]
fn nginx_site_options_and_extra_render_in_marked_blocks() {
    let compiled = build(&options_profile());
    insta::assert_snapshot!(file(&compiled, "/etc/nginx/sites-enabled/shop.conf"));
}

#[test]
fn native_unit_extra_and_stop_grace_period() {
    let compiled = build(&options_profile());
    insta::assert_snapshot!(file(&compiled, "/etc/systemd/system/shop-agent.service"));
}

#[test]
fn pgbouncer_and_redis_extra_close_their_files() {
    let compiled = build(&options_profile());
    let ini = file(&compiled, "/etc/pgbouncer/pgbouncer.ini");
    let conf = file(&compiled, "/etc/redis/redis.conf");
    let tail = |text: &str| -> String {
        let start = text.find("---- extra").expect("an extra block");
        let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
        text[line_start..].to_string()
    };
    insta::assert_snapshot!(format!("{}\n{}", tail(ini), tail(conf)));
}

#[test]
fn old_spellings_render_as_before() {
    // publish_public, a tmpfs string and a depends_on list are the short
    // forms of publish = "public", { path } and { name = "healthy" }.
    let old = build(&valid_with(
        "limits = { memory = \"1GiB\" }\n",
        "limits = { memory = \"1GiB\" }\npublish_public = true\ntmpfs = [\"/tmp\"]\n",
    ));
    let new = build(&valid_with(
        "limits = { memory = \"1GiB\" }\n",
        "limits = { memory = \"1GiB\" }\npublish = \"public\"\ntmpfs = [{ path = \"/tmp\" }]\n",
    ));
    assert_eq!(
        file(&old, "/etc/shop/compose.yaml"),
        file(&new, "/etc/shop/compose.yaml")
    );
    assert!(file(&old, "/etc/shop/compose.yaml").contains("- \"8000:8000\""));
}

#[test]
fn invariants_between_options_are_refused_with_their_key() {
    let api = "limits = { memory = \"1GiB\" }\n";
    let cases: &[(&str, &str, &str)] = &[
        (
            "publish = \"public\"\npublish_public = true\n",
            "services.api.publish_public",
            "both `publish` and `publish_public`",
        ),
        (
            "publish = \"none\"\n",
            "sites.main.locations[0].service",
            "publish-unreachable",
        ),
        (
            "reservations = { memory = \"2GiB\" }\n",
            "services.api.reservations.memory",
            "above `limits.memory`",
        ),
        (
            "replicas = 20\nlimits = { memory = \"1GiB\" }\nreservations = { memory = \"1GiB\" }\n",
            "hosts.web1",
            "memory reservations",
        ),
        (
            "tmpfs = [{ path = \"/tmp\", mode = \"rwx\" }]\n",
            "services.api.tmpfs[0].mode",
            "not an octal mode",
        ),
        ("gpus = \"some\"\n", "services.api.gpus", "neither a count"),
        (
            "devices = [\"/etc/passwd\"]\n",
            "services.api.devices[0]",
            "not under /dev",
        ),
        (
            "stop_grace_period = \"1h\"\n",
            "services.api.stop_grace_period",
            "between 1s and 10m",
        ),
        (
            "extra = { privileged = true }\n",
            "services.api.extra.privileged",
            "gen-owned-extra",
        ),
        (
            "extra = { ports = [\"0.0.0.0:22:22\"] }\n",
            "services.api.extra.ports",
            "gen-owned-extra",
        ),
        (
            "publish = \"loopback\"\nmetrics_path = \"/metrics\"\n",
            "services.api.publish",
            "Prometheus cannot scrape",
        ),
    ];
    for (added, key, message) in cases {
        let text = if added.contains("limits =") {
            valid_with(api, added)
        } else {
            valid_with(api, &format!("{api}{added}"))
        };
        let shown = refused(&text);
        assert!(shown.contains(key), "{added}: no `{key}` in\n{shown}");
        assert!(
            shown.contains(message),
            "{added}: no `{message}` in\n{shown}"
        );
    }
    // A loopback service reached by a load balancer that does not run it.
    let split = VALID
        .replace("roles = [\"load_balancer\", \"api\",", "roles = [\"api\",")
        .replace(
            "[services.api]\n",
            "[hosts.lb1]\naddress = \"10.1.0.11\"\nroles = [\"load_balancer\"]\nhardware = { cores = 2, memory = \"2GiB\", storage = \"ssd\" }\n\n[services.api]\npublish = \"loopback\"\n",
        );
    let shown = refused(&split);
    assert!(
        shown.contains("load balancer `lb1` does not run it"),
        "{shown}"
    );
    // Container options on a native service.
    let native = format!(
        "{VALID}\n[services.agent]\nruntime = \"native\"\ncommand = [\"/usr/local/bin/agent\"]\nuser = \"agent\"\ncap_add = [\"CHOWN\"]\n"
    );
    assert!(
        refused(&native).contains("`services.agent.cap_add` applies to container services only")
    );
}

/// Where one `extra` lands, and the key an error must name.
struct Place {
    key: &'static str,
    /// The profile text the `extra` table is appended after.
    after: &'static str,
    /// A benign name of the syntax.
    name: &'static str,
}

const PLACES: &[Place] = &[
    Place {
        key: "services.api.extra",
        after: "limits = { memory = \"1GiB\" }\n",
        name: "shm_size",
    },
    Place {
        key: "pgbouncer.extra",
        after: "pool_mode = \"transaction\"\n",
        name: "server_check_delay",
    },
    Place {
        key: "redis.extra",
        after: "queues = true\n",
        name: "latency-monitor-threshold",
    },
    Place {
        key: "sites.main.extra",
        after: "certificate_key = \"/etc/ssl/shop.key\"\n",
        name: "ssl_buffer_size",
    },
    Place {
        key: "sites.main.locations[0].extra",
        after: "service = \"api\"\n",
        name: "proxy_max_temp_file_size",
    },
    Place {
        key: "services.agent.extra",
        after: "user = \"agent\"\n",
        name: "Nice",
    },
];

fn with_extra(place: &Place, table: &str) -> String {
    let base = format!(
        "{VALID}\n[services.agent]\nruntime = \"native\"\ncommand = [\"/usr/local/bin/agent\"]\nuser = \"agent\"\n"
    );
    assert!(base.contains(place.after), "{}", place.after);
    base.replacen(place.after, &format!("{}extra = {table}\n", place.after), 1)
}

/// The shape of every file (directives, settings, keys without values,
/// parsed as `tests/integration/shapes.rs` does): a hostile value that
/// smuggled syntax changes it; an inert one does not.
fn shapes_of(compiled: &CompiledProfile) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for host in &compiled.hosts {
        for artifact in &host.artifacts {
            let text = String::from_utf8_lossy(&artifact.content);
            let shape = super::shapes::shape(&artifact.spec.path, &text)
                .unwrap_or_else(|e| vec![format!("unparsable: {e}")]);
            out.insert(artifact.spec.path.clone(), shape);
        }
    }
    out
}

#[test]
fn hostile_extra_names_and_values_are_refused_or_inert() {
    let renderer = Renderer::new();
    for place in PLACES {
        let benign = compile::compile_text(
            "shop",
            &with_extra(place, &format!("{{ {} = \"1\" }}", toml_string(place.name))),
            &renderer,
        )
        .unwrap_or_else(|e| panic!("{}: {}", place.key, rendered(&e)));
        let benign_shapes = shapes_of(&benign);
        for (what, value) in hostile_values() {
            for table in [
                format!(
                    "{{ {} = {} }}",
                    toml_string(place.name),
                    toml_string(&value)
                ),
                format!("{{ {} = \"1\" }}", toml_string(&value)),
            ] {
                match compile::compile_text("shop", &with_extra(place, &table), &renderer) {
                    Err(e) => {
                        let shown = rendered(&e);
                        assert!(
                            shown.contains(place.key) || shown.contains("not valid TOML"),
                            "{what} in `{}`: the error does not name the key:\n{shown}",
                            place.key
                        );
                    }
                    Ok(compiled) => {
                        for (path, shape) in shapes_of(&compiled) {
                            assert_eq!(
                                Some(&shape),
                                benign_shapes.get(&path),
                                "{what} in `{}` ({table}) changed the shape of {path}",
                                place.key
                            );
                        }
                        for host in &compiled.hosts {
                            for artifact in &host.artifacts {
                                let t = String::from_utf8_lossy(&artifact.content);
                                assert!(
                                    !t.lines().any(|l| l.trim_start().starts_with("listen 8080")),
                                    "{what} in `{}` started a line of its own",
                                    place.key
                                );
                            }
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn include_and_gen_owned_names_are_refused_in_every_syntax() {
    let owned = [
        ("services.api.extra", "image"),
        ("pgbouncer.extra", "listen_addr"),
        ("redis.extra", "requirepass"),
        ("sites.main.extra", "server_name"),
        ("sites.main.locations[0].extra", "proxy_pass"),
        ("services.agent.extra", "ExecStart"),
    ];
    for (place, (key, name)) in PLACES.iter().zip(owned) {
        assert_eq!(place.key, key);
        for name in [name, "include"] {
            let shown = refused(&with_extra(place, &format!("{{ {name} = \"1\" }}")));
            assert!(shown.contains("gen-owned-extra"), "{key}.{name}:\n{shown}");
            assert!(
                shown.contains(&format!("{key}.{name}")),
                "{key}.{name}:\n{shown}"
            );
        }
    }
}

#[test]
fn host_capabilities_and_public_admin_tools_draw_their_lints_at_the_key() {
    let profile = valid_with(
        "limits = { memory = \"1GiB\" }\n",
        "limits = { memory = \"1GiB\" }\ncap_add = [\"CHOWN\", \"SYS_ADMIN\", \"NET_BIND_SERVICE\"]\n",
    ) + "\n[services.grafana]\nruntime = \"container\"\nimage = \"docker.io/grafana/grafana:11.2.0\"\nport = 3000\npublish = \"public\"\nlimits = { memory = \"256MiB\" }\n";
    let project = Project::new().profile("shop", &profile);
    let run = project.gen(&["build"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for wanted in [
        "gen::lint::unneeded-capability",
        "`SYS_ADMIN` gives the container",
        "`NET_BIND_SERVICE` binds ports below 1024, and `api` listens on 8000",
        "gen::lint::public-admin-tool",
        "`services.grafana.publish = \"public\"` publishes Grafana",
        "publish = \"public\"\n",
    ] {
        assert!(
            run.stderr.contains(wanted),
            "no {wanted:?} in\n{}",
            run.stderr
        );
    }
    // CHOWN acts inside the container only: no finding names it.
    assert!(!run.stderr.contains("`CHOWN`"), "{}", run.stderr);
}

#[test]
fn explain_lists_extra_as_typed_by_hand() {
    let project = Project::new().profile("shop", &options_profile());
    let run = project.gen(&[
        "explain",
        "/etc/nginx/sites-enabled/shop.conf",
        "--host",
        "web1",
        "--profile",
        "shop",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let start = run
        .stdout
        .find("typed by hand")
        .unwrap_or_else(|| panic!("{}", run.stdout));
    insta::assert_snapshot!(&run.stdout[start..]);
    let run = project.gen(&[
        "explain",
        "/etc/shop/compose.yaml",
        "--host",
        "web1",
        "--profile",
        "shop",
    ]);
    assert!(
        run.stdout.contains("services.api.extra.shm_size = \"1gb\""),
        "{}",
        run.stdout
    );
}

#[test]
fn gzip_is_described_at_the_http_level_and_turned_off_per_server() {
    let on = build(VALID);
    let site = file(&on, "/etc/nginx/sites-enabled/shop.conf");
    assert!(site.contains("\ngzip_types text/plain"), "{site}");
    assert!(!site.contains("gzip off;"), "{site}");
    let off = build(&format!("{VALID}\n[nginx]\ngzip = false\n"));
    let site = file(&off, "/etc/nginx/sites-enabled/shop.conf");
    assert!(!site.contains("gzip_types"), "{site}");
    assert!(site.contains("    gzip off;\n"), "{site}");
    let shown = refused(&format!(
        "{VALID}\n[nginx]\nextra = {{ gzip_types = \"text/plain\" }}\n"
    ));
    assert!(shown.contains("nginx.extra.gzip_types"), "{shown}");
    assert!(shown.contains("`nginx.gzip`"), "{shown}");
}
