//! Response shapes of the JSON API, shared with the page.

use serde::{Deserialize, Serialize};

use super::{Execution, Interaction, StatusCounts, ToolCall};

/// A run with the interaction it is waiting on, if any.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ExecutionEnvelope {
    pub execution: Execution,
    pub pending_interaction: Option<Interaction>,
}

/// One page of `GET /executions`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ListPage {
    pub executions: Vec<ExecutionEnvelope>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meta: Option<ListMeta>,
}

/// Counts for the filter rail and the chart, on the first page only.
/// Facet counts are disjunctive: each dimension is counted with every filter
/// applied except its own.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ListMeta {
    /// All runs of the scope.
    pub total_row_count: i64,
    /// Runs matching every filter.
    pub filter_row_count: i64,
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub status_counts: StatusCounts,
    pub trigger_counts: Vec<TriggerCount>,
    pub tool_facets: Vec<ToolFacet>,
    pub interaction_counts: InteractionCounts,
    pub chart: Chart,
    /// True when some counts are estimates (see `estimate`); ask with
    /// `exact=true` for exact ones.
    #[serde(default)]
    pub approximate: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimate: Option<Estimate>,
}

impl ListMeta {
    /// Whether the count named `field` (`filterRowCount`, `toolFacets`, …)
    /// is an estimate.
    pub fn is_estimated(&self, field: &str) -> bool {
        self.estimate
            .as_ref()
            .is_some_and(|e| e.estimated.iter().any(|f| f == field))
    }

    /// Every count of the filtered runs (all but the scope's total) passed
    /// through `f`, the tool facets included.
    pub fn map_counts(&mut self, f: impl Fn(i64) -> i64) {
        self.filter_row_count = f(self.filter_row_count);
        self.status_counts = self.status_counts.map(&f);
        for t in &mut self.trigger_counts {
            t.count = f(t.count);
        }
        for t in &mut self.tool_facets {
            t.count = f(t.count);
        }
        let i = &mut self.interaction_counts;
        i.with_elicitation = f(i.with_elicitation);
        i.without_elicitation = f(i.without_elicitation);
        for b in &mut self.chart.buckets {
            b.counts = b.counts.map(&f);
        }
    }
}

/// How an approximate meta was estimated: the view's filters need the runs
/// themselves and its window held more runs than a meta reads, so a sample
/// of them was read and scaled to the window's exact run totals.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Estimate {
    /// The estimated counts, by field name (`filterRowCount`, `chart`, …);
    /// the others (`totalRowCount`, say) are exact.
    pub estimated: Vec<String>,
    /// Every estimated count is within this many runs of the exact one
    /// (three standard errors of the estimate).
    pub error_bound: i64,
    /// Runs the sample read, and runs in the window it was drawn from.
    pub sampled_runs: i64,
    pub window_runs: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TriggerCount {
    /// Null for runs whose caller did not say who it was.
    pub trigger_kind: Option<String>,
    pub count: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ToolFacet {
    pub tool_path: String,
    /// Matching runs that called this tool at least once.
    pub count: i64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct InteractionCounts {
    pub with_elicitation: i64,
    pub without_elicitation: i64,
}

/// Dense timeline: every bucket of the window is present, zeros included.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Chart {
    pub bucket_ms: i64,
    pub buckets: Vec<ChartBucket>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ChartBucket {
    pub bucket_start: i64,
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub counts: StatusCounts,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ToolCallList {
    pub tool_calls: Vec<ToolCall>,
}

/// `GET /executions/{id}/interactions`: answered ones too, oldest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct InteractionList {
    pub interactions: Vec<Interaction>,
}
