//! Apply stage, before any write: the Debian packages the manifest says the
//! host needs must be installed, or the services the tree configures have no
//! binary (or no unit) to run. Asked of `dpkg-query` (found on `PATH`), one
//! package at a time: `dpkg-query -W -f='${Status}' <name>` prints
//! `install ok installed` for an installed package and fails for an unknown
//! one. Names were checked against Debian's rules when the manifest was
//! parsed, so none can read as an option.

use std::process::Command;

use gen_target::error::{Error, Result};

/// The program asked; tests put a stand-in of the same name first on `PATH`.
pub const DPKG_QUERY: &str = "dpkg-query";

/// The packages of `packages` that `dpkg-query` does not report installed,
/// in the order given. Fails when `dpkg-query` itself cannot run (not a
/// Debian host): nothing can be said about the packages then.
pub fn missing(packages: &[String]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for name in packages {
        let output = Command::new(DPKG_QUERY)
            .args(["-W", "-f=${Status}", "--", name])
            .output()
            .map_err(|e| Error::PackageCheck {
                message: format!("`{DPKG_QUERY}` could not run: {e}"),
            })?;
        if !(output.status.success() && installed(&String::from_utf8_lossy(&output.stdout))) {
            out.push(name.clone());
        }
    }
    Ok(out)
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
