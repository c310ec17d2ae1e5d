//! The config file (`--config`, default `./executor.toml` when present):
//! tokens by their SHA-256 with their scope and a label. It never holds a
//! token, so it can be kept in version control or a config map.
//!
//! ```toml
//! [[tokens]]
//! scope = "acme"
//! label = "ci"
//! sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
//! ```

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::tokens::{check_scope, Grant, SecretHash, TokenError, Tokens};

/// Where the config is read from when `--config` is not given.
pub const DEFAULT_CONFIG: &str = "executor.toml";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    tokens: Vec<TokenEntry>,
    /// Read by `crate::sources::config` (tool sources and policies).
    #[serde(default)]
    #[serde(rename = "sources")]
    _sources: Vec<toml::Value>,
    #[serde(default)]
    #[serde(rename = "policies")]
    _policies: Vec<toml::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenEntry {
    scope: String,
    label: String,
    sha256: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("{path}: token {place}: sha256 is not 64 hex digits (the config holds hashes, never tokens; `executor token new` prints the line to add)")]
    BadHash { path: PathBuf, place: usize },
    #[error("{path}: token {place}: {source}")]
    Token {
        path: PathBuf,
        place: usize,
        source: TokenError,
    },
    #[error(transparent)]
    Env(#[from] TokenError),
}

/// The config file to read: the one named, else `./executor.toml` if it
/// exists, else none.
pub fn config_path(named: Option<&Path>) -> Option<PathBuf> {
    match named {
        Some(path) => Some(path.to_owned()),
        None => Some(PathBuf::from(DEFAULT_CONFIG)).filter(|p| p.exists()),
    }
}

/// Every token: the config file's and `EXECUTOR_TOKENS`'.
pub fn load_tokens(config: Option<&Path>, env: Option<&str>) -> Result<Tokens, ConfigError> {
    let mut tokens = Tokens::default();
    if let Some(path) = config {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        add_file(&mut tokens, path, &text)?;
    }
    if let Some(env) = env {
        tokens.add_env(env)?;
    }
    Ok(tokens)
}

fn add_file(tokens: &mut Tokens, path: &Path, text: &str) -> Result<(), ConfigError> {
    let file: ConfigFile = toml::from_str(text).map_err(|e| ConfigError::Syntax {
        path: path.to_owned(),
        // toml's message quotes the offending line: a config holds no
        // tokens, so that is safe to show.
        message: e.message().to_owned(),
    })?;
    for (n, entry) in file.tokens.into_iter().enumerate() {
        let place = n + 1;
        let token_error = |source| ConfigError::Token {
            path: path.to_owned(),
            place,
            source,
        };
        check_scope(&entry.scope).map_err(token_error)?;
        let hash = SecretHash::from_hex(&entry.sha256).ok_or_else(|| ConfigError::BadHash {
            path: path.to_owned(),
            place,
        })?;
        tokens
            .add(
                hash,
                Grant {
                    scope: entry.scope,
                    label: entry.label,
                },
            )
            .map_err(token_error)?;
    }
    Ok(())
}

/// The lines to add to the config for a token.
pub fn config_entry(scope: &str, label: &str, hash: &SecretHash) -> String {
    // toml's own quoting for the label, which is free text.
    let label = toml::Value::String(label.to_owned()).to_string();
    format!(
        "[[tokens]]\nscope = \"{scope}\"\nlabel = {label}\nsha256 = \"{}\"\n",
        hash.hex()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_printed_entry_reads_back_as_its_token() {
        let hash = SecretHash::of("exr_example-token-1234");
        let text = config_entry("acme", "ci \"main\"", &hash);
        let mut tokens = Tokens::default();
        add_file(&mut tokens, Path::new("t.toml"), &text).unwrap();
        let grant = tokens.lookup("exr_example-token-1234").unwrap();
        assert_eq!(
            (grant.scope.as_str(), grant.label.as_str()),
            ("acme", "ci \"main\"")
        );
    }

    #[test]
    fn bad_files_are_refused_with_their_place() {
        let path = Path::new("t.toml");
        for (text, says) in [
            (
                "[[tokens]]\nscope = \"a\"\nlabel = \"x\"\nsha256 = \"abc\"\n",
                "not 64 hex",
            ),
            (
                "[[tokens]]\nscope = \"a b\"\nlabel = \"x\"\nsha256 = \"00\"\n",
                "invalid scope",
            ),
            (
                "[[tokens]]\nscope = \"a\"\nlabel = \"x\"\ntoken = \"exr_x\"\n",
                "unknown field",
            ),
            ("tokens = 3", "invalid type"),
        ] {
            let err = add_file(&mut Tokens::default(), path, text)
                .unwrap_err()
                .to_string();
            assert!(err.contains(says), "{text}: {err}");
        }
    }
}
