//! The profile format as JSON Schema, generated from the raw profile types
//! (their doc comments become descriptions), and the Markdown reference
//! `docs/profile.md` rendered from that schema. Editors that speak TOML
//! (taplo, Even Better TOML) follow the `#:schema` line at the top of each
//! profile to the committed `docs/profile.schema.json` (a base such as
//! `_base.toml` to `docs/profile-base.schema.json`).
//!
//! What an editor shows is the point, so the schema schemars derives is
//! reshaped for TOML: an optional table is a plain table (TOML cannot write
//! null, and "table or null" turns a misspelt key into "not valid under any
//! of the given schemas"), addresses carry the standard `ipv4`/`ipv6`
//! formats, and the keys a profile must set are required exactly where the
//! merge rule (`load.rs`) cannot supply them from a base: everywhere in a
//! profile without `extends`, and inside array elements everywhere, since an
//! array replaces the base's array whole while a table merges key by key.

use std::fmt::Write as _;

use schemars::generate::SchemaSettings;
use schemars::transform::RecursiveTransform;
use serde_json::{Map, Value};

use crate::profile::Profile;

/// Where the committed schemas say they live; the files are what editors read.
const ID: &str = "https://gen.invalid/profile.schema.json";
const BASE_ID: &str = "https://gen.invalid/profile-base.schema.json";

/// The JSON Schema of a profile file, as an editor checks it. A profile
/// without `extends` must set every key a complete profile needs; one that
/// extends a base may leave any table key to the base (`gen build` says
/// whether the merged profile is complete), but each element of an array it
/// writes is whole. Unknown keys and wrong types are refused exactly as
/// `gen build` refuses them.
pub fn profile_schema() -> Value {
    let full = full_schema();
    let mut value = partial(&full);
    if let (Some(object), Some(complete)) =
        (value.as_object_mut(), completeness(&full, defs(&full), 0))
    {
        object.insert("if".into(), serde_json::json!({ "required": ["extends"] }));
        object.insert("else".into(), complete);
    }
    value
}

/// The JSON Schema of a base (`profiles/_base.toml`): a file other profiles
/// extend, which is never built alone and so may leave out any table key.
pub fn base_schema() -> Value {
    let mut value = partial(&full_schema());
    if let Some(object) = value.as_object_mut() {
        object.insert("$id".into(), Value::String(BASE_ID.into()));
        object.insert(
            "title".into(),
            Value::String("gen deployment profile base (extended by other profiles)".into()),
        );
    }
    value
}

/// The schema with every key a complete profile requires, as the reference
/// documents it.
fn full_schema() -> Value {
    let generator = SchemaSettings::draft2020_12()
        .with_transform(RecursiveTransform(without_null))
        .with_transform(RecursiveTransform(standard_address_formats))
        .into_generator();
    let mut value = generator.into_root_schema_for::<Profile>().to_value();
    if let Some(object) = value.as_object_mut() {
        object.insert("$id".into(), Value::String(ID.into()));
    }
    value
}

/// TOML has no null: an `Option` is a key that may be missing, never a value
/// that may be null. schemars writes `Option<T>` as `anyOf [T, null]` (or
/// `type: [T, "null"]`); this leaves `T`.
fn without_null(schema: &mut schemars::Schema) {
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    if let Some(Value::Array(kinds)) = object.get_mut("type") {
        kinds.retain(|kind| kind != "null");
        if let [only] = kinds.as_slice() {
            let only = only.clone();
            object.insert("type".into(), only);
        }
    }
    if let Some(Value::Array(values)) = object.get_mut("enum") {
        values.retain(|value| !value.is_null());
    }
    for combinator in ["anyOf", "oneOf"] {
        let Some(Value::Array(branches)) = object.get_mut(combinator) else {
            continue;
        };
        let before = branches.len();
        branches.retain(|branch| branch.get("type").and_then(Value::as_str) != Some("null"));
        // Only an `Option` loses a branch here; a one-variant enum keeps its `oneOf`.
        if branches.len() == 1 && before == 2 {
            let Some(Value::Object(only)) = branches.pop() else {
                continue;
            };
            object.remove(combinator);
            for (key, value) in only {
                object.entry(key).or_insert(value);
            }
        }
    }
}

/// `std::net::IpAddr` is `format: ip`, which no JSON Schema validator knows;
/// the standard formats are `ipv4` and `ipv6`, told apart by the colon only
/// IPv6 has, so an error names the one format that was meant.
fn standard_address_formats(schema: &mut schemars::Schema) {
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    if object.get("format").and_then(Value::as_str) == Some("ip") {
        object.remove("format");
        object.insert("if".into(), serde_json::json!({ "pattern": ":" }));
        object.insert("then".into(), serde_json::json!({ "format": "ipv6" }));
        object.insert("else".into(), serde_json::json!({ "format": "ipv4" }));
    }
}

fn defs(schema: &Value) -> &Map<String, Value> {
    static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    schema
        .get("$defs")
        .and_then(Value::as_object)
        .unwrap_or_else(|| EMPTY.get_or_init(Map::new))
}

/// Subschemas gen's profile types produce, by the keyword that holds them:
/// one schema, a map of schemas, or a list of schemas.
const ONE: [&str; 6] = ["additionalProperties", "items", "not", "if", "then", "else"];
const MAP: [&str; 3] = ["properties", "patternProperties", "$defs"];
const LIST: [&str; 3] = ["anyOf", "oneOf", "allOf"];

/// The schema for a file that may leave table keys to a base: no `required`
/// anywhere, except what an array element must hold, added to each `items`.
fn partial(full: &Value) -> Value {
    let mut value = full.clone();
    relax(&mut value, defs(full));
    value
}

fn relax(schema: &mut Value, defs: &Map<String, Value>) {
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    object.remove("required");
    let element = object
        .get("items")
        .and_then(|items| completeness(items, defs, 0));
    for (key, sub) in object.iter_mut() {
        if ONE.contains(&key.as_str()) {
            relax(sub, defs);
        } else if MAP.contains(&key.as_str()) {
            if let Some(map) = sub.as_object_mut() {
                map.values_mut().for_each(|s| relax(s, defs));
            }
        } else if LIST.contains(&key.as_str()) {
            if let Some(list) = sub.as_array_mut() {
                list.iter_mut().for_each(|s| relax(s, defs));
            }
        }
    }
    // `allOf` around the element's own schema rather than beside its `$ref`:
    // taplo validates as draft 7, where keywords beside `$ref` are ignored.
    if let (Some(element), Some(items)) = (element, object.get_mut("items")) {
        let own = items.take();
        *items = serde_json::json!({ "allOf": [own, element] });
    }
}

/// The keys a value of `schema` must hold when it is written whole: its
/// `required` keys and, recursively, those of its tables and array elements.
/// Made only of `required`, `properties`, `additionalProperties`, `items` and
/// `allOf`, keywords that hold for any string, number or boolean, so the
/// branches of an untagged enum (a boolean or a table, a path or a table) need
/// no condition: each branch's keys apply only to the JSON type it has. `None`
/// when nothing is required.
fn completeness(schema: &Value, defs: &Map<String, Value>, depth: usize) -> Option<Value> {
    // Profile types are not recursive; the bound only keeps a mistake finite.
    if depth > 32 {
        return None;
    }
    let object = schema.as_object()?;
    let mut parts = Vec::new();
    if let Some(name) = object
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/$defs/"))
    {
        if let Some(def) = defs.get(name) {
            parts.extend(completeness(def, defs, depth + 1));
        }
    }
    let mut own = Map::new();
    if let Some(Value::Array(required)) = object.get("required") {
        if !required.is_empty() {
            own.insert("required".into(), Value::Array(required.clone()));
        }
    }
    if let Some(Value::Object(properties)) = object.get("properties") {
        let nested: Map<String, Value> = properties
            .iter()
            .filter_map(|(key, property)| {
                completeness(property, defs, depth + 1).map(|c| (key.clone(), c))
            })
            .collect();
        if !nested.is_empty() {
            own.insert("properties".into(), Value::Object(nested));
        }
    }
    for keyword in ["additionalProperties", "items"] {
        if let Some(inner) = object
            .get(keyword)
            .and_then(|inner| completeness(inner, defs, depth + 1))
        {
            own.insert(keyword.into(), inner);
        }
    }
    if !own.is_empty() {
        parts.push(Value::Object(own));
    }
    for combinator in LIST {
        if let Some(Value::Array(branches)) = object.get(combinator) {
            parts.extend(
                branches
                    .iter()
                    .filter_map(|branch| completeness(branch, defs, depth + 1)),
            );
        }
    }
    match parts.len() {
        0 => None,
        1 => parts.pop(),
        _ => Some(serde_json::json!({ "allOf": parts })),
    }
}

/// Pretty JSON with a trailing newline, as committed in `docs/`.
pub fn profile_schema_json() -> String {
    pretty(&profile_schema())
}

/// `docs/profile-base.schema.json`, as committed.
pub fn base_schema_json() -> String {
    pretty(&base_schema())
}

fn pretty(value: &Value) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
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
         \"required\" means a profile without `extends` must set the key; a profile that\n\
         extends a base may leave it to the base (the merged profile must have it), except\n\
         inside an element of an array, which is always written whole.\n\n",
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

fn format(schema: Option<&Value>) -> Option<&str> {
    schema?.get("format")?.as_str()
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
        "string" => {
            match (
                format(Some(schema)),
                format(schema.get("else")),
                format(schema.get("then")),
            ) {
                (Some(format), _, _) => format!("string ({format})"),
                (None, Some(one), Some(other)) => format!("string ({one} or {other})"),
                _ => "string".to_string(),
            }
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// TOML cannot write null, so no branch of either schema may offer it.
    #[test]
    fn neither_schema_offers_null() {
        for schema in [profile_schema(), base_schema()] {
            let text = serde_json::to_string(&schema).unwrap_or_default();
            assert!(!text.contains("\"null\""), "{text}");
        }
    }

    /// A one-variant enum is not an `Option`: it keeps its `oneOf`, and the
    /// reference still lists its value.
    #[test]
    fn a_one_variant_enum_keeps_its_value() {
        let schema = full_schema();
        assert!(schema["$defs"]["Resource"]["oneOf"].is_array(), "{schema}");
        assert!(reference_markdown().contains("One of: `database`."));
    }

    /// The base schema requires nothing at all; the profile schema requires
    /// only through its `else` (no `extends`) and inside array elements.
    #[test]
    fn required_keys_sit_where_the_merge_rule_needs_them() {
        let base = serde_json::to_string(&base_schema()).unwrap_or_default();
        assert!(!base.contains("\"else\":{\"properties\""), "{base}");
        let profile = profile_schema();
        assert_eq!(
            profile["else"]["required"],
            serde_json::json!(["project", "network", "hosts"])
        );
        assert!(profile["$defs"]["Project"].get("required").is_none());
        let locations = &profile["$defs"]["Site"]["properties"]["locations"]["items"];
        assert_eq!(
            locations["allOf"][1]["required"],
            serde_json::json!(["path"])
        );
    }
}
