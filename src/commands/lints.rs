//! `gen lints [NAME]`: the lint table, as text, as `docs/lints.md`, or as JSON.

use crate::cli::{Format, Outcome};
use gen_compile::lints::registry::{self, LintCode};
use gen_target::error::{Error, Result};

pub fn run(name: Option<&str>, format: Format) -> Result<Outcome> {
    let codes: Vec<LintCode> = match name {
        None => LintCode::ALL.to_vec(),
        Some(name) => {
            let bare = name.strip_prefix("gen::lint::").unwrap_or(name);
            let code = LintCode::from_name(bare).ok_or_else(|| Error::Usage {
                message: format!("gen has no lint `{name}`"),
                help: Some("`gen lints` lists every lint".into()),
            })?;
            vec![code]
        }
    };
    match format {
        Format::Markdown if name.is_none() => print!("{}", registry::reference_markdown()),
        Format::Json => {
            let entries: Vec<_> = codes
                .iter()
                .map(|code| {
                    let info = code.info();
                    serde_json::json!({
                        "code": code.code(),
                        "name": info.name,
                        "class": info.class,
                        "level": info.level,
                        "summary": info.summary,
                        "why": info.why,
                        "found_in": info.found_in,
                    })
                })
                .collect();
            println!("{}", serde_json::json!({ "lints": entries }));
        }
        _ if name.is_none() => {
            for code in codes {
                let info = code.info();
                println!("{:<26} {}", info.name, info.summary);
            }
        }
        _ => {
            for code in codes {
                let info = code.info();
                println!("{} ({})\n", code.code(), info.level.as_str());
                println!("{}.\n", info.summary);
                println!("{}\n", info.why);
                println!("Found in: {}.\n", info.found_in);
                println!("Draws the lint:\n\n{}", indent(&info.example));
                println!("Fixed:\n\n{}", indent(&info.fix));
            }
        }
    }
    Ok(Outcome::Clean)
}

/// An example as an indented block; `omit` noted first.
fn indent(example: &registry::Example) -> String {
    let mut out = String::new();
    for table in example.omit {
        out.push_str(&format!("    # the base's [{table}] left out\n"));
    }
    for line in example.toml.lines() {
        out.push_str("    ");
        out.push_str(line);
        out.push('\n');
    }
    out
}
