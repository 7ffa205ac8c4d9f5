//! `gen explain <path> --profile P --host H`.

use camino::Utf8Path;

use crate::cli::{Format, Outcome};
use gen_compile::compile;
use gen_compile::explain;
use gen_target::error::{Error, Result};

pub fn run(
    project: &Utf8Path,
    profile: &str,
    host_name: &str,
    path: &str,
    format: Format,
) -> Result<Outcome> {
    let (loaded, deployment, derived) = compile::analyse(project, profile)?;
    let host = deployment.host(host_name).ok_or_else(|| Error::Usage {
        message: format!("profile `{profile}` has no host `{host_name}`"),
        help: Some(format!(
            "hosts: {}",
            deployment
                .hosts
                .iter()
                .map(|h| h.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    })?;
    let artifacts = gen_compile::catalog::artifacts_for(&deployment, host);
    let explanation = match artifacts.iter().find(|a| a.path == path) {
        Some(spec) => Some(explain::explain(
            &deployment,
            &derived,
            &loaded.sources,
            host,
            spec,
        )),
        // A unit's `[Install]` link.
        None => artifacts.iter().find_map(|unit| {
            explain::explain_link(&deployment, &derived, &loaded.sources, host, unit, path)
        }),
    };
    let explanation = explanation.ok_or_else(|| Error::Usage {
        message: format!("gen writes no `{path}` on host `{host_name}`"),
        help: Some(format!(
            "files on `{host_name}`: {}",
            artifacts
                .iter()
                .map(|a| a.path.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )),
    })?;
    match format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&explanation).unwrap_or_default()
        ),
        _ => print!("{}", explain::render_human(&explanation)),
    }
    Ok(Outcome::Clean)
}
