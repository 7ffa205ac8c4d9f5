//! Check stage: nginx sites with `nginx -t` on a complete configuration. gen
//! writes a main `nginx.conf` into the sandbox whose `http` block includes the
//! staged site, exactly as Debian's `sites-enabled` include does. In the staged
//! site, files that exist only on the host are rewritten in place, one line for
//! one line: certificates and keys become a stand-in self-signed pair, logs go
//! to the sandbox. `nginx -t` binds every `listen`, so it runs in the host
//! check's private network namespace with the host's addresses on loopback.

use camino::Utf8Path;

use super::tool::{run, stand_in_certificate, which};
use super::{FileReport, HostCheck};
use gen_target::error::{Error, Result};

pub fn check(host: &mut HostCheck, files: &mut [FileReport]) -> Result<()> {
    let (Some(nginx), Some(openssl)) = (which("nginx"), which("openssl")) else {
        for file in files {
            file.skip("`nginx` or `openssl` is not installed");
        }
        return Ok(());
    };
    let sandbox = host.staging.path("nginx");
    std::fs::create_dir_all(sandbox.join("logs")).map_err(|e| Error::write(sandbox.clone(), e))?;
    let (cert, key) = (sandbox.join("cert.pem"), sandbox.join("key.pem"));
    let made = stand_in_certificate(host.command(&openssl), cert.as_ref(), key.as_ref());
    // With the tree's own main file, `nginx -t` reads it: a site is checked
    // inside it, and it is checked with every site of the tree.
    let has_main = files.iter().any(|f| f.path == super::nginx_main::PATH);
    let sites: Vec<String> = files
        .iter()
        .filter(|f| f.path != super::nginx_main::PATH)
        .map(|f| f.path.clone())
        .collect();
    for file in files {
        if !made.success {
            file.fail(format!(
                "cannot make a stand-in certificate: {}",
                made.lines().join("; ")
            ));
            continue;
        }
        let logs = sandbox.join("logs");
        let staged = host
            .staging
            .stage_with(&file.path, |line| rewrite(line, &cert, &key, &logs))?;
        let text = std::fs::read_to_string(&staged).unwrap_or_default();
        if let Some(namespaces) = &host.namespaces {
            for address in listen_addresses(&text) {
                namespaces.add_address(&address);
            }
        } else {
            file.note("no private network namespace here: `listen` binds this machine's ports");
        }
        let conf = if has_main {
            let included = if file.path == super::nginx_main::PATH {
                let mut staged_sites = Vec::new();
                for site in &sites {
                    let site = host
                        .staging
                        .stage_with(site, |line| rewrite(line, &cert, &key, &logs))?;
                    let text = std::fs::read_to_string(&site).unwrap_or_default();
                    if let Some(namespaces) = &host.namespaces {
                        for address in listen_addresses(&text) {
                            namespaces.add_address(&address);
                        }
                    }
                    staged_sites.push(site);
                }
                staged_sites
            } else {
                vec![staged.clone()]
            };
            host.staging.stage_with(super::nginx_main::PATH, |line| {
                super::nginx_main::rewrite(line, &sandbox, &included)
                    .or_else(|| rewrite(line, &cert, &key, &logs))
            })?
        } else {
            let conf = sandbox.join("nginx.conf");
            host.staging.write(&conf, &main_conf(&sandbox, &staged))?;
            conf
        };
        let mut cmd = host.command(&nginx);
        file.ran("nginx -t");
        let out = run(cmd
            .args(["-t", "-q", "-p"])
            .arg(&sandbox)
            .arg("-c")
            .arg(&conf));
        if !out.success {
            for line in out.lines() {
                file.fail(host.staging.unstage(&strip_log_prefix(&line)));
            }
        } else {
            for line in out.lines() {
                file.note(host.staging.unstage(&line));
            }
        }
    }
    Ok(())
}

/// `nginx: [emerg] ...` for `2026/01/01 00:00:00 [emerg] 123#123: ...`.
fn strip_log_prefix(line: &str) -> String {
    let Some((_, rest)) = line.split_once(" [") else {
        return line.to_string();
    };
    let Some((level, rest)) = rest.split_once("] ") else {
        return line.to_string();
    };
    let message = rest
        .split_once(": ")
        .filter(|(pid, _)| pid.contains('#'))
        .map_or(rest, |(_, m)| m);
    if line.starts_with(|c: char| c.is_ascii_digit()) {
        format!("nginx: [{level}] {message}")
    } else {
        line.to_string()
    }
}

/// A main configuration like Debian's, with every path in the sandbox.
fn main_conf(sandbox: &Utf8Path, site: &Utf8Path) -> String {
    let mut conf = format!(
        "worker_processes 1;\npid {sandbox}/nginx.pid;\nerror_log {sandbox}/logs/error.log;\nevents {{ worker_connections 64; }}\nhttp {{\n"
    );
    if std::path::Path::new("/etc/nginx/mime.types").exists() {
        conf.push_str("    include /etc/nginx/mime.types;\n");
    }
    conf.push_str("    default_type application/octet-stream;\n");
    for temp in ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"] {
        conf.push_str(&format!("    {temp}_temp_path {sandbox}/{temp};\n"));
    }
    conf.push_str(&format!(
        "    access_log {sandbox}/logs/access.log;\n    include {site};\n}}\n"
    ));
    conf
}

/// The staged form of one site line, when it names a host-only file.
fn rewrite(line: &str, cert: &Utf8Path, key: &Utf8Path, logs: &Utf8Path) -> Option<String> {
    let indent = &line[..line.len() - line.trim_start().len()];
    let mut words = line.split_whitespace();
    let directive = words.next()?;
    let path = words.next()?.trim_end_matches(';');
    if !path.starts_with('/') || path.contains('$') {
        return None;
    }
    let rest: Vec<&str> = words.collect();
    let replacement = match directive {
        "ssl_certificate" | "ssl_trusted_certificate" | "ssl_client_certificate" => {
            cert.to_string()
        }
        "ssl_certificate_key" => key.to_string(),
        "access_log" | "error_log" => {
            let name = path.rsplit('/').next().unwrap_or("log");
            logs.join(name).to_string()
        }
        _ => return None,
    };
    let tail = if rest.is_empty() {
        ";".to_string()
    } else {
        format!(" {}", rest.join(" "))
    };
    Some(format!("{indent}{directive} {replacement}{tail}"))
}

/// Addresses in `listen ADDRESS:PORT` lines.
fn listen_addresses(site: &str) -> Vec<String> {
    site.lines()
        .filter_map(|l| l.trim().strip_prefix("listen "))
        .filter_map(|rest| {
            let target = rest.split_whitespace().next()?.trim_end_matches(';');
            let (address, _port) = target.rsplit_once(':')?;
            Some(address.to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{listen_addresses, rewrite};
    use camino::Utf8Path;

    #[test]
    fn rewrites_host_only_files_on_the_same_line() {
        let (c, k, l) = (
            Utf8Path::new("/s/c.pem"),
            Utf8Path::new("/s/k.pem"),
            Utf8Path::new("/s/logs"),
        );
        assert_eq!(
            rewrite(
                "    ssl_certificate /etc/letsencrypt/live/x/fullchain.pem;",
                c,
                k,
                l
            )
            .as_deref(),
            Some("    ssl_certificate /s/c.pem;")
        );
        assert_eq!(
            rewrite("    error_log /var/log/nginx/x.error.log warn;", c, k, l).as_deref(),
            Some("    error_log /s/logs/x.error.log warn;")
        );
        assert_eq!(rewrite("    access_log off;", c, k, l), None);
        assert_eq!(
            listen_addresses("listen 80;\nlisten [::]:443 ssl;\nlisten 10.0.0.1:8080;"),
            ["[::]", "10.0.0.1"]
        );
    }
}
