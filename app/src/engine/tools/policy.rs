//! Policies: dotted patterns with `*` that allow, require approval for, or
//! block tool calls, for every scope or one. The most specific pattern
//! wins: the one with more literal characters; at a tie the stricter.

use serde::{Deserialize, Serialize};

use crate::model::ToolPathPattern;

/// What a policy does to a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyAction {
    /// Runs without asking, even a tool that would need approval.
    Allow,
    /// Asks a person first, even for a tool that would run freely.
    RequireApproval,
    /// Rejects the call; it is recorded `failed`.
    Block,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// `github.issues.*`, `*.delete*`, `petstore.pets.createPets`.
    pub pattern: String,
    pub action: PolicyAction,
    /// Only this scope's calls; every scope's when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// A call's verdict: the action and the pattern that decided it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub action: PolicyAction,
    pub pattern: String,
}

#[derive(Default)]
pub struct Policies {
    /// Each policy with its pattern parsed once, here rather than at every
    /// call; `None` for a malformed one, which matches nothing (the config
    /// file refuses those, so only a caller of `new` can pass one).
    all: Vec<(Policy, Option<ToolPathPattern>)>,
}

impl Policies {
    pub fn new(all: Vec<Policy>) -> Self {
        let all = all
            .into_iter()
            .map(|p| {
                let pattern = ToolPathPattern::parse(&p.pattern).ok();
                (p, pattern)
            })
            .collect();
        Self { all }
    }

    /// The verdict for `path` in `scope`: the most specific matching
    /// pattern's (docs/api.md#tool-patterns: `*` is any run of characters,
    /// dots too, and `github.*` covers `github` itself).
    pub fn verdict(&self, scope: &str, path: &str) -> Option<Verdict> {
        self.all
            .iter()
            .filter(|(p, _)| p.scope.as_deref().is_none_or(|s| s == scope))
            .filter(|(_, pattern)| pattern.as_ref().is_some_and(|m| m.matches(path)))
            .max_by_key(|(p, _)| (specificity(&p.pattern), p.action))
            .map(|(p, _)| Verdict {
                action: p.action,
                pattern: p.pattern.clone(),
            })
    }
}

fn specificity(pattern: &str) -> usize {
    pattern.chars().filter(|c| *c != '*').count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(pattern: &str, action: PolicyAction) -> Policy {
        Policy {
            pattern: pattern.into(),
            action,
            scope: None,
        }
    }

    /// Whether a policy of `pattern` decides calls of `path`.
    fn matches(pattern: &str, path: &str) -> bool {
        let policies = Policies::new(vec![policy(pattern, PolicyAction::Allow)]);
        policies.verdict("s", path).is_some()
    }

    #[test]
    fn patterns_match_with_stars_anywhere() {
        assert!(matches("github.*", "github.issues.list"));
        assert!(matches("*.delete*", "petstore.pets.deletePet"));
        assert!(matches("a.b", "a.b"));
        assert!(!matches("a.b", "a.bc"));
        assert!(!matches("github.*", "gitlab.x"));
        assert!(matches("*", "anything"));
        assert!(!matches("a*a", "a"));
    }

    #[test]
    fn the_most_specific_pattern_wins_and_a_tie_goes_to_the_stricter() {
        let policies = Policies::new(vec![
            policy("petstore.*", PolicyAction::Block),
            policy("petstore.pets.listPets", PolicyAction::Allow),
            policy("x.*", PolicyAction::Allow),
            policy("x.*", PolicyAction::RequireApproval),
            Policy {
                scope: Some("acme".into()),
                ..policy("y.*", PolicyAction::Block)
            },
        ]);
        let action = |scope, path| policies.verdict(scope, path).map(|v| v.action);
        assert_eq!(
            action("s", "petstore.pets.listPets"),
            Some(PolicyAction::Allow)
        );
        assert_eq!(
            action("s", "petstore.pets.createPets"),
            Some(PolicyAction::Block)
        );
        assert_eq!(action("s", "x.y"), Some(PolicyAction::RequireApproval));
        assert_eq!(action("acme", "y.z"), Some(PolicyAction::Block));
        assert_eq!(action("other", "y.z"), None);
    }
}
