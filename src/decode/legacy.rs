//! Conversion of legacy text heap profiles, the format of
//! `/debug/pprof/heap?debug=1` and of runtime/pprof's `WriteTo(w, 1)`:
//!
//! ```text
//! heap profile: 232: 15909168 [235: 17547568] @ heap/1048576
//! 1: 65536 [1: 65536] @ 0x47c3da 0x4e47be 0x4e4a54 0x44ab67
//! #  0x4e47bd  main.small+0x5d  /tmp/app/main.go:14
//! ```
//!
//! (The fields of the comment line are separated by tabs.)
//!
//! Each sample line gives in-use and allocated object counts and bytes, then
//! the return addresses of its stack, leaf first. The comment lines after it
//! name the frames, one line per frame. An address whose call was inlined has
//! one line for itself and one for each inlined caller, and the runtime's
//! leading allocation frames and `runtime.goexit` have none, so they are
//! dropped as runtime/pprof drops them from protobuf heap profiles.
//!
//! The converter writes the protobuf encoding of the profile as it reads, and
//! the usual decoder then checks and stores it.

use std::collections::{HashMap, HashSet};
use std::io::BufRead;
use std::mem::size_of;

use prost::Message;

use super::budget::Budget;
use super::legacy_lines::{
    parse_address, parse_frame, parse_header, parse_sample, truncate, unsample, Header,
};
use crate::error::ProfileError;
use crate::pb;

/// Estimated memory of one hash map or hash set entry beyond its key and
/// value: a control byte, and room to spare because the table doubles and
/// stays at most 7/8 full.
const HASH_OVERHEAD_BYTES: usize = 24;

/// A frame named by a comment line: the id of its function and a line number.
#[derive(Clone, Copy)]
struct Frame {
    function_id: u64,
    line: i64,
}

/// A location of the profile: its id and its frames, innermost first.
struct Location {
    id: u64,
    frames: Vec<Frame>,
}

/// Reads the whole text profile from `input`, which starts with the header
/// line, and returns its protobuf encoding. At most `limit` bytes are read,
/// and the memory used while converting is charged to a budget derived from
/// `limit`.
pub(super) fn convert<R: BufRead>(input: R, limit: u64) -> Result<Vec<u8>, ProfileError> {
    let mut converter = Converter::new(Budget::for_limit(limit));
    let mut input = input.take(limit.saturating_add(1));
    let mut bytes = Vec::new();
    let mut line_number = 0u64;
    let mut read = 0u64;
    loop {
        bytes.clear();
        let count = input
            .read_until(b'\n', &mut bytes)
            .map_err(|e| super::stream::io_error(e, false))?;
        if count == 0 {
            break;
        }
        read += count as u64;
        if read > limit {
            return Err(ProfileError::TooLarge { limit });
        }
        line_number += 1;
        let line = String::from_utf8_lossy(&bytes);
        let line = line.trim_end_matches(['\n', '\r']);
        converter.line(line).map_err(|e| match e {
            LineError::Text(message) => ProfileError::Text {
                line: line_number,
                message,
            },
            LineError::Profile(e) => e,
        })?;
    }
    converter.finish()
}

/// A problem with one line, or a limit reached while storing it.
enum LineError {
    Text(String),
    Profile(ProfileError),
}

impl From<String> for LineError {
    fn from(message: String) -> Self {
        LineError::Text(message)
    }
}

impl From<ProfileError> for LineError {
    fn from(e: ProfileError) -> Self {
        LineError::Profile(e)
    }
}

struct Converter {
    budget: Budget,
    header: Option<Header>,
    /// The protobuf encoding of the finished samples.
    encoded: Vec<u8>,
    strings: HashMap<String, i64>,
    /// Function ids by name and file string index.
    functions: HashMap<(i64, i64), u64>,
    locations: HashMap<u64, Location>,
    bytes_key: i64,
    /// The counts and addresses of the sample whose comments are being read.
    counts: Option<[i64; 4]>,
    addresses: Vec<u64>,
    address_set: HashSet<u64>,
    /// Positions in the stack that comments have named, with their frames,
    /// in stack order.
    named: Vec<(usize, Vec<Frame>)>,
    /// The stack position after the last one named.
    cursor: usize,
}

impl Converter {
    fn new(budget: Budget) -> Self {
        Converter {
            budget,
            header: None,
            encoded: Vec::new(),
            strings: HashMap::new(),
            functions: HashMap::new(),
            locations: HashMap::new(),
            bytes_key: 0,
            counts: None,
            addresses: Vec::new(),
            address_set: HashSet::new(),
            named: Vec::new(),
            cursor: 0,
        }
    }

    fn line(&mut self, line: &str) -> Result<(), LineError> {
        if self.header.is_none() {
            if line.trim().is_empty() {
                return Ok(());
            }
            self.header = Some(parse_header(line)?);
            self.string("")?;
            self.bytes_key = self.string("bytes")?;
            return Ok(());
        }
        let trimmed = line.trim();
        if let Some(comment) = trimmed.strip_prefix('#') {
            return self.comment(comment);
        }
        if trimmed.is_empty() {
            return Ok(());
        }

        self.finish_sample()?;
        // The address buffers are reused, so only their growth is charged.
        self.addresses.clear();
        let capacity = self.addresses.capacity();
        let counts = parse_sample(trimmed, &mut self.addresses)?;
        let grown = self.addresses.capacity() - capacity;
        self.budget.charge(grown * size_of::<u64>())?;
        let missing = self
            .addresses
            .len()
            .saturating_sub(self.address_set.capacity());
        self.budget
            .charge(missing * (size_of::<u64>() + HASH_OVERHEAD_BYTES))?;
        self.address_set.extend(&self.addresses);
        self.counts = Some(counts);
        Ok(())
    }

    /// Reads a comment line. Frame lines are `#\tADDRESS\tFUNCTION+OFFSET\tFILE:LINE`,
    /// or `#\tADDRESS` alone for a frame without a name. Other comments, such
    /// as the runtime.MemStats section, are skipped.
    fn comment(&mut self, comment: &str) -> Result<(), LineError> {
        if self.counts.is_none() {
            return Ok(());
        }
        let mut fields = comment.split('\t').filter(|field| !field.is_empty());
        let Some(word) = fields.next().filter(|word| word.starts_with("0x")) else {
            return Ok(());
        };
        let address = parse_address(word)
            .ok_or_else(|| format!("invalid frame address {:?}", truncate(word)))?;
        // The next address of the stack starts a new location. Any other
        // address is a caller inlined into the location before it. The cursor
        // only moves forward, so a stack costs linear time however its
        // comments are written.
        if self.address_set.contains(&address) {
            let rest = &self.addresses[self.cursor..];
            if let Some(offset) = rest.iter().position(|&next| next == address) {
                let position = self.cursor + offset;
                self.cursor = position + 1;
                self.budget.reserve(&mut self.named, 1)?;
                self.named.push((position, Vec::new()));
            }
        }

        let Some((function, file, line)) = parse_frame(fields.next(), fields.next())? else {
            return Ok(());
        };
        // Frames of an address that an earlier sample named are not needed.
        let Some(&(position, _)) = self.named.last() else {
            return Ok(());
        };
        if self.locations.contains_key(&self.addresses[position]) {
            return Ok(());
        }
        let function_id = self.function(function, file)?;
        if let Some((_, frames)) = self.named.last_mut() {
            self.budget.reserve(frames, 1)?;
            frames.push(Frame { function_id, line });
        }
        Ok(())
    }

    /// Encodes the current sample with the addresses that its comments named.
    fn finish_sample(&mut self) -> Result<(), ProfileError> {
        let (Some(counts), Some(header)) = (self.counts.take(), &self.header) else {
            return Ok(());
        };
        let value = sample_values(header, counts);
        // The buffer of named positions is reused, so its growth is charged once.
        let mut named = std::mem::take(&mut self.named);
        let mut location_id = Vec::with_capacity(named.len());
        for (position, frames) in named.drain(..) {
            location_id.push(self.location(self.addresses[position], frames)?);
        }
        self.named = named;
        let sample = pb::Sample {
            location_id,
            value,
            label: vec![pb::Label {
                key: self.bytes_key,
                num: object_size(counts),
                ..Default::default()
            }],
        };
        self.encode(2, &sample)?;
        self.address_set.clear();
        self.cursor = 0;
        Ok(())
    }

    /// Appends field `field` with `message` to the encoding.
    fn encode<M: Message>(&mut self, field: u32, message: &M) -> Result<(), ProfileError> {
        let length = message.encoded_len();
        self.budget.reserve(
            &mut self.encoded,
            length + prost::length_delimiter_len(length) + 5,
        )?;
        prost::encoding::message::encode(field, message, &mut self.encoded);
        Ok(())
    }

    fn string(&mut self, text: &str) -> Result<i64, ProfileError> {
        if let Some(&index) = self.strings.get(text) {
            return Ok(index);
        }
        let cost = size_of::<(String, i64)>() + text.len() + HASH_OVERHEAD_BYTES;
        self.budget.charge(cost)?;
        let index = self.strings.len() as i64;
        self.strings.insert(text.to_string(), index);
        Ok(index)
    }

    fn function(&mut self, name: &str, file: &str) -> Result<u64, ProfileError> {
        let key = (self.string(name)?, self.string(file)?);
        if let Some(&id) = self.functions.get(&key) {
            return Ok(id);
        }
        self.budget
            .charge(size_of::<((i64, i64), u64)>() + HASH_OVERHEAD_BYTES)?;
        let id = self.functions.len() as u64 + 1;
        self.functions.insert(key, id);
        Ok(id)
    }

    /// Returns the location id of `address`, which `frames` name unless an
    /// earlier sample named it first.
    fn location(&mut self, address: u64, frames: Vec<Frame>) -> Result<u64, ProfileError> {
        if let Some(location) = self.locations.get(&address) {
            return Ok(location.id);
        }
        self.budget
            .charge(size_of::<(u64, Location)>() + HASH_OVERHEAD_BYTES)?;
        let id = self.locations.len() as u64 + 1;
        self.locations.insert(address, Location { id, frames });
        Ok(id)
    }

    /// Encodes the tables after the samples and returns the whole encoding.
    fn finish(mut self) -> Result<Vec<u8>, ProfileError> {
        self.finish_sample()?;
        let Some(header) = self.header.take() else {
            return Err(ProfileError::Text {
                line: 1,
                message: "the file has no header line".into(),
            });
        };
        self.encode_types(&header)?;
        let mut locations: Vec<(u64, Location)> = self.locations.drain().collect();
        locations.sort_unstable_by_key(|(_, location)| location.id);
        for (address, location) in locations {
            let line = location.frames.iter().map(|frame| pb::Line {
                function_id: frame.function_id,
                line: frame.line,
                column: 0,
            });
            let location = pb::Location {
                id: location.id,
                address,
                line: line.collect(),
                ..Default::default()
            };
            self.encode(4, &location)?;
        }
        let mut functions: Vec<((i64, i64), u64)> = self.functions.drain().collect();
        functions.sort_unstable_by_key(|&(_, id)| id);
        for ((name, filename), id) in functions {
            let function = pb::Function {
                id,
                name,
                system_name: name,
                filename,
                start_line: 0,
            };
            self.encode(5, &function)?;
        }
        self.encode_strings()?;
        Ok(self.encoded)
    }

    /// Encodes the sample types, period type and period.
    fn encode_types(&mut self, header: &Header) -> Result<(), ProfileError> {
        // The allocation columns come first, so that inuse_space is the
        // default sample type, as with Go's protobuf heap profiles.
        let types: &[(&str, &str)] = if header.has_alloc {
            &[
                ("alloc_objects", "count"),
                ("alloc_space", "bytes"),
                ("inuse_objects", "count"),
                ("inuse_space", "bytes"),
            ]
        } else {
            &[("inuse_objects", "count"), ("inuse_space", "bytes")]
        };
        for (kind, unit) in types {
            let value_type = self.value_type(kind, unit)?;
            self.encode(1, &value_type)?;
        }
        let period_type = self.value_type("space", "bytes")?;
        self.encode(11, &period_type)?;
        let period = header.sampling_rate;
        self.budget.reserve(&mut self.encoded, 11)?;
        prost::encoding::int64::encode(12, &period, &mut self.encoded);
        Ok(())
    }

    fn value_type(&mut self, kind: &str, unit: &str) -> Result<pb::ValueType, ProfileError> {
        Ok(pb::ValueType {
            r#type: self.string(kind)?,
            unit: self.string(unit)?,
        })
    }

    /// Encodes the string table in index order.
    fn encode_strings(&mut self) -> Result<(), ProfileError> {
        let mut strings: Vec<(String, i64)> = self.strings.drain().collect();
        strings.sort_unstable_by_key(|&(_, index)| index);
        for (text, _) in strings {
            let length = text.len() + prost::length_delimiter_len(text.len()) + 1;
            self.budget.reserve(&mut self.encoded, length)?;
            prost::encoding::string::encode(6, &text, &mut self.encoded);
        }
        Ok(())
    }
}

/// Returns the unsampled values of a sample in sample type order.
fn sample_values(header: &Header, counts: [i64; 4]) -> Vec<i64> {
    let [in_count, in_bytes, alloc_count, alloc_bytes] = counts;
    let rate = header.sampling_rate;
    let (in_count, in_bytes) = unsample(in_count, in_bytes, rate);
    if !header.has_alloc {
        return vec![in_count, in_bytes];
    }
    let (alloc_count, alloc_bytes) = unsample(alloc_count, alloc_bytes, rate);
    vec![alloc_count, alloc_bytes, in_count, in_bytes]
}

/// Returns the size of one object of the sample, from the in-use columns
/// unless they are empty, as `go tool pprof` computes it.
fn object_size(counts: [i64; 4]) -> i64 {
    let [in_count, in_bytes, alloc_count, alloc_bytes] = counts;
    // checked_div also catches i64::MIN / -1, which a corrupt file can hold.
    in_bytes
        .checked_div(in_count)
        .or_else(|| alloc_bytes.checked_div(alloc_count))
        .unwrap_or(0)
}
