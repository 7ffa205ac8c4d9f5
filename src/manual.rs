//! `gen man`: the manual pages, `gen.1` and one per subcommand
//! (`gen-build.1`, …), rendered by clap_mangen from the same clap
//! definitions as `--help`, each with the ENVIRONMENT and EXIT STATUS
//! sections clap does not know about.

use camino::Utf8Path;
use roff::{bold, roman, Roff};

use gen_target::error::{Error, Result};

/// Every environment variable gen reads, and what it does. A test checks
/// that each `GEN_*` name in the sources is here.
pub const ENVIRONMENT: &[(&str, &str)] = &[
    (
        "GEN_SYSTEMCTL",
        "The program run for daemon-reload, stop, restart and reload after an apply, rollback or activate (default systemctl): a host without systemd points it at a shim.",
    ),
    (
        "GEN_DOCKER",
        "The program run to restart a compose service (default docker).",
    ),
    (
        "GEN_THREADS",
        "How many threads build, diff and check use (default one per core); 1 gives the single-threaded reference behaviour.",
    ),
    (
        "GEN_PG_BIN_<major>",
        "The directory holding the PostgreSQL <major> server programs gen check validates postgresql.conf and pg_hba.conf with (default: the Debian and PGDG locations).",
    ),
    (
        "GEN_CRASH_AFTER",
        "For testing only: stop an apply or rollback abruptly after that many steps that touch the disk, to prove recovery.",
    ),
    (
        "SSH_CONNECTION",
        "The client of this SSH session: gen apply refuses a firewall that would not admit it (--allow-firewall-lockout overrides).",
    ),
    (
        "NO_COLOR",
        "When set and not empty, no colour with --color auto (the default).",
    ),
    (
        "CLICOLOR_FORCE",
        "When set and not 0, colour with --color auto even when the output is not a terminal.",
    ),
    (
        "COMPLETE",
        "Set to a shell name (bash, zsh, fish, elvish, powershell), gen prints that shell's completion registration, or completes the words after --, instead of running a command.",
    ),
    (
        "PATH",
        "Where gen check finds the validators (nginx, postgres, pgbouncer, redis-server, promtool, systemd-analyze, ...).",
    ),
];

/// The exit codes, the same for every command (README "Exit codes").
pub const EXIT_STATUS: &[(&str, &str)] = &[
    ("0", "Success, or no differences."),
    (
        "1",
        "Differences found (gen diff, gen build --check), or a file failed gen check.",
    ),
    (
        "2",
        "An error: bad input, a failed validation, a refused apply, an apply prompt answered no, a lint with --deny-warnings.",
    ),
];

/// `(file name, page)` for gen and each of its subcommands.
pub fn pages() -> Result<Vec<(String, Vec<u8>)>> {
    let mut command =
        <crate::cli::Cli as clap::CommandFactory>::command().disable_help_subcommand(true);
    // Gives each subcommand its display name (`gen-build`), as clap_mangen's
    // own `generate_to` does.
    command.build();
    let mut out = vec![page(command.clone())?];
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        out.push(page(sub.clone())?);
    }
    Ok(out)
}

fn page(command: clap::Command) -> Result<(String, Vec<u8>)> {
    let man = clap_mangen::Man::new(command);
    let mut text = Vec::new();
    man.render(&mut text)
        .map_err(|e| Error::write("<man page>", e))?;
    text.extend_from_slice(sections().to_roff().as_bytes());
    Ok((man.get_filename(), text))
}

fn sections() -> Roff {
    let mut roff = Roff::new();
    for (title, rows) in [("ENVIRONMENT", ENVIRONMENT), ("EXIT STATUS", EXIT_STATUS)] {
        roff.control("SH", [title]);
        for (name, text) in rows {
            roff.control("TP", []);
            roff.text([bold(*name)]);
            roff.text([roman(*text)]);
        }
    }
    roff
}

/// `gen man`: gen.1 on standard output, or every page into `out`.
pub fn run(out: Option<&Utf8Path>) -> Result<()> {
    let pages = pages()?;
    let Some(dir) = out else {
        let text = pages
            .first()
            .map(|(_, text)| text.as_slice())
            .unwrap_or_default();
        return std::io::Write::write_all(&mut std::io::stdout(), text)
            .map_err(|e| Error::write("<stdout>", e));
    };
    std::fs::create_dir_all(dir).map_err(|e| Error::write(dir, e))?;
    for (name, text) in &pages {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|e| Error::write(path.clone(), e))?;
    }
    eprintln!("wrote {} manual page(s) into {dir}", pages.len());
    Ok(())
}
