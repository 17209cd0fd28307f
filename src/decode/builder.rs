//! Decodes the top-level Profile message field by field into the model and
//! checks every cross reference once the whole message has been read.
//!
//! Samples, the bulk of a large profile, are decoded by hand straight into flat
//! arrays. The small tables (locations, functions, mappings, value types) are
//! decoded with the prost types generated from proto/profile.proto.

use std::collections::HashMap;
use std::io::BufRead;

use prost::Message;

use super::stream::{wire, FieldReader, Slice, LEN, VARINT};
use crate::error::ProfileError;
use crate::model::{
    FuncId, Function, Label, Line, LocId, Location, Mapping, MappingId, Profile, StrId, ValueType,
};
use crate::pb;

/// Ids below this bound map through a table; larger ones through a hash map.
const DIRECT_ID_LIMIT: u64 = 1 << 20;

/// Assigns dense indexes to the arbitrary u64 ids of the protobuf, in the
/// order they are first seen, so a reference may come before its definition.
#[derive(Default)]
struct IdMap {
    direct: Vec<u32>,
    sparse: HashMap<u64, u32>,
    raw: Vec<u64>,
}

impl IdMap {
    fn dense(&mut self, id: u64) -> u32 {
        if id < DIRECT_ID_LIMIT {
            let slot = id as usize;
            if slot >= self.direct.len() {
                self.direct.resize(slot + 1, 0);
            }
            if self.direct[slot] == 0 {
                self.raw.push(id);
                self.direct[slot] = self.raw.len() as u32;
            }
            return self.direct[slot] - 1;
        }
        let next = self.raw.len() as u32;
        let dense = *self.sparse.entry(id).or_insert(next);
        if dense == next {
            self.raw.push(id);
        }
        dense
    }
}

#[derive(Default)]
struct Builder {
    profile: Profile,
    location_ids: IdMap,
    function_ids: IdMap,
    mapping_ids: IdMap,
    locations: Vec<Option<Location>>,
    functions: Vec<Option<Function>>,
    mappings: Vec<Option<Mapping>>,
    label_index: HashMap<Vec<Label>, u32>,
    labels_scratch: Vec<Label>,
    width: Option<usize>,
}

pub(super) fn decode<R: BufRead>(reader: &mut FieldReader<R>) -> Result<Profile, ProfileError> {
    let mut builder = Builder::default();
    builder.profile.label_sets.push(Vec::new());
    builder.profile.samples.stack_starts.push(0);
    let mut buf = Vec::new();
    while let Some((field, wire_type)) = reader.next_key()? {
        let start = reader.offset();
        builder
            .field(reader, field, wire_type, &mut buf)
            .map_err(|e| match e {
                FieldError::Wire(message) => wire(start, message),
                FieldError::Profile(e) => e,
            })?;
    }
    builder.finish()
}

enum FieldError {
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

fn expect_wire(field: u32, wire_type: u8, expected: u8) -> Result<(), FieldError> {
    if wire_type != expected {
        return Err(FieldError::Wire(format!(
            "Profile field {field} has wire type {wire_type}, expected {expected}"
        )));
    }
    Ok(())
}

fn str_id(index: i64, what: &str) -> Result<StrId, FieldError> {
    u32::try_from(index)
        .map(StrId)
        .map_err(|_| FieldError::Profile(ProfileError::invalid(format!(
            "{what} refers to string index {index}, which is out of range"
        ))))
}

impl Builder {
    fn field<R: BufRead>(
        &mut self,
        reader: &mut FieldReader<R>,
        field: u32,
        wire_type: u8,
        buf: &mut Vec<u8>,
    ) -> Result<(), FieldError> {
        if matches!(field, 7..=10 | 12 | 14 | 15) {
            expect_wire(field, wire_type, VARINT)?;
            let value = reader.read_varint()? as i64;
            return self.scalar(field, value);
        }
        if field == 13 && wire_type == VARINT {
            let value = reader.read_varint()? as i64;
            self.profile.comments.push(str_id(value, "a comment")?);
            return Ok(());
        }
        if !matches!(field, 1..=6 | 11 | 13) {
            reader.skip(wire_type, buf)?;
            return Ok(());
        }
        expect_wire(field, wire_type, LEN)?;
        reader.read_payload(buf)?;
        match field {
            1 => {
                let value_type = value_type(buf, "a sample type")?;
                self.profile.sample_types.push(value_type);
            }
            2 => self.sample(buf)?,
            3 => self.mapping(pb::Mapping::decode(buf.as_slice())?)?,
            4 => self.location(pb::Location::decode(buf.as_slice())?)?,
            5 => self.function(pb::Function::decode(buf.as_slice())?)?,
            6 => self
                .profile
                .strings
                .push(String::from_utf8_lossy(buf).into_owned()),
            11 => self.profile.period_type = Some(value_type(buf, "the period type")?),
            13 => {
                let mut slice = Slice::new(buf);
                while !slice.is_empty() {
                    let value = slice.varint()? as i64;
                    self.profile.comments.push(str_id(value, "a comment")?);
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

    fn sample(&mut self, data: &[u8]) -> Result<(), FieldError> {
        let index = self.profile.samples.label_sets.len();
        let samples = &mut self.profile.samples;
        let values_before = samples.values.len();
        self.labels_scratch.clear();
        let mut slice = Slice::new(data);
        while !slice.is_empty() {
            let (field, wire_type) = slice.key()?;
            match (field, wire_type) {
                (1, LEN) => {
                    let mut packed = Slice::new(slice.bytes()?);
                    while !packed.is_empty() {
                        let id = packed.varint()?;
                        push_frame(&mut self.location_ids, samples, id, index)?;
                    }
                }
                (1, VARINT) => {
                    let id = slice.varint()?;
                    push_frame(&mut self.location_ids, samples, id, index)?;
                }
                (2, LEN) => {
                    let mut packed = Slice::new(slice.bytes()?);
                    while !packed.is_empty() {
                        samples.values.push(packed.varint()? as i64);
                    }
                }
                (2, VARINT) => samples.values.push(slice.varint()? as i64),
                (3, LEN) => self.labels_scratch.push(label(slice.bytes()?)?),
                (_, other) => slice.skip(other)?,
            }
        }
        let count = samples.values.len() - values_before;
        let width = *self.width.get_or_insert(match self.profile.sample_types.len() {
            0 => count,
            declared => declared,
        });
        if count != width {
            return Err(ProfileError::invalid(format!(
                "sample {index} has {count} values but the profile has {width} sample types"
            ))
            .into());
        }
        let frames = u32::try_from(samples.frames.len())
            .map_err(|_| ProfileError::invalid("more than 2^32 stack frames in all samples"))?;
        samples.stack_starts.push(frames);
        let set = self.intern_labels();
        self.profile.samples.label_sets.push(set);
        Ok(())
    }

    fn intern_labels(&mut self) -> u32 {
        if self.labels_scratch.is_empty() {
            return 0;
        }
        if let Some(&set) = self.label_index.get(&self.labels_scratch) {
            return set;
        }
        let set = self.profile.label_sets.len() as u32;
        self.profile.label_sets.push(self.labels_scratch.clone());
        self.label_index.insert(self.labels_scratch.clone(), set);
        set
    }

    fn location(&mut self, location: pb::Location) -> Result<(), FieldError> {
        if location.id == 0 {
            return Err(ProfileError::invalid("a location has id 0, which is reserved").into());
        }
        let dense = self.location_ids.dense(location.id) as usize;
        let mut lines_start = self.profile.lines.len() as u32;
        for line in &location.line {
            if line.function_id == 0 {
                return Err(ProfileError::invalid(format!(
                    "location {} has a line with function id 0, which is reserved",
                    location.id
                ))
                .into());
            }
            let function = FuncId(self.function_ids.dense(line.function_id));
            self.profile.lines.push(Line {
                function,
                line: line.line,
            });
        }
        let lines_end = self.profile.lines.len() as u32;
        if location.line.is_empty() {
            lines_start = lines_end;
        }
        let mapping = match location.mapping_id {
            0 => None,
            id => Some(MappingId(self.mapping_ids.dense(id))),
        };
        let model = Location {
            address: location.address,
            mapping,
            lines: lines_start..lines_end,
            is_folded: location.is_folded,
        };
        define(&mut self.locations, dense, model, "location", location.id)
    }

    fn function(&mut self, function: pb::Function) -> Result<(), FieldError> {
        if function.id == 0 {
            return Err(ProfileError::invalid("a function has id 0, which is reserved").into());
        }
        let dense = self.function_ids.dense(function.id) as usize;
        let model = Function {
            name: str_id(function.name, "a function name")?,
            system_name: str_id(function.system_name, "a function system name")?,
            filename: str_id(function.filename, "a function file name")?,
            start_line: function.start_line,
        };
        define(&mut self.functions, dense, model, "function", function.id)
    }

    fn mapping(&mut self, mapping: pb::Mapping) -> Result<(), FieldError> {
        if mapping.id == 0 {
            return Err(ProfileError::invalid("a mapping has id 0, which is reserved").into());
        }
        let dense = self.mapping_ids.dense(mapping.id) as usize;
        let model = Mapping {
            memory_start: mapping.memory_start,
            memory_limit: mapping.memory_limit,
            file_offset: mapping.file_offset,
            filename: str_id(mapping.filename, "a mapping file name")?,
            build_id: str_id(mapping.build_id, "a mapping build id")?,
            has_functions: mapping.has_functions,
        };
        define(&mut self.mappings, dense, model, "mapping", mapping.id)
    }

    fn finish(self) -> Result<Profile, ProfileError> {
        let mut profile = self.profile;
        profile.locations = resolve(self.locations, &self.location_ids, "location")?;
        profile.functions = resolve(self.functions, &self.function_ids, "function")?;
        profile.mappings = resolve(self.mappings, &self.mapping_ids, "mapping")?;
        profile.samples.width = self.width.unwrap_or(profile.sample_types.len());
        super::validate::check(&profile)?;
        Ok(profile)
    }
}

fn push_frame(
    ids: &mut IdMap,
    samples: &mut crate::model::Samples,
    id: u64,
    index: usize,
) -> Result<(), FieldError> {
    if id == 0 {
        return Err(ProfileError::invalid(format!(
            "sample {index} refers to location id 0, which is reserved"
        ))
        .into());
    }
    samples.frames.push(LocId(ids.dense(id)));
    Ok(())
}

fn define<T>(
    table: &mut Vec<Option<T>>,
    dense: usize,
    value: T,
    what: &str,
    id: u64,
) -> Result<(), FieldError> {
    if dense >= table.len() {
        table.resize_with(dense + 1, || None);
    }
    if table[dense].is_some() {
        return Err(ProfileError::invalid(format!("{what} id {id} is defined twice")).into());
    }
    table[dense] = Some(value);
    Ok(())
}

/// Turns the table of definitions into a dense vector, failing on the first id
/// that was referenced but never defined.
fn resolve<T>(table: Vec<Option<T>>, ids: &IdMap, what: &str) -> Result<Vec<T>, ProfileError> {
    let mut resolved = Vec::with_capacity(ids.raw.len());
    let mut table = table.into_iter();
    for &raw in &ids.raw {
        match table.next().flatten() {
            Some(value) => resolved.push(value),
            None => {
                return Err(ProfileError::invalid(format!(
                    "{what} id {raw} is referenced but not defined in the profile"
                )))
            }
        }
    }
    Ok(resolved)
}

fn value_type(data: &[u8], what: &str) -> Result<ValueType, FieldError> {
    let decoded = pb::ValueType::decode(data)?;
    Ok(ValueType {
        kind: str_id(decoded.r#type, what)?,
        unit: str_id(decoded.unit, what)?,
    })
}

fn label(data: &[u8]) -> Result<Label, FieldError> {
    let mut slice = Slice::new(data);
    let mut fields = [0i64; 4];
    while !slice.is_empty() {
        let (field, wire_type) = slice.key()?;
        if (1..=4).contains(&field) && wire_type == VARINT {
            fields[field as usize - 1] = slice.varint()? as i64;
        } else {
            slice.skip(wire_type)?;
        }
    }
    Ok(Label {
        key: str_id(fields[0], "a label key")?,
        str: str_id(fields[1], "a label value")?,
        num: fields[2],
        num_unit: str_id(fields[3], "a label unit")?,
    })
}
