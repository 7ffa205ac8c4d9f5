//! Rollout through Ansible: an inventory derived from a profile's hosts (one
//! group per role) and a playbook that ships each host's reviewed tree and runs
//! `gen plan` and `gen apply --plan` there. gen stays a single binary; Ansible
//! does the fan-out.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::artifact_kind::support_template;
use crate::model::Deployment;
use gen_target::error::{Error, Result};

#[derive(Serialize)]
struct Context<'a> {
    profile: &'a str,
    profile_file: &'a str,
    /// The Jinja expression naming the project's `generated/` on the control
    /// node: relative to `playbook_dir`, or an absolute path.
    generated: String,
    hosts: Vec<HostEntry<'a>>,
    groups: BTreeMap<&'static str, Vec<&'a str>>,
}

#[derive(Serialize)]
struct HostEntry<'a> {
    name: &'a str,
    address: String,
}

/// `(file name, content)` of the inventory and the playbook. `generated` is
/// where the playbook finds the reviewed tree: relative to the playbook's own
/// directory, or absolute.
pub fn render(
    d: &Deployment,
    profile_file: &str,
    generated: &str,
) -> Result<Vec<(&'static str, String)>> {
    // Written into a single-quoted Jinja string inside a double-quoted YAML
    // scalar: refuse what either would read as syntax.
    if generated
        .chars()
        .any(|c| matches!(c, '\'' | '"' | '\\' | '{' | '}' | '%' | '#') || c.is_control())
    {
        return Err(Error::usage(format!(
            "the path `{}` cannot be written into the playbook",
            gen_target::host_path::shown(generated)
        )));
    }
    let generated = if generated.starts_with('/') {
        format!("'{generated}'")
    } else {
        format!("playbook_dir ~ '/{generated}'")
    };
    let mut groups: BTreeMap<&'static str, Vec<&str>> = BTreeMap::new();
    for host in &d.hosts {
        for role in &host.roles {
            groups.entry(role.as_str()).or_default().push(&host.name);
        }
    }
    let context = Context {
        profile: &d.profile,
        profile_file,
        generated,
        hosts: d
            .hosts
            .iter()
            .map(|h| HostEntry {
                name: &h.name,
                address: h.address.to_string(),
            })
            .collect(),
        groups,
    };
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_keep_trailing_newline(true);
    env.add_filter("json", |value: minijinja::Value| {
        serde_json::to_string(&value).unwrap_or_default()
    });
    let mut out = Vec::new();
    for (file, template) in [
        ("inventory.ini", "ansible/inventory.ini.j2"),
        ("playbook.yml", "ansible/playbook.yml.j2"),
    ] {
        let source = support_template(template).unwrap_or_default();
        let render_error = |e: minijinja::Error| Error::Render {
            template: template.to_string(),
            message: format!("{e:#}"),
        };
        let text = env.render_str(source, &context).map_err(render_error)?;
        out.push((file, crate::render::normalise(&text)));
    }
    Ok(out)
}
