//! The profile format as JSON Schema, generated from the raw profile types
//! (their doc comments become descriptions), and the Markdown reference
//! `docs/profile.md` rendered from that schema. Editors that speak TOML
//! (taplo, Even Better TOML) follow the `#:schema` line at the top of each
//! profile to the committed `docs/profile.schema.json`.

use std::fmt::Write as _;

use serde_json::Value;

use crate::profile::Profile;

/// The JSON Schema of a profile file, as an editor checks it. A profile that
/// extends a base may leave out any key the base sets, so this schema requires
/// nothing; whether the merged profile is complete is `gen build`'s to say.
/// Unknown keys and wrong types are refused exactly as `gen build` refuses them.
pub fn profile_schema() -> Value {
    let mut value = full_schema();
    drop_required(&mut value);
    value
}

fn drop_required(value: &mut Value) {
    match value {
        Value::Object(object) => {
            object.remove("required");
            object.values_mut().for_each(drop_required);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_required),
        _ => {}
    }
}

/// The schema with the keys a complete (merged) profile requires.
fn full_schema() -> Value {
    let schema = schemars::schema_for!(Profile);
    let mut value = schema.to_value();
    if let Some(object) = value.as_object_mut() {
        object.insert(
            "$id".into(),
            Value::String("https://gen.invalid/profile.schema.json".into()),
        );
    }
    value
}

/// Pretty JSON with a trailing newline, as committed in `docs/`.
pub fn profile_schema_json() -> String {
    let mut text = serde_json::to_string_pretty(&profile_schema()).unwrap_or_default();
    text.push('\n');
    text
}

/// `docs/profile.md`: every table of the profile format with its keys.
pub fn reference_markdown() -> String {
    let schema = full_schema();
    let mut out = String::new();
    out.push_str("# Profile reference\n\n");
    out.push_str(
        "Generated from gen's profile types by `gen schema --markdown`; a test keeps this file\n\
         current. The same information as JSON Schema is `docs/profile.schema.json`.\n\n\
         Sizes are binary (`512MiB`, `16GiB`; `MB`/`GB` mean the same), durations are\n\
         `30s`, `5m`, `1h`, `7d`, networks are CIDR (`10.0.0.0/8`). Unknown keys are errors.\n\
         \"required\" means the merged profile must set the key; a profile that extends a\n\
         base may leave it to the base.\n\n",
    );
    table(&mut out, "Top level", &schema);
    if let Some(defs) = schema.get("$defs").and_then(Value::as_object) {
        for (name, def) in defs {
            if def.get("properties").is_some() {
                table(&mut out, name, def);
            } else if let Some(values) = enum_values(def) {
                let _ = writeln!(out, "## {name}\n");
                if let Some(description) = def.get("description").and_then(Value::as_str) {
                    let _ = writeln!(out, "{}\n", one_line(description));
                }
                let _ = writeln!(out, "One of: {}.\n", values.join(", "));
            } else if let Some(description) = def.get("description").and_then(Value::as_str) {
                let _ = writeln!(out, "## {name}\n\n{}\n", one_line(description));
            }
        }
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

fn table(out: &mut String, title: &str, def: &Value) {
    let _ = writeln!(out, "## {title}\n");
    if let Some(description) = def.get("description").and_then(Value::as_str) {
        let _ = writeln!(out, "{}\n", one_line(description));
    }
    let required: Vec<&str> = def
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    out.push_str("| key | type | required | description |\n|---|---|---|---|\n");
    if let Some(properties) = def.get("properties").and_then(Value::as_object) {
        for (key, property) in properties {
            let description = property
                .get("description")
                .and_then(Value::as_str)
                .map(one_line)
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "| `{key}` | {} | {} | {} |",
                type_name(property),
                if required.contains(&key.as_str()) {
                    "yes"
                } else {
                    ""
                },
                description.replace('|', "\\|")
            );
        }
    }
    out.push('\n');
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn enum_values(def: &Value) -> Option<Vec<String>> {
    if let Some(values) = def.get("enum").and_then(Value::as_array) {
        return Some(
            values
                .iter()
                .filter_map(Value::as_str)
                .map(|v| format!("`{v}`"))
                .collect(),
        );
    }
    let variants = def.get("oneOf").and_then(Value::as_array)?;
    let mut out = Vec::new();
    for variant in variants {
        let value = variant.get("const").and_then(Value::as_str).or_else(|| {
            variant
                .get("enum")
                .and_then(Value::as_array)
                .and_then(|e| e.first())
                .and_then(Value::as_str)
        })?;
        out.push(format!("`{value}`"));
    }
    Some(out)
}

fn type_name(schema: &Value) -> String {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let name = reference.rsplit('/').next().unwrap_or(reference);
        return format!("[{name}](#{})", name.to_lowercase());
    }
    for combinator in ["anyOf", "oneOf"] {
        if let Some(options) = schema.get(combinator).and_then(Value::as_array) {
            let names: Vec<String> = options
                .iter()
                .filter(|o| o.get("type").and_then(Value::as_str) != Some("null"))
                .map(type_name)
                .collect();
            return names.join(" or ");
        }
    }
    if let Some(values) = enum_values(schema) {
        return values.join(" \\| ");
    }
    let kind = match schema.get("type") {
        Some(Value::String(kind)) => kind.clone(),
        Some(Value::Array(kinds)) => kinds
            .iter()
            .filter_map(Value::as_str)
            .find(|k| *k != "null")
            .unwrap_or("value")
            .to_string(),
        _ => "value".to_string(),
    };
    match kind.as_str() {
        "array" => format!(
            "array of {}",
            schema
                .get("items")
                .map_or_else(|| "values".to_string(), type_name)
        ),
        "object" => match schema.get("additionalProperties") {
            Some(inner) if inner.is_object() => format!("table of {}", type_name(inner)),
            _ => "table".to_string(),
        },
        "integer" => "integer".to_string(),
        "number" => "number".to_string(),
        "boolean" => "boolean".to_string(),
        "string" => match schema.get("format").and_then(Value::as_str) {
            Some(format) => format!("string ({format})"),
            None => "string".to_string(),
        },
        other => other.to_string(),
    }
}
