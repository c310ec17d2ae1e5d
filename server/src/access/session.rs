//! The page's login sessions: a random 256-bit id in an `HttpOnly`,
//! `SameSite=Strict` cookie, stored only as its SHA-256 with the scope and
//! two times, and judged by an idle and an absolute expiry.

use std::time::Duration;

use axum::http::{header, HeaderMap, HeaderValue};

use app::store::{now_ms, Store, StoreError};

use super::tokens::{random_secret, SecretHash};

/// The session cookie's name.
pub const COOKIE: &str = "executor_session";
/// A session's last use is written at most this often: a page view reads
/// its session, and a write per request would cost every view.
const TOUCH_EVERY_MS: i64 = 60_000;

/// How long sessions live.
#[derive(Clone, Copy, Debug)]
pub struct SessionPolicy {
    /// Unused this long, a session ends.
    pub idle: Duration,
    /// This long after login, a session ends however much it is used.
    pub absolute: Duration,
    /// Always mark the cookie `Secure` (behind a TLS proxy that does not
    /// say so with `X-Forwarded-Proto`).
    pub secure_cookie: bool,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            idle: Duration::from_secs(12 * 3_600),
            absolute: Duration::from_secs(7 * 86_400),
            secure_cookie: false,
        }
    }
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// Sessions over the store.
#[derive(Clone)]
pub struct Sessions {
    store: Store,
    policy: SessionPolicy,
}

/// Why a session could not be started.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("no randomness for a session id: {0}")]
    Random(getrandom::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Sessions {
    pub fn new(store: Store, policy: SessionPolicy) -> Self {
        Self { store, policy }
    }

    /// A new session for `scope`; answers its id (the cookie's value).
    pub async fn start(&self, scope: &str) -> Result<String, SessionError> {
        let id = random_secret("").map_err(SessionError::Random)?;
        let hash = SecretHash::of(&id);
        self.store
            .create_session(&hash.hex(), scope, now_ms())
            .await?;
        Ok(id)
    }

    /// The scope of a live session; an expired one is deleted.
    pub async fn find(&self, id: &str) -> Result<Option<(SecretHash, String)>, StoreError> {
        let hash = SecretHash::of(id);
        let key = hash.hex();
        let Some(row) = self.store.session(&key).await? else {
            return Ok(None);
        };
        let now = now_ms();
        let expired = now.saturating_sub(row.last_seen_at) > ms(self.policy.idle)
            || now.saturating_sub(row.created_at) > ms(self.policy.absolute);
        if expired {
            self.store.delete_session(&key).await?;
            return Ok(None);
        }
        if now.saturating_sub(row.last_seen_at) > TOUCH_EVERY_MS {
            self.store.touch_session(&key, now).await?;
        }
        Ok(Some((hash, row.scope_id)))
    }

    pub async fn end(&self, hash: &SecretHash) -> Result<(), StoreError> {
        self.store.delete_session(&hash.hex()).await
    }

    /// Deletes expired sessions; answers how many.
    pub async fn sweep(&self) -> Result<u64, StoreError> {
        let now = now_ms();
        self.store
            .delete_expired_sessions(
                now.saturating_sub(ms(self.policy.idle)),
                now.saturating_sub(ms(self.policy.absolute)),
            )
            .await
    }

    /// `Set-Cookie` for a new session: the browser keeps it no longer than
    /// the session's absolute life.
    pub fn set_cookie(&self, id: &str, request: &HeaderMap) -> HeaderValue {
        let max_age = self.policy.absolute.as_secs();
        self.cookie(&format!("{COOKIE}={id}; Max-Age={max_age}"), request)
    }

    /// `Set-Cookie` that removes the session cookie.
    pub fn clear_cookie(&self, request: &HeaderMap) -> HeaderValue {
        self.cookie(&format!("{COOKIE}=; Max-Age=0"), request)
    }

    fn cookie(&self, start: &str, request: &HeaderMap) -> HeaderValue {
        let secure = if self.policy.secure_cookie || over_https(request) {
            "; Secure"
        } else {
            ""
        };
        let text = format!("{start}; Path=/; HttpOnly; SameSite=Strict{secure}");
        // Ids are base64url and the attributes fixed: always a valid value.
        HeaderValue::from_str(&text).unwrap_or(HeaderValue::from_static(""))
    }
}

/// Whether a proxy in front says the browser came over HTTPS.
fn over_https(request: &HeaderMap) -> bool {
    request
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

/// The session cookie's value in a request, if any.
pub fn cookie_value(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value)
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; executor_session=abc; b=2"),
        );
        assert_eq!(cookie_value(&h), Some("abc"));
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("xexecutor_session=abc"),
        );
        assert_eq!(cookie_value(&h), None);
    }
}
