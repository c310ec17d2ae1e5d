//! Keyset cursors: the sort they belong to, the sort value of the last row
//! and its id, as `<key><dir>~<value>~<id>` (`cd~1767225600000~0195…` is
//! "createdAt,desc, after the run created at … with id …"). Clients treat
//! it as opaque; it is plain text so that the OpenAPI document can say
//! exactly which cursors are well formed ([`params::CURSOR_PATTERN`]), and
//! every well-formed cursor names a position in its sort, so none is refused
//! for what it points at. The cursor's sort is the page's sort: a cursor
//! continues the listing it came from.
//!
//! [`params::CURSOR_PATTERN`]: super::params::CURSOR_PATTERN

use super::{Sort, SortDir, SortKey};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub sort: Sort,
    /// created_at, or the duration sort key (−1 for runs with no duration yet).
    pub key: i64,
    pub id: String,
}

/// Largest sort value a cursor may carry: 15 digits, past every instant
/// and duration there is (they are bounded to year 9999).
pub const MAX_CURSOR_KEY: i64 = 999_999_999_999_999;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CursorError {
    #[error("not a cursor this API issued; pass back nextCursor as it came")]
    Garbled,
}

impl Cursor {
    pub fn encode(&self) -> String {
        let key = match self.sort.key {
            SortKey::CreatedAt => 'c',
            SortKey::DurationMs => 'd',
        };
        let dir = match self.sort.dir {
            SortDir::Asc => 'a',
            SortDir::Desc => 'd',
        };
        format!("{key}{dir}~{}~{}", self.key, self.id)
    }

    pub fn decode(raw: &str) -> Result<Self, CursorError> {
        let mut parts = raw.splitn(3, '~');
        let (Some(sort), Some(key), Some(id)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(CursorError::Garbled);
        };
        let sort = match sort {
            "ca" => (SortKey::CreatedAt, SortDir::Asc),
            "cd" => (SortKey::CreatedAt, SortDir::Desc),
            "da" => (SortKey::DurationMs, SortDir::Asc),
            "dd" => (SortKey::DurationMs, SortDir::Desc),
            _ => return Err(CursorError::Garbled),
        };
        let canonical = key == "0"
            || key == "-1"
            || (!key.starts_with('0')
                && !key.is_empty()
                && key.bytes().all(|b| b.is_ascii_digit()));
        let key = canonical
            .then(|| key.parse::<i64>().ok())
            .flatten()
            .filter(|k| (-1..=MAX_CURSOR_KEY).contains(k))
            .ok_or(CursorError::Garbled)?;
        let visible = id.bytes().all(|b| (b'!'..=b'~').contains(&b));
        if id.is_empty() || id.len() > 64 || !visible {
            return Err(CursorError::Garbled);
        }
        Ok(Self {
            sort: Sort {
                key: sort.0,
                dir: sort.1,
            },
            key,
            id: id.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sorts() -> impl Strategy<Value = Sort> {
        (
            prop_oneof![Just(SortKey::CreatedAt), Just(SortKey::DurationMs)],
            prop_oneof![Just(SortDir::Asc), Just(SortDir::Desc)],
        )
            .prop_map(|(key, dir)| Sort { key, dir })
    }

    proptest! {
        #[test]
        fn any_cursor_round_trips(sort in sorts(), key in -1..=MAX_CURSOR_KEY, id in "[!-~]{1,64}") {
            let cursor = Cursor { sort, key, id };
            prop_assert_eq!(Cursor::decode(&cursor.encode()), Ok(cursor));
        }

        #[test]
        fn keys_past_the_bounds_are_refused(sort in sorts(), key in any::<i64>()) {
            prop_assume!(!(-1..=MAX_CURSOR_KEY).contains(&key));
            let cursor = Cursor { sort, key, id: "x".into() };
            prop_assert_eq!(Cursor::decode(&cursor.encode()), Err(CursorError::Garbled));
        }

        /// The parser takes exactly what the declared pattern describes.
        #[test]
        fn the_parser_and_the_declared_pattern_agree(raw in "(c|d|x)(a|d)~(-1|-2|0|00|[0-9]{1,17})~[ -~\u{e9}]{0,66}") {
            let pattern = regex::Regex::new(crate::model::params::CURSOR_PATTERN).unwrap();
            prop_assert_eq!(Cursor::decode(&raw).is_ok(), pattern.is_match(&raw), "{}", raw);
        }
    }

    #[test]
    fn garbage_is_refused() {
        for raw in [
            "", "cd", "cd~5", "zz~5~x", "cd~x~y", "cd~01~x", "cd~-5~x", "cd~5~", "cd~5~a b",
        ] {
            assert_eq!(Cursor::decode(raw), Err(CursorError::Garbled), "{raw:?}");
        }
        assert!(Cursor::decode("dd~-1~a~b").is_ok(), "ids may hold '~'");
    }
}
