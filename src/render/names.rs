//! Shortening of Go symbol names for tables: the import path before the
//! package name is dropped (`github.com/sirupsen/logrus.(*Entry).WithField`
//! becomes `logrus.(*Entry).WithField`) unless two names in the same table
//! would then read the same, in which case both keep their full path.

use std::collections::HashMap;

/// Names as they appear in one table.
pub struct Shortener {
    ambiguous: HashMap<String, usize>,
}

impl Shortener {
    pub fn new<'a>(names: impl Iterator<Item = &'a str>) -> Self {
        let mut full_by_short: HashMap<String, Vec<&str>> = HashMap::new();
        for name in names {
            let entry = full_by_short
                .entry(strip_path(name).to_string())
                .or_default();
            if !entry.contains(&name) {
                entry.push(name);
            }
        }
        let ambiguous = full_by_short
            .into_iter()
            .map(|(short, fulls)| (short, fulls.len()))
            .collect();
        Shortener { ambiguous }
    }

    pub fn short(&self, name: &str) -> String {
        let short = strip_path(name);
        match self.ambiguous.get(short) {
            Some(&count) if count > 1 => name.to_string(),
            _ => short.to_string(),
        }
    }
}

/// Shortens names in a table to at most `max` characters by cutting out
/// the middle, unless two names would then read the same: those keep their
/// full form, so every row stays unambiguous.
pub fn elide_all(names: &[String], max: usize) -> Vec<String> {
    let elided: Vec<String> = names.iter().map(|name| elide(name, max)).collect();
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for (name, short) in names.iter().zip(&elided) {
        if name != short {
            *counts.entry(short.as_str()).or_default() += 1;
        }
    }
    names
        .iter()
        .zip(&elided)
        .map(|(name, short)| {
            let clashes = counts.get(short.as_str()).is_some_and(|&n| n > 1)
                || (name != short && names.contains(short));
            if clashes {
                name.clone()
            } else {
                short.clone()
            }
        })
        .collect()
}

/// Cuts the middle out of `name` so it fits in `max` characters, keeping the
/// start (the package) and more of the end (the function).
fn elide(name: &str, max: usize) -> String {
    let count = name.chars().count();
    if count <= max || max < 8 {
        return name.to_string();
    }
    let keep = max - 1;
    let head = keep * 2 / 5;
    let tail = keep - head;
    let start: String = name.chars().take(head).collect();
    let end: String = name.chars().skip(count - tail).collect();
    format!("{start}…{end}")
}

/// Drops the directories of the import path: everything up to the last `/`
/// before the symbol part (the first `(` or `[`, which may contain paths).
pub fn strip_path(name: &str) -> &str {
    let symbol_start = name.find(['(', '[']).unwrap_or(name.len());
    match name[..symbol_start].rfind('/') {
        Some(slash) => &name[slash + 1..],
        None => name,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strip_path_keeps_package_and_symbol() {
        assert_eq!(
            strip_path("github.com/sirupsen/logrus.(*Entry).WithField"),
            "logrus.(*Entry).WithField"
        );
        assert_eq!(
            strip_path("net/http.(*Request).WithContext"),
            "http.(*Request).WithContext"
        );
        assert_eq!(strip_path("main.worker"), "main.worker");
        assert_eq!(
            strip_path("example.com/m.Map[go.shape.*example.com/x.T]"),
            "m.Map[go.shape.*example.com/x.T]"
        );
    }

    #[test]
    fn elide_keeps_both_ends() {
        let names = vec!["runtime.mallocgcSmallScanNoHeaderSC1".to_string()];
        assert_eq!(
            elide_all(&names, 30),
            vec!["runtime.mal…allScanNoHeaderSC1"]
        );
    }

    #[test]
    fn elided_names_that_clash_stay_whole() {
        let names = vec![
            "main.prefix_one_xxxxxxxxxxxxxxxxxxxx.Handler".to_string(),
            "main.prefix_two_xxxxxxxxxxxxxxxxxxxx.Handler".to_string(),
        ];
        assert_eq!(elide_all(&names, 20), names);
    }

    #[test]
    fn ambiguous_names_keep_their_path() {
        let names = ["a.com/x/log.New", "b.com/y/log.New", "main.run"];
        let shortener = Shortener::new(names.iter().copied());
        assert_eq!(shortener.short("a.com/x/log.New"), "a.com/x/log.New");
        assert_eq!(shortener.short("b.com/y/log.New"), "b.com/y/log.New");
        assert_eq!(shortener.short("main.run"), "main.run");
    }
}
