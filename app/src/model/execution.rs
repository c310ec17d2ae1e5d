//! The three recorded row kinds. Field names on the wire follow the reference
//! system (camelCase) so its clients keep working; `durationMs` and
//! `hadElicitation` are additions. The reference's `responsePrivateJson` is
//! deliberately absent: nothing wrote it and the API leaked it.

use serde::{Deserialize, Serialize};

use super::ExecutionStatus;

/// One run: a submission of code and its outcome. Times are epoch milliseconds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema, sqlx::FromRow))]
#[serde(rename_all = "camelCase")]
pub struct Execution {
    /// UUID v7, so ids sort by creation time.
    pub id: String,
    pub scope_id: String,
    #[cfg_attr(feature = "ssr", schema(value_type = String))]
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub status: ExecutionStatus,
    pub code: String,
    pub result_json: Option<String>,
    pub error_text: Option<String>,
    /// JSON array of lines such as `"[log] hello"`.
    pub logs_json: Option<String>,
    pub started_at: Option<i64>,
    pub completed_at: Option<i64>,
    /// completed_at − started_at; null until the run is terminal.
    pub duration_ms: Option<i64>,
    /// Null means the caller did not say who it was ("unknown" in filters).
    pub trigger_kind: Option<String>,
    pub trigger_meta_json: Option<String>,
    /// The session the run belongs to (`x-executor-session`, the MCP
    /// session, one CLI invocation); null when the caller named none.
    pub session_id: Option<String>,
    pub tool_call_count: i64,
    pub had_elicitation: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolCallStatus {
    Running,
    Completed,
    Failed,
}

impl ToolCallStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Completed => "completed",
            Self::Failed => "failed",
        }
    }
}

/// One call the code made to a tool.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema, sqlx::FromRow))]
#[serde(rename_all = "camelCase")]
pub struct ToolCall {
    pub id: String,
    pub execution_id: String,
    pub scope_id: String,
    #[cfg_attr(feature = "ssr", schema(value_type = String))]
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub status: ToolCallStatus,
    pub tool_path: String,
    pub namespace: String,
    pub args_json: Option<String>,
    pub result_json: Option<String>,
    pub error_text: Option<String>,
    pub started_at: i64,
    pub completed_at: Option<i64>,
    pub duration_ms: Option<i64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InteractionStatus {
    Pending,
    Resolved,
    Cancelled,
}

impl InteractionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Resolved => "resolved",
            Self::Cancelled => "cancelled",
        }
    }
}

/// A human-in-the-loop request that pauses a run until answered.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema, sqlx::FromRow))]
#[serde(rename_all = "camelCase")]
pub struct Interaction {
    pub id: String,
    pub execution_id: String,
    pub scope_id: String,
    #[cfg_attr(feature = "ssr", schema(value_type = String))]
    #[cfg_attr(feature = "ssr", sqlx(try_from = "String"))]
    pub status: InteractionStatus,
    /// `form` or `url`.
    pub kind: String,
    /// The message shown to the person answering.
    pub purpose: Option<String>,
    pub payload_json: Option<String>,
    /// `{action, content}` once answered.
    pub response_json: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

macro_rules! string_enum_serde_str {
    ($ty:ty, $($variant:ident => $s:literal),+) => {
        impl std::str::FromStr for $ty {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($s => Ok(Self::$variant),)+
                    other => Err(format!("unknown value '{other}'")),
                }
            }
        }

        /// Decoding a stored row: an unknown status is an error, not a default.
        impl TryFrom<String> for $ty {
            type Error = String;
            fn try_from(s: String) -> Result<Self, String> {
                s.parse()
            }
        }
    };
}

string_enum_serde_str!(ToolCallStatus, Running => "running", Completed => "completed", Failed => "failed");
string_enum_serde_str!(InteractionStatus, Pending => "pending", Resolved => "resolved", Cancelled => "cancelled");
