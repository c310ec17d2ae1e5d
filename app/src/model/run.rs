//! What callers send to start, resume or cancel a run and what they get back
//! (docs/api.md#run-code, the POST endpoints). Validation lives here so the
//! JSON routes, the CLI and the page reject the same inputs the same way.

use serde::{Deserialize, Serialize};

use super::BadParam;

/// Who started a run: `http`, `cli`, `mcp`, `ui` or any kind a host names.
/// Only 1–64 characters of `[a-z0-9_.-]` are accepted, so a kind is always
/// safe to show, filter on and put in a URL.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TriggerKind(String);

impl TriggerKind {
    pub const HTTP: &'static str = "http";
    pub const CLI: &'static str = "cli";
    pub const MCP: &'static str = "mcp";
    pub const UI: &'static str = "ui";

    pub fn parse(raw: &str) -> Result<Self, String> {
        super::TriggerFilter::validate_kind(raw).map(|()| Self(raw.to_owned()))
    }

    /// For kinds the program itself names; they are known to be valid.
    pub fn known(kind: &'static str) -> Self {
        Self(kind.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for TriggerKind {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<TriggerKind> for String {
    fn from(value: TriggerKind) -> Self {
        value.0
    }
}

/// The trigger of a run: its kind and, optionally, details the host adds
/// (an MCP session id, the run a rerun repeats, …) as a JSON object.
#[derive(Clone, Debug, PartialEq)]
pub struct Trigger {
    pub kind: TriggerKind,
    pub meta: Option<serde_json::Map<String, serde_json::Value>>,
    /// The session the run belongs to, kept in a column of its own.
    pub session: Option<super::SessionId>,
}

/// Largest accepted `x-executor-trigger-meta`, so a header cannot bloat every row.
pub const MAX_TRIGGER_META_BYTES: usize = 8 * 1024;

impl Trigger {
    pub fn new(kind: TriggerKind) -> Self {
        Self {
            kind,
            meta: None,
            session: None,
        }
    }

    /// Reads the trigger headers (kind, meta, session); `kind` falls back to
    /// `default_kind`.
    pub fn from_headers(
        kind: Option<&str>,
        meta: Option<&str>,
        session: Option<&str>,
        default_kind: &'static str,
    ) -> Result<Self, BadParam> {
        let kind = match kind {
            None => TriggerKind::known(default_kind),
            Some(raw) => TriggerKind::parse(raw).map_err(|message| BadParam {
                param: super::params::TRIGGER_HEADER.name.into(),
                message,
            })?,
        };
        let meta = match meta {
            None => None,
            Some(raw) => Some(parse_meta(raw).map_err(|message| BadParam {
                param: super::params::TRIGGER_META_HEADER.name.into(),
                message,
            })?),
        };
        let session = session
            .map(super::SessionId::parse)
            .transpose()
            .map_err(|message| BadParam {
                param: super::params::SESSION_HEADER.name.into(),
                message,
            })?;
        Ok(Self {
            kind,
            meta,
            session,
        })
    }

    pub fn meta_json(&self) -> Option<String> {
        self.meta
            .as_ref()
            .map(|m| serde_json::Value::Object(m.clone()).to_string())
    }
}

fn parse_meta(raw: &str) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    if raw.len() > MAX_TRIGGER_META_BYTES {
        return Err(format!(
            "is {} bytes; at most {MAX_TRIGGER_META_BYTES} are accepted",
            raw.len()
        ));
    }
    match serde_json::from_str::<serde_json::Value>(raw) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        Ok(_) => Err("must be a JSON object such as {\"sessionId\":\"abc\"}".into()),
        Err(e) => Err(format!("is not valid JSON ({e}); send a JSON object")),
    }
}

/// Body of `POST /executions`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RunRequest {
    /// JavaScript; top-level `await` works and a final `return` gives the result.
    pub code: String,
    /// Wall-time limit for this run in milliseconds (default 5000).
    #[serde(default, deserialize_with = "integral")]
    pub timeout_ms: Option<u64>,
}

/// A JSON integer, also when written with a zero fraction (`2500.0`): JSON
/// Schema, and so the OpenAPI document, counts that as an integer too.
fn integral<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    use serde::de::Error;
    let Some(number) = Option::<serde_json::Number>::deserialize(d)? else {
        return Ok(None);
    };
    if let Some(n) = number.as_u64() {
        return Ok(Some(n));
    }
    match number.as_f64() {
        Some(f) if f.fract() == 0.0 && (0.0..=u64::MAX as f64).contains(&f) => Ok(Some(f as u64)),
        _ => Err(D::Error::custom(format!(
            "timeoutMs: expected a non-negative integer; got {number}"
        ))),
    }
}

/// Largest per-run wall time a caller may ask for.
pub const MAX_TIMEOUT_MS: u64 = 300_000;

/// What `code` must match (a JSON Schema regex): something besides ASCII
/// whitespace, and no NUL character (PostgreSQL cannot store one).
/// [`RunRequest::validate`] checks the same.
pub const CODE_PATTERN: &str = "^[^\\u0000]*[^\\t\\n\\u000b\\f\\r \\u0000][^\\u0000]*$";

fn has_code(code: &str) -> bool {
    !code.contains('\0')
        && code
            .chars()
            .any(|c| !matches!(c, '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | ' '))
}

impl RunRequest {
    pub fn validate(&self) -> Result<(), BadParam> {
        if !has_code(&self.code) {
            return Err(BadParam {
                param: "code".into(),
                message: "must contain some JavaScript, and no NUL character".into(),
            });
        }
        if let Some(ms) = self.timeout_ms {
            if !(1..=MAX_TIMEOUT_MS).contains(&ms) {
                return Err(BadParam {
                    param: "timeoutMs".into(),
                    message: format!("must be an integer from 1 to {MAX_TIMEOUT_MS}, got {ms}"),
                });
            }
        }
        Ok(())
    }
}

/// How a person answered an interaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ResumeAction {
    Accept,
    Decline,
    Cancel,
}

impl ResumeAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accept => "accept",
            Self::Decline => "decline",
            Self::Cancel => "cancel",
        }
    }
}

/// Body of `POST /executions/:id/resume`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResumeRequest {
    pub action: ResumeAction,
    /// What the person entered, for a form.
    #[cfg_attr(feature = "ssr", schema(value_type = Option<Object>))]
    pub content: Option<serde_json::Value>,
}

/// What a paused run asks for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum ElicitationRequest {
    /// Fill in (or approve) a form described by a JSON schema.
    #[serde(rename_all = "camelCase")]
    Form {
        message: String,
        #[cfg_attr(feature = "ssr", schema(value_type = Object))]
        requested_schema: serde_json::Value,
    },
    /// Visit a URL (say, to sign in) and come back.
    #[serde(rename_all = "camelCase")]
    Url { message: String, url: String },
}

impl ElicitationRequest {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Form { .. } => "form",
            Self::Url { .. } => "url",
        }
    }

    pub fn message(&self) -> &str {
        match self {
            Self::Form { message, .. } | Self::Url { message, .. } => message,
        }
    }
}

/// The pending interaction of a paused run, as callers see it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PendingInteraction {
    pub id: String,
    #[serde(flatten)]
    pub request: ElicitationRequest,
}

/// Where a run stands when a POST returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Completed,
    Failed,
    Cancelled,
    WaitingForInteraction,
}

/// Answer of `POST /executions`, `/resume`, `/cancel` and `/rerun`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RunResponse {
    pub status: RunStatus,
    pub execution_id: String,
    /// The value of the code's final `return`, as JSON; null when it returned nothing.
    #[cfg_attr(feature = "ssr", schema(value_type = Option<Object>))]
    pub result: Option<serde_json::Value>,
    pub error: Option<String>,
    pub logs: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interaction: Option<PendingInteraction>,
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The declared pattern and the validation take the same code.
        #[test]
        fn the_code_pattern_and_validation_agree(code in "[ \t\n\u{b}\u{c}\r\u{0}\u{a0}\u{1c}a]{0,6}") {
            let pattern = regex::Regex::new(CODE_PATTERN).unwrap();
            proptest::prop_assert_eq!(has_code(&code), pattern.is_match(&code), "{:?}", code);
        }
    }

    #[test]
    fn trigger_kinds_are_validated() {
        assert!(TriggerKind::parse("cli").is_ok());
        assert!(TriggerKind::parse("my-host.v2_x").is_ok());
        assert!(TriggerKind::parse("").is_err());
        assert!(TriggerKind::parse("CLI").is_err());
        assert!(TriggerKind::parse("a b").is_err());
        assert!(TriggerKind::parse(&"a".repeat(65)).is_err());
        assert!(TriggerKind::parse(&"a".repeat(64)).is_ok());
    }

    #[test]
    fn trigger_headers_default_and_fail_with_the_header_name() {
        let t = Trigger::from_headers(None, None, None, TriggerKind::HTTP).unwrap();
        assert_eq!(t.kind.as_str(), "http");
        assert_eq!((t.meta_json(), t.session), (None, None));
        let t = Trigger::from_headers(
            Some("mcp"),
            Some(r#"{"client":"x"}"#),
            Some("mcp:abc-123"),
            "http",
        )
        .unwrap();
        assert_eq!(t.meta_json().as_deref(), Some(r#"{"client":"x"}"#));
        assert_eq!(t.session.unwrap().as_str(), "mcp:abc-123");
        let bad = Trigger::from_headers(Some("Nope!"), None, None, "http").unwrap_err();
        assert_eq!(bad.param, "x-executor-trigger");
        let bad = Trigger::from_headers(None, Some("[1]"), None, "http").unwrap_err();
        assert_eq!(bad.param, "x-executor-trigger-meta");
        let bad = Trigger::from_headers(None, Some("{"), None, "http").unwrap_err();
        assert_eq!(bad.param, "x-executor-trigger-meta");
        let bad = Trigger::from_headers(None, None, Some("a b"), "http").unwrap_err();
        assert_eq!(bad.param, "x-executor-session");
    }

    #[test]
    fn run_requests_need_code_and_a_sane_timeout() {
        let ok = RunRequest {
            code: "return 1".into(),
            timeout_ms: Some(100),
        };
        assert!(ok.validate().is_ok());
        let empty = RunRequest {
            code: "  ".into(),
            timeout_ms: None,
        };
        assert_eq!(empty.validate().unwrap_err().param, "code");
        let zero = RunRequest {
            code: "1".into(),
            timeout_ms: Some(0),
        };
        assert_eq!(zero.validate().unwrap_err().param, "timeoutMs");
    }

    #[test]
    fn pending_interactions_serialize_flat() {
        let p = PendingInteraction {
            id: "i1".into(),
            request: ElicitationRequest::Form {
                message: "Approve demo.write?".into(),
                requested_schema: serde_json::json!({}),
            },
        };
        let v = serde_json::to_value(&p).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"id":"i1","kind":"form","message":"Approve demo.write?","requestedSchema":{}})
        );
    }
}
