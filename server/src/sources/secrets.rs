//! Secrets (docs/sources.md#secrets): values kept per scope, sealed at rest
//! with AES-256-GCM under the server's key, and referenced from a source's
//! headers, query values and environment as `{secret:NAME}`. A value is
//! only ever opened to fill a reference for one call, and anything a call
//! returns has the values it used masked before the history sees it.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine as _;

use app::store::{now_ms, Store};

/// A secret value: never printed (its Debug says so).
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(String);

impl SecretValue {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretValue(…)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("secret name '{0}' must be 1-64 letters, digits, '_', '-' or '.'")]
    BadName(String),
    #[error("a secret's value must be {MIN_VALUE_CHARS} to {MAX_VALUE_CHARS} characters")]
    BadValue,
    #[error("no secret named '{0}' in this scope; set it with `executor secrets set {0}`")]
    Missing(String),
    #[error("the secret key is unusable: {0}")]
    Key(String),
    #[error(
        "the secret '{0}' does not open with this server's key (was EXECUTOR_SECRET_KEY changed?)"
    )]
    Sealed(String),
    #[error(transparent)]
    Store(#[from] app::store::StoreError),
}

/// Where the key comes from: `EXECUTOR_SECRET_KEY` (64 hex digits or
/// base64 of 32 bytes), else a key file made on first use (mode 0600).
#[derive(Clone, Debug)]
pub enum KeySource {
    Given(String),
    File(PathBuf),
}

/// The sealing key, loaded on first use.
pub struct Secrets {
    store: Store,
    source: KeySource,
    key: OnceLock<Result<Arc<Aes256Gcm>, String>>,
}

/// What [`check_name`] accepts, for JSON schemas.
pub const NAME_PATTERN: &str = "^[A-Za-z0-9_.-]{1,64}$";
/// A value's length in characters.
pub const MIN_VALUE_CHARS: usize = 4;
pub const MAX_VALUE_CHARS: usize = 4_096;

pub fn check_name(name: &str) -> Result<(), SecretError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if ok {
        Ok(())
    } else {
        Err(SecretError::BadName(name.to_owned()))
    }
}

impl Secrets {
    pub fn new(store: Store, source: KeySource) -> Self {
        Self {
            store,
            source,
            key: OnceLock::new(),
        }
    }

    fn cipher(&self) -> Result<Arc<Aes256Gcm>, SecretError> {
        self.key
            .get_or_init(|| load_key(&self.source).map(|k| Arc::new(Aes256Gcm::new(&k))))
            .clone()
            .map_err(SecretError::Key)
    }

    pub async fn set(&self, scope: &str, name: &str, value: &str) -> Result<(), SecretError> {
        check_name(name)?;
        let chars = value.chars().count();
        if !(MIN_VALUE_CHARS..=MAX_VALUE_CHARS).contains(&chars) {
            return Err(SecretError::BadValue);
        }
        let cipher = self.cipher()?;
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce).map_err(|e| SecretError::Key(e.to_string()))?;
        let aad = associated(scope, name);
        let sealed = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: value.as_bytes(),
                    aad: &aad,
                },
            )
            .map_err(|_| SecretError::Key("encryption failed".into()))?;
        let mut all = nonce.to_vec();
        all.extend(sealed);
        let text = base64::engine::general_purpose::STANDARD.encode(all);
        self.store.put_secret(scope, name, &text, now_ms()).await?;
        Ok(())
    }

    pub async fn get(&self, scope: &str, name: &str) -> Result<SecretValue, SecretError> {
        let row = self
            .store
            .secret(scope, name)
            .await?
            .ok_or_else(|| SecretError::Missing(name.to_owned()))?;
        let sealed = || SecretError::Sealed(name.to_owned());
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(row.sealed)
            .map_err(|_| sealed())?;
        if bytes.len() < 12 {
            return Err(sealed());
        }
        let (nonce, body) = bytes.split_at(12);
        let aad = associated(scope, name);
        let plain = self
            .cipher()?
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: body,
                    aad: &aad,
                },
            )
            .map_err(|_| sealed())?;
        String::from_utf8(plain)
            .map(SecretValue)
            .map_err(|_| sealed())
    }

    /// Names and when each was last set: values never leave.
    pub async fn list(&self, scope: &str) -> Result<Vec<(String, i64)>, SecretError> {
        Ok(self
            .store
            .secrets(scope)
            .await?
            .into_iter()
            .map(|r| (r.name, r.updated_at))
            .collect())
    }

    pub async fn delete(&self, scope: &str, name: &str) -> Result<bool, SecretError> {
        Ok(self.store.delete_secret(scope, name).await?)
    }

    /// Each value of `templates` filled, by name.
    pub async fn fill_all(
        &self,
        scope: &str,
        templates: &std::collections::BTreeMap<String, String>,
        used: &mut Mask,
    ) -> Result<Vec<(String, String)>, SecretError> {
        let mut out = Vec::with_capacity(templates.len());
        for (name, template) in templates {
            out.push((name.clone(), self.fill(scope, template, used).await?));
        }
        Ok(out)
    }

    /// `template` with each `{secret:NAME}` filled from the scope's
    /// secrets; the values used go into `used` for masking.
    pub async fn fill(
        &self,
        scope: &str,
        template: &str,
        used: &mut Mask,
    ) -> Result<String, SecretError> {
        let mut out = String::with_capacity(template.len());
        let mut rest = template;
        while let Some(at) = rest.find("{secret:") {
            out.push_str(&rest[..at]);
            let after = &rest[at + "{secret:".len()..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[at..]);
                rest = "";
                break;
            };
            let name = &after[..end];
            check_name(name)?;
            let value = self.get(scope, name).await?;
            out.push_str(value.expose());
            used.add(name, value);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// The row a sealed value belongs to: a value moved to another scope or
/// name does not open.
fn associated(scope: &str, name: &str) -> Vec<u8> {
    format!("executor-secret\0{scope}\0{name}").into_bytes()
}

fn load_key(source: &KeySource) -> Result<Key<Aes256Gcm>, String> {
    let text = match source {
        KeySource::Given(text) => text.trim().to_owned(),
        KeySource::File(path) => read_or_create(path)?,
    };
    let bytes = if text.len() == 64 && text.chars().all(|c| c.is_ascii_hexdigit()) {
        hex::decode(&text).map_err(|e| e.to_string())?
    } else {
        base64::engine::general_purpose::STANDARD
            .decode(&text)
            .map_err(|_| "the key must be 64 hex digits or base64 of 32 bytes".to_owned())?
    };
    if bytes.len() != 32 {
        return Err("the key must be 32 bytes (64 hex digits)".into());
    }
    Ok(*Key::<Aes256Gcm>::from_slice(&bytes))
}

/// The key file's key, or a new one written with mode 0600.
fn read_or_create(path: &PathBuf) -> Result<String, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => return Ok(text.trim().to_owned()),
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(format!("cannot read {}: {e}", path.display()))
        }
        Err(_) => {}
    }
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).map_err(|e| e.to_string())?;
    let text = hex::encode(key);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    use std::io::Write;
    let written = options
        .open(path)
        .and_then(|mut f| f.write_all(format!("{text}\n").as_bytes()));
    match written {
        Ok(()) => {
            tracing::info!(path = %path.display(), "made a new secret key file (keep it: the secrets are sealed with it)");
            Ok(text)
        }
        // Another process made it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => std::fs::read_to_string(path)
            .map(|t| t.trim().to_owned())
            .map_err(|e| e.to_string()),
        Err(e) => Err(format!("cannot write {}: {e}", path.display())),
    }
}

/// The secret values one call used, to mask in whatever it returns.
#[derive(Default, Clone)]
pub struct Mask {
    values: Vec<(String, SecretValue)>,
}

impl Mask {
    pub fn add(&mut self, name: &str, value: SecretValue) {
        if !self.values.iter().any(|(n, _)| n == name) {
            self.values.push((name.to_owned(), value));
        }
    }

    /// `text` with every value used replaced by its reference.
    pub fn apply(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for (name, value) in &self.values {
            if out.contains(value.expose()) {
                out = out.replace(value.expose(), &format!("{{secret:{name}}}"));
            }
        }
        out
    }

    /// A JSON value with the values masked in every string.
    pub fn apply_json(&self, value: serde_json::Value) -> serde_json::Value {
        if self.values.is_empty() {
            return value;
        }
        let text = value.to_string();
        let masked = self.apply(&text);
        if masked == text {
            value
        } else {
            serde_json::from_str(&masked).unwrap_or(serde_json::Value::String(masked))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mask_hides_every_value_used() {
        let mut mask = Mask::default();
        mask.add("gh", SecretValue("s3cr3t-token".into()));
        assert_eq!(mask.apply("Bearer s3cr3t-token!"), "Bearer {secret:gh}!");
        let masked = mask.apply_json(serde_json::json!({"auth": "Bearer s3cr3t-token"}));
        assert_eq!(masked["auth"], "Bearer {secret:gh}");
    }

    #[test]
    fn keys_read_as_hex_or_base64() {
        let hex = "00".repeat(32);
        assert!(load_key(&KeySource::Given(hex)).is_ok());
        let b64 = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        assert!(load_key(&KeySource::Given(b64)).is_ok());
        assert!(load_key(&KeySource::Given("short".into())).is_err());
    }
}
