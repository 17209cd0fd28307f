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
            let entry = full_by_short.entry(strip_path(name).to_string()).or_default();
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
        assert_eq!(strip_path("net/http.(*Request).WithContext"), "http.(*Request).WithContext");
        assert_eq!(strip_path("main.worker"), "main.worker");
        assert_eq!(
            strip_path("example.com/m.Map[go.shape.*example.com/x.T]"),
            "m.Map[go.shape.*example.com/x.T]"
        );
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
