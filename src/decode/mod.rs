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
mod small;
mod stream;
mod tables;
#[cfg(test)]
mod tests;
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
    // A special file may report a length of 0 however much it contains.
    let size = metadata.map_or(0, |m| m.len());
    let sizes = Sizes {
        stored: size,
        gzip_trailer: gzip_trailer_of_file(&file, size),
    };
    read(BufReader::with_capacity(1 << 16, file), options, sizes).map_err(attach)
}

/// Reads a profile from memory; the bytes may be gzipped.
pub fn read_bytes(data: &[u8], options: &ReadOptions) -> Result<Profile, ProfileError> {
    let sizes = Sizes {
        stored: data.len() as u64,
        gzip_trailer: data
            .last_chunk::<4>()
            .map(|&bytes| u32::from_le_bytes(bytes)),
    };
    read(data, options, sizes)
}

/// The sizes known of an input before reading it, which let the decoder
/// reserve its arrays once instead of growing them many times.
#[derive(Clone, Copy)]
struct Sizes {
    /// Bytes as stored, perhaps gzipped; 0 when unknown.
    stored: u64,
    /// The last 4 bytes, which in a gzip file give the decompressed size
    /// modulo 2^32 of its last member.
    gzip_trailer: Option<u32>,
}

impl Sizes {
    /// Returns the expected decompressed size, 0 when unknown. It is only an
    /// estimate: a gzip file of several members, or a damaged one, may
    /// decompress to some other size.
    fn decompressed(self, gzipped: bool) -> u64 {
        match (gzipped, self.gzip_trailer) {
            (true, Some(size)) => u64::from(size),
            (true, None) => 0,
            (false, _) => self.stored,
        }
    }
}

/// Reads the last 4 bytes of a file of `size` bytes without moving its
/// position.
fn gzip_trailer_of_file(file: &File, size: u64) -> Option<u32> {
    let offset = size.checked_sub(4)?;
    let mut bytes = [0u8; 4];
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileExt;
        file.read_exact_at(&mut bytes, offset).ok()?;
    }
    #[cfg(not(unix))]
    {
        let _ = (file, offset);
        return None;
    }
    Some(u32::from_le_bytes(bytes))
}

/// Reads a profile from `input`.
fn read<R: BufRead + Send>(
    mut input: R,
    options: &ReadOptions,
    sizes: Sizes,
) -> Result<Profile, ProfileError> {
    let head = input.fill_buf().map_err(ProfileError::Read)?;
    if head.is_empty() {
        return Err(ProfileError::Empty);
    }
    if !head.starts_with(&[0x1f, 0x8b]) {
        return decode_contents(input, options, false, sizes.decompressed(false));
    }
    let expected = sizes.decompressed(true);
    if gunzip::worth_a_thread(sizes.stored) {
        return gunzip::on_thread(input, |blocks| decode_gzipped(blocks, options, expected));
    }
    let gz = BufReader::with_capacity(1 << 16, MultiGzDecoder::new(input));
    decode_gzipped(gz, options, expected)
}

/// Decodes the decompressed contents of a gzip file, which are expected to
/// be `expected` bytes long (0 when unknown).
fn decode_gzipped<R: BufRead>(
    mut gz: R,
    options: &ReadOptions,
    expected: u64,
) -> Result<Profile, ProfileError> {
    let head = gz.fill_buf().map_err(|e| stream::io_error(e, true))?;
    if head.is_empty() {
        return Err(ProfileError::NotAProfile(
            "is gzip, but it decompresses to 0 bytes; write or download the profile again".into(),
        ));
    }
    decode_contents(gz, options, true, expected)
}

/// Decodes the (decompressed) contents, whose first bytes are buffered and
/// which are expected to be `expected` bytes long (0 when unknown).
fn decode_contents<R: BufRead>(
    mut input: R,
    options: &ReadOptions,
    gzipped: bool,
    expected: u64,
) -> Result<Profile, ProfileError> {
    let limit = options.max_profile_bytes;
    let head = input.fill_buf().map_err(|e| stream::io_error(e, gzipped))?;
    match text::classify(head) {
        text::Contents::Binary => {
            let mut reader = stream::FieldReader::new(input, limit, gzipped);
            builder::decode(&mut reader, expected)
        }
        text::Contents::LegacyHeap => {
            let encoded = legacy::convert(input, limit)?;
            let expected = encoded.len() as u64;
            builder::decode(
                &mut stream::FieldReader::new(&encoded[..], limit, false),
                expected,
            )
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
