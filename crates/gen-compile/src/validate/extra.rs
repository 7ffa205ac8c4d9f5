//! Validate stage, the `extra` escape hatch: settings typed by hand in a
//! profile, written as they are into a marked block of one file. One syntax
//! per file format, each with its identifier rule, its value rule and the
//! names gen writes itself (refused, naming the typed key to use instead).
//! Values can never close the directive they sit in: a newline, `;`, `{`,
//! `}`, a quote or a backslash is refused with the key's location, and
//! `include`-style names are always refused.
//!
//! The renderers live here too so that what is checked and what is written
//! are one definition; views call them.

use std::collections::BTreeMap;

use super::Checker;
use crate::model::ExtraSpec;
use crate::profile::Extra;
use crate::source::push_key;
use gen_target::host_path::shown;

/// The file an `extra` table lands in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// nginx's `http` level (the top of the site file).
    NginxHttp,
    /// An nginx `server` block.
    NginxServer,
    /// An nginx `location` block.
    NginxLocation,
    /// pgbouncer.ini's `[pgbouncer]` section.
    Pgbouncer,
    /// redis.conf.
    Redis,
    /// A systemd unit's `[Service]` section.
    Systemd,
    /// A compose service (any TOML value, written as JSON).
    Compose,
}

/// Which bytes may stand at a place of a name.
type ByteRule = fn(u8) -> bool;

/// A gen-owned name, or a prefix when it ends in `*`, with the typed key
/// that sets it (or why it is gen's).
type Owned = (&'static str, &'static str);

const NGINX_HTTP_OWNED: &[Owned] = &[
    ("gzip*", "`nginx.gzip`"),
    ("keepalive_requests", "`nginx.keepalive_requests`"),
    ("limit_req*", "a site's `rate_limit`"),
    ("map", "gen writes the WebSocket map"),
    ("upstream", "gen derives upstreams from the services"),
    ("server", "`[sites.<name>]`"),
    ("http", "Debian's nginx.conf"),
    ("events", "Debian's nginx.conf"),
    ("worker_*", "Debian's nginx.conf"),
    ("user", "Debian's nginx.conf"),
    ("pid", "Debian's nginx.conf"),
    ("load_module", "Debian's nginx.conf"),
    ("sendfile", "Debian's nginx.conf"),
    ("tcp_nopush", "Debian's nginx.conf"),
    ("types_hash_max_size", "Debian's nginx.conf"),
    ("default_type", "Debian's nginx.conf"),
    ("ssl_protocols", "Debian's nginx.conf and gen's servers"),
    (
        "ssl_prefer_server_ciphers",
        "Debian's nginx.conf and gen's servers",
    ),
    ("access_log", "Debian's nginx.conf and gen's servers"),
    ("error_log", "Debian's nginx.conf and gen's servers"),
];

const NGINX_SERVER_OWNED: &[Owned] = &[
    ("listen", "gen listens on 80 and 443"),
    ("server_name", "`server_names`"),
    ("ssl_certificate*", "`certificate` and `certificate_key`"),
    (
        "ssl_protocols",
        "gen writes Mozilla's intermediate TLS settings",
    ),
    (
        "ssl_ciphers",
        "gen writes Mozilla's intermediate TLS settings",
    ),
    (
        "ssl_ecdh_curve",
        "gen writes Mozilla's intermediate TLS settings",
    ),
    (
        "ssl_prefer_server_ciphers",
        "gen writes Mozilla's intermediate TLS settings",
    ),
    (
        "ssl_session_*",
        "gen writes Mozilla's intermediate TLS settings",
    ),
    (
        "ssl_stapling*",
        "gen leaves OCSP stapling off (Let's Encrypt ended OCSP)",
    ),
    ("add_header", "`headers` and `hsts`"),
    ("root", "a location with `root`"),
    ("location", "`[[sites.<name>.locations]]`"),
    ("limit_req*", "`rate_limit`"),
    ("client_max_body_size", "`client_max_body_size`"),
    ("access_log", "gen writes the site's logs"),
    ("error_log", "gen writes the site's logs"),
    ("server_tokens", "gen keeps server tokens off"),
    ("return", "a location's `service` or `root`"),
    ("rewrite", "a location's `service` or `root`"),
    ("if", "a location's `service` or `root`"),
    ("set", "a location's `service` or `root`"),
    ("proxy_pass", "a location's `service`"),
    ("allow", "a location's `allow`"),
    ("deny", "a location's `allow`"),
    ("send_timeout", "gen writes it"),
    ("client_body_timeout", "gen writes it"),
    ("client_header_timeout", "gen writes it"),
    ("keepalive_timeout", "gen writes it"),
];

const NGINX_LOCATION_OWNED: &[Owned] = &[
    ("proxy_pass", "`service`"),
    ("proxy_http_version", "gen writes HTTP/1.1 for keepalive"),
    (
        "proxy_set_header",
        "gen writes the forwarding headers and `websocket`",
    ),
    ("proxy_connect_timeout", "`connect_timeout`"),
    ("proxy_send_timeout", "`send_timeout`"),
    ("proxy_read_timeout", "`read_timeout`"),
    ("proxy_buffering", "`buffering`"),
    ("proxy_next_upstream*", "gen writes the retry policy"),
    ("allow", "`allow`"),
    ("deny", "`allow`"),
    ("root", "`root`"),
    ("alias", "`root`"),
    ("try_files", "`root`"),
    ("expires", "`cache`"),
    ("add_header", "`cache` and the site's `headers`"),
    ("limit_req*", "`rate_limited`"),
    ("location", "another `[[sites.<name>.locations]]`"),
    ("return", "`service` or `root`"),
    ("rewrite", "`service` or `root`"),
    ("if", "`service` or `root`"),
    ("set", "`service` or `root`"),
];

const PGBOUNCER_OWNED: &[Owned] = &[
    (
        "listen_*",
        "`pgbouncer.port`; gen binds the host's private address",
    ),
    ("unix_socket_*", "gen writes the socket directory"),
    (
        "auth_*",
        "`pgbouncer.auth_file`; gen writes SCRAM authentication",
    ),
    ("admin_users", "gen writes the admin and stats users"),
    ("stats_users", "gen writes the admin and stats users"),
    ("pool_mode", "`pgbouncer.pool_mode`"),
    ("max_client_conn", "`pgbouncer.max_client_conn`"),
    ("default_pool_size", "`pgbouncer.default_pool_size`"),
    ("reserve_pool_*", "`pgbouncer.reserve_pool_size`"),
    (
        "max_db_connections",
        "derived from PostgreSQL's connection budget",
    ),
    ("logfile", "gen writes the log file"),
    ("pidfile", "gen writes the pid file"),
    ("user", "PgBouncer runs as Debian's `postgres` user"),
    ("client_tls_*", "gen writes no TLS for PgBouncer yet"),
    ("server_tls_*", "gen writes no TLS for PgBouncer yet"),
];

const REDIS_OWNED: &[Owned] = &[
    ("bind", "gen binds the host's private address"),
    ("port", "`redis.port`"),
    (
        "maxmemory*",
        "`redis.maxmemory` and `redis.maxmemory_policy`",
    ),
    ("requirepass", "`redis.password_file`"),
    ("masterauth", "`redis.password_file`"),
    ("rename-command", "gen disables dangerous commands itself"),
    ("dir", "gen writes the data directory"),
    ("dbfilename", "gen writes the data directory"),
    ("appendonly", "`redis.persistence`"),
    ("appendfilename", "`redis.persistence`"),
    ("appendfsync", "`redis.persistence`"),
    ("save", "`redis.persistence`"),
    ("protected-mode", "gen keeps protected mode on"),
    ("daemonize", "systemd supervises Redis"),
    ("supervised", "systemd supervises Redis"),
    ("pidfile", "gen writes the pid file"),
    ("logfile", "gen writes the log file"),
    ("unixsocket*", "gen writes no socket"),
    ("tls-*", "gen writes no TLS for Redis yet"),
    ("aclfile", "`redis.password_file`"),
    ("user", "`redis.password_file`"),
    ("loadmodule", "modules run code inside Redis"),
    ("enable-debug-command", "debug commands stay off"),
    ("enable-module-command", "module commands stay off"),
    ("enable-protected-configs", "protected configs stay off"),
];

const SYSTEMD_OWNED: &[Owned] = &[
    ("Exec*", "`command`"),
    ("User", "`user`"),
    ("Group", "`user`"),
    ("DynamicUser", "`user`"),
    ("WorkingDirectory", "`working_directory`"),
    ("Environment*", "`environment` and `secrets`"),
    ("LoadCredential*", "`secrets`"),
    ("SetCredential*", "`secrets`"),
    ("Type", "gen writes `Type=simple`"),
    ("TimeoutStopSec", "`stop_grace_period`"),
    ("MemoryMax", "`limits.memory`"),
    ("CPUQuota", "`limits.cpus`"),
    ("LimitNOFILE", "`limits.nofile`"),
    ("StateDirectory", "gen writes the state directory"),
    ("SyslogIdentifier", "gen names the service's log"),
    ("NoNewPrivileges", "`hardening`"),
    ("Protect*", "`hardening`"),
    ("Private*", "`hardening`"),
    ("Restrict*", "`hardening`"),
    ("CapabilityBoundingSet", "`hardening`"),
    ("AmbientCapabilities", "`hardening`"),
    ("SystemCall*", "`hardening`"),
    ("LockPersonality", "`hardening`"),
    ("ReadWritePaths", "`hardening`"),
    ("ReadOnlyPaths", "`hardening`"),
    ("InaccessiblePaths", "`hardening`"),
    ("RootDirectory", "`hardening`"),
    ("RootImage", "`hardening`"),
    ("BindPaths", "`hardening`"),
    ("PAMName", "`hardening`"),
];

const COMPOSE_OWNED: &[Owned] = &[
    ("image", "`image`"),
    ("build", "`image`"),
    ("command", "`command`"),
    ("entrypoint", "`command`"),
    ("ports", "`port` and `publish`"),
    ("expose", "`port`"),
    ("networks", "gen places containers on its networks"),
    ("network_mode", "gen places containers on its networks"),
    ("secrets", "`secrets`"),
    ("environment", "`environment`"),
    ("env_file", "`environment` and `secrets`"),
    ("cap_add", "`cap_add`"),
    ("cap_drop", "gen drops every capability"),
    ("security_opt", "gen sets `no-new-privileges`"),
    ("privileged", "containers never run privileged"),
    ("pid", "containers keep their own namespaces"),
    ("ipc", "containers keep their own namespaces"),
    ("userns_mode", "containers keep their own namespaces"),
    ("cgroup_parent", "containers keep their own namespaces"),
    ("deploy", "`replicas`, `limits`, `reservations` and `gpus`"),
    ("user", "`user`"),
    ("read_only", "`read_only`"),
    ("tmpfs", "`tmpfs`"),
    ("volumes", "`volumes`"),
    ("volumes_from", "`volumes`"),
    ("devices", "`devices`"),
    ("healthcheck", "`healthcheck`"),
    ("depends_on", "`depends_on`"),
    ("restart", "gen restarts containers unless stopped"),
    ("init", "gen runs an init process"),
    ("ulimits", "`limits.nofile`"),
    ("logging", "`logging`"),
    ("stop_grace_period", "`stop_grace_period`"),
    ("container_name", "replicas need compose's names"),
    ("extends", "gen writes the whole service"),
];

impl Syntax {
    fn owned(self) -> &'static [Owned] {
        match self {
            Syntax::NginxHttp => NGINX_HTTP_OWNED,
            Syntax::NginxServer => NGINX_SERVER_OWNED,
            Syntax::NginxLocation => NGINX_LOCATION_OWNED,
            Syntax::Pgbouncer => PGBOUNCER_OWNED,
            Syntax::Redis => REDIS_OWNED,
            Syntax::Systemd => SYSTEMD_OWNED,
            Syntax::Compose => COMPOSE_OWNED,
        }
    }

    /// The identifier rule of the format's setting names.
    fn is_name(self, name: &str) -> bool {
        let bytes = name.as_bytes();
        let (first, rest): (ByteRule, ByteRule) = match self {
            Syntax::NginxHttp
            | Syntax::NginxServer
            | Syntax::NginxLocation
            | Syntax::Pgbouncer
            | Syntax::Compose => (
                |b| b.is_ascii_lowercase() || b == b'_',
                |b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_',
            ),
            Syntax::Redis => (
                |b| b.is_ascii_lowercase(),
                |b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-',
            ),
            Syntax::Systemd => (|b| b.is_ascii_uppercase(), |b| b.is_ascii_alphanumeric()),
        };
        !bytes.is_empty()
            && bytes.len() <= 64
            && first(bytes[0])
            && bytes[1..].iter().all(|b| rest(*b))
    }

    fn name_rule(self) -> &'static str {
        match self {
            Syntax::NginxHttp | Syntax::NginxServer | Syntax::NginxLocation => {
                "an nginx directive: lowercase letters, digits and `_`"
            }
            Syntax::Pgbouncer => "a pgbouncer.ini setting: lowercase letters, digits and `_`",
            Syntax::Compose => "a compose service key: lowercase letters, digits and `_`",
            Syntax::Redis => "a redis.conf directive: lowercase letters, digits and `-`",
            Syntax::Systemd => "a `[Service]` setting: letters and digits, starting upper-case",
        }
    }

    /// The typed key (or reason) behind a gen-owned name.
    pub fn owner(self, name: &str) -> Option<&'static str> {
        if name.to_ascii_lowercase().contains("include") {
            return Some("included files are never written from a profile");
        }
        self.owned().iter().find_map(|(owned, why)| {
            let hit = match owned.strip_suffix('*') {
                Some(prefix) => name.starts_with(prefix),
                None => name == *owned,
            };
            hit.then_some(*why)
        })
    }
}

/// Why a string cannot be a value of `extra`, if it cannot.
fn refused_value(value: &str) -> Option<&'static str> {
    if value.trim().is_empty() || value.len() > 1024 {
        return Some("is blank or longer than 1024 characters");
    }
    if value.chars().any(char::is_control) {
        return Some("holds a newline or another control character");
    }
    if value.contains([';', '{', '}', '"', '\'', '\\', '`']) {
        return Some("holds `;`, `{`, `}`, a quote or a backslash, which could end the setting");
    }
    if value.to_ascii_lowercase().contains("include") {
        return Some("names `include`; included files are never written from a profile");
    }
    None
}

impl Checker<'_> {
    /// One `extra` table at `key`, for the file format `syntax`.
    pub(super) fn extra(&mut self, key: &str, syntax: Syntax, extra: Option<&Extra>) -> ExtraSpec {
        let Some(extra) = extra else {
            return ExtraSpec::new();
        };
        let key = format!("{key}.extra");
        for (name, value) in extra {
            let name_key = push_key(&key, name);
            if let Some(owner) = syntax.owner(name).filter(|_| name.len() <= 64) {
                self.errors.push(crate::profile_error::invalid(
                    self.sources,
                    &name_key,
                    crate::source::Underline::Key,
                    format!(
                        "`{name_key}`: gen writes `{}` itself (gen-owned-extra)",
                        shown(name)
                    ),
                    Some(format!("set it with {owner}")),
                ));
                continue;
            }
            if !syntax.is_name(name) {
                self.fail(
                    &name_key,
                    format!("`{name_key}`: `{}` is not a setting name", shown(name)),
                    syntax.name_rule(),
                );
                continue;
            }
            self.extra_value(&name_key, syntax, value, 0);
        }
        extra.clone()
    }

    fn extra_value(&mut self, key: &str, syntax: Syntax, value: &toml::Value, depth: usize) {
        match value {
            toml::Value::String(s) => {
                if let Some(problem) = refused_value(s) {
                    self.fail(
                        key,
                        format!("`{key}`: the value {problem}"),
                        "write a plain value; anything more goes in a file the program reads",
                    );
                }
            }
            toml::Value::Integer(_) | toml::Value::Boolean(_) => {}
            toml::Value::Float(f) if f.is_finite() => {}
            toml::Value::Array(items) if depth == 0 || syntax == Syntax::Compose => {
                for (i, item) in items.iter().enumerate() {
                    self.extra_value(&format!("{key}[{i}]"), syntax, item, depth + 1);
                }
            }
            toml::Value::Table(table) if syntax == Syntax::Compose && depth < 4 => {
                for (name, item) in table {
                    self.extra_value(&push_key(key, name), syntax, item, depth + 1);
                }
            }
            other => self.fail(
                key,
                format!("`{key}`: a {} cannot be written here", other.type_str()),
                "a string, a number, a boolean, or an array of them (the setting repeated)",
            ),
        }
    }
}

/// One value as words of a directive: strings split on whitespace, booleans
/// as the format spells them.
fn words(value: &toml::Value, on: &str, off: &str) -> Vec<String> {
    match value {
        toml::Value::String(s) => s.split_whitespace().map(str::to_string).collect(),
        toml::Value::Boolean(b) => vec![if *b { on } else { off }.to_string()],
        other => vec![other.to_string()],
    }
}

/// Each setting once, or once per element of an array.
fn each(extra: &ExtraSpec) -> impl Iterator<Item = (&String, &toml::Value)> {
    extra.iter().flat_map(|(name, value)| match value {
        toml::Value::Array(items) => items.iter().map(|v| (name, v)).collect::<Vec<_>>(),
        v => vec![(name, v)],
    })
}

/// nginx: `name "word" "word";`, every word double-quoted.
pub fn nginx_lines(extra: &ExtraSpec) -> Vec<String> {
    each(extra)
        .map(|(name, value)| {
            let args: Vec<String> = words(value, "on", "off")
                .iter()
                .map(|w| format!("\"{w}\""))
                .collect();
            format!("{name} {};", args.join(" "))
        })
        .collect()
}

/// pgbouncer.ini: `name = value`.
pub fn ini_lines(extra: &ExtraSpec) -> Vec<String> {
    each(extra)
        .map(|(name, value)| format!("{name} = {}", words(value, "1", "0").join(" ")))
        .collect()
}

/// redis.conf: `name "word" "word"`.
pub fn redis_lines(extra: &ExtraSpec) -> Vec<String> {
    each(extra)
        .map(|(name, value)| {
            let args: Vec<String> = words(value, "yes", "no")
                .iter()
                .map(|w| format!("\"{w}\""))
                .collect();
            format!("{name} {}", args.join(" "))
        })
        .collect()
}

/// systemd: `Name=value`, `%` doubled so no specifier expands.
pub fn systemd_lines(extra: &ExtraSpec) -> Vec<String> {
    each(extra)
        .map(|(name, value)| {
            format!(
                "{name}={}",
                words(value, "yes", "no").join(" ").replace('%', "%%")
            )
        })
        .collect()
}

/// compose: each key and its value as JSON, merged into the service map.
pub fn compose_entries(extra: &ExtraSpec) -> BTreeMap<String, String> {
    extra
        .iter()
        .filter_map(|(name, value)| Some((name.clone(), serde_json::to_string(value).ok()?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(pairs: &[(&str, toml::Value)]) -> ExtraSpec {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn every_syntax_refuses_what_could_end_a_setting() {
        for bad in [
            "4k;\nlisten 8080",
            "a}",
            "{",
            "\"x\"",
            "'x'",
            "a\\",
            "x\ry",
            "include /etc/passwd",
        ] {
            assert!(refused_value(bad).is_some(), "{bad:?}");
        }
        assert!(refused_value("4k").is_none());
        assert!(refused_value("X-Foo bar$baz").is_none());
    }

    #[test]
    fn include_names_are_always_gen_owned() {
        for syntax in [
            Syntax::NginxHttp,
            Syntax::NginxServer,
            Syntax::NginxLocation,
            Syntax::Pgbouncer,
            Syntax::Redis,
            Syntax::Systemd,
            Syntax::Compose,
        ] {
            assert!(syntax.owner("include").is_some(), "{syntax:?}");
        }
        assert!(Syntax::Pgbouncer.owner("listen_addr").is_some());
        assert!(Syntax::Systemd.owner("ExecStartPre").is_some());
        assert!(Syntax::Systemd.owner("OOMScoreAdjust").is_none());
        assert!(Syntax::NginxServer.owner("ssl_protocols").is_some());
        assert!(Syntax::NginxServer.owner("ssl_buffer_size").is_none());
        assert!(Syntax::NginxLocation
            .owner("proxy_max_temp_file_size")
            .is_none());
    }

    #[test]
    fn names_follow_each_formats_identifier_rule() {
        assert!(Syntax::Redis.is_name("lazyfree-lazy-eviction"));
        assert!(!Syntax::Redis.is_name("lazyfree_lazy"));
        assert!(Syntax::Systemd.is_name("OOMScoreAdjust"));
        assert!(!Syntax::Systemd.is_name("oom"));
        assert!(!Syntax::NginxServer.is_name("a b"));
    }

    #[test]
    fn renderers_quote_and_repeat() {
        let extra = spec(&[
            ("ssl_buffer_size", toml::Value::String("4k".into())),
            (
                "proxy_hide_header",
                toml::Value::Array(vec!["X-A".into(), "X-B".into()]),
            ),
            ("gzip", toml::Value::Boolean(true)),
        ]);
        assert_eq!(
            nginx_lines(&extra),
            [
                "gzip \"on\";",
                "proxy_hide_header \"X-A\";",
                "proxy_hide_header \"X-B\";",
                "ssl_buffer_size \"4k\";"
            ]
        );
        let sd = spec(&[("OOMScoreAdjust", toml::Value::Integer(-500))]);
        assert_eq!(systemd_lines(&sd), ["OOMScoreAdjust=-500"]);
        let pct = spec(&[("Description", toml::Value::String("50%".into()))]);
        assert_eq!(systemd_lines(&pct), ["Description=50%%"]);
    }
}
