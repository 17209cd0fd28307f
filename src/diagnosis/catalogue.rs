//! Known wrapper functions that build chains when their result is assigned
//! back to the variable they wrapped. The catalogue only names a pattern that
//! the numbers already found; it never decides whether something leaks.

use serde::Serialize;

use crate::analysis::paths::import_path;

/// The family of a wrapper, which decides the wording of the fix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    Context,
    Request,
    Logger,
    Error,
}

impl Family {
    /// Returns the reassignment that builds the chain, as Go code.
    pub fn example(self) -> &'static str {
        match self {
            Family::Context => "ctx = context.WithValue(ctx, ...)",
            Family::Request => "req = req.WithContext(ctx)",
            Family::Logger => "logger = logger.With(...)",
            Family::Error => "err = fmt.Errorf(\"...: %w\", err)",
        }
    }

    /// Returns the loop-local variable of the fix, as Go code.
    pub fn fix(self) -> &'static str {
        match self {
            Family::Context => "taskCtx := context.WithValue(ctx, ...)",
            Family::Request => "taskReq := req.WithContext(taskCtx)",
            Family::Logger => "taskLogger := logger.With(...)",
            Family::Error => "taskErr := fmt.Errorf(\"...: %w\", err)",
        }
    }
}

/// Returns the reassignment that builds the chain and its fix, as Go code,
/// and any further advice: cancelable contexts also need cancel called.
pub fn reassignment(wrapper: &Wrapper) -> (String, String, &'static str) {
    let symbol = wrapper.function.trim_start_matches("context.");
    let cancelable = wrapper.family == Family::Context
        && ["WithCancel", "withCancel", "WithTimeout", "WithDeadline"]
            .iter()
            .any(|name| symbol.starts_with(name));
    if !cancelable {
        return (
            wrapper.family.example().to_string(),
            wrapper.family.fix().to_string(),
            "",
        );
    }
    let exported = match symbol {
        s if s.starts_with("WithTimeout") => "WithTimeout(ctx, d)",
        s if s.starts_with("WithDeadline") => "WithDeadline(ctx, t)",
        _ => "WithCancel(ctx)",
    };
    (
        format!("ctx, cancel = context.{exported}"),
        format!("taskCtx, cancel := context.{exported}"),
        ", and call cancel() when the task ends",
    )
}

/// A wrapper frame found on a retention path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wrapper {
    pub family: Family,
    pub function: String,
}

const LOGGER_METHODS: [&str; 8] = [
    "With",
    "WithField",
    "WithFields",
    "WithValues",
    "WithName",
    "WithGroup",
    "Named",
    "WithError",
];

/// The family of a single function, if it is a known wrapper.
pub fn family_of(function: &str) -> Option<Family> {
    let path = import_path(function);
    let symbol = &function[path.len()..].trim_start_matches('.');
    let method = symbol.rsplit('.').next().unwrap_or(symbol);
    match path {
        "context" if symbol.starts_with("With") || symbol.starts_with("withCancel") => {
            Some(Family::Context)
        }
        "net/http" if matches!(symbol, &"(*Request).WithContext" | &"(*Request).Clone") => {
            Some(Family::Request)
        }
        "fmt" if *symbol == "Errorf" => Some(Family::Error),
        "errors" if *symbol == "Join" => Some(Family::Error),
        "github.com/pkg/errors" if symbol.starts_with("Wrap") || symbol.starts_with("With") => {
            Some(Family::Error)
        }
        _ if is_logging_package(path) && LOGGER_METHODS.contains(&method) => Some(Family::Logger),
        _ => None,
    }
}

fn is_logging_package(path: &str) -> bool {
    let last = path.rsplit('/').next().unwrap_or(path);
    path == "log/slog"
        || last.contains("log")
        || last == "zap"
        || last == "zapcore"
        || path.contains("zerolog")
}

/// The wrapper closest to the owner on a leaf-first path, which is the call
/// the owner's loop makes.
pub fn find(frames: &[String]) -> Option<Wrapper> {
    frames.iter().rev().find_map(|function| {
        family_of(function).map(|family| Wrapper {
            family,
            function: function.clone(),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_wrappers_have_families() {
        assert_eq!(family_of("context.WithValue"), Some(Family::Context));
        assert_eq!(family_of("context.WithCancel"), Some(Family::Context));
        assert_eq!(family_of("context.withCancel"), Some(Family::Context));
        assert_eq!(
            family_of("net/http.(*Request).WithContext"),
            Some(Family::Request)
        );
        assert_eq!(family_of("log/slog.(*Logger).With"), Some(Family::Logger));
        assert_eq!(
            family_of("github.com/sirupsen/logrus.(*Entry).WithField"),
            Some(Family::Logger)
        );
        assert_eq!(
            family_of("go.uber.org/zap.(*Logger).With"),
            Some(Family::Logger)
        );
        assert_eq!(family_of("fmt.Errorf"), Some(Family::Error));
        assert_eq!(
            family_of("github.com/pkg/errors.Wrapf"),
            Some(Family::Error)
        );
    }

    #[test]
    fn ordinary_functions_are_not_wrappers() {
        assert_eq!(family_of("fmt.Sprint"), None);
        assert_eq!(family_of("main.With"), None);
        assert_eq!(family_of("context.Background"), None);
        assert_eq!(family_of("strings.(*Builder).WriteString"), None);
    }

    #[test]
    fn find_takes_the_wrapper_nearest_the_owner() {
        let frames = vec![
            "context.withCancel".to_string(),
            "context.WithTimeout".to_string(),
            "main.worker".to_string(),
        ];
        let wrapper = find(&frames).expect("a wrapper");
        assert_eq!(wrapper.function, "context.WithTimeout");
    }
}
