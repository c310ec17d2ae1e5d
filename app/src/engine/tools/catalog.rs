//! A source's tools as registered, with the words `tools.search` scores
//! them by, split once at registration so a search over thousands of tools
//! only compares words.

use std::collections::HashMap;

use super::{SourceInfo, ToolDescriptor};

/// What each field of a tool is worth when a query word matches a word of
/// it: the path most, then the name, the source, the description.
const PATH: u32 = 12;
const NAME: u32 = 10;
const SOURCE: u32 = 8;
const DESCRIPTION: u32 = 5;

/// Words too common to tell tools apart.
const STOPWORDS: [&str; 14] = [
    "a", "an", "the", "to", "of", "for", "by", "in", "on", "and", "or", "with", "my", "me",
];

pub struct Catalog {
    pub info: SourceInfo,
    pub tools: Vec<ToolDescriptor>,
    index: HashMap<String, usize>,
    /// Every distinct word of the tools, and where each occurs: (tool,
    /// field). A query compares its words with this vocabulary once, not
    /// with every tool's words.
    vocabulary: Vec<String>,
    postings: Vec<Vec<(u32, u8)>>,
}

/// The fields' weights, by the field number in a posting.
const WEIGHTS: [u32; 4] = [PATH, NAME, SOURCE, DESCRIPTION];
/// Query words past this many are left out.
const MAX_QUERY_WORDS: usize = 16;

impl Catalog {
    pub fn new(info: SourceInfo, tools: Vec<ToolDescriptor>) -> Self {
        let source_words = words(&format!("{} {}", info.id, info.name));
        let index = tools
            .iter()
            .enumerate()
            .map(|(i, t)| (t.path.clone(), i))
            .collect();
        let mut vocabulary: Vec<String> = Vec::new();
        let mut ids: HashMap<String, usize> = HashMap::new();
        let mut postings: Vec<Vec<(u32, u8)>> = Vec::new();
        for (i, t) in tools.iter().enumerate() {
            let fields = [
                words(&t.path),
                words(&t.name),
                source_words.clone(),
                words(t.description.as_deref().unwrap_or("")),
            ];
            for (field, list) in fields.iter().enumerate() {
                for word in list {
                    let id = *ids.entry(word.clone()).or_insert_with(|| {
                        vocabulary.push(word.clone());
                        postings.push(Vec::new());
                        vocabulary.len() - 1
                    });
                    let posting = (i as u32, field as u8);
                    if postings[id].last() != Some(&posting) {
                        postings[id].push(posting);
                    }
                }
            }
        }
        Self {
            info,
            tools,
            index,
            vocabulary,
            postings,
        }
    }

    pub fn get(&self, path: &str) -> Option<&ToolDescriptor> {
        self.index.get(path).map(|&i| &self.tools[i])
    }

    /// Each tool's score for `query` (its words, from [`query_words`]),
    /// those above zero. Per query word and field: the whole weight for
    /// an equal word, three quarters for a word it begins, half for one
    /// it is inside; each query word counts its best field. A tool that
    /// has every query word scores double, so it beats one that has one
    /// word many times.
    pub fn scores<'a>(
        &'a self,
        query: &'a [String],
    ) -> impl Iterator<Item = (u32, &'a ToolDescriptor)> + 'a {
        let query = &query[..query.len().min(MAX_QUERY_WORDS)];
        let width = query.len().max(1);
        let mut best = vec![0u32; self.tools.len() * width];
        for (qi, q) in query.iter().enumerate() {
            for (word, postings) in self.vocabulary.iter().zip(&self.postings) {
                let quarters = closeness(word, q);
                if quarters == 0 {
                    continue;
                }
                for &(tool, field) in postings {
                    let slot = &mut best[tool as usize * width + qi];
                    *slot = (*slot).max(WEIGHTS[field as usize] * quarters);
                }
            }
        }
        let all = query.len();
        self.tools.iter().enumerate().filter_map(move |(i, tool)| {
            let row = &best[i * width..i * width + width];
            let total: u32 = row.iter().sum();
            let matched = row.iter().filter(|v| **v > 0).count();
            let total = if all > 1 && matched == all {
                total * 2
            } else {
                total
            };
            (total > 0).then_some((total, tool))
        })
    }
}

/// How well a tool's word matches a query word, in quarters.
fn closeness(word: &str, q: &str) -> u32 {
    if word == q {
        4
    } else if word.starts_with(q) {
        3
    } else if q.len() >= 3 && word.contains(q) {
        2
    } else if word.len() >= 3 && q.starts_with(word) {
        // An abbreviation of the query word (`repo` for `repository`).
        2
    } else {
        0
    }
}

/// A query's words, stop words left out (unless that leaves none).
pub fn query_words(query: &str) -> Vec<String> {
    let all = words(query);
    let kept: Vec<String> = all
        .iter()
        .filter(|w| !STOPWORDS.contains(&w.as_str()))
        .cloned()
        .collect();
    if kept.is_empty() {
        all
    } else {
        kept
    }
}

/// Lowercase words: split at anything not a letter or digit and where
/// camelCase turns (`listForRepo` → list, for, repo); a plural's `s` goes
/// (`pets` → pet), so either form finds the other.
pub fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut prev_lower = false;
    for c in text.chars() {
        if !c.is_alphanumeric() {
            flush(&mut word, &mut out);
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower {
            flush(&mut word, &mut out);
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        word.extend(c.to_lowercase());
    }
    flush(&mut word, &mut out);
    out
}

fn flush(word: &mut String, out: &mut Vec<String>) {
    if word.is_empty() {
        return;
    }
    if word.len() > 3 && word.ends_with('s') && !word.ends_with("ss") {
        word.pop();
    }
    out.push(std::mem::take(word));
}

/// Up to `n` paths close to an unknown `path`: by the words they share,
/// then by edit distance.
pub fn suggestions<'a>(
    catalogs: impl Iterator<Item = &'a Catalog>,
    path: &str,
    n: usize,
) -> Vec<String> {
    let query = query_words(path);
    let mut ranked: Vec<(u32, usize, String)> = Vec::new();
    for catalog in catalogs {
        let scored: HashMap<&str, u32> = catalog
            .scores(&query)
            .map(|(score, tool)| (tool.path.as_str(), score))
            .collect();
        for tool in &catalog.tools {
            let score = scored.get(tool.path.as_str()).copied().unwrap_or(0);
            let distance = edit_distance(path, &tool.path);
            if score > 0 || distance <= path.len() / 3 + 1 {
                ranked.push((score, distance, tool.path.clone()));
            }
        }
    }
    ranked.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    ranked.into_iter().take(n).map(|(_, _, p)| p).collect()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (diagonal + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(row[j + 1] + 1);
            diagonal = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_camel_case_punctuation_and_plurals() {
        assert_eq!(
            words("github.issues.listForRepo"),
            ["github", "issue", "list", "for", "repo"]
        );
        assert_eq!(
            words("get-board HTTPServer v2"),
            ["get", "board", "httpserver", "v2"]
        );
        assert_eq!(query_words("list the pets"), ["list", "pet"]);
    }

    #[test]
    fn a_tool_with_every_word_beats_one_with_one_word_many_times() {
        let info = SourceInfo {
            id: "petstore".into(),
            name: "Petstore".into(),
            kind: "openapi".into(),
            error: None,
        };
        let catalog = Catalog::new(
            info,
            vec![
                ToolDescriptor::new("petstore.pets.listPets", "List all pets"),
                ToolDescriptor::new("petstore.pets.createPets", "Create a pet"),
                ToolDescriptor::new("petstore.pets.showPetById", "Info for a specific pet"),
            ],
        );
        let query = query_words("create a pet");
        let mut hits: Vec<_> = catalog.scores(&query).collect();
        hits.sort_by_key(|h| std::cmp::Reverse(h.0));
        assert_eq!(hits[0].1.path, "petstore.pets.createPets");
        let near = suggestions([&catalog].into_iter(), "petstore.pets.listPet", 5);
        assert_eq!(near[0], "petstore.pets.listPets");
    }
}
