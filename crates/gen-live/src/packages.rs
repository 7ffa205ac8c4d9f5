//! Apply stage, before any write: the Debian packages the manifest says the
//! host needs must be installed, or the services the tree configures have no
//! binary (or no unit) to run. Asked of `dpkg-query` (found on `PATH`) in one
//! call: `dpkg-query -W -f='${Package} ${Status}\n' -- <names>` prints a line
//! per known package (`nginx install ok installed`) and names the unknown
//! ones on standard error (exit 1). One process, not one per package: an
//! apply pays for it on every run. Names were checked against Debian's rules
//! when the manifest was parsed, so none can read as an option.

use std::process::Command;

use gen_target::error::{Error, Result};

/// The program asked; tests put a stand-in of the same name first on `PATH`.
pub const DPKG_QUERY: &str = "dpkg-query";

/// The packages of `packages` that `dpkg-query` does not report installed,
/// in the order given. Fails when `dpkg-query` itself cannot run (not a
/// Debian host): nothing can be said about the packages then.
pub fn missing(packages: &[String]) -> Result<Vec<String>> {
    if packages.is_empty() {
        return Ok(Vec::new());
    }
    let output = Command::new(DPKG_QUERY)
        .args(["-W", "-f=${Package} ${Status}\n", "--"])
        .args(packages)
        .output()
        .map_err(|e| Error::PackageCheck {
            message: format!("`{DPKG_QUERY}` could not run: {e}"),
        })?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let installed_names: std::collections::BTreeSet<&str> = stdout
        .lines()
        .filter_map(|line| line.split_once(' '))
        .filter(|(_, status)| installed(status))
        .map(|(name, _)| name)
        .collect();
    Ok(packages
        .iter()
        .filter(|name| !installed_names.contains(name.as_str()))
        .cloned()
        .collect())
}

/// Whether a `${Status}` line (`<want> <flag> <status>`) says installed:
/// `install ok installed` or `hold ok installed`; `deinstall ok
/// config-files` (removed, configuration kept) is not.
fn installed(status: &str) -> bool {
    let words: Vec<&str> = status.split_whitespace().collect();
    matches!(words.as_slice(), [_, "ok", "installed"])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The real `dpkg-query`, in one call: an installed package passes, an
    /// unknown one is missing, in the order given.
    #[test]
    fn one_call_names_the_missing_packages_in_order() {
        if Command::new(DPKG_QUERY).arg("--version").output().is_err() {
            assert!(std::env::var_os("CI").is_none(), "CI runs on Debian");
            return;
        }
        let asked = ["gen-no-such-package-b", "dpkg", "gen-no-such-package-a"].map(String::from);
        assert_eq!(
            missing(&asked).expect("dpkg-query runs"),
            ["gen-no-such-package-b", "gen-no-such-package-a"]
        );
        assert!(missing(&[]).expect("nothing to ask").is_empty());
    }

    #[test]
    fn only_an_installed_status_counts() {
        assert!(installed("install ok installed"));
        assert!(installed("hold ok installed\n"));
        assert!(!installed("deinstall ok config-files"));
        assert!(!installed("install ok half-configured"));
        assert!(!installed("unknown ok not-installed"));
        assert!(!installed(""));
    }
}
