//! Colour: one decision for everything gen paints (diff lines, `gen check`'s
//! status words, miette's error reports). `--color auto|always|never` is
//! handed to anstream, which in `auto` colours a terminal only and honours
//! `NO_COLOR` and `CLICOLOR_FORCE` (https://bixense.com/clicolors/) — the same
//! rules clap's own help follows, so gen does not keep a second copy.

use anstream::ColorChoice;
use clap::ValueEnum;

/// `--color`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum When {
    /// On a terminal, unless `NO_COLOR` is set; `CLICOLOR_FORCE` forces it.
    #[default]
    Auto,
    /// Always, also into a pipe or a file.
    Always,
    /// Never.
    Never,
}

/// Makes `when` the choice of every stream gen writes to.
pub fn choose(when: When) {
    match when {
        When::Auto => ColorChoice::Auto,
        When::Always => ColorChoice::Always,
        When::Never => ColorChoice::Never,
    }
    .write_global();
}

/// `--color` as typed, read before clap parses so that clap's own help and
/// usage errors follow it too (they go through anstream's global choice);
/// anything clap will reject counts as `auto` here.
pub fn from_args() -> When {
    let args: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let mut when = When::Auto;
    for (i, arg) in args.iter().enumerate() {
        // Only gen's own arguments: after `--` they are someone else's.
        if arg == "--" {
            break;
        }
        let value = match arg.strip_prefix("--color") {
            Some("") => args.get(i + 1).map(String::as_str),
            Some(rest) => rest.strip_prefix('='),
            None => None,
        };
        if let Some(parsed) = value.and_then(|v| When::from_str(v, false).ok()) {
            when = parsed;
        }
    }
    when
}

/// Whether standard output gets colour.
pub fn stdout() -> bool {
    anstream::AutoStream::choice(&std::io::stdout()) != ColorChoice::Never
}

/// Whether standard error gets colour (miette's reports).
pub fn stderr() -> bool {
    anstream::AutoStream::choice(&std::io::stderr()) != ColorChoice::Never
}

/// `text` in `style` when `colour`, as is otherwise.
pub fn paint(colour: bool, style: anstyle::Style, text: &str) -> String {
    if colour {
        format!("{}{text}{}", style.render(), style.render_reset())
    } else {
        text.to_string()
    }
}
