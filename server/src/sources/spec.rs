//! What a source is configured as: in the config file (`[[sources]]`),
//! through `POST /sources`, and as stored per scope. One shape for all
//! three; secrets appear only as `{secret:NAME}` references.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A source's configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum SourceSpec {
    Openapi(OpenApiSpec),
    Mcp(McpSpec),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OpenApiSpec {
    /// The namespace: `tools.<name>.…`.
    pub name: String,
    /// Where the document is: an http(s) URL, or (config file only) a
    /// file path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<String>,
    /// The document itself (JSON or YAML text), as the CLI sends a local
    /// file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<String>,
    /// Overrides the document's first server URL.
    #[serde(default, alias = "base_url", skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// Sent with every call; values may hold `{secret:NAME}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Added to every call's query; values may hold `{secret:NAME}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub query: BTreeMap<String, String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct McpSpec {
    pub name: String,
    /// A streamable HTTP endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// A program to start and speak to over stdio (only when stdio sources
    /// are allowed: in the config file, or by the server's
    /// `--allow-stdio-sources`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// The program's environment additions; values may hold `{secret:NAME}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Sent with every HTTP request; values may hold `{secret:NAME}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
}

impl SourceSpec {
    pub fn name(&self) -> &str {
        match self {
            Self::Openapi(s) => &s.name,
            Self::Mcp(s) => &s.name,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Self::Openapi(_) => "openapi",
            Self::Mcp(_) => "mcp",
        }
    }

    /// What is wrong with it before anything is loaded, for a 400.
    pub fn check(&self, from_config: bool, stdio_allowed: bool) -> Result<(), String> {
        app::engine::tools::check_namespace(self.name())?;
        match self {
            Self::Openapi(s) => {
                match (&s.spec, &s.document) {
                    (None, None) => return Err("an openapi source needs spec (a URL) or document".into()),
                    (Some(_), Some(_)) => return Err("give spec or document, not both".into()),
                    (Some(spec), None) if !from_config && !is_http(spec) => {
                        return Err(format!(
                            "spec '{spec}' must be an http(s) URL; send a local file's text as document (the CLI does)"
                        ))
                    }
                    _ => {}
                }
                if let Some(base) = &s.base_url {
                    if !is_http(base) {
                        return Err(format!("baseUrl '{base}' must be an http(s) URL"));
                    }
                }
            }
            Self::Mcp(s) => match (&s.url, &s.command) {
                (None, None) => return Err("an mcp source needs url or command".into()),
                (Some(_), Some(_)) => return Err("give url or command, not both".into()),
                (Some(url), None) if !is_http(url) => {
                    return Err(format!("url '{url}' must be an http(s) URL"))
                }
                (None, Some(_)) if !(from_config || stdio_allowed) => {
                    return Err("stdio sources (command) are off on this server; its operator can allow them with --allow-stdio-sources or in the config file".into())
                }
                _ => {}
            },
        }
        Ok(())
    }
}

/// The API's body for a source, as JSON Schema (the OpenAPI document's):
/// exactly what [`SourceSpec::check`] takes through the API.
pub fn json_schema() -> serde_json::Value {
    use app::engine::tools::{BUILTIN_NAMESPACES, NAMESPACE_PATTERN};
    use serde_json::json;
    let name = json!({"type": "string", "pattern": NAMESPACE_PATTERN, "not": {"enum": BUILTIN_NAMESPACES}});
    let url = json!({"type": "string", "pattern": "^https?://"});
    let templates = json!({"type": "object", "additionalProperties": {"type": "string"}, "description": "Values may hold {secret:NAME}"});
    let openapi = |place: &str| {
        json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["kind", "name", place],
            "properties": {
                "kind": {"const": "openapi"},
                "name": name,
                "spec": if place == "spec" { json!(url) } else { json!({"type": "null"}) },
                "document": if place == "document" { json!({"type": "string", "description": "The document's text, JSON or YAML"}) } else { json!({"type": "null"}) },
                "baseUrl": {"type": ["string", "null"], "pattern": "^https?://"},
                "headers": templates,
                "query": templates
            }
        })
    };
    let mcp = |place: &str| {
        json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["kind", "name", place],
            "properties": {
                "kind": {"const": "mcp"},
                "name": name,
                "url": if place == "url" { json!(url) } else { json!({"type": "null"}) },
                "command": if place == "command" { json!({"type": "string", "description": "Only when the server allows stdio sources (else 403)"}) } else { json!({"type": "null"}) },
                "args": {"type": "array", "items": {"type": "string"}},
                "env": templates,
                "headers": templates
            }
        })
    };
    json!({"oneOf": [openapi("spec"), openapi("document"), mcp("url"), mcp("command")]})
}

fn is_http(text: &str) -> bool {
    text.starts_with("http://") || text.starts_with("https://")
}

/// A `[[sources]]` entry of the config file: a spec, for every scope or one.
#[derive(Clone, Debug, Deserialize)]
pub struct ConfigSource {
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(flatten)]
    pub spec: SourceSpec,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_file_the_api_and_the_store_share_one_shape() {
        let toml_text = r#"
            kind = "openapi"
            name = "petstore"
            spec = "./petstore.yaml"
            base_url = "http://127.0.0.1:8080/v1"
            headers = { Authorization = "Bearer {secret:pets}" }
        "#;
        let from_toml: ConfigSource = toml::from_str(toml_text).unwrap();
        let json = serde_json::to_value(&from_toml.spec).unwrap();
        assert_eq!(json["baseUrl"], "http://127.0.0.1:8080/v1");
        let back: SourceSpec = serde_json::from_value(json).unwrap();
        assert_eq!(back, from_toml.spec);
        assert!(back.check(true, false).is_ok());
        // Through the API a file path is refused: it would read the
        // server's files.
        assert!(back
            .check(false, false)
            .unwrap_err()
            .contains("http(s) URL"));
        let stdio: SourceSpec =
            serde_json::from_str(r#"{"kind":"mcp","name":"e","command":"npx"}"#).unwrap();
        assert!(stdio
            .check(false, false)
            .unwrap_err()
            .contains("--allow-stdio-sources"));
        let typo = serde_json::from_str::<SourceSpec>(r#"{"kind":"mcp","name":"e","urll":"x"}"#);
        assert!(typo.is_err());
    }
}
