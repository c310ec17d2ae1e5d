//! The `/runs` page's state as it lives in the URL (docs/page.md#url):
//! parsed from the query string, printed back canonically, and turned into
//! the list query the store answers. Every control on the page computes the
//! next `RunsView` and navigates to its URL, so a link always reproduces
//! what its sender saw.

use super::{
    params, BadParam, EpochMs, ExecutionStatus, Filters, ListQuery, Sort, ToolPathPattern,
    TriggerFilter,
};

/// The preset time windows; `from`/`to` override them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Range {
    M15,
    H1,
    #[default]
    H24,
    D7,
    D30,
    All,
}

impl Range {
    pub const ALL: [Range; 6] = [
        Range::M15,
        Range::H1,
        Range::H24,
        Range::D7,
        Range::D30,
        Range::All,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Range::M15 => "15m",
            Range::H1 => "1h",
            Range::H24 => "24h",
            Range::D7 => "7d",
            Range::D30 => "30d",
            Range::All => "all",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Range::M15 => "Last 15 minutes",
            Range::H1 => "Last hour",
            Range::H24 => "Last 24 hours",
            Range::D7 => "Last 7 days",
            Range::D30 => "Last 30 days",
            Range::All => "All time",
        }
    }

    /// Width in milliseconds; `None` for all time.
    pub fn span_ms(self) -> Option<i64> {
        const MIN: i64 = 60_000;
        match self {
            Range::M15 => Some(15 * MIN),
            Range::H1 => Some(60 * MIN),
            Range::H24 => Some(24 * 60 * MIN),
            Range::D7 => Some(7 * 24 * 60 * MIN),
            Range::D30 => Some(30 * 24 * 60 * MIN),
            Range::All => None,
        }
    }

    fn parse(raw: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|r| r.as_str() == raw)
            .ok_or_else(|| format!("unknown range '{raw}'; expected 15m, 1h, 24h, 7d, 30d or all"))
    }
}

const QUARTER_HOUR_MS: i64 = 15 * 60_000;
const DAY_MS: i64 = 24 * 60 * 60_000;

/// Everything the page shows, as the URL says it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunsView {
    /// Status, trigger, tool, from, to, code, durations, elicitation
    /// (`after` is never part of the URL; live mode adds it per poll).
    pub filters: Filters,
    pub range: Range,
    pub sort: Sort,
    pub live: bool,
    /// The run open in the drawer.
    pub execution_id: Option<String>,
}

/// Parameters only the page has; the rest are the list's that a page URL
/// carries (declared in [`params`]). Anything else in its URL is ignored.
const PAGE_ONLY_PARAMS: [&str; 3] = ["range", "live", "executionId"];

fn is_view_param(name: &str) -> bool {
    PAGE_ONLY_PARAMS.contains(&name)
        || params::LIST_PARAMS
            .iter()
            .any(|p| p.in_page_url && p.name == name)
}

impl RunsView {
    /// Reads a page URL's query pairs. A page must render whatever link it is
    /// given, so bad values are dropped and reported, never fatal.
    pub fn parse<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> (Self, Vec<BadParam>) {
        let mut view = RunsView::default();
        let mut problems = Vec::new();
        let mut list_pairs: Vec<(&str, &str)> = Vec::new();
        for (name, value) in pairs {
            let value = value.trim();
            if value.is_empty() || !is_view_param(name) {
                continue;
            }
            match name {
                "range" => match Range::parse(value) {
                    Ok(range) => view.range = range,
                    Err(message) => problems.push(BadParam::new(name, message)),
                },
                "live" => view.live = value == "1" || value == "true",
                "executionId" => view.execution_id = Some(value.to_owned()),
                _ => list_pairs.push((name, value)),
            }
        }
        // Each list parameter alone, so one bad value drops only itself.
        for (name, value) in list_pairs {
            match ListQuery::parse([(name, value)], &[]) {
                Ok(q) => merge(&mut view, name, q),
                Err(bad) => problems.push(bad),
            }
        }
        (view, problems)
    }

    /// Reads a page URL's query string (with or without its `?`).
    pub fn from_query(query: &str) -> (Self, Vec<BadParam>) {
        let pairs: Vec<(String, String)> =
            form_urlencoded::parse(query.trim_start_matches('?').as_bytes())
                .into_owned()
                .collect();
        Self::parse(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }

    /// Query-string pairs in a fixed order, defaults left out.
    pub fn to_pairs(&self) -> Vec<(&'static str, String)> {
        let f = &self.filters;
        let mut out = Vec::new();
        let csv = |items: Vec<String>| items.join(",");
        if !f.statuses.is_empty() {
            out.push((
                "status",
                csv(f.statuses.iter().map(|s| s.as_str().to_owned()).collect()),
            ));
        }
        if !f.triggers.is_empty() {
            out.push(("trigger", csv(f.triggers.iter().map(trigger_str).collect())));
        }
        if !f.tools.is_empty() {
            out.push((
                "tool",
                csv(f.tools.iter().map(|t| t.as_str().to_owned()).collect()),
            ));
        }
        if !f.sessions.is_empty() {
            out.push((
                "session",
                csv(f.sessions.iter().map(|s| s.as_str().to_owned()).collect()),
            ));
        }
        if self.range != Range::default() {
            out.push(("range", self.range.as_str().to_owned()));
        }
        if let Some(from) = f.from {
            out.push(("from", from.to_string()));
        }
        if let Some(to) = f.to {
            out.push(("to", to.to_string()));
        }
        if let Some(code) = &f.code {
            out.push(("code", code.clone()));
        }
        if let Some(error) = &f.error {
            out.push(("error", error.clone()));
        }
        if let Some(ms) = f.min_duration_ms {
            out.push(("minDurationMs", ms.to_string()));
        }
        if let Some(ms) = f.max_duration_ms {
            out.push(("maxDurationMs", ms.to_string()));
        }
        if let Some(e) = f.elicitation {
            out.push(("elicitation", e.to_string()));
        }
        if self.sort != Sort::default() {
            out.push(("sort", self.sort.to_string()));
        }
        if self.live {
            out.push(("live", "1".to_owned()));
        }
        if let Some(id) = &self.execution_id {
            out.push(("executionId", id.clone()));
        }
        out
    }

    /// `/runs?…` for this view.
    pub fn href(&self) -> String {
        let query: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(self.to_pairs())
            .finish();
        if query.is_empty() {
            "/runs".to_owned()
        } else {
            format!("/runs?{query}")
        }
    }

    /// The store query for the first page at `now_ms`: an explicit
    /// `from`/`to` wins over the preset range.
    pub fn list_query(&self, now_ms: i64) -> ListQuery {
        let mut filters = self.filters.clone();
        if filters.from.is_none() && filters.to.is_none() {
            if let Some(span) = self.range.span_ms() {
                let from = now_ms.saturating_sub(span);
                // Day-long and longer windows start on a quarter hour, so
                // their counts come whole from the roll-ups (the window grows
                // by less than 15 minutes, 1 % of a day).
                filters.from = Some(EpochMs::clamped(if span >= DAY_MS {
                    from - from.rem_euclid(QUARTER_HOUR_MS)
                } else {
                    from
                }));
            }
        }
        ListQuery {
            filters,
            sort: self.sort,
            ..ListQuery::default()
        }
    }

    /// True when anything differs from the default view (Reset is offered).
    pub fn is_filtered(&self) -> bool {
        let plain = RunsView {
            sort: self.sort,
            live: self.live,
            ..RunsView::default()
        };
        *self != plain && (self.filters != Filters::default() || self.range != Range::default())
    }

    /// A changed filter closes the drawer.
    fn refiltered(&self, change: impl FnOnce(&mut Filters)) -> Self {
        let mut next = self.clone();
        change(&mut next.filters);
        next.execution_id = None;
        next
    }

    pub fn toggle_status(&self, status: ExecutionStatus) -> Self {
        self.refiltered(|f| {
            toggle(&mut f.statuses, status);
            let rank = |s: &ExecutionStatus| ExecutionStatus::ALL.iter().position(|x| x == s);
            sort_few(&mut f.statuses, |a, b| rank(a) < rank(b));
        })
    }

    pub fn only_status(&self, status: ExecutionStatus) -> Self {
        self.refiltered(|f| f.statuses = vec![status])
    }

    pub fn toggle_trigger(&self, trigger: TriggerFilter) -> Self {
        self.refiltered(|f| {
            toggle(&mut f.triggers, trigger);
            sort_few(&mut f.triggers, |a, b| a < b);
        })
    }

    pub fn only_trigger(&self, trigger: TriggerFilter) -> Self {
        self.refiltered(|f| f.triggers = vec![trigger])
    }

    pub fn toggle_tool(&self, tool: ToolPathPattern) -> Self {
        self.refiltered(|f| {
            toggle(&mut f.tools, tool);
            sort_few(&mut f.tools, |a, b| a.as_str() < b.as_str());
        })
    }

    pub fn only_tool(&self, tool: ToolPathPattern) -> Self {
        self.refiltered(|f| f.tools = vec![tool])
    }

    /// Sets (or, when it is already set, clears) the elicitation filter.
    pub fn toggle_elicitation(&self, value: bool) -> Self {
        self.refiltered(|f| {
            f.elicitation = if f.elicitation == Some(value) {
                None
            } else {
                Some(value)
            }
        })
    }

    /// A preset range; clears any explicit window.
    pub fn with_range(&self, range: Range) -> Self {
        let mut next = self.refiltered(|f| {
            f.from = None;
            f.to = None;
        });
        next.range = range;
        next
    }

    /// An explicit window (drag on the chart), clamped to the instants there are.
    pub fn with_window(&self, from: i64, to: i64) -> Self {
        self.refiltered(|f| {
            f.from = Some(EpochMs::clamped(from));
            f.to = Some(EpochMs::clamped(to));
        })
    }

    pub fn with_code(&self, code: Option<String>) -> Self {
        self.refiltered(|f| f.code = code.filter(|c| !c.trim().is_empty()))
    }

    /// Filters from the command line, keeping range, sort and live.
    pub fn with_filters(&self, filters: Filters) -> Self {
        self.refiltered(|f| *f = filters)
    }

    pub fn with_sort(&self, sort: Sort) -> Self {
        let mut next = self.clone();
        next.sort = sort;
        next
    }

    pub fn with_live(&self, live: bool) -> Self {
        let mut next = self.clone();
        next.live = live;
        next
    }

    pub fn with_execution(&self, id: Option<String>) -> Self {
        let mut next = self.clone();
        next.execution_id = id;
        next
    }

    /// Everything cleared but sort and live.
    pub fn reset(&self) -> Self {
        RunsView {
            sort: self.sort,
            live: self.live,
            ..RunsView::default()
        }
    }
}

/// A stable insertion sort, for the handful of values a filter holds. The
/// standard library's sorts are faster on long slices but add about 5 KB
/// of WASM for each element type, and this runs in the page's bundle,
/// whose budget is 250 KB (issue 4).
fn sort_few<T>(items: &mut [T], less: impl Fn(&T, &T) -> bool) {
    for i in 1..items.len() {
        let mut j = i;
        while j > 0 && less(&items[j], &items[j - 1]) {
            items.swap(j, j - 1);
            j -= 1;
        }
    }
}

fn toggle<T: PartialEq>(items: &mut Vec<T>, item: T) {
    if let Some(at) = items.iter().position(|x| *x == item) {
        items.remove(at);
    } else {
        items.push(item);
    }
}

pub fn trigger_str(t: &TriggerFilter) -> String {
    match t {
        TriggerFilter::Unknown => "unknown".to_owned(),
        TriggerFilter::Kind(kind) => kind.clone(),
    }
}

fn merge(view: &mut RunsView, name: &str, q: ListQuery) {
    let (f, from) = (&mut view.filters, q.filters);
    match name {
        "status" => f.statuses = from.statuses,
        "trigger" => f.triggers = from.triggers,
        "tool" => f.tools = from.tools,
        "session" => f.sessions = from.sessions,
        "from" => f.from = from.from,
        "to" => f.to = from.to,
        "code" => f.code = from.code,
        "error" => f.error = from.error,
        "minDurationMs" => f.min_duration_ms = from.min_duration_ms,
        "maxDurationMs" => f.max_duration_ms = from.max_duration_ms,
        "elicitation" => f.elicitation = from.elicitation,
        "sort" => view.sort = q.sort,
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{SortDir, SortKey};

    #[test]
    fn sort_few_orders_like_a_stable_sort() {
        let mut v = vec![(3, 'a'), (1, 'b'), (3, 'c'), (2, 'd'), (1, 'e')];
        let mut expected = v.clone();
        expected.sort_by_key(|p| p.0);
        sort_few(&mut v, |a, b| a.0 < b.0);
        assert_eq!(v, expected);
        let mut empty: Vec<u8> = Vec::new();
        sort_few(&mut empty, |a, b| a < b);
        assert!(empty.is_empty());
    }

    fn parse(q: &str) -> (RunsView, Vec<BadParam>) {
        RunsView::from_query(q)
    }

    #[test]
    fn a_url_round_trips() {
        let q = "status=running,failed&trigger=cli,unknown&tool=github.*&range=7d&session=mcp:7f3a&code=two+words&error=Time+out&minDurationMs=500&elicitation=true&sort=durationMs,asc&live=1&executionId=abc";
        let (view, problems) = parse(q);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(
            view.filters.statuses,
            vec![ExecutionStatus::Running, ExecutionStatus::Failed]
        );
        assert_eq!(view.range, Range::D7);
        assert_eq!(view.filters.code.as_deref(), Some("two words"));
        assert_eq!(view.filters.error.as_deref(), Some("Time out"));
        assert_eq!(view.filters.sessions[0].as_str(), "mcp:7f3a");
        assert_eq!(
            view.sort,
            Sort {
                key: SortKey::DurationMs,
                dir: SortDir::Asc
            }
        );
        assert!(view.live);
        let (again, _) = parse(view.href().trim_start_matches("/runs?"));
        assert_eq!(again, view);
    }

    #[test]
    fn bad_values_are_dropped_and_reported() {
        let (view, problems) = parse("status=nope&range=2y&tool=github.*&from=x");
        assert_eq!(view.filters.tools.len(), 1);
        assert!(view.filters.statuses.is_empty());
        let names: Vec<_> = problems.iter().map(|p| p.param.as_str()).collect();
        assert_eq!(names, ["range", "status", "from"]);
    }

    #[test]
    fn the_default_view_is_plain_runs() {
        assert_eq!(RunsView::default().href(), "/runs");
        assert!(!RunsView::default().is_filtered());
    }

    #[test]
    fn toggles_keep_order_and_close_the_drawer() {
        let view = RunsView::default().with_execution(Some("x".into()));
        let v = view
            .toggle_status(ExecutionStatus::Failed)
            .toggle_status(ExecutionStatus::Running);
        assert_eq!(v.href(), "/runs?status=running%2Cfailed");
        assert_eq!(v.execution_id, None);
        let v = v.toggle_status(ExecutionStatus::Running);
        assert_eq!(v.filters.statuses, vec![ExecutionStatus::Failed]);
        assert!(v.is_filtered());
        assert_eq!(v.reset().href(), "/runs");
    }

    #[test]
    fn explicit_windows_win_over_the_range() {
        let now = 10_000_000_000;
        let view = RunsView::default();
        let from = view.list_query(now).filters.from.unwrap().get();
        assert!(from <= now - 86_400_000 && from > now - 86_400_000 - 900_000);
        assert_eq!(from % 900_000, 0);
        let hour = view.with_range(Range::H1).list_query(now).filters.from;
        assert_eq!(hour, EpochMs::new(now - 3_600_000));
        let zoomed = view.with_window(5, 9);
        let q = zoomed.list_query(now);
        assert_eq!(
            (q.filters.from, q.filters.to),
            (EpochMs::new(5), EpochMs::new(9))
        );
        assert_eq!(
            zoomed.with_range(Range::All).list_query(now).filters.from,
            None
        );
    }
}
