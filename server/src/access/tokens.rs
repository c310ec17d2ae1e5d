//! Bearer tokens: how they look, how they are hashed, and where they come
//! from (`EXECUTOR_TOKENS` and the config file). A presented token is
//! hashed and the hash looked up; no token is compared or kept in plain
//! text, and only a label or the hash's first 8 hex digits are ever shown.

use std::collections::HashMap;
use std::fmt;

use base64::Engine as _;
use sha2::{Digest, Sha256};

/// What a generated token starts with, so it is recognisable in a secret
/// scanner or a leaked log line.
pub const TOKEN_PREFIX: &str = "exr_";
/// Bytes of randomness in a generated token (256 bits).
const TOKEN_BYTES: usize = 32;
/// Shortest token taken from `EXECUTOR_TOKENS`: shorter ones are guessable.
pub const MIN_TOKEN_CHARS: usize = 16;

/// The SHA-256 of a secret (a token, a session id).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SecretHash([u8; 32]);

impl SecretHash {
    pub fn of(secret: &str) -> Self {
        Self(Sha256::digest(secret.as_bytes()).into())
    }

    /// From 64 hex digits, as the config file holds it.
    pub fn from_hex(hex_digits: &str) -> Option<Self> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(hex_digits, &mut bytes).ok()?;
        Some(Self(bytes))
    }

    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The first 8 hex digits: enough to tell tokens apart in a log, far
    /// too little to find one.
    pub fn prefix(&self) -> String {
        hex::encode(&self.0[..4])
    }
}

/// Never the hash itself in debug output: logs get the prefix.
impl fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretHash({}…)", self.prefix())
    }
}

/// A random secret: the prefix, then 256 bits in unpadded base64url.
pub fn random_secret(prefix: &str) -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; TOKEN_BYTES];
    getrandom::fill(&mut bytes)?;
    Ok(format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    ))
}

/// What a token grants: a scope, and a label for logs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    pub scope: String,
    pub label: String,
}

/// Every configured token, by hash.
#[derive(Clone, Debug, Default)]
pub struct Tokens(HashMap<SecretHash, Grant>);

impl Tokens {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn lookup(&self, token: &str) -> Option<&Grant> {
        self.0.get(&SecretHash::of(token))
    }

    /// Every token as (hash, grant), sorted by scope then label.
    pub fn listed(&self) -> Vec<(SecretHash, Grant)> {
        let mut all: Vec<_> = self.0.iter().map(|(h, g)| (*h, g.clone())).collect();
        all.sort_by(|a, b| (&a.1.scope, &a.1.label).cmp(&(&b.1.scope, &b.1.label)));
        all
    }

    /// Adds a token by its hash; a hash given twice must grant one scope.
    pub fn add(&mut self, hash: SecretHash, grant: Grant) -> Result<(), TokenError> {
        if let Some(existing) = self.0.get(&hash) {
            if existing.scope != grant.scope {
                return Err(TokenError::Conflict {
                    prefix: hash.prefix(),
                });
            }
            return Ok(());
        }
        self.0.insert(hash, grant);
        Ok(())
    }

    /// `scope:token` pairs, comma-separated, as `EXECUTOR_TOKENS` holds them.
    /// Each token is labelled `env` and its hash prefix.
    pub fn add_env(&mut self, text: &str) -> Result<(), TokenError> {
        for (n, pair) in text.split(',').map(str::trim).enumerate() {
            if pair.is_empty() {
                continue;
            }
            let place = n + 1;
            let Some((scope, token)) = pair.split_once(':') else {
                return Err(TokenError::EnvPair { place });
            };
            check_scope(scope)?;
            if token.chars().count() < MIN_TOKEN_CHARS {
                return Err(TokenError::EnvTooShort { place });
            }
            let hash = SecretHash::of(token);
            let label = format!("env {}", hash.prefix());
            self.add(
                hash,
                Grant {
                    scope: scope.to_owned(),
                    label,
                },
            )?;
        }
        Ok(())
    }
}

/// A scope name: 1–64 characters of `A-Z a-z 0-9 _ . -`.
pub fn check_scope(scope: &str) -> Result<(), TokenError> {
    let ok = (1..=64).contains(&scope.len())
        && scope
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(TokenError::BadScope(scope.chars().take(80).collect()))
    }
}

/// What is wrong with configured tokens. Messages never hold a token.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("EXECUTOR_TOKENS: item {place} is not scope:token")]
    EnvPair { place: usize },
    #[error(
        "EXECUTOR_TOKENS: the token of item {place} is shorter than {MIN_TOKEN_CHARS} characters; \
         make one with `executor token new --scope SCOPE`"
    )]
    EnvTooShort { place: usize },
    #[error("invalid scope '{0}': expected 1-64 characters of A-Z, a-z, 0-9, '_', '.', '-'")]
    BadScope(String),
    #[error("the token with hash {prefix}… is given for two different scopes")]
    Conflict { prefix: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_token_is_prefixed_random_and_found_by_its_hash() {
        let a = random_secret(TOKEN_PREFIX).unwrap();
        let b = random_secret(TOKEN_PREFIX).unwrap();
        assert!(a.starts_with("exr_") && a != b);
        // 32 bytes in unpadded base64url: 43 characters.
        assert_eq!(a.len(), 4 + 43);
        let mut tokens = Tokens::default();
        let grant = Grant {
            scope: "acme".into(),
            label: "ci".into(),
        };
        let hash = SecretHash::from_hex(&SecretHash::of(&a).hex()).unwrap();
        tokens.add(hash, grant.clone()).unwrap();
        assert_eq!(tokens.lookup(&a), Some(&grant));
        assert_eq!(tokens.lookup(&b), None);
        assert!(!format!("{hash:?}").contains(&hash.hex()));
    }

    #[test]
    fn env_pairs_are_parsed_and_checked_without_echoing_tokens() {
        let mut tokens = Tokens::default();
        tokens
            .add_env("acme:0123456789abcdef, beta:fedcba9876543210")
            .unwrap();
        assert_eq!(tokens.lookup("0123456789abcdef").unwrap().scope, "acme");
        assert_eq!(tokens.lookup("fedcba9876543210").unwrap().scope, "beta");
        for bad in [
            "acme",
            "acme:tiny1",
            "bad scope:0123456789abcdef",
            ":0123456789abcdef",
            "a:0123456789abcdef,b:0123456789abcdef",
        ] {
            let err = Tokens::default().add_env(bad).unwrap_err().to_string();
            assert!(!err.contains("0123456789abcdef"), "{err}");
            assert!(!err.contains("tiny1"), "{err}");
        }
    }
}
