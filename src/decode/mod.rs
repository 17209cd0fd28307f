//! Reading pprof files: sniffing the encoding, bounded decompression and
//! streaming protobuf decoding into a validated [`Profile`]. Legacy text heap
//! profiles are converted to protobuf first; other text is rejected with a
//! message that names what it is.

mod budget;
mod builder;
mod frames;
mod gunzip;
mod ids;
mod labels;
mod legacy;
mod legacy_lines;
mod stream;
mod tables;
mod text;
mod validate;

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use flate2::bufread::MultiGzDecoder;

use crate::error::{ProfileError, ReadError};
use crate::model::Profile;

/// Largest decompressed profile read by default: 128 MiB. Real Go heap profiles
/// with 300,000 samples are about 30 MB; the limit keeps a small hostile file
/// from expanding into gigabytes. The decoded profile may take up to 8 bytes
/// of memory per byte of the limit (see `budget.rs`).
pub const DEFAULT_MAX_PROFILE_BYTES: u64 = 128 << 20;

/// Limits applied while reading.
#[derive(Clone, Copy, Debug)]
pub struct ReadOptions {
    /// Largest decompressed size accepted, in bytes. It also caps the memory
    /// of the decoded profile, at 8 times this size.
    pub max_profile_bytes: u64,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            max_profile_bytes: DEFAULT_MAX_PROFILE_BYTES,
        }
    }
}

/// Reads a pprof protobuf file or a legacy text heap profile, either of them
/// plain or gzipped.
pub fn read_file(path: &Path, options: &ReadOptions) -> Result<Profile, ReadError> {
    let attach = |error| ReadError {
        path: path.to_path_buf(),
        error,
    };
    let file = File::open(path).map_err(|e| attach(ProfileError::Open(e)))?;
    let metadata = file.metadata().ok();
    if metadata.as_ref().is_some_and(|m| m.is_dir()) {
        return Err(attach(ProfileError::NotAProfile(
            "is a directory; give the path of a profile file".into(),
        )));
    }
    // A special file may report a length of 0 however much it holds.
    let size = metadata.map_or(0, |m| m.len());
    read(BufReader::with_capacity(1 << 16, file), options, size).map_err(attach)
}

/// Reads a profile from memory; the bytes may be gzipped.
pub fn read_bytes(data: &[u8], options: &ReadOptions) -> Result<Profile, ProfileError> {
    read(data, options, data.len() as u64)
}

/// Reads a profile of `size` bytes (as stored, perhaps gzipped) from `input`.
fn read<R: BufRead + Send>(
    mut input: R,
    options: &ReadOptions,
    size: u64,
) -> Result<Profile, ProfileError> {
    let head = input.fill_buf().map_err(ProfileError::Read)?;
    if head.is_empty() {
        return Err(ProfileError::Empty);
    }
    if !head.starts_with(&[0x1f, 0x8b]) {
        return decode_contents(input, options, false);
    }
    if gunzip::worth_a_thread(size) {
        return gunzip::on_thread(input, |blocks| decode_gzipped(blocks, options));
    }
    decode_gzipped(
        BufReader::with_capacity(1 << 16, MultiGzDecoder::new(input)),
        options,
    )
}

/// Decodes the decompressed contents of a gzip file.
fn decode_gzipped<R: BufRead>(mut gz: R, options: &ReadOptions) -> Result<Profile, ProfileError> {
    let head = gz.fill_buf().map_err(|e| stream::io_error(e, true))?;
    if head.is_empty() {
        return Err(ProfileError::NotAProfile(
            "is gzip, but it decompresses to 0 bytes; write or download the profile again".into(),
        ));
    }
    decode_contents(gz, options, true)
}

/// Decodes the (decompressed) contents, whose first bytes are buffered.
fn decode_contents<R: BufRead>(
    mut input: R,
    options: &ReadOptions,
    gzipped: bool,
) -> Result<Profile, ProfileError> {
    let limit = options.max_profile_bytes;
    let head = input.fill_buf().map_err(|e| stream::io_error(e, gzipped))?;
    match text::classify(head) {
        text::Contents::Binary => {
            builder::decode(&mut stream::FieldReader::new(input, limit, gzipped))
        }
        text::Contents::LegacyHeap => {
            let encoded = legacy::convert(input, limit)?;
            builder::decode(&mut stream::FieldReader::new(&encoded[..], limit, false))
        }
        text::Contents::OtherText(message) => Err(ProfileError::NotAProfile(message)),
    }
}

/// Explains a wire error in the first fields of the input: there it more
/// likely means the input is some other binary data than a damaged profile.
fn not_a_profile(error: ProfileError, gzipped: bool) -> ProfileError {
    if !matches!(error, ProfileError::Wire { .. }) {
        return error;
    }
    ProfileError::NotAProfile(if gzipped {
        format!("is gzip, but the decompressed data is not a pprof protobuf profile ({error})")
    } else {
        format!("is neither gzip nor a pprof protobuf profile ({error})")
    })
}

/// Reads every profile in `paths`, in order.
pub fn read_files(
    paths: &[std::path::PathBuf],
    options: &ReadOptions,
) -> Result<Vec<Profile>, ReadError> {
    paths.iter().map(|p| read_file(p, options)).collect()
}

/// Returns true when `data` (not gzipped) is a legacy text heap profile, the
/// output of `/debug/pprof/heap?debug=1`.
pub fn is_legacy_heap_text(data: &[u8]) -> bool {
    text::classify(data) == text::Contents::LegacyHeap
}
