//! The filter command's grammar (docs/page.md#filter-command):
//! `status:failed,running trigger:mcp tool:github.* code:"two words"
//! error:timeout duration:>500ms after:1h before:2026-11-01T10:00
//! elicitation:yes`.
//! Parsing reports every bad token with its place instead of dropping it;
//! printing gives text that parses back to the same filters.

use super::{
    format_iso_short, parse_utc, EpochMs, ExecutionStatus, Filters, ListMeta, SessionId,
    ToolPathPattern, TriggerFilter, MAX_DURATION_MS,
};

pub const KEYS: [&str; 10] = [
    "status",
    "trigger",
    "tool",
    "session",
    "code",
    "error",
    "duration",
    "after",
    "before",
    "elicitation",
];

/// A token that could not be understood, with its byte range in the input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenError {
    pub start: usize,
    pub end: usize,
    pub token: String,
    pub message: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    pub filters: Filters,
    pub errors: Vec<TokenError>,
}

struct Token<'a> {
    start: usize,
    end: usize,
    text: &'a str,
}

/// Splits on whitespace outside double quotes.
fn tokens(input: &str) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let mut start = None;
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in input.char_indices() {
        match (start, c) {
            (None, c) if c.is_whitespace() => {}
            (None, _) => {
                start = Some(i);
                quoted = c == '"';
            }
            (Some(_), _) if escaped => escaped = false,
            (Some(_), '\\') if quoted => escaped = true,
            (Some(_), '"') => quoted = !quoted,
            (Some(s), c) if c.is_whitespace() && !quoted => {
                out.push(Token {
                    start: s,
                    end: i,
                    text: &input[s..i],
                });
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push(Token {
            start: s,
            end: input.len(),
            text: &input[s..],
        });
    }
    out
}

fn unquote(value: &str) -> Result<String, String> {
    let Some(inner) = value.strip_prefix('"') else {
        return Ok(value.to_owned());
    };
    let Some(inner) = inner.strip_suffix('"').filter(|_| value.len() >= 2) else {
        return Err("unclosed quote".into());
    };
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            out.extend(chars.next());
        } else {
            out.push(c);
        }
    }
    Ok(out)
}

fn quote(value: &str) -> String {
    if !value.is_empty() && !value.contains(|c: char| c.is_whitespace() || c == '"' || c == '\\') {
        return value.to_owned();
    }
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

fn csv<T>(value: &str, item: impl Fn(&str) -> Result<T, String>) -> Result<Vec<T>, String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(item)
        .collect::<Result<Vec<_>, _>>()
        .and_then(|v| {
            if v.is_empty() {
                Err("needs a value".into())
            } else {
                Ok(v)
            }
        })
}

fn status(raw: &str) -> Result<ExecutionStatus, String> {
    if raw == "waiting" {
        return Ok(ExecutionStatus::WaitingForInteraction);
    }
    raw.parse()
}

fn trigger(raw: &str) -> Result<TriggerFilter, String> {
    if raw == "unknown" {
        Ok(TriggerFilter::Unknown)
    } else {
        TriggerFilter::validate_kind(raw).map(|()| TriggerFilter::Kind(raw.to_owned()))
    }
}

/// `500`, `500ms`, `2s`, `1.5m`, `1h` in milliseconds, at most
/// [`MAX_DURATION_MS`].
fn duration_ms(raw: &str) -> Result<i64, String> {
    let (number, unit) = match raw.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(at) => raw.split_at(at),
        None => (raw, "ms"),
    };
    let scale = match unit {
        "ms" => 1.0,
        "s" => 1_000.0,
        "m" => 60_000.0,
        "h" => 3_600_000.0,
        _ => return Err(format!("unknown unit '{unit}'; use ms, s, m or h")),
    };
    let n: f64 = number
        .parse()
        .map_err(|_| format!("'{raw}' is not a duration such as 500ms or 2s"))?;
    let ms = (n * scale).round();
    // Compared as floats: a cast would saturate silently.
    if !(0.0..=MAX_DURATION_MS as f64).contains(&ms) {
        return Err(format!("'{raw}' is longer than any run can last"));
    }
    Ok(ms as i64)
}

/// Relative (`15m`, `2h`, `3d`, `1w` before now), a UTC date/time, or epoch
/// ms; always within [`EpochMs`]'s bounds.
fn instant(raw: &str, now_ms: i64) -> Result<EpochMs, String> {
    let too_far = || format!("'{raw}' lies outside the years 1970 to 9999");
    let relative = raw
        .strip_suffix(['m', 'h', 'd', 'w'])
        .and_then(|n| n.parse::<i64>().ok());
    if let (Some(n), Some(unit)) = (relative, raw.chars().last()) {
        let unit_ms = match unit {
            'm' => 60_000,
            'h' => 3_600_000,
            'd' => 86_400_000,
            _ => 7 * 86_400_000,
        };
        return n
            .checked_mul(unit_ms)
            .and_then(|ago| now_ms.checked_sub(ago))
            .and_then(EpochMs::new)
            .ok_or_else(too_far);
    }
    if let Some(ms) = parse_utc(raw) {
        return EpochMs::new(ms).ok_or_else(too_far);
    }
    let ms = raw.parse::<i64>().map_err(|_| {
        format!("'{raw}' is not a time; use 15m, 2h, 3d, 1w, 2026-11-01 or 2026-11-01T10:00 (UTC)")
    })?;
    EpochMs::new(ms).ok_or_else(too_far)
}

/// Parses a command line. Repeated `status`/`trigger`/`tool` add values; a
/// repeated `code`, `after`, `before` or `elicitation` replaces.
pub fn parse(input: &str, now_ms: i64) -> Parsed {
    let mut parsed = Parsed::default();
    for token in tokens(input) {
        if let Err(message) = apply(&mut parsed.filters, token.text, now_ms) {
            parsed.errors.push(TokenError {
                start: token.start,
                end: token.end,
                token: token.text.to_owned(),
                message,
            });
        }
    }
    parsed
}

fn apply(f: &mut Filters, token: &str, now_ms: i64) -> Result<(), String> {
    let Some((key, value)) = token.split_once(':') else {
        return Err(format!(
            "'{token}' is not key:value; to search code write code:{}",
            quote(token)
        ));
    };
    let value = unquote(value)?;
    if value.is_empty() {
        return Err(format!("{key}: needs a value"));
    }
    // Keys, and the values that are words of a fixed vocabulary (statuses,
    // trigger kinds, yes/no, duration units), in any case: `status:FAILED`
    // is what someone typing means. Tool paths and instants keep theirs.
    let key = key.to_ascii_lowercase();
    let value = match key.as_str() {
        "status" | "trigger" | "elicitation" | "duration" => value.to_ascii_lowercase(),
        _ => value,
    };
    match key.as_str() {
        "status" => add(&mut f.statuses, csv(&value, status)?),
        "trigger" => add(&mut f.triggers, csv(&value, trigger)?),
        "tool" => add(&mut f.tools, csv(&value, ToolPathPattern::parse)?),
        "session" => add(&mut f.sessions, csv(&value, SessionId::parse)?),
        "code" => f.code = Some(value),
        "error" => f.error = Some(value),
        "elicitation" => {
            f.elicitation = Some(match value.as_str() {
                "yes" | "true" => true,
                "no" | "false" => false,
                other => return Err(format!("elicitation: '{other}'; use yes or no")),
            })
        }
        "after" => f.from = Some(instant(&value, now_ms)?),
        "before" => f.to = Some(instant(&value, now_ms)?),
        "duration" => {
            let (op, rest) = [">=", "<=", ">", "<"]
                .iter()
                .find_map(|op| value.strip_prefix(op).map(|rest| (*op, rest)))
                .unwrap_or(("=", value.as_str()));
            let ms = duration_ms(rest)?;
            let beyond = || format!("duration: nothing lasts {op} {rest}");
            match op {
                ">=" => f.min_duration_ms = Some(ms),
                ">" if ms < MAX_DURATION_MS => f.min_duration_ms = Some(ms + 1),
                "<=" => f.max_duration_ms = Some(ms),
                "<" if ms > 0 => f.max_duration_ms = Some(ms - 1),
                ">" | "<" => return Err(beyond()),
                _ => {
                    f.min_duration_ms = Some(ms);
                    f.max_duration_ms = Some(ms);
                }
            }
        }
        other => {
            return Err(format!(
                "unknown filter '{other}'; use one of {}",
                KEYS.join(", ")
            ))
        }
    }
    Ok(())
}

fn add<T: PartialEq>(into: &mut Vec<T>, items: Vec<T>) {
    for item in items {
        if !into.contains(&item) {
            into.push(item);
        }
    }
}

/// Text that parses back to `filters` (`after` is not part of a command).
pub fn print(f: &Filters) -> String {
    let mut out: Vec<String> = Vec::new();
    if !f.statuses.is_empty() {
        let v: Vec<&str> = f.statuses.iter().map(|s| s.as_str()).collect();
        out.push(format!("status:{}", v.join(",")));
    }
    if !f.triggers.is_empty() {
        let v: Vec<String> = f.triggers.iter().map(super::trigger_str).collect();
        out.push(format!("trigger:{}", v.join(",")));
    }
    if !f.tools.is_empty() {
        let v: Vec<&str> = f.tools.iter().map(|t| t.as_str()).collect();
        // Patterns may hold '"' or '\\' (visible ASCII): quoted then.
        out.push(format!("tool:{}", quote(&v.join(","))));
    }
    if !f.sessions.is_empty() {
        let v: Vec<&str> = f.sessions.iter().map(|s| s.as_str()).collect();
        out.push(format!("session:{}", v.join(",")));
    }
    if let Some(code) = &f.code {
        out.push(format!("code:{}", quote(code)));
    }
    if let Some(error) = &f.error {
        out.push(format!("error:{}", quote(error)));
    }
    match (f.min_duration_ms, f.max_duration_ms) {
        (Some(a), Some(b)) if a == b => out.push(format!("duration:{a}ms")),
        (min, max) => {
            if let Some(a) = min {
                out.push(format!("duration:>={a}ms"));
            }
            if let Some(b) = max {
                out.push(format!("duration:<={b}ms"));
            }
        }
    }
    if let Some(from) = f.from {
        out.push(format!("after:{}", format_iso_short(from.get())));
    }
    if let Some(to) = f.to {
        out.push(format!("before:{}", format_iso_short(to.get())));
    }
    if let Some(e) = f.elicitation {
        out.push(format!("elicitation:{}", if e { "yes" } else { "no" }));
    }
    out.join(" ")
}

/// One way to complete the token being typed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suggestion {
    pub label: String,
    pub count: Option<i64>,
    /// The whole input with the last token completed.
    pub input: String,
}

/// Suggestions for the last token of `input`, with counts from `meta`.
pub fn suggest(input: &str, meta: Option<&ListMeta>) -> Vec<Suggestion> {
    let ends_open = input.is_empty() || input.ends_with(char::is_whitespace);
    let last = if ends_open {
        ""
    } else {
        input.split_whitespace().last().unwrap_or("")
    };
    let head = &input[..input.len() - last.len()];
    let complete = |text: String| format!("{head}{text}");
    let Some((key, partial)) = last.split_once(':') else {
        return KEYS
            .iter()
            .filter(|k| k.starts_with(last))
            .map(|k| Suggestion {
                label: format!("{k}:"),
                count: None,
                input: complete(format!("{k}:")),
            })
            .collect();
    };
    // Values already chosen in this token stay; the last one is completed.
    let (done, typing) = partial
        .rsplit_once(',')
        .map_or(("", partial), |(d, t)| (d, t));
    let prefix = if done.is_empty() {
        format!("{key}:")
    } else {
        format!("{key}:{done},")
    };
    let values: Vec<(String, Option<i64>)> = match (key, meta) {
        ("status", m) => ExecutionStatus::ALL
            .iter()
            .map(|s| (s.as_str().to_owned(), m.map(|m| m.status_counts.get(*s))))
            .collect(),
        ("trigger", Some(m)) => m
            .trigger_counts
            .iter()
            .map(|t| {
                (
                    t.trigger_kind.clone().unwrap_or_else(|| "unknown".into()),
                    Some(t.count),
                )
            })
            .collect(),
        ("tool", Some(m)) => m
            .tool_facets
            .iter()
            .map(|t| (t.tool_path.clone(), Some(t.count)))
            .collect(),
        ("elicitation", m) => vec![
            (
                "yes".to_owned(),
                m.map(|m| m.interaction_counts.with_elicitation),
            ),
            (
                "no".to_owned(),
                m.map(|m| m.interaction_counts.without_elicitation),
            ),
        ],
        ("after" | "before", _) => ["15m", "1h", "24h", "7d"]
            .iter()
            .map(|v| (v.to_string(), None))
            .collect(),
        ("duration", _) => [">1s", ">5s", "<100ms"]
            .iter()
            .map(|v| (v.to_string(), None))
            .collect(),
        _ => Vec::new(),
    };
    values
        .into_iter()
        .filter(|(v, _)| v.starts_with(typing) && v != typing)
        .map(|(v, count)| Suggestion {
            label: v.clone(),
            count,
            input: complete(format!("{prefix}{v}")),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::MAX_EPOCH_MS;
    use proptest::prelude::*;

    /// Found by `cargo fuzz run filter_command` (docs/reliability.md): a
    /// tool pattern that is a lone quote printed as an unclosed quote.
    #[test]
    fn tool_patterns_with_quotes_and_backslashes_print_back() {
        for input in ["tool:,\" ", "tool:a\\b", "tool:x\"y,z"] {
            let first = parse(input, NOW);
            assert!(first.errors.is_empty(), "{input}: {:?}", first.errors);
            let printed = print(&first.filters);
            let second = parse(&printed, NOW);
            assert!(second.errors.is_empty(), "{printed}: {:?}", second.errors);
            assert_eq!(second.filters, first.filters, "{printed}");
        }
    }

    #[test]
    fn numbers_past_the_bounds_are_errors_in_place() {
        for token in [
            "after:99999999999999w",
            "after:9223372036854775807",
            "before:-1",
            "before:10000-01-01",
            "duration:>1e30",
            "duration:>10000000000000000000000000000000ms",
            "duration:>99999999999999999h",
            "duration:<0",
            "duration:>253402300799999",
        ] {
            let parsed = parse(token, NOW);
            assert_eq!(parsed.errors.len(), 1, "{token}: {:?}", parsed.filters);
            assert_eq!(parsed.errors[0].start, 0, "{token}");
        }
        let last = parse("before:253402300799999 duration:<=253402300799999ms", NOW);
        assert!(last.errors.is_empty(), "{:?}", last.errors);
    }

    const NOW: i64 = 1_795_796_016_000;

    #[test]
    fn parses_the_documented_example() {
        let p = parse(
            r#"status:failed,running trigger:mcp tool:github.* session:mcp:7f3a code:"two words" ERROR:Timeout duration:>500ms after:1h before:2026-11-01T10:00 elicitation:yes"#,
            NOW,
        );
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        let f = p.filters;
        assert_eq!(
            f.statuses,
            vec![ExecutionStatus::Failed, ExecutionStatus::Running]
        );
        assert_eq!(f.triggers, vec![TriggerFilter::Kind("mcp".into())]);
        assert_eq!(f.tools[0].as_str(), "github.*");
        assert_eq!(f.code.as_deref(), Some("two words"));
        // Keys in any case; a searched text keeps its own (the search
        // ignores it).
        assert_eq!(f.error.as_deref(), Some("Timeout"));
        assert_eq!(f.sessions[0].as_str(), "mcp:7f3a");
        assert_eq!(f.min_duration_ms, Some(501));
        assert_eq!(f.from, EpochMs::new(NOW - 3_600_000));
        assert_eq!(f.to, parse_utc("2026-11-01T10:00").and_then(EpochMs::new));
        assert_eq!(f.elicitation, Some(true));
    }

    #[test]
    fn keys_and_vocabulary_values_take_any_case() {
        let upper = parse(
            "STATUS:FAILED,Waiting Trigger:MCP elicitation:YES duration:>2S",
            NOW,
        );
        let lower = parse(
            "status:failed,waiting trigger:mcp elicitation:yes duration:>2s",
            NOW,
        );
        assert!(upper.errors.is_empty(), "{:?}", upper.errors);
        assert_eq!(upper.filters, lower.filters);
        assert_eq!(lower.filters.min_duration_ms, Some(2_001));
        // Tool paths are names: their case is theirs.
        let tool = parse("TOOL:GitHub.createIssue", NOW);
        assert_eq!(tool.filters.tools[0].as_str(), "GitHub.createIssue");
    }

    #[test]
    fn bad_tokens_are_errors_with_their_place() {
        let input = "status:nope tool:demo.* colour:red hello";
        let p = parse(input, NOW);
        assert_eq!(p.filters.tools.len(), 1);
        let errors: Vec<(&str, &str)> = p
            .errors
            .iter()
            .map(|e| (&input[e.start..e.end], e.message.as_str()))
            .collect();
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert_eq!(errors[0].0, "status:nope");
        assert!(errors[0].1.contains("unknown value 'nope'"));
        assert!(errors[1].1.contains("unknown filter 'colour'"));
        assert!(errors[2].1.contains("code:hello"));
        assert!(!parse("code:\"open", NOW).errors.is_empty());
        assert!(!parse("duration:>5x", NOW).errors.is_empty());
    }

    #[test]
    fn waiting_is_an_alias_and_repeats_add() {
        let p = parse("status:waiting status:failed,waiting", NOW);
        assert_eq!(
            p.filters.statuses,
            vec![
                ExecutionStatus::WaitingForInteraction,
                ExecutionStatus::Failed
            ]
        );
    }

    #[test]
    fn suggests_values_with_counts() {
        let s = suggest("tool:demo.* status:fa", None);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].input, "tool:demo.* status:failed");
        let keys = suggest("st", None);
        assert_eq!(keys[0].input, "status:");
        let more = suggest("status:failed,c", None);
        assert_eq!(
            more.iter().map(|s| s.input.as_str()).collect::<Vec<_>>(),
            ["status:failed,completed", "status:failed,cancelled"]
        );
    }

    fn filters() -> impl Strategy<Value = Filters> {
        let status = proptest::sample::select(ExecutionStatus::ALL.to_vec());
        let trigger = prop_oneof![
            Just(TriggerFilter::Unknown),
            "[a-z0-9_.-]{1,12}"
                .prop_filter("not the unknown keyword", |k| k != "unknown")
                .prop_map(TriggerFilter::Kind),
        ];
        let tool = "[a-z]{1,6}(\\.[a-z*]{1,6}){0,2}"
            .prop_filter_map("valid pattern", |t| ToolPathPattern::parse(&t).ok());
        (
            proptest::collection::vec(status, 0..4),
            proptest::collection::vec(trigger, 0..3),
            proptest::collection::vec(tool, 0..3),
            (
                proptest::option::of("[ -~]{0,20}"),
                proptest::option::of("[ -~]{0,20}"),
            ),
            proptest::option::of(prop_oneof![0i64..10_000_000, Just(MAX_DURATION_MS)]),
            proptest::option::of(prop_oneof![0i64..10_000_000, Just(MAX_DURATION_MS)]),
            proptest::option::of(prop_oneof![0i64..4_000_000_000_000, Just(MAX_EPOCH_MS)]),
            proptest::option::of(prop_oneof![0i64..4_000_000_000_000, Just(MAX_EPOCH_MS)]),
            proptest::option::of(any::<bool>()),
        )
            .prop_map(|(s, t, tools, (code, error), min, max, from, to, e)| {
                let mut f = Filters::default();
                add(&mut f.statuses, s);
                add(&mut f.triggers, t);
                add(&mut f.tools, tools);
                f.code = code.filter(|c| !c.is_empty());
                f.error = error.filter(|c| !c.is_empty());
                f.min_duration_ms = min;
                f.max_duration_ms = max;
                f.from = from.and_then(EpochMs::new);
                f.to = to.and_then(EpochMs::new);
                f.elicitation = e;
                f
            })
    }

    proptest! {
        #[test]
        fn printing_then_parsing_gives_the_same_filters(f in filters()) {
            let text = print(&f);
            let back = parse(&text, NOW);
            prop_assert!(back.errors.is_empty(), "{text}: {:?}", back.errors);
            prop_assert_eq!(back.filters, f, "{}", text);
        }

        #[test]
        fn parsing_never_panics(input in "\\PC{0,80}") {
            let _ = parse(&input, NOW);
            let _ = suggest(&input, None);
        }
    }
}
