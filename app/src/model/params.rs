//! Every parameter a client sends, declared once: its name, where it goes,
//! what it means and what values it takes. The list parser, its 400
//! messages, the page's URL state, the export and the OpenAPI document all
//! read these declarations, so none of them can disagree with another (a
//! property test checks each declared pattern against its parser).

use serde_json::{json, Value};

use super::bounds::{MAX_DURATION_MS, MAX_EPOCH_MS};

/// Where a parameter travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Location {
    Query,
    Header,
}

/// What values a parameter takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// A decimal integer without sign or leading zeros, in `min..=max`.
    Integer { min: i64, max: i64 },
    /// `true` or `false`.
    Boolean,
    /// One of these words.
    OneOf(&'static [&'static str]),
    /// Text that matches this (anchored) regular expression.
    Pattern(&'static str),
    /// Any text of 1 to this many characters.
    Text { max_chars: usize },
    /// A JSON object, serialized, of at most this many bytes.
    JsonObject { max_bytes: usize },
}

/// One parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Param {
    pub name: &'static str,
    pub location: Location,
    pub description: &'static str,
    pub shape: Shape,
    /// Part of a `/runs` page URL (the page keeps its own pagination).
    pub in_page_url: bool,
}

/// One status.
macro_rules! status_item {
    () => {
        "(pending|running|waiting_for_interaction|completed|failed|cancelled)"
    };
}
/// A trigger kind, or `unknown`.
macro_rules! trigger_item {
    () => {
        "[a-z0-9_.-]{1,64}"
    };
}
/// A tool path pattern: visible ASCII but the comma, which separates them.
macro_rules! session_item {
    () => {
        "[A-Za-z0-9_.:-]{1,128}"
    };
}
macro_rules! tool_item {
    () => {
        "[!-+\\--~]{1,256}"
    };
}
/// `^item(,item)*$`: a comma-separated list of at least one item.
macro_rules! csv_of {
    ($item:expr) => {
        concat!("^", $item, "(,", $item, ")*$")
    };
}

/// A cursor: sort key (`c`reatedAt, `d`urationMs) and direction (`a`sc,
/// `d`esc), then the last row's sort value and id. Every cursor of this
/// shape names a position, so any of them is a valid request.
pub const CURSOR_PATTERN: &str = "^(c|d)(a|d)~(-1|0|[1-9][0-9]{0,14})~[!-~]{1,64}$";
/// Longest code or error substring a search may ask for.
pub const MAX_TEXT_QUERY_CHARS: usize = 1_000;

pub const LIMIT: Param = query(
    "limit",
    "Page size (default 50)",
    Shape::Integer {
        min: 1,
        max: super::MAX_LIMIT as i64,
    },
    false,
);
pub const CURSOR_PARAM: Param = query(
    "cursor",
    "nextCursor of the previous page; it carries its sort, which then applies",
    Shape::Pattern(CURSOR_PATTERN),
    false,
);
pub const STATUS: Param = query(
    "status",
    "Comma-separated statuses",
    Shape::Pattern(csv_of!(status_item!())),
    true,
);
pub const TRIGGER: Param = query(
    "trigger",
    "Comma-separated trigger kinds; 'unknown' matches runs without one",
    Shape::Pattern(csv_of!(trigger_item!())),
    true,
);
pub const TOOL: Param = query(
    "tool",
    "Comma-separated tool path patterns; '*' matches any run of characters, and 'a.*' also matches 'a'",
    Shape::Pattern(csv_of!(tool_item!())),
    true,
);
pub const SESSION: Param = query(
    "session",
    "Comma-separated sessions (the x-executor-session a run was started with)",
    Shape::Pattern(csv_of!(session_item!())),
    true,
);
pub const FROM: Param = instant("from", "created_at >= from (epoch ms)", true);
pub const TO: Param = instant(
    "to",
    "created_at < to (epoch ms); a window with to <= from is empty",
    true,
);
pub const AFTER: Param = instant(
    "after",
    "created_at > after (epoch ms), for live polling",
    false,
);
pub const CODE: Param = query(
    "code",
    "Case-insensitive substring of the code",
    Shape::Text {
        max_chars: MAX_TEXT_QUERY_CHARS,
    },
    true,
);
pub const ERROR: Param = query(
    "error",
    "Case-insensitive substring of the error; runs without an error never match",
    Shape::Text {
        max_chars: MAX_TEXT_QUERY_CHARS,
    },
    true,
);
pub const MIN_DURATION: Param = duration("minDurationMs", "duration_ms >= this");
pub const MAX_DURATION: Param = duration(
    "maxDurationMs",
    "duration_ms <= this; below minDurationMs nothing matches",
);
pub const ELICITATION: Param = query(
    "elicitation",
    "Runs that did (true) or did not (false) ask a person",
    Shape::Boolean,
    true,
);
pub const SORT: Param = query(
    "sort",
    "Sort key and direction (default createdAt,desc); runs without a duration sort as -1",
    Shape::Pattern("^(createdAt|durationMs)(,(asc|desc))?$"),
    true,
);

/// The list's parameters (`GET /executions`, the export, the page).
pub const LIST_PARAMS: [Param; 15] = [
    LIMIT,
    CURSOR_PARAM,
    STATUS,
    TRIGGER,
    TOOL,
    SESSION,
    FROM,
    TO,
    AFTER,
    CODE,
    ERROR,
    MIN_DURATION,
    MAX_DURATION,
    ELICITATION,
    SORT,
];

/// The export's own parameter, beside the list's.
pub const FORMAT: Param = query(
    "format",
    "ndjson (default) or csv",
    Shape::OneOf(&["ndjson", "csv"]),
    false,
);

/// `GET /executions`'s own parameter, beside the list's.
pub const META: Param = query(
    "meta",
    "false leaves out the meta (counts, facets, chart) of a first page, so the rows come at index speed; GET /executions/meta answers it alone",
    Shape::Boolean,
    false,
);

/// `GET /executions`'s and `GET /executions/meta`'s: how exact the counts are.
pub const EXACT: Param = query(
    "exact",
    "true asks for exact counts however many runs they read, within the exact request's time limit (60 s; past it 503 query_timeout); otherwise counts past the meta's work budget are estimates, marked approximate",
    Shape::Boolean,
    false,
);

pub const TRIGGER_HEADER: Param = Param {
    name: "x-executor-trigger",
    location: Location::Header,
    description: "Who runs the code (default http; rerun: ui)",
    shape: Shape::Pattern(concat!("^", trigger_item!(), "$")),
    in_page_url: false,
};
pub const SESSION_HEADER: Param = Param {
    name: "x-executor-session",
    location: Location::Header,
    description: "The session the run belongs to (an agent's conversation, one CLI invocation): 1-128 characters of A-Z a-z 0-9 _ . : -; filter with ?session=",
    shape: Shape::Pattern(concat!("^", session_item!(), "$")),
    in_page_url: false,
};
pub const TRIGGER_META_HEADER: Param = Param {
    name: "x-executor-trigger-meta",
    location: Location::Header,
    description:
        "A JSON object (at most 8 KiB) of details about the trigger, such as {\"host\":\"laptop\"}",
    shape: Shape::JsonObject {
        max_bytes: super::MAX_TRIGGER_META_BYTES,
    },
    in_page_url: false,
};

const fn query(
    name: &'static str,
    description: &'static str,
    shape: Shape,
    in_page_url: bool,
) -> Param {
    Param {
        name,
        location: Location::Query,
        description,
        shape,
        in_page_url,
    }
}

const fn instant(name: &'static str, description: &'static str, in_page_url: bool) -> Param {
    let shape = Shape::Integer {
        min: 0,
        max: MAX_EPOCH_MS,
    };
    query(name, description, shape, in_page_url)
}

const fn duration(name: &'static str, description: &'static str) -> Param {
    let shape = Shape::Integer {
        min: 0,
        max: MAX_DURATION_MS,
    };
    query(name, description, shape, true)
}

impl Param {
    /// The JSON Schema of the parameter's value. Query parameters may also
    /// be empty, which counts as absent (as HTML forms send them).
    pub fn schema(&self) -> Value {
        let value = match self.shape {
            Shape::Integer { min, max } => {
                json!({"type": "integer", "minimum": min, "maximum": max})
            }
            Shape::Boolean => json!({"type": "boolean"}),
            Shape::OneOf(words) => json!({"type": "string", "enum": words}),
            Shape::Pattern(pattern) => json!({"type": "string", "pattern": pattern}),
            Shape::Text { max_chars } => {
                json!({"type": "string", "minLength": 1, "maxLength": max_chars})
            }
            Shape::JsonObject { .. } => json!({"type": "object"}),
        };
        match self.location {
            Location::Query => json!({"anyOf": [value, {"type": "string", "maxLength": 0}]}),
            Location::Header => value,
        }
    }

    /// Checks a (non-empty) value against the shape; the message says what
    /// was expected. Typed parsing happens in the caller, on checked text.
    pub fn check(&self, value: &str) -> Result<(), String> {
        let ok = match self.shape {
            Shape::Integer { .. } => return self.integer(value).map(|_| ()),
            Shape::Boolean => matches!(value, "true" | "false"),
            Shape::OneOf(words) => words.contains(&value),
            // The typed parsers check these (tests hold them to the patterns).
            Shape::Pattern(_) | Shape::JsonObject { .. } => return Ok(()),
            Shape::Text { max_chars } => {
                let n = value.chars().count();
                (1..=max_chars).contains(&n)
            }
        };
        if ok {
            Ok(())
        } else {
            Err(self.expected(value))
        }
    }

    /// Parses an integer parameter: canonical decimal digits in range.
    pub fn integer(&self, value: &str) -> Result<i64, String> {
        let Shape::Integer { min, max } = self.shape else {
            return Err(format!("{} is not an integer parameter", self.name));
        };
        let canonical = value == "0"
            || (!value.is_empty()
                && !value.starts_with('0')
                && value.bytes().all(|b| b.is_ascii_digit()));
        canonical
            .then(|| value.parse::<i64>().ok())
            .flatten()
            .filter(|n| (min..=max).contains(n))
            .ok_or_else(|| self.expected(value))
    }

    fn expected(&self, value: &str) -> String {
        let shown: String = value.chars().take(80).collect();
        match self.shape {
            Shape::Integer { min, max } => {
                format!("expected an integer from {min} to {max}; got '{shown}'")
            }
            Shape::Boolean => format!("expected true or false; got '{shown}'"),
            Shape::OneOf(words) => format!("expected {}; got '{shown}'", words.join(" or ")),
            Shape::Pattern(pattern) => format!("expected text matching {pattern}; got '{shown}'"),
            Shape::Text { max_chars } => format!("expected 1 to {max_chars} characters"),
            Shape::JsonObject { max_bytes } => {
                format!("expected a JSON object of at most {max_bytes} bytes")
            }
        }
    }
}

/// Names of the list's parameters, in declaration order.
pub fn list_param_names() -> impl Iterator<Item = &'static str> {
    LIST_PARAMS.iter().map(|p| p.name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ExecutionStatus;

    #[test]
    fn the_status_pattern_names_every_status() {
        let words: Vec<&str> = status_item!().trim_matches(['(', ')']).split('|').collect();
        assert_eq!(words, ExecutionStatus::ALL.map(ExecutionStatus::as_str));
    }

    #[test]
    fn integers_are_canonical_and_bounded() {
        assert_eq!(LIMIT.integer("1"), Ok(1));
        assert_eq!(LIMIT.integer("100"), Ok(100));
        for bad in ["0", "101", "01", "+5", "-1", " 5", "5 ", "", "1e2", "2.0"] {
            assert!(LIMIT.integer(bad).is_err(), "{bad:?}");
        }
        assert_eq!(FROM.integer("0"), Ok(0));
        assert_eq!(FROM.integer("253402300799999"), Ok(MAX_EPOCH_MS));
        assert!(FROM.integer("253402300800000").is_err());
        assert!(FROM.integer("99999999999999999999").is_err());
    }
}
