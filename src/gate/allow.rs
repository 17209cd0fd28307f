//! Allowlist patterns: globs over Go function names.
//!
//! `*` matches any run of characters (dots and slashes too) and `?` matches
//! one character. Every other character matches itself, so Go names such as
//! `main.(*cache).put` or `pkg.Map[...].Get` need no escaping: the `*` in
//! `(*cache)` is a wildcard that also matches the literal star.

use serde::Serialize;

use crate::analysis::paths::PathKey;

/// One glob over function names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Pattern {
    text: String,
}

impl Pattern {
    /// Parses a pattern. Rejects empty patterns, which would match nothing.
    pub fn new(text: &str) -> Result<Pattern, String> {
        if text.trim().is_empty() {
            return Err("invalid allow pattern \"\": give a function name or a glob such as 'main.(*cache).*'".into());
        }
        Ok(Pattern {
            text: text.to_string(),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Returns true when the whole of `name` matches the pattern.
    pub fn matches(&self, name: &str) -> bool {
        let pattern: Vec<char> = self.text.chars().collect();
        let name: Vec<char> = name.chars().collect();
        glob_match(&pattern, &name)
    }
}

/// Matches with backtracking to the last `*` only, so the time is at most
/// the product of the two lengths.
fn glob_match(pattern: &[char], name: &[char]) -> bool {
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, n));
                p += 1;
            }
            Some(&c) if c == '?' || c == name[n] => {
                p += 1;
                n += 1;
            }
            _ => match star {
                Some((star_p, star_n)) => {
                    p = star_p + 1;
                    n = star_n + 1;
                    star = Some((star_p, star_n + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

/// The allow patterns of one gate run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Allowlist {
    patterns: Vec<Pattern>,
}

impl Allowlist {
    pub fn new(patterns: Vec<Pattern>) -> Allowlist {
        Allowlist { patterns }
    }

    pub fn patterns(&self) -> &[Pattern] {
        &self.patterns
    }

    /// Returns the first pattern that matches `function`.
    pub fn find(&self, function: &str) -> Option<&Pattern> {
        self.patterns.iter().find(|p| p.matches(function))
    }

    /// Returns true when a pattern matches the path's allocating function or
    /// its owner, so the path's memory is left out of every rule.
    pub fn covers_path(&self, key: &PathKey) -> bool {
        self.find(&key.site).is_some()
            || key.owner.as_deref().is_some_and(|o| self.find(o).is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: &str, name: &str) -> bool {
        Pattern::new(pattern).expect("valid pattern").matches(name)
    }

    #[test]
    fn literal_name_matches_itself_only() {
        assert!(matches("context.WithValue", "context.WithValue"));
        assert!(!matches("context.WithValue", "context.WithValueX"));
        assert!(!matches("context.WithValue", "xcontext.WithValue"));
    }

    #[test]
    fn star_spans_dots_and_slashes() {
        assert!(matches(
            "github.com/acme/*",
            "github.com/acme/cache.(*LRU).Add"
        ));
        assert!(matches("main.run*", "main.runCtxChain"));
        assert!(matches("*WithValue", "context.WithValue"));
        assert!(matches("*", ""));
        assert!(!matches("main.run*", "main.(*server).run"));
    }

    #[test]
    fn go_method_names_need_no_escaping() {
        assert!(matches("main.(*cache).put", "main.(*cache).put"));
        assert!(matches("pkg.Map[...].Get", "pkg.Map[...].Get"));
        assert!(matches("main.(*cache).*", "main.(*cache).evict"));
    }

    #[test]
    fn question_mark_is_one_character() {
        assert!(matches("main.run?", "main.runA"));
        assert!(!matches("main.run?", "main.run"));
    }

    #[test]
    fn empty_pattern_is_rejected() {
        assert!(Pattern::new("").is_err());
        assert!(Pattern::new("  ").is_err());
    }
}
