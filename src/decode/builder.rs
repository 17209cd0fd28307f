//! Decodes the top-level Profile message field by field into the model and
//! checks every cross reference once the whole message has been read.
//!
//! Samples, the bulk of a large profile, are decoded by hand straight into flat
//! arrays; tables.rs decodes locations, functions and mappings. Every entry
//! stored is charged to a [`Budget`], so a small file cannot decode into
//! gigabytes.

use std::io::BufRead;

use super::budget::Budget;
use super::frames::{FinishedFrames, FrameStore, Order, PushError};
use super::ids::{resolve, IdMap};
use super::labels::LabelSets;
use super::small;
use super::stream::{FieldReader, Slice, LEN, VARINT};
use super::validate::RawIds;
use crate::error::ProfileError;
use crate::model::{Function, Label, Location, Mapping, Profile, StrId, ValueStore};

/// Maximum length of the label bytes kept to compare with the next sample's.
/// Go writes one label of a few bytes per heap sample, and a longer run is
/// copied for nothing when samples differ.
const MAX_REMEMBERED_LABEL_BYTES: usize = 256;

/// Top-level fields that must decode before a wire error is taken as a sign
/// that the input is a real but damaged profile rather than some other data.
/// Of 2,000 files of 4 KiB of random bytes, 1,990 failed within four fields.
const FIELDS_TO_RECOGNIZE: u64 = 4;

pub(super) struct Builder {
    pub(super) profile: Profile,
    pub(super) budget: Budget,
    /// The ids of the locations the file defines, in the order defined.
    pub(super) location_ids: IdMap,
    pub(super) function_ids: IdMap,
    pub(super) mapping_ids: IdMap,
    pub(super) locations: Vec<Location>,
    /// The mapping of each location, as in `Profile::location_mappings`.
    pub(super) location_mappings: Vec<u32>,
    pub(super) functions: Vec<Option<Function>>,
    pub(super) mappings: Vec<Option<Mapping>>,
    frames: FrameStore,
    label_sets: LabelSets,
    labels_scratch: Vec<Label>,
    /// The bytes of the previous sample from its first label field to its
    /// end, when only label fields came after it, and the label set they
    /// gave. A sample that ends in the same bytes has the same set: in Go
    /// heap profiles most samples repeat the previous sample's labels.
    last_labels: Vec<u8>,
    last_labels_set: Option<u32>,
    /// Values per sample: the number of sample types declared before the first
    /// sample, else the value count of the first sample.
    width: Option<Width>,
    forecast: Forecast,
    /// True while the sample arrays may hold forecast room that no sample
    /// has used yet.
    forecast_open: bool,
    /// Offset of the last sample field read.
    last_sample_start: u64,
}

/// Offset of the first forecast of the sample arrays' final lengths.
const FIRST_FORECAST: u64 = 64 << 10;

/// Largest factor by which one forecast grows the sample arrays. Profiles
/// whose samples are evenly spread then need a few forecasts to reach their
/// final lengths, and each copies a small share of them. A profile whose
/// samples end early reserves at most this many times what they take.
const MAX_FORECAST_GROWTH: f64 = 64.0;

/// Room reserved beyond a forecast length, as a fraction of it: enough that
/// profiles whose samples are evenly spread, as Go writes them, need no
/// growth after the first forecasts.
const FORECAST_SLACK: f64 = 0.125;

/// Bytes of other fields after the last sample from which the samples are
/// taken to have ended (or a sixteenth of the offset of that sample, if
/// more), and unused forecast room is given back.
const SETTLE_GAP: u64 = 256 << 10;

/// When to forecast how long the sample arrays will end up, from the share
/// of the expected size read so far. Growing a vector of millions of
/// elements by doubling copies it many times, and the freed copies can stay
/// in the process: reserving the forecast length once avoids both.
struct Forecast {
    expected: u64,
    next: u64,
}

impl Forecast {
    fn new(expected: u64) -> Self {
        Forecast {
            expected,
            next: if expected == 0 {
                u64::MAX
            } else {
                FIRST_FORECAST
            },
        }
    }
}

#[derive(Clone, Copy)]
struct Width {
    values: usize,
    declared: bool,
}

/// An error inside one top-level field. Wire errors get the field's offset
/// when they are turned into a [`ProfileError`].
pub(super) enum FieldError {
    Wire(String),
    Profile(ProfileError),
}

impl From<String> for FieldError {
    fn from(message: String) -> Self {
        FieldError::Wire(message)
    }
}

impl From<ProfileError> for FieldError {
    fn from(e: ProfileError) -> Self {
        FieldError::Profile(e)
    }
}

impl From<prost::DecodeError> for FieldError {
    fn from(e: prost::DecodeError) -> Self {
        FieldError::Wire(e.to_string())
    }
}

/// Decodes a whole Profile message from `reader`, whose size is expected to
/// be `expected` bytes (0 when unknown).
pub(super) fn decode<R: BufRead>(
    reader: &mut FieldReader<R>,
    expected: u64,
) -> Result<Profile, ProfileError> {
    let mut builder = Builder::new(Budget::for_limit(reader.limit()));
    builder.forecast = Forecast::new(expected.min(reader.limit()));
    let mut buf = Vec::new();
    let mut fields_read = 0u64;
    loop {
        match builder.next_field(reader, &mut buf) {
            Ok(true) => fields_read += 1,
            Ok(false) => break,
            Err(e) if fields_read < FIELDS_TO_RECOGNIZE => {
                return Err(super::not_a_profile(e, reader.gzipped()))
            }
            Err(e) => return Err(e),
        }
    }
    builder.finish()
}

/// Returns the error for a field whose wire type does not match its schema.
pub(super) fn wrong_wire_type(message: &str, field: u32, wire_type: u8) -> FieldError {
    FieldError::Wire(format!(
        "{message} field {field} has the wrong wire type {wire_type}"
    ))
}

pub(super) fn str_id(index: i64, what: &str) -> Result<StrId, FieldError> {
    u32::try_from(index).map(StrId).map_err(|_| {
        FieldError::Profile(ProfileError::invalid(format!(
            "{what} refers to string index {index}, which is out of range"
        )))
    })
}

impl Builder {
    fn new(budget: Budget) -> Self {
        Builder {
            profile: Profile::default(),
            budget,
            location_ids: IdMap::default(),
            function_ids: IdMap::default(),
            mapping_ids: IdMap::default(),
            locations: Vec::new(),
            location_mappings: Vec::new(),
            functions: Vec::new(),
            mappings: Vec::new(),
            frames: FrameStore::default(),
            label_sets: LabelSets::new(),
            labels_scratch: Vec::new(),
            last_labels: Vec::new(),
            last_labels_set: None,
            width: None,
            forecast: Forecast::new(0),
            forecast_open: false,
            last_sample_start: 0,
        }
    }

    /// Reserves the arrays that grow with each sample for the lengths they
    /// will reach if the rest of the input is like what was read up to
    /// `offset`. Reservations that the budget cannot cover are skipped.
    #[cold]
    fn reserve_forecast(&mut self, offset: u64) {
        let forecast = &mut self.forecast;
        forecast.next = offset.saturating_mul(2);
        if forecast.next >= forecast.expected {
            forecast.next = u64::MAX;
        }
        // A profile whose samples end early, before a large table or an
        // unknown field, would make the full forecast far too large.
        let scale = (forecast.expected as f64 / offset.max(1) as f64).min(MAX_FORECAST_GROWTH);
        let samples = &mut self.profile.samples;
        let budget = &mut self.budget;
        match &mut samples.values {
            ValueStore::Narrow(values) => budget.reserve_forecast(values, scale, FORECAST_SLACK),
            ValueStore::Wide(values) => budget.reserve_forecast(values, scale, FORECAST_SLACK),
        };
        small::reserve_forecast(&mut samples.label_sets, budget, scale, FORECAST_SLACK);
        self.frames.reserve_forecast(budget, scale, FORECAST_SLACK);
        self.forecast_open = true;
    }

    /// Notes where the last sample started, and settles the forecast once
    /// the fields after it have run long enough that the samples look done.
    /// Go writes the locations and functions of a stack between samples,
    /// right before the first sample that uses them, so a field other than
    /// a sample alone does not end the samples.
    #[inline]
    fn before_field(&mut self, field: u32, start: u64) {
        if field == 2 {
            self.last_sample_start = start;
        } else if self.forecast_open
            && start.saturating_sub(self.last_sample_start)
                > SETTLE_GAP.max(self.last_sample_start / 16)
        {
            self.settle_forecast();
        }
    }

    /// Gives back the forecast room the samples did not use and stops
    /// forecasting: room charged to the budget but never used would
    /// otherwise fail a profile whose samples end early, before large
    /// tables. Samples that come later grow their arrays as usual.
    fn settle_forecast(&mut self) {
        self.forecast_open = false;
        self.forecast.next = u64::MAX;
        let samples = &mut self.profile.samples;
        let budget = &mut self.budget;
        match &mut samples.values {
            ValueStore::Narrow(values) => budget.shrink(values),
            ValueStore::Wide(values) => budget.shrink(values),
        }
        small::shrink(&mut samples.label_sets, budget);
        self.frames.shrink(budget);
    }

    /// Reads and stores one top-level field; returns false at the end of input.
    fn next_field<R: BufRead>(
        &mut self,
        reader: &mut FieldReader<R>,
        buf: &mut Vec<u8>,
    ) -> Result<bool, ProfileError> {
        let start = reader.offset();
        if start >= self.forecast.next {
            self.reserve_forecast(start);
        }
        // Most fields, samples above all, are length-delimited and lie
        // wholly in the input buffer: they are decoded there in one step.
        let result = if let Some(buffered) = reader.buffered_field()? {
            let total = buffered.total;
            self.before_field(buffered.field, start);
            let result = match buffered.field {
                field @ (1..=6 | 11 | 13) => self.payload(field, buffered.payload),
                _ => Ok(()),
            };
            reader.consume(total);
            result
        } else {
            let Some((field, wire_type)) = reader.next_key()? else {
                return Ok(false);
            };
            self.before_field(field, start);
            self.field(reader, field, wire_type, buf)
        };
        match result {
            Ok(()) => Ok(true),
            Err(FieldError::Wire(message)) => Err(reader.wire_error(start, message)),
            Err(FieldError::Profile(e)) => Err(e),
        }
    }

    fn field<R: BufRead>(
        &mut self,
        reader: &mut FieldReader<R>,
        field: u32,
        wire_type: u8,
        buf: &mut Vec<u8>,
    ) -> Result<(), FieldError> {
        if matches!(field, 7..=10 | 12 | 14 | 15) {
            if wire_type != VARINT {
                return Err(wrong_wire_type("Profile", field, wire_type));
            }
            let value = reader.read_varint()? as i64;
            return self.scalar(field, value);
        }
        if field == 13 && wire_type == VARINT {
            let value = reader.read_varint()? as i64;
            return self.comment(value);
        }
        if !matches!(field, 1..=6 | 11 | 13) {
            reader.skip(wire_type, buf)?;
            return Ok(());
        }
        if wire_type != LEN {
            return Err(wrong_wire_type("Profile", field, wire_type));
        }
        let (start, len) = reader.read_length()?;
        // A payload that lies wholly in the input buffer is decoded there;
        // one that spans a refill is copied into `buf` first.
        if let Some(data) = reader.buffered(len)? {
            let result = self.payload(field, data);
            reader.consume(len);
            return result;
        }
        reader.read_payload_of(start, len, buf)?;
        self.payload(field, buf)
    }

    /// Decodes the payload of a length-delimited top-level field.
    fn payload(&mut self, field: u32, buf: &[u8]) -> Result<(), FieldError> {
        match field {
            1 => {
                let value_type = super::tables::value_type(buf, "a sample type")?;
                self.budget.reserve(&mut self.profile.sample_types, 1)?;
                self.profile.sample_types.push(value_type);
            }
            2 => self.sample(buf)?,
            3 => self.mapping(buf)?,
            4 => self.location(buf)?,
            5 => self.function(buf)?,
            6 => self.string(buf)?,
            11 => {
                let period_type = super::tables::value_type(buf, "the period type")?;
                self.profile.period_type = Some(period_type);
            }
            13 => {
                let mut slice = Slice::new(buf);
                while !slice.is_empty() {
                    self.comment(slice.varint()? as i64)?;
                }
            }
            _ => unreachable!("field numbers are matched above"),
        }
        Ok(())
    }

    fn scalar(&mut self, field: u32, value: i64) -> Result<(), FieldError> {
        let profile = &mut self.profile;
        match field {
            7 => profile.drop_frames = str_id(value, "drop_frames")?,
            8 => profile.keep_frames = str_id(value, "keep_frames")?,
            9 => profile.time_nanos = value,
            10 => profile.duration_nanos = value,
            12 => profile.period = value,
            14 => profile.default_sample_type = Some(str_id(value, "default_sample_type")?),
            _ => {}
        }
        Ok(())
    }

    fn comment(&mut self, value: i64) -> Result<(), FieldError> {
        let id = str_id(value, "a comment")?;
        self.budget.reserve(&mut self.profile.comments, 1)?;
        self.profile.comments.push(id);
        Ok(())
    }

    fn string(&mut self, data: &[u8]) -> Result<(), FieldError> {
        self.budget.reserve(&mut self.profile.strings, 1)?;
        let text = match std::str::from_utf8(data) {
            Ok(text) => {
                self.budget.charge(text.len())?;
                text.to_owned()
            }
            Err(_) => {
                // Each invalid byte may become a 3-byte U+FFFD.
                self.budget.charge(3 * data.len())?;
                String::from_utf8_lossy(data).into_owned()
            }
        };
        self.profile.strings.push(text);
        Ok(())
    }

    fn sample(&mut self, data: &[u8]) -> Result<(), FieldError> {
        let index = self.profile.samples.label_sets.len();
        let values_before = self.profile.samples.values.len();
        self.labels_scratch.clear();
        self.frames.start_sample();
        // Where the first label field starts, and whether only label fields
        // have followed it.
        let mut labels_start = None;
        let mut only_labels = true;
        let mut known_set = None;
        let mut slice = Slice::new(data);
        while !slice.is_empty() {
            let key_start = slice.pos;
            let (field, wire_type) = slice.key()?;
            if (field, wire_type) == (3, LEN) && labels_start.is_none() {
                labels_start = Some(key_start);
                let rest = &data[key_start..];
                if self.last_labels_set.is_some() && rest == self.last_labels.as_slice() {
                    // The same bytes as the previous sample's labels, which
                    // decoded without error into this set.
                    known_set = self.last_labels_set;
                    break;
                }
            } else if labels_start.is_some() && field != 3 {
                only_labels = false;
            }
            match (field, wire_type) {
                (1, LEN) => {
                    let packed = slice.bytes()?;
                    frame_result(self.frames.push_packed(packed, &mut self.budget), index)?
                }
                (1, VARINT) => {
                    let id = slice.varint()?;
                    frame_result(self.frames.push(id, &mut self.budget), index)?
                }
                (2, LEN) => {
                    let packed = slice.bytes()?;
                    push_packed_values(&mut self.profile.samples.values, packed, &mut self.budget)?
                }
                (2, VARINT) => {
                    let value = slice.varint()? as i64;
                    push_value(&mut self.profile.samples.values, value, &mut self.budget)?
                }
                (3, LEN) => self.push_label(label(slice.bytes()?)?)?,
                (1..=3, other) => return Err(wrong_wire_type("Sample", field, other)),
                (_, other) => slice.skip(other)?,
            }
        }
        let count = self.profile.samples.values.len() - values_before;
        self.check_width(index, count)?;
        self.frames.end_sample(&mut self.budget)?;
        let set = match known_set {
            Some(set) => set,
            None => {
                let set = self
                    .label_sets
                    .intern(&self.labels_scratch, &mut self.budget)?;
                self.last_labels_set = None;
                if let (Some(start), true) = (labels_start, only_labels) {
                    let rest = &data[start..];
                    if rest.len() <= MAX_REMEMBERED_LABEL_BYTES {
                        self.last_labels.clear();
                        self.last_labels.extend_from_slice(rest);
                        self.last_labels_set = Some(set);
                    }
                }
                set
            }
        };
        small::push(&mut self.profile.samples.label_sets, set, &mut self.budget)?;
        Ok(())
    }

    fn push_label(&mut self, label: Label) -> Result<(), FieldError> {
        self.budget.reserve(&mut self.labels_scratch, 1)?;
        self.labels_scratch.push(label);
        Ok(())
    }

    fn check_width(&mut self, index: usize, count: usize) -> Result<(), FieldError> {
        let declared = self.profile.sample_types.len();
        let width = *self.width.get_or_insert(Width {
            values: if declared == 0 { count } else { declared },
            declared: declared != 0,
        });
        if count == width.values {
            return Ok(());
        }
        let expected = if width.declared {
            format!(
                "the profile declares {}",
                count_of(width.values, "sample type")
            )
        } else {
            format!("sample 0 has {}", width.values)
        };
        Err(ProfileError::invalid(format!(
            "sample {index} has {}, but {expected}; \
             every sample needs one value per sample type",
            count_of(count, "value")
        ))
        .into())
    }

    fn finish(self) -> Result<Profile, ProfileError> {
        let mut profile = self.profile;
        let mut budget = self.budget;
        let FinishedFrames {
            frames,
            starts,
            tails,
            lens,
            order,
        } = self.frames.finish(&self.location_ids.raw, &mut budget)?;
        profile.samples.frames = frames;
        profile.samples.stack_starts = starts;
        profile.samples.tails = tails;
        profile.samples.stack_lens = lens;
        let mut locations = self.locations;
        let mut location_mappings = self.location_mappings;
        if order == Order::ById {
            // Location `i` has id `raw[i]`, and the ids are 1 to N.
            let raw = &self.location_ids.raw;
            let mut by_id = Vec::new();
            budget.reserve(&mut by_id, locations.len())?;
            by_id.resize(locations.len(), Location::default());
            let mut mappings_by_id = Vec::new();
            budget.reserve(&mut mappings_by_id, location_mappings.len())?;
            mappings_by_id.resize(location_mappings.len(), 0);
            for (i, (location, &id)) in locations.into_iter().zip(raw).enumerate() {
                by_id[id as usize - 1] = location;
                mappings_by_id[id as usize - 1] = location_mappings[i];
            }
            locations = by_id;
            location_mappings = mappings_by_id;
        }
        profile.location_mappings = location_mappings;
        profile.locations = locations;
        profile.functions = resolve(
            self.functions,
            &self.function_ids,
            "function",
            "a location line",
        )?;
        profile.mappings = resolve(self.mappings, &self.mapping_ids, "mapping", "a location")?;
        self.label_sets.charge_profile_sets(&mut budget)?;
        profile.label_sets = self.label_sets.into_profile_sets();
        profile.samples.width = match self.width {
            Some(width) => width.values,
            None => profile.sample_types.len(),
        };
        let ids = RawIds {
            functions: &self.function_ids.raw,
            mappings: &self.mapping_ids.raw,
        };
        super::validate::check(&profile, &ids)?;
        // The analysis keeps a flat and a cumulative value per site and
        // sample type, and a profile has at most one site per line and per
        // location without lines. Many sample types times many functions
        // could otherwise ask for terabytes once the profile is read.
        let unsymbolized = profile
            .locations
            .iter()
            .filter(|l| l.lines.is_empty())
            .count();
        let sites = (profile.lines.len() + unsymbolized) as u64;
        let width = profile.sample_types.len().max(profile.samples.width) as u64;
        budget.check_fits(sites.saturating_mul(width).saturating_mul(16))?;
        Ok(profile)
    }
}

/// Appends a packed list of values, moving the store to eight bytes a value
/// at the first one that does not fit four. Capacity grows one element at a
/// time as in [`Budget::reserve`], so the memory charged, and the point where
/// a hostile list hits the cap, do not depend on packing.
fn push_packed_values(
    values: &mut ValueStore,
    data: &[u8],
    budget: &mut Budget,
) -> Result<(), FieldError> {
    let mut packed = Slice::new(data);
    if let ValueStore::Narrow(narrow) = values {
        // Values are decoded into a small array and appended in one step,
        // which keeps the vector's length out of the decoding loop.
        let mut batch = [0i32; 8];
        let mut count = 0;
        let mut wide = None;
        while !packed.is_empty() {
            let value = packed.varint()? as i64;
            let Ok(narrow_value) = i32::try_from(value) else {
                wide = Some(value);
                break;
            };
            batch[count] = narrow_value;
            count += 1;
            if count == batch.len() {
                extend_values(narrow, &batch, budget)?;
                count = 0;
            }
        }
        extend_values(narrow, &batch[..count], budget)?;
        if let Some(value) = wide {
            widen_values(values, value, budget)?;
        }
    }
    if let ValueStore::Wide(wide) = values {
        while !packed.is_empty() {
            let value = packed.varint()? as i64;
            budget.push(wide, value)?;
        }
    }
    Ok(())
}

/// Appends `batch` to `values`, growing capacity as [`Budget::reserve`] does.
#[inline]
fn extend_values(
    values: &mut Vec<i32>,
    batch: &[i32],
    budget: &mut Budget,
) -> Result<(), FieldError> {
    if values.capacity() - values.len() < batch.len() {
        budget.reserve(values, batch.len())?;
    }
    values.extend_from_slice(batch);
    Ok(())
}

/// Appends a value, moving the store to eight bytes a value at the first one
/// that does not fit four.
#[inline]
fn push_value(values: &mut ValueStore, value: i64, budget: &mut Budget) -> Result<(), FieldError> {
    match values {
        ValueStore::Narrow(narrow) => match i32::try_from(value) {
            Ok(value) => budget.push(narrow, value)?,
            Err(_) => widen_values(values, value, budget)?,
        },
        ValueStore::Wide(wide) => budget.push(wide, value)?,
    }
    Ok(())
}

/// Copies the values into eight bytes each and appends `value`. Capacity that
/// a forecast reserved is not carried over: the next forecast reserves it
/// again, charged at the new width.
#[cold]
fn widen_values(
    values: &mut ValueStore,
    value: i64,
    budget: &mut Budget,
) -> Result<(), ProfileError> {
    if let ValueStore::Narrow(narrow) = values {
        let mut wide = Vec::new();
        budget.reserve(&mut wide, narrow.len() + 1)?;
        wide.extend(narrow.iter().map(|&value| i64::from(value)));
        *values = ValueStore::Wide(wide);
    }
    if let ValueStore::Wide(wide) = values {
        wide.push(value);
    }
    Ok(())
}

/// Names the sample when a frame refers to location id 0.
fn frame_result(result: Result<(), PushError>, sample: usize) -> Result<(), FieldError> {
    match result {
        Ok(()) => Ok(()),
        Err(PushError::Zero) => Err(location_id_zero(sample)),
        Err(PushError::Field(e)) => Err(e),
    }
}

fn location_id_zero(sample: usize) -> FieldError {
    ProfileError::invalid(format!(
        "sample {sample} refers to location id 0, which is reserved (ids start at 1)"
    ))
    .into()
}

/// Formats `count` with `noun`, in the plural unless `count` is 1.
pub(super) fn count_of(count: usize, noun: &str) -> String {
    match count {
        1 => format!("1 {noun}"),
        _ => format!("{count} {noun}s"),
    }
}

fn label(data: &[u8]) -> Result<Label, FieldError> {
    let mut slice = Slice::new(data);
    let mut fields = [0u64; 4];
    while !slice.is_empty() {
        let (field, wire_type) = slice.key()?;
        match (field, wire_type) {
            (1..=4, VARINT) => fields[field as usize - 1] = slice.varint()?,
            (1..=4, other) => return Err(wrong_wire_type("Label", field, other)),
            (_, other) => slice.skip(other)?,
        }
    }
    let [key, str, num, num_unit] = fields;
    // One test for the three string indexes in the common case.
    if (key | str | num_unit) > u64::from(u32::MAX) {
        str_id(key as i64, "a label key")?;
        str_id(str as i64, "a label value")?;
        str_id(num_unit as i64, "a label unit")?;
    }
    Ok(Label {
        key: StrId(key as u32),
        str: StrId(str as u32),
        num: num as i64,
        num_unit: StrId(num_unit as u32),
    })
}
