//! nginx's main file (`/etc/nginx/nginx.conf`): its workers follow the
//! host's cores, `gen explain` shows how, and `gen check` runs `nginx -t`
//! on it, with the sites included as on the host.

use super::support::bundled::{text, Tree};
use super::support::{valid_with, Project};

fn directive(conf: &str, name: &str) -> String {
    conf.lines()
        .find_map(|l| l.trim().strip_prefix(&format!("{name} ")))
        .unwrap_or_else(|| panic!("no {name} in\n{conf}"))
        .trim_end_matches(';')
        .to_string()
}

#[test]
fn workers_follow_the_hosts_cores_and_explain_shows_the_derivation() {
    let project = Project::new().profile("shop", &valid_with("cores = 4", "cores = 6"));
    let built = project.gen(&["build"]);
    assert_eq!(built.code, 0, "{}", built.stderr);
    let conf = std::fs::read_to_string(
        project
            .path()
            .join("generated/shop/web1/root/etc/nginx/nginx.conf"),
    )
    .unwrap();
    assert_eq!(directive(&conf, "worker_processes"), "6");
    let connections: u32 = directive(&conf, "worker_connections").parse().unwrap();
    let rlimit: u32 = directive(&conf, "worker_rlimit_nofile").parse().unwrap();
    assert_eq!(connections, 4096, "the SmartAttend guide's value");
    assert_eq!(rlimit, 2 * connections);
    assert_eq!(directive(&conf, "server_tokens"), "off");
    for include in [
        "/etc/nginx/mime.types",
        "/etc/nginx/conf.d/*.conf",
        "/etc/nginx/sites-enabled/*",
    ] {
        assert!(conf.contains(&format!("include {include};")), "{conf}");
    }

    let explained = project.gen(&[
        "explain",
        "--profile",
        "shop",
        "--host",
        "web1",
        "/etc/nginx/nginx.conf",
    ]);
    assert_eq!(explained.code, 0, "{}", explained.stderr);
    for expected in [
        "worker_processes",
        "hosts.web1.hardware.cores = 6",
        "worker_connections",
        "6 x 4096 / 2 = 12288 clients",
        "worker_rlimit_nofile",
        "8192",
    ] {
        assert!(
            explained.stdout.contains(expected),
            "`{expected}` in\n{}",
            explained.stdout
        );
    }
}

/// `nginx -t` reads the generated main file: a mistake in it fails it, with
/// nginx's message at the generated line, and fails the site checked
/// inside it.
#[test]
fn gen_check_runs_nginx_on_the_generated_main_file() {
    let tree = Tree::build();
    let main = tree.path("pilot", "pilot1", "/etc/nginx/nginx.conf");
    let before = std::fs::read_to_string(&main).unwrap();
    let line = before
        .lines()
        .position(|l| l.trim_start().starts_with("worker_connections "))
        .expect("worker_connections")
        + 1;
    std::fs::write(
        &main,
        before.replace("worker_connections ", "worker_connectionz "),
    )
    .unwrap();
    let out = tree.check(&["--profile", "pilot", "--host", "pilot1"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let expected = format!(
        "unknown directive \"worker_connectionz\" in generated/pilot/pilot1/root/etc/nginx/nginx.conf:{line}"
    );
    assert!(
        stdout.contains(&expected),
        "`{expected}` in\n{}",
        text(&out)
    );
    for file in ["nginx.conf", "sites-enabled/atlas.conf"] {
        assert!(
            stdout.contains(&format!(
                "FAILED  generated/pilot/pilot1/root/etc/nginx/{file}"
            )),
            "{}",
            text(&out)
        );
    }
}
