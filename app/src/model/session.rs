//! A run's session: the conversation or invocation it belongs to (an MCP
//! session, one CLI invocation, or what a caller names with
//! `x-executor-session`), so the runs of one agent's session can be found
//! together. 1–128 characters of `[A-Za-z0-9_.:-]`: safe in a URL, a
//! command token and a log line as they are.

use serde::{Deserialize, Serialize};

/// Longest session id.
pub const MAX_SESSION_CHARS: usize = 128;

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SessionId(String);

impl SessionId {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let ok = (1..=MAX_SESSION_CHARS).contains(&raw.len())
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'));
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            let shown: String = raw.chars().take(40).collect();
            Err(format!(
                "invalid session '{shown}'; expected 1-{MAX_SESSION_CHARS} characters of A-Z, a-z, 0-9, '_', '.', ':', '-'"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for SessionId {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<SessionId> for String {
    fn from(value: SessionId) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_are_short_url_safe_words() {
        for ok in ["a", "mcp:7f3a-1b", "cli.2026-12-04T10:00", &"x".repeat(128)] {
            assert!(SessionId::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a b", "a,b", "a/b", "ü", &"x".repeat(129)] {
            assert!(SessionId::parse(bad).is_err(), "{bad}");
        }
    }
}
