//! Reading pprof files: sniffing the encoding, bounded decompression and
//! streaming protobuf decoding into a validated [`Profile`].

mod builder;
mod stream;
mod validate;

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use flate2::bufread::MultiGzDecoder;

use crate::error::{ProfileError, ReadError};
use crate::model::Profile;

/// Largest decompressed profile read by default: 128 MiB. Real Go heap profiles
/// with 300,000 samples are about 30 MB; the limit keeps a small hostile file
/// from expanding into gigabytes.
pub const DEFAULT_MAX_PROFILE_BYTES: u64 = 128 << 20;

/// Limits applied while reading.
#[derive(Clone, Copy, Debug)]
pub struct ReadOptions {
    /// Largest decompressed size accepted, in bytes.
    pub max_profile_bytes: u64,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            max_profile_bytes: DEFAULT_MAX_PROFILE_BYTES,
        }
    }
}

/// Reads a gzipped or plain pprof protobuf file.
pub fn read_file(path: &Path, options: &ReadOptions) -> Result<Profile, ReadError> {
    let attach = |source| ReadError {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(|e| attach(ProfileError::Io(e)))?;
    if file.metadata().map(|m| m.is_dir()).unwrap_or(false) {
        return Err(attach(ProfileError::NotAProfile(
            "is a directory, not a profile file".into(),
        )));
    }
    read(BufReader::with_capacity(1 << 16, file), options).map_err(attach)
}

/// Reads a profile from memory; the bytes may be gzipped.
pub fn read_bytes(data: &[u8], options: &ReadOptions) -> Result<Profile, ProfileError> {
    read(data, options)
}

fn read<R: BufRead>(mut input: R, options: &ReadOptions) -> Result<Profile, ProfileError> {
    let head = input.fill_buf()?;
    if head.is_empty() {
        return Err(ProfileError::Empty);
    }
    if head.starts_with(&[0x1f, 0x8b]) {
        let gz = BufReader::with_capacity(1 << 16, MultiGzDecoder::new(input));
        decode_stream(gz, options, true)
    } else {
        reject_text(head)?;
        decode_stream(input, options, false)
    }
}

fn decode_stream<R: BufRead>(
    input: R,
    options: &ReadOptions,
    gzipped: bool,
) -> Result<Profile, ProfileError> {
    let mut reader = stream::FieldReader::new(input, options.max_profile_bytes, gzipped);
    if reader.at_end()? {
        return Err(ProfileError::NotAProfile(
            "gzip stream holds no data".into(),
        ));
    }
    if gzipped {
        reject_text(reader.peek()?)?;
    }
    builder::decode(&mut reader)
}

/// Rejects input that is text: an HTML error page, a legacy text profile or
/// anything else that is not binary protobuf.
fn reject_text(head: &[u8]) -> Result<(), ProfileError> {
    let sample = &head[..head.len().min(512)];
    let text = match std::str::from_utf8(sample) {
        Ok(text) => text,
        Err(e) if e.valid_up_to() + 4 > sample.len() => &sample_str(sample, e.valid_up_to()),
        Err(_) => return Ok(()),
    };
    let printable = text
        .chars()
        .all(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t'));
    if !printable || text.len() < 2 {
        return Ok(());
    }
    let trimmed = text.trim_start();
    let message = if trimmed.starts_with("heap profile:") {
        "is a legacy text heap profile (debug=1); fetch /debug/pprof/heap without debug=1, \
         or convert it with `go tool pprof -proto FILE > heap.pb.gz`"
            .to_string()
    } else if trimmed.starts_with("goroutine profile:") {
        "is a text goroutine dump (debug=1 or 2); fetch /debug/pprof/goroutine without debug"
            .to_string()
    } else if trimmed.starts_with('<') {
        "is HTML or XML text, not a pprof profile (was an error page saved in its place?)"
            .to_string()
    } else {
        let first_line = trimmed.lines().next().unwrap_or("");
        let shown: String = first_line.chars().take(60).collect();
        format!("is text, not a pprof protobuf profile (starts with {shown:?})")
    };
    Err(ProfileError::NotAProfile(message))
}

fn sample_str(sample: &[u8], valid: usize) -> String {
    String::from_utf8_lossy(&sample[..valid]).into_owned()
}

/// Reads every profile in `paths`, in order.
pub fn read_files(
    paths: &[std::path::PathBuf],
    options: &ReadOptions,
) -> Result<Vec<Profile>, ReadError> {
    paths.iter().map(|p| read_file(p, options)).collect()
}

#[doc(hidden)]
pub fn read_reader<R: Read>(input: R, options: &ReadOptions) -> Result<Profile, ProfileError> {
    read(BufReader::new(input), options)
}
