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
    words: Vec<[Vec<String>; 4]>,
}

impl Catalog {
    pub fn new(info: SourceInfo, tools: Vec<ToolDescriptor>) -> Self {
        let source_words = words(&format!("{} {}", info.id, info.name));
        let index = tools
            .iter()
            .enumerate()
            .map(|(i, t)| (t.path.clone(), i))
            .collect();
        let words = tools
            .iter()
            .map(|t| {
                [
                    words(&t.path),
                    words(&t.name),
                    source_words.clone(),
                    words(t.description.as_deref().unwrap_or("")),
                ]
            })
            .collect();
        Self {
            info,
            tools,
            index,
            words,
        }
    }

    pub fn get(&self, path: &str) -> Option<&ToolDescriptor> {
        self.index.get(path).map(|&i| &self.tools[i])
    }

    /// Each tool's score for `query` (its words, from [`query_words`]),
    /// those above zero.
    pub fn scores<'a>(
        &'a self,
        query: &'a [String],
    ) -> impl Iterator<Item = (u32, &'a ToolDescriptor)> + 'a {
        self.tools
            .iter()
            .zip(&self.words)
            .filter_map(move |(tool, fields)| {
                let score = score(query, fields);
                (score > 0).then_some((score, tool))
            })
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

/// Per query word and field: the whole weight for an equal word, three
/// quarters for a word it begins, half for one it is inside; each query
/// word counts its best field. Every query word matched doubles the score,
/// so a tool that has all the words beats one that has one many times.
fn score(query: &[String], fields: &[Vec<String>; 4]) -> u32 {
    let weights = [PATH, NAME, SOURCE, DESCRIPTION];
    let mut total = 0;
    let mut matched = 0;
    for q in query {
        let best = fields
            .iter()
            .zip(weights)
            .map(|(words, weight)| {
                let quarters = words
                    .iter()
                    .map(|w| {
                        if w == q {
                            4
                        } else if w.starts_with(q.as_str()) {
                            3
                        } else if q.len() >= 3 && w.contains(q.as_str()) {
                            2
                        } else {
                            0
                        }
                    })
                    .max()
                    .unwrap_or(0);
                weight * quarters
            })
            .max()
            .unwrap_or(0);
        if best > 0 {
            matched += 1;
        }
        total += best;
    }
    if matched == query.len() && query.len() > 1 {
        total * 2
    } else {
        total
    }
}

/// Up to `n` paths close to an unknown `path`: by the words they share,
/// then by edit distance.
pub fn suggestions<'a>(
    catalogs: impl Iterator<Item = &'a Catalog>,
    path: &str,
    n: usize,
) -> Vec<String> {
    let query = query_words(path);
    let mut ranked: Vec<(u32, usize, String)> = catalogs
        .flat_map(|c| c.tools.iter().zip(&c.words))
        .map(|(tool, fields)| {
            (
                score(&query, fields),
                edit_distance(path, &tool.path),
                tool.path.clone(),
            )
        })
        .filter(|(score, distance, _)| *score > 0 || *distance <= path.len() / 3 + 1)
        .collect();
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
