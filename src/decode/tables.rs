//! Decoding of the tables that samples refer to. Locations are decoded by hand
//! because one location may list any number of lines, and each line is
//! charged to the budget as it is stored. Functions, mappings and value types
//! have only scalar fields, so the prost types decode them.

use prost::Message;

use super::builder::{str_id, wrong_wire_type, Builder, FieldError};
use super::ids::define;
use super::stream::{Slice, LEN, VARINT};
use crate::error::ProfileError;
use crate::model::{FuncId, Function, Line, Location, Mapping, ValueType};
use crate::pb;

impl Builder {
    pub(super) fn location(&mut self, data: &[u8]) -> Result<(), FieldError> {
        let lines_start = self.profile.lines.len();
        let mut id = 0;
        let mut mapping_id = 0;
        let mut address = 0;
        let mut slice = Slice::new(data);
        while !slice.is_empty() {
            let (field, wire_type) = slice.key()?;
            match (field, wire_type) {
                (1, VARINT) => id = slice.varint()?,
                (2, VARINT) => mapping_id = slice.varint()?,
                (3, VARINT) => address = slice.varint()?,
                (4, LEN) => self.push_line(slice.bytes()?, id)?,
                (5, VARINT) => drop(slice.varint()?),
                (1..=5, other) => return Err(wrong_wire_type("Location", field, other)),
                (_, other) => slice.skip(other)?,
            }
        }
        if id == 0 {
            return Err(reserved_id("a location has"));
        }

        let lines = line_index(lines_start)?..line_index(self.profile.lines.len())?;
        // A referenced mapping must be defined somewhere in the profile,
        // which finishing checks.
        let mapping = match mapping_id {
            0 => 0,
            id => self.mapping_ids.dense(id, &mut self.budget)? + 1,
        };
        // Only definitions assign location indexes, so a new id gets the
        // next one and a known id is a second definition.
        let dense = self.location_ids.dense(id, &mut self.budget)? as usize;
        if dense < self.locations.len() {
            return Err(ProfileError::invalid(format!(
                "location id {id} is defined twice; each location needs a unique id"
            ))
            .into());
        }
        self.budget.reserve(&mut self.locations, 1)?;
        self.locations.push(Location { address, lines });
        self.budget.reserve(&mut self.location_mappings, 1)?;
        self.location_mappings.push(mapping);
        Ok(())
    }

    /// Decodes one Line message of location `location_id`, which is 0 while
    /// the location's id field has not been read yet.
    fn push_line(&mut self, data: &[u8], location_id: u64) -> Result<(), FieldError> {
        let mut function_id = 0;
        let mut line = 0;
        let mut slice = Slice::new(data);
        while !slice.is_empty() {
            let (field, wire_type) = slice.key()?;
            match (field, wire_type) {
                (1, VARINT) => function_id = slice.varint()?,
                (2, VARINT) => line = slice.varint()? as i64,
                (1..=3, VARINT) => drop(slice.varint()?),
                (1..=3, other) => return Err(wrong_wire_type("Line", field, other)),
                (_, other) => slice.skip(other)?,
            }
        }
        if function_id == 0 {
            return Err(match location_id {
                0 => reserved_id("a location has a line with function"),
                id => reserved_id(&format!("location {id} has a line with function")),
            });
        }
        let function = FuncId(self.function_ids.dense(function_id, &mut self.budget)?);
        self.budget.reserve(&mut self.profile.lines, 1)?;
        self.profile.lines.push(Line { function, line });
        Ok(())
    }

    pub(super) fn function(&mut self, data: &[u8]) -> Result<(), FieldError> {
        let function = pb::Function::decode(data)?;
        if function.id == 0 {
            return Err(reserved_id("a function has"));
        }
        let dense = self.function_ids.dense(function.id, &mut self.budget)? as usize;
        let model = Function {
            name: str_id(function.name, "a function name")?,
            system_name: str_id(function.system_name, "a function system name")?,
            filename: str_id(function.filename, "a function file name")?,
            start_line: function.start_line,
        };
        let table = &mut self.functions;
        define(
            table,
            &mut self.budget,
            dense,
            model,
            "function",
            function.id,
        )?;
        Ok(())
    }

    pub(super) fn mapping(&mut self, data: &[u8]) -> Result<(), FieldError> {
        let mapping = pb::Mapping::decode(data)?;
        if mapping.id == 0 {
            return Err(reserved_id("a mapping has"));
        }
        let dense = self.mapping_ids.dense(mapping.id, &mut self.budget)? as usize;
        let model = Mapping {
            memory_start: mapping.memory_start,
            memory_limit: mapping.memory_limit,
            file_offset: mapping.file_offset,
            filename: str_id(mapping.filename, "a mapping file name")?,
            build_id: str_id(mapping.build_id, "a mapping build id")?,
            has_functions: mapping.has_functions,
        };
        let table = &mut self.mappings;
        define(table, &mut self.budget, dense, model, "mapping", mapping.id)?;
        Ok(())
    }
}

pub(super) fn value_type(data: &[u8], what: &str) -> Result<ValueType, FieldError> {
    let decoded = pb::ValueType::decode(data)?;
    Ok(ValueType {
        kind: str_id(decoded.r#type, what)?,
        unit: str_id(decoded.unit, what)?,
    })
}

/// The error for an id of 0, which the format reserves to mean "no id";
/// `subject` is the start of the sentence, such as "a function has".
fn reserved_id(subject: &str) -> FieldError {
    ProfileError::invalid(format!(
        "{subject} id 0, which is reserved (ids start at 1)"
    ))
    .into()
}

fn line_index(index: usize) -> Result<u32, FieldError> {
    u32::try_from(index).map_err(|_| ProfileError::invalid("more than 2^32 location lines").into())
}
