//! Tool path patterns for the `tool` filter (docs/api.md#tool-patterns): an exact
//! path, or `*` standing for any run of characters. A pattern ending in `.*`
//! also matches the bare prefix, so `github.*` matches `github` itself.

use std::fmt;

/// A validated tool path pattern.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ToolPathPattern(String);

impl ToolPathPattern {
    pub const MAX_LEN: usize = 256;

    /// 1 to [`Self::MAX_LEN`] characters of visible ASCII but the comma
    /// (which separates patterns), as the `tool` parameter declares.
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.is_empty() {
            return Err("empty pattern".into());
        }
        if raw.len() > Self::MAX_LEN {
            return Err(format!("pattern longer than {} characters", Self::MAX_LEN));
        }
        if let Some(bad) = raw.chars().find(|c| !c.is_ascii_graphic() || *c == ',') {
            return Err(format!(
                "'{raw}' contains {bad:?}; patterns are visible ASCII without spaces or commas"
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True when the pattern contains no wildcard.
    pub fn is_exact(&self) -> bool {
        !self.0.contains('*')
    }

    /// The namespace this pattern selects whole (`github` of `github.*`),
    /// if it is one: it then matches exactly the paths of that namespace.
    pub fn namespace(&self) -> Option<&str> {
        self.0
            .strip_suffix(".*")
            .filter(|ns| !ns.is_empty() && !ns.contains(['.', '*']))
    }

    pub fn matches(&self, path: &str) -> bool {
        if glob_matches(self.0.as_bytes(), path.as_bytes()) {
            return true;
        }
        // `github.*` also matches `github`.
        self.0
            .strip_suffix(".*")
            .is_some_and(|prefix| glob_matches(prefix.as_bytes(), path.as_bytes()))
    }
}

impl fmt::Display for ToolPathPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A tool path's namespace: its first segment (`github` of
/// `github.issues.list`, `github` of `github`).
pub fn namespace_of(path: &str) -> &str {
    path.split('.').next().unwrap_or(path)
}

/// Iterative glob with `*` only: linear in practice, no recursion blow-up on
/// patterns like `a*a*a*a*b`.
fn glob_matches(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            backtrack = Some((p, t));
            p += 1;
        } else if p < pattern.len() && pattern[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some((star_p, star_t)) = backtrack {
            p = star_p + 1;
            t = star_t + 1;
            backtrack = Some((star_p, star_t + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == b'*')
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_namespace_pattern_matches_exactly_its_namespace() {
        let p = |raw: &str| ToolPathPattern::parse(raw).unwrap();
        assert_eq!(p("github.*").namespace(), Some("github"));
        for not_whole in ["github.issues.*", "*.op7", "gh*.*", "github", ".*"] {
            assert_eq!(p(not_whole).namespace(), None, "{not_whole}");
        }
        for path in ["github", "github.issues.list", "githubx.a", "git.hub"] {
            assert_eq!(
                p("github.*").matches(path),
                namespace_of(path) == "github",
                "{path}"
            );
        }
    }

    use super::*;

    fn m(pattern: &str, path: &str) -> bool {
        ToolPathPattern::parse(pattern).unwrap().matches(path)
    }

    #[test]
    fn namespace_wildcard_matches_the_namespace_and_any_depth_below_it() {
        assert!(m("github.*", "github"));
        assert!(m("github.*", "github.issues"));
        assert!(m("github.*", "github.a.b"));
        assert!(!m("github.*", "githubx"));
        assert!(!m("github.*", "gitlab.issues"));
    }

    #[test]
    fn leading_wildcard_matches_a_suffix() {
        assert!(m("*.create", "github.issues.create"));
        assert!(!m("*.create", "github.issues.create2"));
    }

    #[test]
    fn exact_patterns_match_only_themselves() {
        assert!(m("github.issues.list", "github.issues.list"));
        assert!(!m("github.issues.list", "github.issues.lis"));
        assert!(!m("github.issues", "github.issues.list"));
    }

    #[test]
    fn inner_wildcards_match_any_run_of_characters() {
        assert!(m("a.*.b", "a.x.y.b"));
        assert!(m("gh*", "ghost.tool"));
        assert!(m("*", "anything.at.all"));
        assert!(!m("a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
    }

    #[test]
    fn bad_patterns_are_rejected_with_a_reason() {
        assert!(ToolPathPattern::parse("").is_err());
        assert!(ToolPathPattern::parse("a b").is_err());
        assert!(ToolPathPattern::parse(&"x".repeat(300)).is_err());
    }
}
