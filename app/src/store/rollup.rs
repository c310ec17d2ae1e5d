//! The roll-ups: tables of run counts per time slot and key, which answer
//! facets and the chart without reading the runs. Each one is declared once
//! here (table, slot width, what it counts and by which keys) and read from
//! here by the writer (deltas per batch), meta (which slots tile a window),
//! the retention sweep (zero rows) and `store check`/`rebuild` (what the
//! rows must be). The delete triggers in `migrations/` count them down.

pub const QUARTER_HOUR: i64 = 900_000;
pub const HOUR: i64 = 4 * QUARTER_HOUR;
pub const DAY: i64 = 24 * HOUR;

/// The rows a roll-up counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// Runs (`execution`).
    Runs,
    /// The pairs of a per-run pair table.
    Pairs(Pairs),
}

/// A per-run pair table: the distinct pairs of a run and something its tool
/// calls name (a tool path, a namespace), with the run's created_at, status,
/// trigger and elicitation, which the writer keeps in step. A run is in a
/// pair table at most once per name, so its rows count runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pairs {
    /// `execution_tool_path`.
    ToolPaths,
    /// `execution_tool_namespace`.
    ToolNamespaces,
}

impl Pairs {
    pub const ALL: [Pairs; 2] = [Pairs::ToolPaths, Pairs::ToolNamespaces];

    pub fn table(self) -> &'static str {
        match self {
            Self::ToolPaths => "execution_tool_path",
            Self::ToolNamespaces => "execution_tool_namespace",
        }
    }

    /// The column naming what the run is paired with, in the pair table and
    /// in `execution_tool_call` alike.
    pub fn name_column(self) -> &'static str {
        match self {
            Self::ToolPaths => "tool_path",
            Self::ToolNamespaces => "namespace",
        }
    }

    /// The table's columns, each prefixed by `prefix` (an alias and its dot,
    /// or nothing); `name_alias` renames the name column (` AS name`).
    pub fn columns(self, prefix: &str, name_alias: &str) -> String {
        let (p, name) = (prefix, self.name_column());
        format!(
            "{p}scope_id, {p}execution_id, {p}{name}{name_alias}, {p}created_at, {p}status, \
             {p}trigger_kind, {p}had_elicitation"
        )
    }

    /// The pairs as the three tables imply them: what the table holds.
    pub fn implied_by_calls(self) -> String {
        format!(
            "SELECT DISTINCT c.scope_id, c.execution_id, c.{}, e.created_at, e.status, \
             e.trigger_kind, e.had_elicitation \
             FROM execution_tool_call c JOIN execution e \
             ON e.scope_id = c.scope_id AND e.id = c.execution_id",
            self.name_column()
        )
    }
}

impl Source {
    /// The counted rows, from the three tables alone (for check and rebuild).
    pub fn rows_from_base(self) -> String {
        match self {
            Self::Runs => "execution".to_owned(),
            Self::Pairs(pairs) => format!("({}) p", pairs.implied_by_calls()),
        }
    }
}

/// A key column of a roll-up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Status,
    /// `''` stands for "no trigger": never a valid kind.
    Trigger,
    Elicitation,
    ToolPath,
    Namespace,
    /// The run's [`duration_class`]: -1 for a run without a duration.
    DurationClass,
}

impl Field {
    pub fn column(self) -> &'static str {
        match self {
            Self::Status => "status",
            Self::Trigger => "trigger_kind",
            Self::Elicitation => "had_elicitation",
            Self::ToolPath => "tool_path",
            Self::Namespace => "namespace",
            Self::DurationClass => "duration_class",
        }
    }

    /// The key's value as the source table holds it.
    pub fn source_expr(self) -> String {
        match self {
            Self::Trigger => "coalesce(trigger_kind, '')".to_owned(),
            Self::DurationClass => duration_class_sql("duration_ms"),
            other => other.column().to_owned(),
        }
    }
}

/// The lower bounds of the duration classes, in ms: class `i` holds the
/// durations in `[DURATION_BOUNDS[i], DURATION_BOUNDS[i + 1])`, the last one
/// every longer duration, the first every shorter one (0 and, from a hand
/// repair, negative ones). Round numbers, because thresholds people type are
/// round (`minDurationMs=1000`, `30000`): a threshold on a bound is answered
/// by whole classes alone, one between two bounds reads the runs of the
/// smaller part of its class (see `meta::DurationTiling`). The migration
/// `0009_duration_classes.sql` spells the same bounds out in SQL, and
/// `store check` compares its rows with [`duration_class_sql`]'s.
pub const DURATION_BOUNDS: [i64; 27] = [
    i64::MIN,
    1,
    2,
    5,
    10,
    20,
    50,
    100,
    200,
    500,
    1_000,
    2_000,
    5_000,
    10_000,
    15_000,
    30_000,
    60_000,
    120_000,
    300_000,
    600_000,
    900_000,
    1_800_000,
    3_600_000,
    7_200_000,
    21_600_000,
    43_200_000,
    86_400_000,
];

/// The class of a run without a duration (not finished): no duration
/// filter matches it.
pub const NO_DURATION: i64 = -1;

/// The duration class of `duration_ms` (see [`DURATION_BOUNDS`]).
pub fn duration_class(duration_ms: Option<i64>) -> i64 {
    match duration_ms {
        None => NO_DURATION,
        Some(d) => DURATION_BOUNDS.partition_point(|b| *b <= d) as i64 - 1,
    }
}

/// The half-open range `[lo, hi)` of class `class`; `hi` is `None` for the
/// last, unbounded one.
pub fn duration_class_range(class: usize) -> (i64, Option<i64>) {
    (
        DURATION_BOUNDS[class],
        DURATION_BOUNDS.get(class + 1).copied(),
    )
}

/// [`duration_class`] in SQL, of the column `column`.
pub fn duration_class_sql(column: &str) -> String {
    let mut sql = format!("CASE WHEN {column} IS NULL THEN {NO_DURATION}");
    for (class, bound) in DURATION_BOUNDS.iter().enumerate().skip(1) {
        sql.push_str(&format!(" WHEN {column} < {bound} THEN {}", class - 1));
    }
    sql.push_str(&format!(" ELSE {} END", DURATION_BOUNDS.len() - 1));
    sql
}

#[derive(Debug, PartialEq, Eq)]
pub struct Rollup {
    pub table: &'static str,
    pub slot_ms: i64,
    pub source: Source,
    /// Key columns besides `scope_id` and `slot_start`; the count is `runs`.
    pub keys: &'static [Field],
}

pub const QUARTER_HOURLY: Rollup = Rollup {
    table: "execution_quarter_hourly",
    slot_ms: QUARTER_HOUR,
    source: Source::Runs,
    keys: &[Field::Status, Field::Trigger, Field::Elicitation],
};
pub const HOURLY: Rollup = Rollup {
    table: "execution_hourly",
    slot_ms: HOUR,
    ..QUARTER_HOURLY
};
pub const TOOL_HOURLY: Rollup = Rollup {
    table: "tool_hourly",
    slot_ms: HOUR,
    source: Source::Pairs(Pairs::ToolPaths),
    keys: &[Field::ToolPath, Field::Status],
};
pub const TOOL_DAILY: Rollup = Rollup {
    table: "tool_daily",
    slot_ms: DAY,
    ..TOOL_HOURLY
};
/// Whatever the status: a sixth of the rows, for views without a status filter.
pub const TOOL_HOURLY_TOTAL: Rollup = Rollup {
    table: "tool_hourly_total",
    slot_ms: HOUR,
    source: Source::Pairs(Pairs::ToolPaths),
    keys: &[Field::ToolPath],
};
pub const TOOL_DAILY_TOTAL: Rollup = Rollup {
    table: "tool_daily_total",
    slot_ms: DAY,
    ..TOOL_HOURLY_TOTAL
};

/// Every run class of a tool path: what a view filtered to one path counts
/// (its facets and chart), and tool facets under trigger or elicitation
/// filters. Keyed slot first, like every roll-up: a batch's counts land
/// side by side; one path's rows are read slot by slot.
pub const TOOL_CLASS_HOURLY: Rollup = Rollup {
    table: "tool_class_hourly",
    slot_ms: HOUR,
    source: Source::Pairs(Pairs::ToolPaths),
    keys: &[
        Field::ToolPath,
        Field::Status,
        Field::Trigger,
        Field::Elicitation,
    ],
};
pub const TOOL_CLASS_DAILY: Rollup = Rollup {
    table: "tool_class_daily",
    slot_ms: DAY,
    ..TOOL_CLASS_HOURLY
};

/// Every run class of a tool namespace: what a view filtered to one
/// namespace (`tool=github.*`) counts.
pub const NAMESPACE_CLASS_HOURLY: Rollup = Rollup {
    table: "namespace_class_hourly",
    slot_ms: HOUR,
    source: Source::Pairs(Pairs::ToolNamespaces),
    keys: &[
        Field::Namespace,
        Field::Status,
        Field::Trigger,
        Field::Elicitation,
    ],
};
pub const NAMESPACE_CLASS_DAILY: Rollup = Rollup {
    table: "namespace_class_daily",
    slot_ms: DAY,
    ..NAMESPACE_CLASS_HOURLY
};

/// Runs by class and duration class: what a view with a duration filter
/// counts (its facets and chart). Apart from the run roll-ups, whose reads
/// would otherwise sum a dozen times more rows for every other view.
pub const DURATION_QUARTER_HOURLY: Rollup = Rollup {
    table: "execution_duration_quarter_hourly",
    slot_ms: QUARTER_HOUR,
    source: Source::Runs,
    keys: &[
        Field::Status,
        Field::Trigger,
        Field::Elicitation,
        Field::DurationClass,
    ],
};
pub const DURATION_HOURLY: Rollup = Rollup {
    table: "execution_duration_hourly",
    slot_ms: HOUR,
    ..DURATION_QUARTER_HOURLY
};

pub const ROLLUPS: [&Rollup; 12] = [
    &QUARTER_HOURLY,
    &HOURLY,
    &DURATION_QUARTER_HOURLY,
    &DURATION_HOURLY,
    &TOOL_HOURLY,
    &TOOL_DAILY,
    &TOOL_HOURLY_TOTAL,
    &TOOL_DAILY_TOTAL,
    &TOOL_CLASS_HOURLY,
    &TOOL_CLASS_DAILY,
    &NAMESPACE_CLASS_HOURLY,
    &NAMESPACE_CLASS_DAILY,
];

impl Rollup {
    /// The start of the slot holding `created_at` (floor, also before 1970).
    pub fn slot_start(&self, created_at: i64) -> i64 {
        created_at.div_euclid(self.slot_ms) * self.slot_ms
    }

    /// [`Self::slot_start`] in SQL (`%` truncates toward zero in both
    /// dialects; this floors).
    pub fn slot_expr(&self, column: &str) -> String {
        let s = self.slot_ms;
        format!("({column} - ((({column} % {s}) + {s}) % {s}))")
    }

    /// `scope_id, slot_start, <keys>`: the roll-up's primary key.
    pub fn key_columns(&self) -> String {
        let keys: Vec<&str> = self.keys.iter().map(|k| k.column()).collect();
        format!("scope_id, slot_start, {}", keys.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_floor_like_the_sql_does() {
        assert_eq!(HOURLY.slot_start(HOUR + 5), HOUR);
        assert_eq!(HOURLY.slot_start(-1), -HOUR);
        assert_eq!(
            HOURLY.slot_expr("t"),
            "(t - (((t % 3600000) + 3600000) % 3600000))"
        );
        assert_eq!(
            QUARTER_HOURLY.key_columns(),
            "scope_id, slot_start, status, trigger_kind, had_elicitation"
        );
    }

    #[test]
    fn duration_classes_cover_every_duration() {
        assert_eq!(duration_class(None), NO_DURATION);
        assert_eq!(duration_class(Some(i64::MIN)), 0);
        assert_eq!(duration_class(Some(-5)), 0);
        assert_eq!(duration_class(Some(0)), 0);
        assert_eq!(duration_class(Some(1)), 1);
        assert_eq!(duration_class(Some(999)), 9);
        assert_eq!(duration_class(Some(1_000)), 10);
        assert_eq!(duration_class(Some(i64::MAX)), 26);
        assert_eq!(duration_class_range(10), (1_000, Some(2_000)));
        assert_eq!(duration_class_range(26), (86_400_000, None));
        assert!(DURATION_BOUNDS.windows(2).all(|w| w[0] < w[1]));
        let sql = duration_class_sql("d");
        assert!(sql.starts_with("CASE WHEN d IS NULL THEN -1 WHEN d < 1 THEN 0 WHEN d < 2 THEN 1"));
        assert!(sql.ends_with("WHEN d < 86400000 THEN 25 ELSE 26 END"));
    }
}
