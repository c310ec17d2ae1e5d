//! Opaque keyset cursors: base64url (no padding) of a small JSON object holding
//! the sort it belongs to, the sort key of the last row and its id. Binding the
//! sort into the cursor lets a cursor from another sort be refused instead of
//! silently skipping rows.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use super::Sort;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub sort: Sort,
    /// created_at, or the duration sort key (−1 for runs with no duration yet).
    pub key: i64,
    pub id: String,
}

#[derive(Serialize, Deserialize)]
struct CursorJson {
    s: String,
    k: i64,
    i: String,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CursorError {
    #[error("not a cursor this API issued")]
    Garbled,
    #[error("belongs to sort '{cursor}', but the request sorts by '{request}'")]
    OtherSort { cursor: String, request: String },
}

impl Cursor {
    pub fn encode(&self) -> String {
        let json = CursorJson {
            s: self.sort.to_string(),
            k: self.key,
            i: self.id.clone(),
        };
        // Serialising three plain fields cannot fail.
        let bytes = serde_json::to_vec(&json).unwrap_or_default();
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Decodes a cursor and checks it belongs to `sort`.
    pub fn decode(raw: &str, sort: Sort) -> Result<Self, CursorError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(raw.trim())
            .map_err(|_| CursorError::Garbled)?;
        let json: CursorJson = serde_json::from_slice(&bytes).map_err(|_| CursorError::Garbled)?;
        let cursor_sort: Sort = json.s.parse().map_err(|_| CursorError::Garbled)?;
        if json.i.is_empty() || json.i.len() > 64 {
            return Err(CursorError::Garbled);
        }
        // An instant or a duration (−1: none yet); both are bounded.
        if !(-1..=super::MAX_EPOCH_MS).contains(&json.k) {
            return Err(CursorError::Garbled);
        }
        if cursor_sort != sort {
            return Err(CursorError::OtherSort {
                cursor: cursor_sort.to_string(),
                request: sort.to_string(),
            });
        }
        Ok(Self {
            sort,
            key: json.k,
            id: json.i,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{SortDir, SortKey};
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
        fn any_cursor_round_trips(sort in sorts(), key in -1..=crate::model::MAX_EPOCH_MS, id in "[0-9a-f-]{1,64}") {
            let cursor = Cursor { sort, key, id };
            prop_assert_eq!(Cursor::decode(&cursor.encode(), sort), Ok(cursor));
        }

        #[test]
        fn keys_past_the_bounds_are_refused(sort in sorts(), key in any::<i64>()) {
            prop_assume!(!(-1..=crate::model::MAX_EPOCH_MS).contains(&key));
            let cursor = Cursor { sort, key, id: "x".into() };
            prop_assert_eq!(Cursor::decode(&cursor.encode(), sort), Err(CursorError::Garbled));
        }

        #[test]
        fn garbage_is_rejected_never_accepted(raw in ".{0,80}", sort in sorts()) {
            // Random text essentially never decodes to a valid cursor JSON; if
            // it does, it must still be a well-formed cursor for this sort.
            if let Ok(c) = Cursor::decode(&raw, sort) {
                prop_assert_eq!(c.sort, sort);
            }
        }

        #[test]
        fn random_bytes_in_base64_are_rejected(bytes in proptest::collection::vec(any::<u8>(), 0..64), sort in sorts()) {
            let raw = URL_SAFE_NO_PAD.encode(&bytes);
            prop_assume!(serde_json::from_slice::<CursorJson>(&bytes).is_err());
            prop_assert_eq!(Cursor::decode(&raw, sort), Err(CursorError::Garbled));
        }
    }

    #[test]
    fn a_cursor_from_another_sort_is_refused() {
        let asc = Sort {
            key: SortKey::CreatedAt,
            dir: SortDir::Asc,
        };
        let desc = Sort {
            key: SortKey::CreatedAt,
            dir: SortDir::Desc,
        };
        let raw = Cursor {
            sort: asc,
            key: 1,
            id: "x".into(),
        }
        .encode();
        assert!(matches!(
            Cursor::decode(&raw, desc),
            Err(CursorError::OtherSort { .. })
        ));
    }
}
