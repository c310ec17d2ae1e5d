//! One call of an operation: the argument's values placed in the path,
//! query, headers, cookies and body as the document says (style and
//! explode honoured for arrays and objects), checked against the
//! operation's parameters first.

use serde_json::{Map, Value};

use super::document::{In, Operation};

/// What is sent: the method, the URL and the headers and body.
#[derive(Debug, PartialEq)]
pub struct Request {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<(String, Vec<u8>)>,
}

/// Characters kept as they are in a path segment or a query value
/// (RFC 3986 unreserved).
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A scalar as text (strings without quotes).
fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Builds the request for `args` against `base` (the server URL, no
/// trailing slash). Unknown or missing arguments are refused by name.
pub fn build(op: &Operation, base: &str, args: Option<&Value>) -> Result<Request, String> {
    let empty = Map::new();
    let args = match args {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(map)) => map,
        Some(_) => return Err("the argument must be an object of parameters (and body)".into()),
    };
    for name in args.keys() {
        let known =
            name == "body" && op.body.is_some() || op.parameters.iter().any(|p| &p.name == name);
        if !known {
            let mut names: Vec<&str> = op.parameters.iter().map(|p| p.name.as_str()).collect();
            if op.body.is_some() {
                names.push("body");
            }
            return Err(format!(
                "unknown argument '{name}'; {} takes {}",
                op.tool.path,
                if names.is_empty() {
                    "no arguments".to_owned()
                } else {
                    names.join(", ")
                }
            ));
        }
    }
    let mut path = op.path.clone();
    let mut query: Vec<String> = Vec::new();
    let mut headers = Vec::new();
    let mut cookies: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for p in &op.parameters {
        // The same name in two places: the argument goes to the first.
        if !seen.insert(p.name.as_str()) {
            continue;
        }
        let Some(value) = args.get(&p.name).filter(|v| !v.is_null()) else {
            if p.required {
                return Err(format!(
                    "missing argument '{}' ({} parameter)",
                    p.name,
                    location_name(p.location)
                ));
            }
            continue;
        };
        match p.location {
            In::Path => {
                let text = simple(&p.name, value, p.explode, encode);
                path = path.replace(&format!("{{{}}}", p.name), &text);
            }
            In::Query => query.extend(form(&p.name, value, &p.style, p.explode)),
            In::Header => headers.push((
                p.name.clone(),
                simple(&p.name, value, p.explode, str::to_owned),
            )),
            In::Cookie => cookies.push(format!(
                "{}={}",
                p.name,
                simple(&p.name, value, false, encode)
            )),
        }
    }
    if !cookies.is_empty() {
        headers.push(("cookie".into(), cookies.join("; ")));
    }
    let body = match (&op.body, args.get("body")) {
        (Some(body), Some(value)) => Some(encode_body(&body.media_type, value)?),
        (Some(body), None) if body.required => {
            return Err("missing argument 'body' (the request body)".into())
        }
        _ => None,
    };
    let mut url = format!("{}{}", base.trim_end_matches('/'), path);
    if !query.is_empty() {
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(&query.join("&"));
    }
    Ok(Request {
        method: op.method.clone(),
        url,
        headers,
        body,
    })
}

fn location_name(location: In) -> &'static str {
    match location {
        In::Path => "path",
        In::Query => "query",
        In::Header => "header",
        In::Cookie => "cookie",
    }
}

/// `simple` style: arrays `a,b`; objects `k,v,k2,v2`, or `k=v,k2=v2` exploded.
fn simple(_name: &str, value: &Value, explode: bool, enc: impl Fn(&str) -> String) -> String {
    match value {
        Value::Array(items) => items
            .iter()
            .map(|v| enc(&scalar(v)))
            .collect::<Vec<_>>()
            .join(","),
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| {
                if explode {
                    format!("{}={}", enc(k), enc(&scalar(v)))
                } else {
                    format!("{},{}", enc(k), enc(&scalar(v)))
                }
            })
            .collect::<Vec<_>>()
            .join(","),
        other => enc(&scalar(other)),
    }
}

/// Query pairs (`name=value`, encoded) for the query styles.
fn form(name: &str, value: &Value, style: &str, explode: bool) -> Vec<String> {
    let key = encode(name);
    match (value, style) {
        (Value::Array(items), _) if explode && style == "form" => items
            .iter()
            .map(|v| format!("{key}={}", encode(&scalar(v))))
            .collect(),
        (Value::Array(items), _) => {
            let separator = match style {
                "spaceDelimited" => "%20",
                "pipeDelimited" => "|",
                _ => ",",
            };
            let joined: Vec<String> = items.iter().map(|v| encode(&scalar(v))).collect();
            vec![format!("{key}={}", joined.join(separator))]
        }
        (Value::Object(map), "deepObject") => map
            .iter()
            .map(|(k, v)| format!("{key}%5B{}%5D={}", encode(k), encode(&scalar(v))))
            .collect(),
        (Value::Object(map), _) if explode => map
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(&scalar(v))))
            .collect(),
        (Value::Object(map), _) => {
            let joined: Vec<String> = map
                .iter()
                .flat_map(|(k, v)| [encode(k), encode(&scalar(v))])
                .collect();
            vec![format!("{key}={}", joined.join(","))]
        }
        (other, _) => vec![format!("{key}={}", encode(&scalar(other)))],
    }
}

fn encode_body(media_type: &str, value: &Value) -> Result<(String, Vec<u8>), String> {
    if media_type == "application/x-www-form-urlencoded" {
        let Value::Object(map) = value else {
            return Err("body must be an object for a form".into());
        };
        let pairs: Vec<String> = map
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(&scalar(v))))
            .collect();
        return Ok((media_type.to_owned(), pairs.join("&").into_bytes()));
    }
    if media_type.starts_with("text/") {
        return Ok((media_type.to_owned(), scalar(value).into_bytes()));
    }
    // JSON (and anything else: sent as JSON, the one thing code can give).
    let media = if media_type.contains("json") {
        media_type
    } else {
        "application/json"
    };
    Ok((media.to_owned(), value.to_string().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn petstore() -> Vec<Operation> {
        let doc = super::super::document::parse(include_str!(
            "../../../tests/data/openapi/v3.0-petstore.yaml"
        ))
        .unwrap();
        super::super::document::read("petstore", &doc)
            .unwrap()
            .operations
    }

    #[test]
    fn values_go_where_the_document_says() {
        let ops = petstore();
        let show = ops
            .iter()
            .find(|o| o.tool.path == "petstore.pets.showPetById")
            .unwrap();
        let request = build(show, "http://h/v1", Some(&json!({"petId": "a b"}))).unwrap();
        assert_eq!(request.url, "http://h/v1/pets/a%20b");
        let list = ops
            .iter()
            .find(|o| o.tool.path == "petstore.pets.listPets")
            .unwrap();
        let request = build(list, "http://h/v1/", Some(&json!({"limit": 5}))).unwrap();
        assert_eq!(
            (request.method.as_str(), request.url.as_str()),
            ("GET", "http://h/v1/pets?limit=5")
        );
        let err = build(list, "http://h", Some(&json!({"limits": 5}))).unwrap_err();
        assert_eq!(
            err,
            "unknown argument 'limits'; petstore.pets.listPets takes limit"
        );
        let create = ops
            .iter()
            .find(|o| o.tool.path == "petstore.pets.createPets")
            .unwrap();
        assert!(build(create, "http://h", None)
            .unwrap_err()
            .contains("'body'"));
        let err = build(show, "http://h", Some(&json!({}))).unwrap_err();
        assert_eq!(err, "missing argument 'petId' (path parameter)");
    }

    #[test]
    fn query_styles_and_explode() {
        assert_eq!(form("id", &json!([3, 4]), "form", true), ["id=3", "id=4"]);
        assert_eq!(form("id", &json!([3, 4]), "form", false), ["id=3,4"]);
        assert_eq!(
            form("id", &json!([3, 4]), "pipeDelimited", false),
            ["id=3|4"]
        );
        assert_eq!(
            form("f", &json!({"a": 1}), "deepObject", true),
            ["f%5Ba%5D=1"]
        );
        assert_eq!(
            form("f", &json!({"a": 1, "b": "x"}), "form", true),
            ["a=1", "b=x"]
        );
        assert_eq!(form("f", &json!({"a": 1}), "form", false), ["f=a,1"]);
    }
}
