//! Errors raised while reading and validating profiles.

use std::path::PathBuf;

/// What is wrong with one profile's bytes or contents.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("file is empty")]
    Empty,
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("gzip stream is truncated or corrupt ({0})")]
    Gzip(String),
    #[error("{0}")]
    NotAProfile(String),
    #[error("decompressed profile exceeds the limit of {limit} bytes; raise it with --max-profile-bytes if the file is trusted")]
    TooLarge { limit: u64 },
    #[error("invalid protobuf at byte {offset}: {message}")]
    Wire { offset: u64, message: String },
    #[error("invalid {what}: {message}")]
    Field { what: &'static str, message: String },
    #[error("{0}")]
    Invalid(String),
}

impl ProfileError {
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        ProfileError::Invalid(message.into())
    }
}

/// A profile error together with the file it came from.
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", path.display())]
pub struct ReadError {
    pub path: PathBuf,
    #[source]
    pub source: ProfileError,
}
