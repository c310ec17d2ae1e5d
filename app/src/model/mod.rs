//! The domain: what a run is, how a list query is spelled and validated, and the
//! wire shapes the JSON API and the page share. No I/O lives here, so everything is
//! testable with plain unit and property tests and compiles to WASM unchanged.

/// The scope every request runs in until access control exists.
pub const LOCAL_SCOPE: &str = "local";

mod bounds;
mod chart;
mod cursor;
mod error_kind;
mod execution;
pub mod filter_command;
pub mod params;
mod query;
mod run;
mod session;
mod status;
mod time;
mod tool_pattern;
mod view_state;
mod wire;

pub use bounds::{parse_duration_ms, EpochMs, MAX_DURATION_MS, MAX_EPOCH_MS};
pub use chart::{BucketWidth, ChartWindow, DAY, HOUR, MINUTE, SECOND};
pub use cursor::{Cursor, CursorError};
pub use error_kind::ErrorKind;
pub use execution::{Execution, Interaction, InteractionStatus, ToolCall, ToolCallStatus};
pub use query::{
    BadParam, Counts, Filters, ListQuery, Sort, SortDir, SortKey, TextField, TriggerFilter,
    DEFAULT_LIMIT, MAX_LIMIT,
};
pub use run::{
    ElicitationRequest, PendingInteraction, ResumeAction, ResumeRequest, RunRequest, RunResponse,
    RunStatus, Trigger, TriggerKind, CODE_PATTERN, MAX_TIMEOUT_MS, MAX_TRIGGER_META_BYTES,
};
pub use session::{SessionId, MAX_SESSION_CHARS};
pub use status::{ExecutionStatus, StatusCounts};
pub use time::{format_iso_short, format_utc, parse_utc};
pub use tool_pattern::{namespace_of, ToolPathPattern};
pub use view_state::{trigger_str, Range, RunsView};
pub use wire::{
    Chart, ChartBucket, Estimate, ExecutionEnvelope, InteractionCounts, InteractionList, ListMeta,
    ListPage, ToolCallList, ToolFacet, TriggerCount,
};
