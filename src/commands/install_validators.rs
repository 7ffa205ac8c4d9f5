//! `gen check --install-validators`: installs (or, with `--dry-run`, prints
//! the commands that install) the programs `gen check` runs, for the
//! distribution this machine runs, so a deployment repository's CI needs
//! nothing from gen's own repository. The packages are those of
//! `.ci/validator-packages.txt`, the list gen's CI installs from too.
//! PostgreSQL majors the tree targets beyond the distribution's own come
//! from the PostgreSQL project's apt repository (PGDG), set up by Debian's
//! `postgresql-common` script.

use std::collections::BTreeSet;

use camino::Utf8Path;

use crate::cli::Outcome;
use gen_target::error::{Error, Result};

/// `<ID>-<VERSION_ID>` then packages, one distribution a line; `pip` the
/// Compose validator.
const PACKAGES: &str = include_str!("../../.ci/validator-packages.txt");

/// Where the Compose validator's virtual environment goes.
const VENV: &str = "/opt/gen-validators/venv";

/// The PostgreSQL major each supported distribution ships.
fn distribution_major(distribution: &str) -> Option<u32> {
    match distribution {
        "debian-12" => Some(15),
        "ubuntu-24.04" => Some(16),
        _ => None,
    }
}

/// `ID-VERSION_ID` of an os-release(5) file, and its `PRETTY_NAME`.
fn distribution(os_release: &str) -> (String, String) {
    let field = |name: &str| {
        os_release
            .lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix('='))
            .map(|v| v.trim().trim_matches('"').to_string())
            .unwrap_or_default()
    };
    let pretty = field("PRETTY_NAME");
    (format!("{}-{}", field("ID"), field("VERSION_ID")), pretty)
}

fn listed(key: &str) -> Vec<String> {
    PACKAGES
        .lines()
        .map(str::trim)
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let mut words = line.split_whitespace();
            (words.next() == Some(key)).then(|| words.map(str::to_string).collect())
        })
        .unwrap_or_default()
}

/// The shell commands that install every validator on `os_release`'s
/// distribution for a tree whose PostgreSQL hosts run `majors`.
pub fn commands(os_release: &str, majors: &BTreeSet<u32>) -> Result<Vec<String>> {
    let (key, pretty) = distribution(os_release);
    let packages = listed(&key);
    let Some(own_major) = distribution_major(&key).filter(|_| !packages.is_empty()) else {
        return Err(Error::Usage {
            message: format!(
                "gen installs its validators on Debian 12 and Ubuntu 24.04, not on `{}`",
                if pretty.is_empty() { &key } else { &pretty }
            ),
            help: Some(
                "install nginx, PostgreSQL (the majors your hosts run), pgbouncer, redis-server, promtool, shellcheck, systemd-analyze, crontab and check-jsonschema with your package manager; `gen check` names what is missing"
                    .into(),
            ),
        });
    };
    let apt =
        "DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends --no-upgrade";
    let mut out = vec![
        "apt-get update -q".to_string(),
        format!("{apt} {}", packages.join(" ")),
    ];
    let other: Vec<String> = majors
        .iter()
        .filter(|&&m| m != own_major)
        .map(|m| format!("postgresql-{m}"))
        .collect();
    if !other.is_empty() {
        out.push(format!("{apt} postgresql-common ca-certificates"));
        out.push("/usr/share/postgresql-common/pgdg/apt.postgresql.org.sh -y".into());
        out.push(format!("{apt} {}", other.join(" ")));
    }
    let pip = listed("pip").join(" ");
    out.push(format!(
        "python3 -m venv {VENV} && {VENV}/bin/pip install -q --disable-pip-version-check '{pip}'"
    ));
    out.push(format!(
        "ln -sf {VENV}/bin/check-jsonschema /usr/local/bin/check-jsonschema"
    ));
    Ok(out)
}

/// The PostgreSQL majors the hosts of `generated` run: the
/// `<profile>/<host>/root/etc/postgresql/<major>/` folders (none without a tree).
fn majors(generated: &Utf8Path) -> BTreeSet<u32> {
    let dirs = |dir: &std::path::Path| -> Vec<std::path::PathBuf> {
        std::fs::read_dir(dir)
            .map(|entries| entries.filter_map(|e| e.ok()).map(|e| e.path()).collect())
            .unwrap_or_default()
    };
    let mut out = BTreeSet::new();
    for profile in dirs(generated.as_std_path()) {
        for host in dirs(&profile) {
            for major in dirs(&host.join("root/etc/postgresql")) {
                if let Some(m) = major.file_name().and_then(|n| n.to_str()?.parse().ok()) {
                    out.insert(m);
                }
            }
        }
    }
    out
}

pub fn run(generated: &Utf8Path, dry_run: bool) -> Result<Outcome> {
    let os_release = std::fs::read_to_string("/etc/os-release")
        .map_err(|e| Error::read(Utf8Path::new("/etc/os-release"), e))?;
    let commands = commands(&os_release, &majors(generated))?;
    if dry_run {
        for command in &commands {
            println!("{command}");
        }
        return Ok(Outcome::Clean);
    }
    if !rustix::process::geteuid().is_root() {
        return Err(Error::Usage {
            message: "installing the validators needs root".into(),
            help: Some(
                "run `sudo env \"PATH=$PATH\" gen check --install-validators`, or `gen check --install-validators --dry-run` to see the commands"
                    .into(),
            ),
        });
    }
    for command in &commands {
        eprintln!("+ {command}");
        let status = std::process::Command::new("sh")
            .args(["-c", command])
            .status()
            .map_err(|e| Error::usage(format!("cannot run `sh -c {command}`: {e}")))?;
        if !status.success() {
            return Err(Error::Usage {
                message: format!("`{command}` failed ({status})"),
                help: Some("its output above says why".into()),
            });
        }
    }
    Ok(Outcome::Clean)
}

#[cfg(test)]
mod tests {
    use super::*;

    const UBUNTU: &str =
        "PRETTY_NAME=\"Ubuntu 24.04.1 LTS\"\nNAME=\"Ubuntu\"\nVERSION_ID=\"24.04\"\nID=ubuntu\n";
    const DEBIAN: &str =
        "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nVERSION_ID=\"12\"\nID=debian\n";

    #[test]
    fn ubuntu_gets_its_own_packages_and_pgdg_for_other_majors() {
        let commands = commands(UBUNTU, &BTreeSet::from([15, 16])).expect("supported");
        let all = commands.join("\n");
        assert!(all.contains(" nginx postgresql-16 "), "{all}");
        assert!(all.contains("apt.postgresql.org.sh -y"), "{all}");
        assert!(all.contains("--no-upgrade postgresql-15\n"), "{all}");
        assert!(!all.contains("nginx-light"), "{all}");
        assert!(all.contains("'check-jsonschema==0.39.0'"), "{all}");
    }

    #[test]
    fn debian_needs_no_other_repository_for_its_own_major() {
        let all = commands(DEBIAN, &BTreeSet::from([15]))
            .expect("supported")
            .join("\n");
        assert!(all.contains(" nginx-light postgresql-15 "), "{all}");
        assert!(!all.contains("pgdg"), "{all}");
    }

    #[test]
    fn other_distributions_are_refused_by_name() {
        let err = commands(
            "PRETTY_NAME=\"Fedora Linux 40\"\nID=fedora\nVERSION_ID=40\n",
            &BTreeSet::new(),
        )
        .expect_err("refused");
        assert!(
            err.to_string()
                .contains("Debian 12 and Ubuntu 24.04, not on `Fedora Linux 40`"),
            "{err}"
        );
        assert!(commands("ID=debian\nVERSION_ID=11\n", &BTreeSet::new()).is_err());
    }
}
