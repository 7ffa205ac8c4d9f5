//! `gen graph --profile P [--as mermaid|dot|svg]`.

use std::io::Write as _;
use std::process::{Command, Stdio};

use camino::Utf8Path;

use crate::cli::{GraphFormat, Outcome};
use gen_compile::compile;
use gen_compile::graph;
use gen_target::error::{Error, Result};

pub fn run(project: &Utf8Path, profile: &str, format: GraphFormat) -> Result<Outcome> {
    let (_, deployment, derived) = compile::analyse(project, profile)?;
    match format {
        GraphFormat::Mermaid => print!("{}", graph::mermaid(&deployment, &derived)),
        GraphFormat::Dot => print!("{}", graph::dot(&deployment, &derived)),
        GraphFormat::Svg => {
            let svg = render_svg(&graph::dot(&deployment, &derived))?;
            std::io::stdout()
                .write_all(&svg)
                .map_err(|e| Error::write("<stdout>", e))?;
        }
    }
    Ok(Outcome::Clean)
}

/// Runs Graphviz's `dot -Tsvg`.
fn render_svg(dot: &str) -> Result<Vec<u8>> {
    let missing = |e: std::io::Error| Error::Usage {
        message: format!("cannot run Graphviz `dot`: {e}"),
        help: Some(
            "install Graphviz (`apt-get install graphviz`) or use `--as dot` / `--as mermaid`"
                .into(),
        ),
    };
    let mut child = Command::new("dot")
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(missing)?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(dot.as_bytes()).map_err(missing)?;
    }
    let output = child.wait_with_output().map_err(missing)?;
    if !output.status.success() {
        return Err(Error::Usage {
            message: format!(
                "Graphviz `dot` failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            ),
            help: None,
        });
    }
    Ok(output.stdout)
}
