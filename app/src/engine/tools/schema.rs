//! JSON Schema as tools carry it: local `$ref`s resolved (a recursive one
//! hoisted into `$defs`), and a compact TypeScript-style signature a model
//! reads at a glance.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

/// How deep a schema is printed or resolved before it stops (real
/// documents nest, and a cycle must end).
const MAX_DEPTH: usize = 24;

/// `value` with every local `$ref` (`#/…` into `root`) replaced by what it
/// points at. A reference met again inside itself (recursion) stays a
/// `$ref` to `#/$defs/<name>`, with the definition hoisted there once.
pub fn inline_refs(value: &Value, root: &Value) -> Value {
    let mut defs = BTreeMap::new();
    let mut out = inline(value, root, &mut Vec::new(), &mut defs, 0);
    if !defs.is_empty() {
        if let Value::Object(map) = &mut out {
            map.insert("$defs".into(), Value::Object(defs.into_iter().collect()));
        }
    }
    out
}

fn inline(
    value: &Value,
    root: &Value,
    seen: &mut Vec<String>,
    defs: &mut BTreeMap<String, Value>,
    depth: usize,
) -> Value {
    if depth > MAX_DEPTH {
        return json!({});
    }
    match value {
        Value::Object(map) => {
            if let Some(target) = map.get("$ref").and_then(Value::as_str) {
                let name = target.rsplit('/').next().unwrap_or(target).to_owned();
                if seen.iter().any(|s| s == target) {
                    if !defs.contains_key(&name) {
                        defs.insert(name.clone(), Value::Null);
                        if let Some(found) = pointer(root, target) {
                            let resolved = inline(found, root, &mut Vec::new(), defs, depth + 1);
                            defs.insert(name.clone(), resolved);
                        }
                    }
                    return json!({ "$ref": format!("#/$defs/{name}") });
                }
                let Some(found) = pointer(root, target) else {
                    // An outside or broken reference: left for the reader.
                    return value.clone();
                };
                seen.push(target.to_owned());
                let mut resolved = inline(found, root, seen, defs, depth + 1);
                seen.pop();
                // Siblings of `$ref` (3.1 allows them) refine the target.
                if let Value::Object(out) = &mut resolved {
                    for (k, v) in map.iter().filter(|(k, _)| *k != "$ref") {
                        out.insert(k.clone(), inline(v, root, seen, defs, depth + 1));
                    }
                }
                return resolved;
            }
            Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), inline(v, root, seen, defs, depth + 1)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| inline(v, root, seen, defs, depth + 1))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// A `#/a/b` pointer into `root` (`~1` and `~0` unescaped by serde_json).
pub fn pointer<'a>(root: &'a Value, reference: &str) -> Option<&'a Value> {
    let path = reference.strip_prefix('#')?;
    let decoded: String = percent_decode(path);
    root.pointer(&decoded)
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&text[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `(args: { limit?: number; petId: string }) => unknown`, compact.
pub fn signature(input: Option<&Value>, output: Option<&Value>) -> String {
    let args = match input {
        Some(schema) if has_properties(schema) => format!("args: {}", typescript(schema, 0)),
        Some(_) | None => String::new(),
    };
    let result = output.map_or_else(|| "unknown".to_owned(), |s| typescript(s, 0));
    format!("({args}) => Promise<{result}>")
}

fn has_properties(schema: &Value) -> bool {
    schema
        .get("properties")
        .and_then(Value::as_object)
        .is_some_and(|p| !p.is_empty())
}

/// A schema as a TypeScript type.
pub fn typescript(schema: &Value, depth: usize) -> String {
    if depth > 4 {
        return "…".into();
    }
    let Some(map) = schema.as_object() else {
        return "unknown".into();
    };
    if let Some(values) = map.get("enum").and_then(Value::as_array) {
        return values
            .iter()
            .take(8)
            .map(Value::to_string)
            .collect::<Vec<_>>()
            .join(" | ");
    }
    if let Some(c) = map.get("const") {
        return c.to_string();
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(options) = map.get(key).and_then(Value::as_array) {
            return options
                .iter()
                .map(|o| typescript(o, depth + 1))
                .collect::<Vec<_>>()
                .join(" | ");
        }
    }
    if let Some(all) = map.get("allOf").and_then(Value::as_array) {
        return all
            .iter()
            .map(|o| typescript(o, depth + 1))
            .collect::<Vec<_>>()
            .join(" & ");
    }
    if let Some(reference) = map.get("$ref").and_then(Value::as_str) {
        return reference.rsplit('/').next().unwrap_or("unknown").to_owned();
    }
    let kinds: Vec<&str> = match map.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ if map.contains_key("properties") => vec!["object"],
        _ => vec![],
    };
    if kinds.is_empty() {
        return "unknown".into();
    }
    kinds
        .iter()
        .map(|kind| match *kind {
            "string" => "string".to_owned(),
            "integer" | "number" => "number".to_owned(),
            "boolean" => "boolean".to_owned(),
            "null" => "null".to_owned(),
            "array" => {
                let item = map
                    .get("items")
                    .map_or("unknown".into(), |i| typescript(i, depth + 1));
                if item.contains(' ') {
                    format!("({item})[]")
                } else {
                    format!("{item}[]")
                }
            }
            "object" => object(map, depth),
            other => other.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(" | ")
}

fn object(map: &Map<String, Value>, depth: usize) -> String {
    let Some(properties) = map.get("properties").and_then(Value::as_object) else {
        return "Record<string, unknown>".into();
    };
    let required: Vec<&str> = map
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let fields: Vec<String> = properties
        .iter()
        .map(|(name, schema)| {
            let optional = if required.contains(&name.as_str()) {
                ""
            } else {
                "?"
            };
            let key = if name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !name.starts_with(|c: char| c.is_ascii_digit())
            {
                name.clone()
            } else {
                format!("{name:?}")
            };
            format!("{key}{optional}: {}", typescript(schema, depth + 1))
        })
        .collect();
    if fields.is_empty() {
        "{}".into()
    } else {
        format!("{{ {} }}", fields.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs_resolve_and_a_recursive_one_is_hoisted() {
        let root = json!({
            "components": {"schemas": {
                "Pet": {"type": "object", "required": ["id"], "properties": {
                    "id": {"type": "integer"}, "name": {"type": "string"},
                    "parent": {"$ref": "#/components/schemas/Pet"}
                }}
            }}
        });
        let out = inline_refs(&json!({"$ref": "#/components/schemas/Pet"}), &root);
        assert_eq!(out["properties"]["id"]["type"], "integer");
        assert_eq!(out["properties"]["parent"]["$ref"], "#/$defs/Pet");
        assert_eq!(out["$defs"]["Pet"]["properties"]["name"]["type"], "string");
        assert_eq!(
            signature(Some(&out), None),
            "(args: { id: number; name?: string; parent?: Pet }) => Promise<unknown>"
        );
    }

    #[test]
    fn percent_encoded_pointers_decode() {
        let root = json!({"paths": {"/pets/{id}": {"x": 1}}});
        assert_eq!(
            pointer(&root, "#/paths/~1pets~1%7Bid%7D/x"),
            Some(&json!(1))
        );
    }
}
