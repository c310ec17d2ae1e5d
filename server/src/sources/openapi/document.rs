//! An OpenAPI 3.0 or 3.1 document (JSON or YAML) read leniently into a
//! JSON value, and its operations as tools: `<source>.<group>.<operation>`
//! (docs/sources.md#openapi). Real documents are sloppy and the typed
//! crates each cover one version, so this reads only what it needs and
//! resolves local `$ref`s itself.

use std::collections::{BTreeMap, HashSet};

use serde_json::{json, Map, Value};

use app::engine::tools::schema::{inline_refs, pointer};
use app::engine::tools::{Approval, ToolDescriptor};

/// The methods an OpenAPI path item may hold, in the order tools are made.
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];
/// A description longer than this is cut (GitHub's run to pages).
const MAX_DESCRIPTION: usize = 1_000;

/// Where a parameter goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum In {
    Path,
    Query,
    Header,
    Cookie,
}

/// A parameter as the document says to send it.
#[derive(Clone, Debug)]
pub struct Parameter {
    pub name: String,
    pub location: In,
    pub required: bool,
    /// `simple`, `form`, `deepObject`, `spaceDelimited`, `pipeDelimited`, …
    pub style: String,
    pub explode: bool,
    pub schema: Value,
    pub description: Option<String>,
}

/// The request body: the media type chosen (JSON when offered) and its schema.
#[derive(Clone, Debug)]
pub struct Body {
    pub media_type: String,
    pub required: bool,
    pub schema: Value,
}

/// One operation as a tool.
#[derive(Clone, Debug)]
pub struct Operation {
    pub method: String,
    /// The path template, `/pets/{petId}`.
    pub path: String,
    pub parameters: Vec<Parameter>,
    pub body: Option<Body>,
    pub tool: ToolDescriptor,
}

/// What a document yields.
#[derive(Debug)]
pub struct Document {
    pub title: String,
    /// The first server's URL, variables filled with their defaults.
    pub server_url: Option<String>,
    pub operations: Vec<Operation>,
}

/// JSON, else YAML.
pub fn parse(text: &str) -> Result<Value, String> {
    if let Ok(value) = serde_json::from_str::<Value>(text) {
        return Ok(value);
    }
    serde_yaml_ng::from_str::<Value>(text).map_err(|e| format!("neither JSON nor YAML: {e}"))
}

/// The operations of `doc` as tools under `source`.
pub fn read(source: &str, doc: &Value) -> Result<Document, String> {
    let version = doc
        .get("openapi")
        .and_then(Value::as_str)
        .ok_or("not an OpenAPI 3 document (no `openapi` version field)")?;
    if !version.starts_with("3.") {
        return Err(format!(
            "OpenAPI {version} is not supported (3.0 and 3.1 are)"
        ));
    }
    let title = doc
        .pointer("/info/title")
        .and_then(Value::as_str)
        .unwrap_or(source)
        .to_owned();
    let server_url = doc
        .get("servers")
        .and_then(Value::as_array)
        .and_then(|s| s.first())
        .and_then(server_url);
    let mut operations = Vec::new();
    let mut taken = HashSet::new();
    let empty = Map::new();
    let paths = doc
        .get("paths")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    for (path, item) in paths {
        let item = resolve(doc, item);
        let Some(item) = item.as_object() else {
            continue;
        };
        let shared = item.get("parameters");
        for method in METHODS {
            let Some(op) = item.get(method).and_then(Value::as_object) else {
                continue;
            };
            let mut parameters = parameters(doc, shared, op.get("parameters"));
            let mut body = op.get("requestBody").and_then(|b| body(doc, b));
            let relative = match op.get("x-executor-tool-path").and_then(Value::as_str) {
                Some(chosen) => chosen.to_owned(),
                None => format!("{}.{}", group(op, path), operation_name(op, method, path)),
            };
            let relative = unique(relative, &mut taken);
            let description = describe(op, method, path);
            let mut tool = ToolDescriptor::new(format!("{source}.{relative}"), description);
            tool.input_schema = Some(input_schema(&mut parameters, body.as_mut()));
            if !matches!(method, "get" | "head") {
                tool.approval = Approval::Required { message: None };
            }
            operations.push(Operation {
                method: method.to_ascii_uppercase(),
                path: path.clone(),
                parameters,
                body,
                tool,
            });
        }
    }
    Ok(Document {
        title,
        server_url,
        operations,
    })
}

/// A `$ref` object replaced by its target (once: targets are objects).
fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    let mut value = value;
    for _ in 0..8 {
        match value.get("$ref").and_then(Value::as_str) {
            Some(target) => match pointer(doc, target) {
                Some(found) => value = found,
                None => break,
            },
            None => break,
        }
    }
    value
}

fn server_url(server: &Value) -> Option<String> {
    let mut url = server.get("url")?.as_str()?.to_owned();
    if let Some(vars) = server.get("variables").and_then(Value::as_object) {
        for (name, var) in vars {
            if let Some(default) = var.get("default").and_then(Value::as_str) {
                url = url.replace(&format!("{{{name}}}"), default);
            }
        }
    }
    Some(url)
}

/// Path-level parameters, overridden by the operation's of the same name
/// and place.
fn parameters(doc: &Value, shared: Option<&Value>, own: Option<&Value>) -> Vec<Parameter> {
    let mut out: Vec<Parameter> = Vec::new();
    for list in [shared, own].into_iter().flatten() {
        for p in list.as_array().into_iter().flatten() {
            let Some(p) = parameter(doc, resolve(doc, p)) else {
                continue;
            };
            out.retain(|q| !(q.name == p.name && q.location == p.location));
            out.push(p);
        }
    }
    out
}

fn parameter(doc: &Value, p: &Value) -> Option<Parameter> {
    let name = p.get("name")?.as_str()?.to_owned();
    let location = match p.get("in")?.as_str()? {
        "path" => In::Path,
        "query" => In::Query,
        "header" => In::Header,
        "cookie" => In::Cookie,
        _ => return None,
    };
    let style = p
        .get("style")
        .and_then(Value::as_str)
        .unwrap_or(match location {
            In::Query | In::Cookie => "form",
            In::Path | In::Header => "simple",
        })
        .to_owned();
    let explode = p
        .get("explode")
        .and_then(Value::as_bool)
        .unwrap_or(style == "form");
    // 3.x allows `content` instead of `schema`: its one media type's schema.
    let schema = p
        .get("schema")
        .or_else(|| {
            p.get("content")
                .and_then(Value::as_object)
                .and_then(|c| c.values().next())
                .and_then(|m| m.get("schema"))
        })
        .map(|s| inline_refs(s, doc))
        .unwrap_or_else(|| json!({}));
    Some(Parameter {
        name,
        required: location == In::Path
            || p.get("required").and_then(Value::as_bool).unwrap_or(false),
        location,
        style,
        explode,
        schema,
        description: p
            .get("description")
            .and_then(Value::as_str)
            .map(|d| cut(d, 300)),
    })
}

fn body(doc: &Value, body: &Value) -> Option<Body> {
    let body = resolve(doc, body);
    let content = body.get("content")?.as_object()?;
    let (media_type, media) = content
        .iter()
        .find(|(t, _)| t.starts_with("application/json") || t.ends_with("+json"))
        .or_else(|| content.iter().next())?;
    Some(Body {
        media_type: media_type.clone(),
        required: body
            .get("required")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        schema: media
            .get("schema")
            .map(|s| inline_refs(s, doc))
            .unwrap_or_else(|| json!({})),
    })
}

/// The one argument: parameters by name, plus `body`; nothing else. The
/// schemas move into it (calls need only names and places: a large
/// document's schemas are kept once).
fn input_schema(parameters: &mut [Parameter], body: Option<&mut Body>) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for p in parameters.iter_mut() {
        if properties.contains_key(&p.name) {
            // The same name in two places: the first one is the argument.
            continue;
        }
        let mut schema = std::mem::take(&mut p.schema);
        if let (Some(description), Value::Object(map)) = (p.description.take(), &mut schema) {
            map.entry("description")
                .or_insert_with(|| json!(description));
        }
        properties.insert(p.name.clone(), schema);
        if p.required {
            required.push(json!(p.name));
        }
    }
    if let Some(body) = body {
        properties.insert("body".into(), std::mem::take(&mut body.schema));
        if body.required {
            required.push(json!("body"));
        }
    }
    json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}

/// The group: the first tag, else the first path segment that is not a
/// version, `api` or a parameter.
fn group(op: &Map<String, Value>, path: &str) -> String {
    let tag = op
        .get("tags")
        .and_then(Value::as_array)
        .and_then(|t| t.first())
        .and_then(Value::as_str);
    let from_path = || {
        path.split('/')
            .filter(|s| !s.is_empty() && !s.starts_with('{'))
            .find(|s| !is_version(s) && !s.eq_ignore_ascii_case("api"))
    };
    let name = camel(tag.or_else(from_path).unwrap_or("root"));
    if name.is_empty() {
        "root".into()
    } else {
        name
    }
}

fn is_version(segment: &str) -> bool {
    let rest = segment
        .strip_prefix('v')
        .or_else(|| segment.strip_prefix('V'))
        .unwrap_or(segment);
    !rest.is_empty() && rest.chars().all(|c| c.is_ascii_digit() || c == '.')
}

/// camelCase of `operationId` (its last `/` part: GitHub's
/// `issues/list-for-repo` is `listForRepo`), else method and path.
fn operation_name(op: &Map<String, Value>, method: &str, path: &str) -> String {
    if let Some(id) = op.get("operationId").and_then(Value::as_str) {
        let name = camel(id.rsplit('/').next().unwrap_or(id));
        if !name.is_empty() {
            return name;
        }
    }
    let mut words = vec![method.to_owned()];
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(param) => {
                words.push("by".into());
                words.push(param.to_owned());
            }
            None => words.push(segment.to_owned()),
        }
    }
    camel(&words.join(" "))
}

/// Words joined camelCase, first one lowercase; inner capitals kept
/// (`listPets` stays), everything not a letter or digit a break.
pub fn camel(text: &str) -> String {
    let mut out = String::new();
    for (i, word) in text
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .enumerate()
    {
        let mut chars = word.chars();
        let Some(first) = chars.next() else { continue };
        if i == 0 {
            out.extend(first.to_lowercase());
        } else {
            out.extend(first.to_uppercase());
        }
        out.push_str(chars.as_str());
    }
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// A taken path gets 2, 3, … in document order, so names are stable.
fn unique(path: String, taken: &mut HashSet<String>) -> String {
    let mut candidate = path.clone();
    let mut n = 2;
    while !taken.insert(candidate.clone()) {
        candidate = format!("{path}{n}");
        n += 1;
    }
    candidate
}

fn describe(op: &Map<String, Value>, method: &str, path: &str) -> String {
    let text = |k: &str| op.get(k).and_then(Value::as_str).map(str::trim);
    let mut out = match (text("summary"), text("description")) {
        (Some(s), Some(d)) if !d.is_empty() && d != s => format!("{s}. {d}"),
        (Some(s), _) => s.to_owned(),
        (None, Some(d)) => d.to_owned(),
        (None, None) => String::new(),
    };
    out = cut(&out, MAX_DESCRIPTION);
    let call = format!("{} {path}", method.to_ascii_uppercase());
    if out.is_empty() {
        call
    } else {
        format!("{out} ({call})")
    }
}

pub fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max).collect();
    out.push('…');
    out
}

/// The tools by path, for lookups at call time.
pub fn by_path(operations: Vec<Operation>) -> BTreeMap<String, Operation> {
    operations
        .into_iter()
        .map(|o| (o.tool.path.clone(), o))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_tags_operation_ids_or_the_path() {
        assert_eq!(camel("list-for-repo"), "listForRepo");
        assert_eq!(camel("get-board"), "getBoard");
        assert_eq!(camel("listPets"), "listPets");
        assert_eq!(camel("Gameplay"), "gameplay");
        let op = json!({"operationId": "issues/list-for-repo", "tags": ["issues"]});
        let op = op.as_object().unwrap();
        assert_eq!(group(op, "/repos/{owner}/{repo}/issues"), "issues");
        assert_eq!(operation_name(op, "get", "/x"), "listForRepo");
        let bare = Map::new();
        assert_eq!(group(&bare, "/api/v2/users/{id}"), "users");
        assert_eq!(operation_name(&bare, "get", "/users/{id}"), "getUsersById");
    }

    #[test]
    fn an_extension_names_the_tool_and_writes_need_approval() {
        let doc = json!({
            "openapi": "3.1.0",
            "info": {"title": "T", "version": "1"},
            "paths": {"/api/v1/things/{id}": {
                "parameters": [{"name": "id", "in": "path", "schema": {"type": "string"}}],
                "get": {"x-executor-tool-path": "things.fetch"},
                "delete": {},
                "post": {"operationId": "make", "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object"}}}}}
            }}
        });
        let read = read("t", &doc).unwrap();
        let paths: Vec<&str> = read
            .operations
            .iter()
            .map(|o| o.tool.path.as_str())
            .collect();
        assert_eq!(
            paths,
            [
                "t.things.fetch",
                "t.things.make",
                "t.things.deleteApiV1ThingsById"
            ]
        );
        let approval = |i: usize| read.operations[i].tool.approval_message().is_some();
        assert_eq!((approval(0), approval(1), approval(2)), (false, true, true));
        let schema = read.operations[1].tool.input_schema.clone().unwrap();
        assert_eq!(schema["required"], json!(["id", "body"]));
        assert_eq!(schema["additionalProperties"], false);
    }

    #[test]
    fn collisions_get_numbers_in_document_order() {
        let mut taken = HashSet::new();
        assert_eq!(unique("a.b".into(), &mut taken), "a.b");
        assert_eq!(unique("a.b".into(), &mut taken), "a.b2");
        assert_eq!(unique("a.b".into(), &mut taken), "a.b3");
    }
}
