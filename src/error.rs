//! Errors raised while reading and validating profiles.
//!
//! Each message is complete on its own: it states the problem and, where there
//! is one, the next step. No error here returns a [`std::error::Error::source`],
//! so printing the chain (`{:#}` in anyhow) never repeats a message.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// A problem with one profile's bytes or contents. Messages read as the rest
/// of a sentence that starts with the file name.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("file is empty (0 bytes); write or download the profile again")]
    Empty,
    #[error("failed to open: {}", io_reason(.0))]
    Open(io::Error),
    #[error("failed to read: {}", io_reason(.0))]
    Read(io::Error),
    #[error("gzip data is truncated: {0}; the file was probably cut short while being written or copied")]
    GzipTruncated(String),
    #[error("gzip data is corrupt ({0}); the file is damaged, or it is not gzip")]
    GzipCorrupt(String),
    /// The input is readable but is some other kind of file, which the
    /// message names.
    #[error("{0}")]
    NotAProfile(String),
    #[error(
        "profile is larger than the --max-profile-bytes limit of {} (counted after \
         decompression); raise the limit if the file is trusted",
        format_size(*.limit)
    )]
    TooLarge { limit: u64 },
    #[error(
        "decoded profile would take more than {} of memory, the maximum allowed for a \
         --max-profile-bytes limit of {} (the file may be built to exhaust memory); \
         raise the limit if the file is trusted",
        format_size(*.budget),
        format_size(*.limit)
    )]
    DecodedTooLarge { limit: u64, budget: u64 },
    #[error(
        "failed to allocate {} of memory for the decoded profile; lower \
         --max-profile-bytes, or read the file where more memory is available",
        format_size(*.bytes)
    )]
    OutOfMemory { bytes: u64 },
    /// The protobuf encoding itself is broken: `offset` counts bytes of the
    /// decompressed stream when the file is gzipped.
    #[error("invalid protobuf at byte {offset}{}: {message}", if *.gzipped { " of the decompressed data" } else { "" })]
    Wire {
        offset: u64,
        gzipped: bool,
        message: String,
    },
    /// A line of a legacy text heap profile that cannot be parsed.
    #[error("invalid text heap profile at line {line}: {message}")]
    Text { line: u64, message: String },
    /// The protobuf is well formed but its contents break a rule of the
    /// profile format, such as a reference to an undefined id.
    #[error("invalid profile: {0}")]
    Invalid(String),
}

impl ProfileError {
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        ProfileError::Invalid(message.into())
    }
}

/// A profile error together with the file it came from. It displays as
/// `FILE: message`.
#[derive(Debug)]
pub struct ReadError {
    pub path: PathBuf,
    pub error: ProfileError,
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.error)
    }
}

impl std::error::Error for ReadError {}

/// Formats an I/O error, with a hint for the two common cases.
fn io_reason(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => format!("{e}; check the path"),
        io::ErrorKind::PermissionDenied => {
            format!("{e}; check the file's permissions or run as a user who can read it")
        }
        _ => e.to_string(),
    }
}

/// Formats a byte count in binary units, with the exact count when it is not
/// a whole number of units: `128 MiB`, `1500 bytes`.
pub(crate) fn format_size(bytes: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")];
    for (size, unit) in UNITS {
        if bytes >= size && bytes % size == 0 {
            return format!("{} {unit}", bytes / size);
        }
    }
    format!("{bytes} bytes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_size_uses_whole_units() {
        assert_eq!(format_size(128 << 20), "128 MiB");
        assert_eq!(format_size(3 << 30), "3 GiB");
        assert_eq!(format_size(1536), "1536 bytes");
        assert_eq!(format_size(64 << 10), "64 KiB");
    }

    #[test]
    fn read_error_shows_path_and_message_once() {
        let error = ReadError {
            path: "heap.pb.gz".into(),
            error: ProfileError::Empty,
        };
        let text = format!("{:#}", anyhow::Error::new(error));
        assert_eq!(text.matches("file is empty").count(), 1, "{text}");
        assert!(text.starts_with("heap.pb.gz: "), "{text}");
    }
}
