//! The config file's `[[sources]]` and `[[policies]]` (the file's tokens
//! are `crate::access::config`'s).
//!
//! ```toml
//! [[sources]]
//! kind = "openapi"
//! name = "petstore"
//! spec = "./petstore.yaml"          # a file or an http(s) URL
//! base_url = "http://127.0.0.1:8080/v1"
//! headers = { Authorization = "Bearer {secret:petstore}" }
//! scope = "acme"                    # only this scope; every scope without
//!
//! [[policies]]
//! pattern = "petstore.pets.create*"
//! action = "require_approval"       # allow, require_approval or block
//! ```

use std::path::Path;

use serde::Deserialize;

use app::engine::tools::Policy;

use super::spec::ConfigSource;

#[derive(Debug, Default, Deserialize)]
struct SourcesSection {
    #[serde(default)]
    sources: Vec<ConfigSource>,
    #[serde(default)]
    policies: Vec<Policy>,
}

/// The sources and policies of the config file at `path` (none without one).
pub fn read(path: Option<&Path>) -> Result<(Vec<ConfigSource>, Vec<Policy>), String> {
    let Some(path) = path else {
        return Ok(Default::default());
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut table: toml::Table =
        toml::from_str(&text).map_err(|e| format!("{}: {}", path.display(), e.message()))?;
    table.remove("tokens");
    let section: SourcesSection = table
        .try_into()
        .map_err(|e: toml::de::Error| format!("{}: {}", path.display(), e.message()))?;
    for (n, source) in section.sources.iter().enumerate() {
        source
            .spec
            .check(true, true)
            .map_err(|e| format!("{}: source {}: {e}", path.display(), n + 1))?;
    }
    for (n, policy) in section.policies.iter().enumerate() {
        if let Err(e) = app::model::ToolPathPattern::parse(&policy.pattern) {
            return Err(format!("{}: policy {}: {e}", path.display(), n + 1));
        }
    }
    let sources = section
        .sources
        .into_iter()
        .map(|mut s| {
            relative_to(&mut s, path);
            s
        })
        .collect();
    Ok((sources, section.policies))
}

/// A document path in the config is read from beside the config file.
fn relative_to(source: &mut ConfigSource, config: &Path) {
    if let super::spec::SourceSpec::Openapi(spec) = &mut source.spec {
        if let Some(location) = &spec.spec {
            let is_url = location.starts_with("http://") || location.starts_with("https://");
            if !is_url && Path::new(location).is_relative() {
                if let Some(dir) = config.parent() {
                    spec.spec = Some(dir.join(location).to_string_lossy().into_owned());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_and_policies_read_beside_tokens() {
        let dir = std::env::temp_dir().join(format!("executor-config-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("executor.toml");
        std::fs::write(
            &path,
            r#"
[[tokens]]
scope = "acme"
label = "ci"
sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

[[sources]]
kind = "openapi"
name = "petstore"
spec = "petstore.yaml"

[[policies]]
pattern = "petstore.*"
action = "block"
scope = "acme"
"#,
        )
        .unwrap();
        let (sources, policies) = read(Some(&path)).unwrap();
        assert_eq!(sources.len(), 1);
        let super::super::spec::SourceSpec::Openapi(spec) = &sources[0].spec else {
            panic!("an openapi source")
        };
        assert_eq!(
            spec.spec.as_deref(),
            Some(dir.join("petstore.yaml").to_str().unwrap())
        );
        assert_eq!(policies[0].action, app::engine::tools::PolicyAction::Block);
        std::fs::write(&path, "[[policies]]\npattern = \"x\"\naction = \"maybe\"\n").unwrap();
        assert!(read(Some(&path)).unwrap_err().contains("maybe"));
    }
}
