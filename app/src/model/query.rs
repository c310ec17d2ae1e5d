//! The list query: parsed once at the edge from query-string pairs into typed,
//! valid values (parse, don't validate). The store only ever sees a `ListQuery`,
//! so every bad value is refused here with a message naming the parameter.

use std::fmt;
use std::str::FromStr;

use super::params;
use super::{Cursor, EpochMs, ExecutionStatus, ToolPathPattern};

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 100;

/// A bad query parameter: which one, and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{param}: {message}")]
pub struct BadParam {
    pub param: String,
    pub message: String,
}

impl BadParam {
    pub fn new(param: &str, message: impl Into<String>) -> Self {
        Self {
            param: param.to_owned(),
            message: message.into(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SortKey {
    CreatedAt,
    DurationMs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SortDir {
    Asc,
    Desc,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Sort {
    pub key: SortKey,
    pub dir: SortDir,
}

impl Default for Sort {
    fn default() -> Self {
        Self {
            key: SortKey::CreatedAt,
            dir: SortDir::Desc,
        }
    }
}

impl fmt::Display for Sort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = match self.key {
            SortKey::CreatedAt => "createdAt",
            SortKey::DurationMs => "durationMs",
        };
        let dir = match self.dir {
            SortDir::Asc => "asc",
            SortDir::Desc => "desc",
        };
        write!(f, "{key},{dir}")
    }
}

impl FromStr for Sort {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let expected = "expected createdAt or durationMs, optionally followed by ,asc or ,desc";
        let (key, dir) = s.split_once(',').unwrap_or((s, "desc"));
        let key = match key {
            "createdAt" => SortKey::CreatedAt,
            "durationMs" => SortKey::DurationMs,
            other => return Err(format!("unknown sort field '{other}'; {expected}")),
        };
        let dir = match dir {
            "asc" => SortDir::Asc,
            "desc" => SortDir::Desc,
            other => return Err(format!("unknown sort direction '{other}'; {expected}")),
        };
        Ok(Self { key, dir })
    }
}

/// One value of the `trigger` filter: a kind, or `unknown` for runs whose
/// caller did not say who it was.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TriggerFilter {
    Unknown,
    Kind(String),
}

impl TriggerFilter {
    /// Trigger kinds are 1–64 characters of `[a-z0-9_.-]` (docs/api.md#trigger-headers).
    pub fn validate_kind(kind: &str) -> Result<(), String> {
        let ok_len = (1..=64).contains(&kind.len());
        let ok_chars = kind
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.-".contains(&b));
        if ok_len && ok_chars {
            Ok(())
        } else {
            Err(format!(
                "invalid trigger kind '{kind}'; expected 1-64 characters of a-z, 0-9, '_', '.', '-'"
            ))
        }
    }

    fn parse(raw: &str) -> Result<Self, String> {
        if raw == "unknown" {
            return Ok(Self::Unknown);
        }
        Self::validate_kind(raw)?;
        Ok(Self::Kind(raw.to_owned()))
    }

    pub fn matches(&self, kind: Option<&str>) -> bool {
        match (self, kind) {
            (Self::Unknown, None) => true,
            (Self::Kind(want), Some(have)) => want == have,
            _ => false,
        }
    }
}

/// Everything that narrows which runs match, shared by the list, its facets,
/// the chart and the export. Empty vectors mean "no filter on this dimension".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filters {
    pub statuses: Vec<ExecutionStatus>,
    pub triggers: Vec<TriggerFilter>,
    pub tools: Vec<ToolPathPattern>,
    pub sessions: Vec<super::SessionId>,
    /// Inclusive lower bound on created_at.
    pub from: Option<EpochMs>,
    /// Exclusive upper bound on created_at.
    pub to: Option<EpochMs>,
    /// Exclusive lower bound on created_at (live mode polls with it).
    pub after: Option<EpochMs>,
    /// Case-insensitive substring of the code.
    pub code: Option<String>,
    /// Case-insensitive substring of the error (runs without one never match).
    pub error: Option<String>,
    pub min_duration_ms: Option<i64>,
    pub max_duration_ms: Option<i64>,
    pub elicitation: Option<bool>,
}

/// A run's texts that a filter searches for a case-insensitive substring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextField {
    Code,
    Error,
}

impl Filters {
    /// The text filters set, each with its needle.
    pub fn text_searches(&self) -> impl Iterator<Item = (TextField, &str)> {
        [
            (TextField::Code, self.code.as_deref()),
            (TextField::Error, self.error.as_deref()),
        ]
        .into_iter()
        .filter_map(|(field, needle)| Some((field, needle?)))
    }

    pub fn has_text_search(&self) -> bool {
        self.text_searches().next().is_some()
    }

    /// The same filters without the text filters.
    pub fn without_text_searches(&self) -> Filters {
        Filters {
            code: None,
            error: None,
            ..self.clone()
        }
    }

    /// The inclusive lower bound on created_at that `from` and `after` imply
    /// (`after` at the last instant there is stays there: no run is later).
    pub fn lower_bound(&self) -> Option<EpochMs> {
        let after = self
            .after
            .map(|a| EpochMs::clamped(a.get().saturating_add(1)));
        match (self.from, after) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }

    /// True when some filter besides status, trigger, elicitation and the time
    /// window is set; such filters need the run rows themselves to answer.
    pub fn needs_row_filters(&self) -> bool {
        !self.tools.is_empty()
            || !self.sessions.is_empty()
            || self.has_text_search()
            || self.min_duration_ms.is_some()
            || self.max_duration_ms.is_some()
    }

    pub fn status_ok(&self, status: ExecutionStatus) -> bool {
        self.statuses.is_empty() || self.statuses.contains(&status)
    }

    pub fn trigger_ok(&self, kind: Option<&str>) -> bool {
        self.triggers.is_empty() || self.triggers.iter().any(|t| t.matches(kind))
    }

    pub fn elicitation_ok(&self, had: bool) -> bool {
        self.elicitation.is_none_or(|want| want == had)
    }

    /// True when the window or the duration bounds describe an empty set
    /// (`to <= from`, `max < min`): such a query is valid and matches nothing.
    pub fn matches_nothing(&self) -> bool {
        let empty_window =
            matches!((self.lower_bound(), self.to), (Some(from), Some(to)) if from >= to);
        let empty_durations = matches!(
            (self.min_duration_ms, self.max_duration_ms),
            (Some(min), Some(max)) if min > max
        );
        empty_window || empty_durations
    }
}

/// How exact a first page's counts must be.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Counts {
    /// Exact where the roll-ups or an index answer within the meta's work
    /// budget; past it, estimated from a sample and marked so
    /// (`approximate`, `estimate`).
    #[default]
    Bounded,
    /// Exact whatever it reads, within the exact request's own time limit
    /// (`exact=true`).
    Exact,
}

/// A validated `GET /executions` request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListQuery {
    pub filters: Filters,
    pub limit: u32,
    pub sort: Sort,
    pub cursor: Option<Cursor>,
}

impl Default for ListQuery {
    fn default() -> Self {
        Self {
            filters: Filters::default(),
            limit: DEFAULT_LIMIT,
            sort: Sort::default(),
            cursor: None,
        }
    }
}

impl ListQuery {
    /// Parses query-string pairs by the declarations in [`params`]. `extra`
    /// names additional parameters the caller handles itself (e.g. `format`
    /// on the export). Empty values count as absent, as HTML forms send them;
    /// anything else is taken exactly as sent (the page trims what people
    /// type before it gets here), so the OpenAPI document describes it.
    ///
    /// A window with `to <= from`, or durations with `max < min`, matches
    /// nothing, as the sets they describe are empty; a cursor carries its
    /// sort, which then applies.
    pub fn parse<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
        extra: &[&str],
    ) -> Result<Self, BadParam> {
        let mut q = ListQuery::default();
        let mut raw_cursor: Option<String> = None;
        let mut seen: Vec<&str> = Vec::new();
        for (name, value) in pairs {
            let param = params::LIST_PARAMS.iter().find(|p| p.name == name);
            if param.is_none() && !extra.contains(&name) {
                let mut allowed: Vec<&str> = params::list_param_names().collect();
                allowed.extend(extra);
                return Err(BadParam::new(
                    name,
                    format!("unknown parameter; expected one of {}", allowed.join(", ")),
                ));
            }
            // Also for the caller's own parameters: each is read once.
            if seen.contains(&name) {
                return Err(BadParam::new(
                    name,
                    "given more than once; use a comma-separated list",
                ));
            }
            seen.push(name);
            let Some(param) = param else {
                continue;
            };
            if value.is_empty() {
                continue;
            }
            param.check(value).map_err(|m| BadParam::new(name, m))?;
            let int = || param.integer(value).map_err(|m| BadParam::new(name, m));
            let instant = || int().map(EpochMs::clamped);
            let f = &mut q.filters;
            match name {
                "limit" => q.limit = u32::try_from(int()?).unwrap_or(DEFAULT_LIMIT),
                "cursor" => raw_cursor = Some(value.to_owned()),
                "status" => f.statuses = parse_csv(name, value, |v| v.parse::<ExecutionStatus>())?,
                "trigger" => f.triggers = parse_csv(name, value, TriggerFilter::parse)?,
                "tool" => f.tools = parse_csv(name, value, ToolPathPattern::parse)?,
                "session" => f.sessions = parse_csv(name, value, super::SessionId::parse)?,
                "from" => f.from = Some(instant()?),
                "to" => f.to = Some(instant()?),
                "after" => f.after = Some(instant()?),
                "code" => f.code = Some(value.to_owned()),
                "error" => f.error = Some(value.to_owned()),
                "minDurationMs" => f.min_duration_ms = Some(int()?),
                "maxDurationMs" => f.max_duration_ms = Some(int()?),
                "elicitation" => f.elicitation = Some(value == "true"),
                "sort" => q.sort = value.parse().map_err(|m| BadParam::new(name, m))?,
                _ => {}
            }
        }
        if let Some(raw) = raw_cursor {
            let cursor =
                Cursor::decode(&raw).map_err(|e| BadParam::new("cursor", e.to_string()))?;
            q.sort = cursor.sort;
            q.cursor = Some(cursor);
        }
        Ok(q)
    }
}

fn parse_csv<T, E: fmt::Display>(
    name: &str,
    value: &str,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Result<Vec<T>, BadParam>
where
    T: PartialEq,
{
    let mut out = Vec::new();
    for item in value.split(',') {
        let parsed = parse(item).map_err(|e| BadParam::new(name, e.to_string()))?;
        if !out.contains(&parsed) {
            out.push(parsed);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<ListQuery, BadParam> {
        ListQuery::parse(pairs.iter().copied(), &[])
    }

    fn err_param(pairs: &[(&str, &str)]) -> String {
        parse(pairs).unwrap_err().param
    }

    #[test]
    fn no_parameters_give_the_defaults() {
        let q = parse(&[]).unwrap();
        assert_eq!(q, ListQuery::default());
        assert_eq!(q.limit, 50);
        assert_eq!(q.sort.to_string(), "createdAt,desc");
    }

    #[test]
    fn every_filter_parses_into_its_typed_value() {
        let q = parse(&[
            ("status", "failed,running"),
            ("trigger", "mcp,unknown"),
            ("tool", "github.*,*.create"),
            ("from", "10"),
            ("to", "20"),
            ("after", "11"),
            ("code", "Fetch"),
            ("minDurationMs", "5"),
            ("maxDurationMs", "50"),
            ("elicitation", "true"),
            ("sort", "durationMs,asc"),
            ("limit", "100"),
        ])
        .unwrap();
        let f = &q.filters;
        assert_eq!(
            f.statuses,
            vec![ExecutionStatus::Failed, ExecutionStatus::Running]
        );
        assert_eq!(
            f.triggers,
            vec![TriggerFilter::Kind("mcp".into()), TriggerFilter::Unknown]
        );
        assert_eq!(f.tools.len(), 2);
        assert_eq!(
            (f.from, f.to, f.after),
            (EpochMs::new(10), EpochMs::new(20), EpochMs::new(11))
        );
        assert_eq!(f.lower_bound(), EpochMs::new(12));
        assert_eq!(f.code.as_deref(), Some("Fetch"));
        assert_eq!((f.min_duration_ms, f.max_duration_ms), (Some(5), Some(50)));
        assert_eq!(f.elicitation, Some(true));
        assert_eq!(
            q.sort,
            Sort {
                key: SortKey::DurationMs,
                dir: SortDir::Asc
            }
        );
        assert_eq!(q.limit, 100);
    }

    #[test]
    fn bad_values_name_their_parameter() {
        assert_eq!(err_param(&[("limit", "0")]), "limit");
        assert_eq!(err_param(&[("limit", "101")]), "limit");
        assert_eq!(err_param(&[("limit", "2.5")]), "limit");
        assert_eq!(err_param(&[("limit", "NaN")]), "limit");
        assert_eq!(err_param(&[("status", "waiting")]), "status");
        assert_eq!(err_param(&[("trigger", "Has Space")]), "trigger");
        assert_eq!(err_param(&[("from", "yesterday")]), "from");
        assert_eq!(err_param(&[("to", "-1")]), "to");
        assert_eq!(err_param(&[("to", "900000000000000000")]), "to");
        assert_eq!(err_param(&[("to", "9223372036854775807")]), "to");
        assert_eq!(err_param(&[("from", "253402300800000")]), "from");
        assert_eq!(err_param(&[("after", "99999999999999999999")]), "after");
        assert_eq!(
            err_param(&[("maxDurationMs", "9223372036854775807")]),
            "maxDurationMs"
        );
        assert_eq!(err_param(&[("status", "failed, running")]), "status");
        assert_eq!(err_param(&[("status", "failed,,running")]), "status");
        assert_eq!(err_param(&[("limit", " 5")]), "limit");
        assert_eq!(err_param(&[("limit", "05")]), "limit");
        assert_eq!(err_param(&[("from", "+5")]), "from");
        assert_eq!(err_param(&[("tool", "caf\u{e9}")]), "tool");
        assert_eq!(err_param(&[("after", "x")]), "after");
        assert_eq!(err_param(&[("minDurationMs", "-3")]), "minDurationMs");
        assert_eq!(err_param(&[("elicitation", "yes")]), "elicitation");
        assert_eq!(err_param(&[("sort", "createdAt,up")]), "sort");
        assert_eq!(err_param(&[("sort", "completedAt")]), "sort");
        assert_eq!(err_param(&[("cursor", "garbage!")]), "cursor");
        assert_eq!(err_param(&[("stauts", "failed")]), "stauts");
        assert_eq!(
            err_param(&[("status", "failed"), ("status", "running")]),
            "status"
        );
    }

    #[test]
    fn unknown_status_message_lists_the_allowed_values() {
        let e = parse(&[("status", "waiting")]).unwrap_err();
        assert!(
            e.message.contains(
                "pending, running, waiting_for_interaction, completed, failed, cancelled"
            ),
            "{e}"
        );
    }

    #[test]
    fn empty_values_mean_no_filter() {
        assert_eq!(
            parse(&[("status", ""), ("code", ""), ("cursor", "")]).unwrap(),
            ListQuery::default()
        );
    }

    #[test]
    fn a_cursor_continues_in_its_own_sort() {
        let asc = Sort {
            key: SortKey::CreatedAt,
            dir: SortDir::Asc,
        };
        let raw = Cursor {
            sort: asc,
            key: 5,
            id: "a".into(),
        }
        .encode();
        let q = parse(&[("cursor", raw.as_str()), ("sort", "durationMs,desc")]).unwrap();
        assert_eq!(q.sort, asc);
        assert_eq!(parse(&[("cursor", raw.as_str())]).unwrap().sort, asc);
    }

    #[test]
    fn empty_windows_and_duration_ranges_are_valid_and_match_nothing() {
        let q = parse(&[("from", "5"), ("to", "5")]).unwrap();
        assert!(q.filters.matches_nothing());
        let q = parse(&[("minDurationMs", "9"), ("maxDurationMs", "3")]).unwrap();
        assert!(q.filters.matches_nothing());
        let q = parse(&[("from", "5"), ("to", "6"), ("minDurationMs", "3")]).unwrap();
        assert!(!q.filters.matches_nothing());
    }

    /// Each declared pattern accepts exactly what the parser accepts.
    fn agree(name: &str, value: &str) -> Result<(), proptest::test_runner::TestCaseError> {
        let param = params::LIST_PARAMS.iter().find(|p| p.name == name).unwrap();
        let params::Shape::Pattern(pattern) = param.shape else {
            panic!("{name} is not a pattern parameter");
        };
        // Query parameters may also be empty (absent), as their schema says.
        let declared = value.is_empty() || regex::Regex::new(pattern).unwrap().is_match(value);
        let parsed = parse(&[(name, value)]).is_ok();
        proptest::prop_assert_eq!(parsed, declared, "{}={:?}", name, value);
        Ok(())
    }

    proptest::proptest! {
        #[test]
        fn status_pattern_and_parser_agree(v in "(failed|running|waiting|pending|completed|cancelled|waiting_for_interaction|x| |,){1,4}") {
            agree("status", &v)?;
        }

        #[test]
        fn trigger_pattern_and_parser_agree(v in "[a-z0-9_.A -]{0,70}(,[a-z,]{0,3})?") {
            agree("trigger", &v)?;
        }

        #[test]
        fn tool_pattern_and_parser_agree(v in "[ -~\u{e9}\t]{1,12}|[a]{255,258}") {
            agree("tool", &v)?;
        }

        #[test]
        fn sort_pattern_and_parser_agree(v in "(createdAt|durationMs|duration|x)?(,)?(asc|desc|up| )?") {
            proptest::prop_assume!(!v.is_empty());
            agree("sort", &v)?;
        }

        #[test]
        fn integer_parameters_take_exactly_their_declared_range(v in "[-+ 0-9]{1,16}|9{15,20}") {
            for param in params::LIST_PARAMS {
                if let params::Shape::Integer { min, max } = param.shape {
                    let declared = v.parse::<i64>().is_ok_and(|n| (min..=max).contains(&n) && n.to_string() == v);
                    let parsed = parse(&[(param.name, v.as_str())]).is_ok();
                    proptest::prop_assert_eq!(parsed, declared, "{}={:?}", param.name, v);
                }
            }
        }
    }

    #[test]
    fn format_is_only_accepted_where_the_caller_handles_it() {
        assert_eq!(err_param(&[("format", "csv")]), "format");
        assert!(ListQuery::parse([("format", "csv")], &["format"]).is_ok());
        let twice = ListQuery::parse([("format", "csv"), ("format", "ndjson")], &["format"]);
        assert_eq!(twice.unwrap_err().param, "format");
    }
}
