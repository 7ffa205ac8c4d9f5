//! Check stage support: the namespaces one host's sandbox runs in, and how
//! its programs are started.
//!
//! - A private **network** namespace with its own loopback lets generated
//!   configs bind the host's real addresses and ports without touching this
//!   machine's network.
//! - A private **PID** namespace makes every process of the sandbox die with
//!   gen, however gen ends. PostgreSQL under `pg_ctl`, PgBouncer and Redis
//!   daemonize: they leave their parent, so neither a process group nor
//!   `PR_SET_PDEATHSIG` (which covers one child, not its descendants) can
//!   follow them. They cannot leave a PID namespace, and when a namespace's
//!   init dies the kernel kills everything in it.
//!
//! Both are made by `unshare --net --pid --fork --kill-child`; its child is
//! the namespace's init, a `cat` reading a pipe whose only writer is gen.
//! When gen exits, by any means including SIGKILL, the kernel closes that
//! pipe, `cat` reads end-of-file and exits, and the namespace with every
//! server in it is gone. Programs are started inside with `nsenter`, naming
//! the namespaces by descriptors gen holds open (`/proc/<gen>/fd/<n>`) as
//! long as anything may start a program there, never by a pid that could be
//! reused by then.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::BufRead as _;
use std::os::fd::AsRawFd as _;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::sandboxes::{self, SandboxId, MARKER};
use crate::staging::Staging;
use crate::tool::run;

/// Builds the commands of one sandbox: inside its namespaces when it has
/// them, always carrying the sandbox's marker (see [`MARKER`]).
#[derive(Debug, Clone)]
pub struct Launcher {
    /// The namespaces, when there are some.
    enter: Option<Arc<Handles>>,
    dir: OsString,
}

/// Open descriptors of a sandbox's namespaces. Once its init is gone, a
/// program started into them fails to start (the kernel refuses new
/// processes in a PID namespace whose init died): it never runs outside.
#[derive(Debug)]
struct Handles {
    net: File,
    pid: File,
}

impl Handles {
    /// `nsenter` arguments naming the namespaces.
    fn args(&self) -> [OsString; 2] {
        let gen = std::process::id();
        [
            format!("--net=/proc/{gen}/fd/{}", self.net.as_raw_fd()).into(),
            format!("--pid=/proc/{gen}/fd/{}", self.pid.as_raw_fd()).into(),
        ]
    }
}

impl Launcher {
    /// For a sandbox without namespaces: programs run on this machine.
    pub fn outside(staging: &Staging) -> Launcher {
        Launcher {
            enter: None,
            dir: staging.dir().as_os_str().to_owned(),
        }
    }

    /// `program`, to run in the sandbox.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = match &self.enter {
            Some(handles) => {
                let mut cmd = Command::new("nsenter");
                cmd.args(handles.args()).arg("--").arg(program);
                cmd
            }
            None => Command::new(program),
        };
        cmd.env(MARKER, &self.dir);
        cmd
    }

    /// `program` as the user `user` (through `runuser`: gen runs as root),
    /// to run in the sandbox.
    pub fn command_as(&self, user: &str, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = self.command("runuser");
        cmd.arg("-u").arg(user).arg("--").arg(program);
        cmd
    }
}

/// The network and PID namespaces of one host's sandbox. Dropped: the
/// namespaces end, with whatever still runs in them.
#[derive(Debug)]
pub struct Namespaces {
    launcher: Launcher,
    sandbox: SandboxId,
}

/// The namespace's init: says it is up, then waits for gen's pipe to close.
const INIT: &str = "echo ready && exec cat >/dev/null";

impl Namespaces {
    /// `None` when namespaces cannot be made here (not root, no `unshare`):
    /// the sandbox then runs on this machine's network, and only a signal,
    /// not SIGKILL, stops its servers.
    pub fn new(staging: &Staging) -> Option<Namespaces> {
        let mut init = Command::new("unshare")
            .args(["--net", "--pid", "--fork", "--kill-child", "--"])
            .args(["sh", "-c", INIT])
            .env(MARKER, staging.dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let mut line = String::new();
        let said = init
            .stdout
            .take()
            .map(|out| std::io::BufReader::new(out).read_line(&mut line));
        let deadline = Instant::now() + Duration::from_secs(5);
        let opened = match said {
            Some(Ok(_)) if line.trim() == "ready" => {
                let unshare = init.id();
                // `unshare` itself stays outside the PID namespace it made:
                // the namespace is the one its children are born into.
                File::open(format!("/proc/{unshare}/ns/net"))
                    .and_then(|net| {
                        Ok((
                            net,
                            File::open(format!("/proc/{unshare}/ns/pid_for_children"))?,
                        ))
                    })
                    .ok()
            }
            _ => None,
        };
        let Some((net, pid)) = opened else {
            sandboxes::end_init(init, deadline);
            return None;
        };
        if let Err(init) = sandboxes::adopt_init(staging.id(), init) {
            sandboxes::end_init(init, deadline);
            return None;
        }
        let launcher = Launcher {
            enter: Some(Arc::new(Handles { net, pid })),
            dir: staging.dir().as_os_str().to_owned(),
        };
        let namespaces = Namespaces {
            launcher,
            sandbox: staging.id(),
        };
        let up = run(namespaces
            .launcher
            .command("ip")
            .args(["link", "set", "lo", "up"]));
        up.success.then_some(namespaces)
    }

    pub fn launcher(&self) -> &Launcher {
        &self.launcher
    }

    /// Adds an address of the host to the namespace's loopback.
    pub fn add_address(&self, address: &str) {
        let address = address.trim().trim_start_matches('[').trim_end_matches(']');
        let (family, prefix) = if address.contains(':') {
            ("-6", 128)
        } else {
            ("-4", 32)
        };
        if address.is_empty()
            || matches!(address, "*" | "localhost" | "0.0.0.0" | "::" | "::1")
            || address.starts_with("127.")
            || !address
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == '.' || c == ':')
        {
            return;
        }
        let mut cmd = self.launcher.command("ip");
        cmd.args([
            family,
            "addr",
            "add",
            &format!("{address}/{prefix}"),
            "dev",
            "lo",
        ]);
        if family == "-6" {
            cmd.arg("nodad");
        }
        let _ = run(&mut cmd);
    }
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        if let Some(init) = sandboxes::release_init(self.sandbox) {
            sandboxes::end_init(init, Instant::now() + Duration::from_secs(5));
        }
    }
}
