//! A stand-in `dpkg-query` put first on `PATH`: `gen apply` asks it whether
//! the packages of the manifest's `requires.packages` are installed. It
//! answers like the real one (a `<name> install ok installed` line per known
//! package; "no packages found matching" and exit 1 for the others) and logs
//! every call's arguments.

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt as _;
use std::path::PathBuf;
use std::process::Command;

pub struct FakeDpkg {
    dir: tempfile::TempDir,
}

impl FakeDpkg {
    /// Every package is installed except those in `missing`.
    pub fn missing(missing: &[&str]) -> FakeDpkg {
        let dir = tempfile::tempdir().expect("fake dpkg dir");
        let log = dir.path().join("asked");
        let cases: String = missing
            .iter()
            .map(|m| format!("    {m}) missing=1 ;;\n"))
            .collect();
        let script = format!(
            "#!/bin/sh\n\
             # dpkg-query -W -f='${{Package}} ${{Status}}\\n' -- <names>\n\
             printf '%s' \"$*\" | tr '\\n' ' ' >> '{log}'\n\
             echo >> '{log}'\n\
             while [ \"$1\" != -- ]; do shift; done\n\
             shift\n\
             status=0\n\
             for name; do\n\
             \x20   missing=0\n\
             \x20   case \"$name\" in\n{cases}    *) ;;\n    esac\n\
             \x20   if [ $missing = 1 ]; then\n\
             \x20       echo \"dpkg-query: no packages found matching $name\" >&2\n\
             \x20       status=1\n\
             \x20   else\n\
             \x20       printf '%s install ok installed\\n' \"$name\"\n\
             \x20   fi\n\
             done\n\
             exit $status\n",
            log = log.display(),
        );
        let path = dir.path().join("dpkg-query");
        std::fs::write(&path, script).expect("write fake dpkg-query");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        FakeDpkg { dir }
    }

    /// Every package is installed.
    pub fn all_installed() -> FakeDpkg {
        FakeDpkg::missing(&[])
    }

    /// `PATH` with this stand-in first.
    pub fn path(&self) -> OsString {
        let mut paths: Vec<PathBuf> = vec![self.dir.path().to_path_buf()];
        paths.extend(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        ));
        std::env::join_paths(paths).expect("PATH")
    }

    /// Puts this stand-in first on `command`'s `PATH`.
    pub fn on(&self, command: &mut Command) {
        command.env("PATH", self.path());
    }

    /// The argument lists it was called with.
    pub fn asked(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("asked"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }
}
