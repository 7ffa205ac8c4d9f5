//! Check stage: nginx's main file, when the tree has one
//! (`/etc/nginx/nginx.conf`). `nginx -t` then reads the generated main file
//! itself rather than a stand-in, so its worker limits, `user`, includes and
//! `http` settings are checked with the sites they hold. Host-only paths of
//! the staged copy are moved into the sandbox, one line for one line: the
//! pid file, the logs (by the site rewrite), and the includes of the
//! host's `sites-enabled` (the staged sites instead), `conf.d` (not in
//! the tree) and `modules-enabled` (the checking machine's are not the
//! host's): left out, as the stand-in main file of a tree without one does. The temporary directories go to the sandbox on the
//! `http {` line.

use camino::{Utf8Path, Utf8PathBuf};

/// Where the main file is on the host.
pub const PATH: &str = "/etc/nginx/nginx.conf";

/// The staged form of one main-file line, or `None` to keep it.
pub fn rewrite(line: &str, sandbox: &Utf8Path, sites: &[Utf8PathBuf]) -> Option<String> {
    let indent = &line[..line.len() - line.trim_start().len()];
    let trimmed = line.trim();
    if trimmed.starts_with("pid ") {
        return Some(format!("{indent}pid {sandbox}/nginx.pid;"));
    }
    if trimmed == "http {" {
        let temps: Vec<String> = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
            .iter()
            .map(|t| format!("{t}_temp_path {sandbox}/{t};"))
            .collect();
        return Some(format!("{indent}http {{ {}", temps.join(" ")));
    }
    let included = trimmed
        .strip_prefix("include ")?
        .trim_end_matches(';')
        .trim();
    if included.starts_with("/etc/nginx/sites-enabled/") {
        let includes: Vec<String> = sites.iter().map(|s| format!("include {s};")).collect();
        return Some(format!("{indent}{}", includes.join(" ")));
    }
    // The checking machine's modules are not the host's (and name their
    // `.so` relative to the prefix, which is the sandbox here).
    if included.starts_with("/etc/nginx/conf.d/")
        || included.starts_with("/etc/nginx/modules-enabled/")
        || (included.starts_with('/')
            && !included.contains('*')
            && !Utf8Path::new(included).exists())
    {
        return Some(format!("{indent}# (not on this machine: {included})"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moves_host_paths_into_the_sandbox_one_line_each() {
        let sandbox = Utf8Path::new("/s");
        let sites = [
            Utf8PathBuf::from("/s/a.conf"),
            Utf8PathBuf::from("/s/b.conf"),
        ];
        assert_eq!(
            rewrite("pid /run/nginx.pid;", sandbox, &sites).as_deref(),
            Some("pid /s/nginx.pid;")
        );
        assert_eq!(
            rewrite("    include /etc/nginx/sites-enabled/*;", sandbox, &sites).as_deref(),
            Some("    include /s/a.conf; include /s/b.conf;")
        );
        assert!(
            rewrite("    include /etc/nginx/conf.d/*.conf;", sandbox, &sites)
                .is_some_and(|l| l.trim_start().starts_with('#'))
        );
        assert!(rewrite("http {", sandbox, &sites)
            .is_some_and(|l| l.contains("proxy_temp_path /s/proxy;") && !l.contains('\n')));
        assert_eq!(rewrite("worker_processes 4;", sandbox, &sites), None);
    }
}
