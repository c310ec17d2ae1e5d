//! Execution statuses, always listed in the order docs/engine.md#statuses lists them.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Where a run is in its life. The order of the variants is the order used
/// wherever all six are listed (facets, chart stacks, status counts).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExecutionStatus {
    Pending,
    Running,
    WaitingForInteraction,
    Completed,
    Failed,
    Cancelled,
}

impl ExecutionStatus {
    pub const ALL: [ExecutionStatus; 6] = [
        Self::Pending,
        Self::Running,
        Self::WaitingForInteraction,
        Self::Completed,
        Self::Failed,
        Self::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::WaitingForInteraction => "waiting_for_interaction",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    /// A run in a terminal status never changes again.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Cancelled)
    }

    /// "pending, running, …" for error messages.
    pub fn expected_list() -> String {
        Self::ALL.map(Self::as_str).join(", ")
    }
}

impl fmt::Display for ExecutionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Decoding a stored row: an unknown status is an error, not a default.
impl TryFrom<String> for ExecutionStatus {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl FromStr for ExecutionStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown value '{s}'; expected one of {}",
                    Self::expected_list()
                )
            })
    }
}

/// A count for each of the six statuses; serialises as an object whose keys come
/// in status order, zeros included, so clients never have to fill gaps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusCounts {
    pub pending: i64,
    pub running: i64,
    pub waiting_for_interaction: i64,
    pub completed: i64,
    pub failed: i64,
    pub cancelled: i64,
}

impl StatusCounts {
    pub fn get(&self, status: ExecutionStatus) -> i64 {
        match status {
            ExecutionStatus::Pending => self.pending,
            ExecutionStatus::Running => self.running,
            ExecutionStatus::WaitingForInteraction => self.waiting_for_interaction,
            ExecutionStatus::Completed => self.completed,
            ExecutionStatus::Failed => self.failed,
            ExecutionStatus::Cancelled => self.cancelled,
        }
    }

    pub fn add(&mut self, status: ExecutionStatus, n: i64) {
        let slot = match status {
            ExecutionStatus::Pending => &mut self.pending,
            ExecutionStatus::Running => &mut self.running,
            ExecutionStatus::WaitingForInteraction => &mut self.waiting_for_interaction,
            ExecutionStatus::Completed => &mut self.completed,
            ExecutionStatus::Failed => &mut self.failed,
            ExecutionStatus::Cancelled => &mut self.cancelled,
        };
        *slot += n;
    }

    pub fn total(&self) -> i64 {
        ExecutionStatus::ALL.iter().map(|s| self.get(*s)).sum()
    }

    /// Every count passed through `f`.
    pub fn map(&self, f: impl Fn(i64) -> i64) -> Self {
        let mut out = Self::default();
        for s in ExecutionStatus::ALL {
            out.add(s, f(self.get(s)));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_parse_from_their_wire_names_and_nothing_else() {
        for status in ExecutionStatus::ALL {
            assert_eq!(status.as_str().parse::<ExecutionStatus>(), Ok(status));
        }
        let err = "waiting".parse::<ExecutionStatus>().unwrap_err();
        assert!(err.contains("'waiting'") && err.contains("waiting_for_interaction"));
    }

    #[test]
    fn status_counts_serialise_all_six_in_order() {
        let json = serde_json::to_string(&StatusCounts::default()).unwrap();
        assert_eq!(
            json,
            r#"{"pending":0,"running":0,"waiting_for_interaction":0,"completed":0,"failed":0,"cancelled":0}"#
        );
    }
}
