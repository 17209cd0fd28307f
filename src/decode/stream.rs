//! A streaming reader of top-level protobuf fields. It keeps no more than
//! one field's payload in memory, counts every byte against the size limit, and turns
//! truncation and corrupt gzip into errors that name where they happened.

use std::io::{BufRead, ErrorKind, Read};

use crate::error::{format_size, ProfileError};

/// Protobuf wire types.
pub(crate) const VARINT: u8 = 0;
pub(crate) const FIXED64: u8 = 1;
pub(crate) const LEN: u8 = 2;
pub(crate) const FIXED32: u8 = 5;

/// A length-delimited field that lies wholly in the input buffer.
pub(crate) struct BufferedField<'a> {
    pub(crate) field: u32,
    pub(crate) payload: &'a [u8],
    /// Bytes of the field with its key and length.
    pub(crate) total: u64,
}

pub(crate) struct FieldReader<R> {
    input: R,
    offset: u64,
    limit: u64,
    gzipped: bool,
}

impl<R: BufRead> FieldReader<R> {
    pub(crate) fn new(input: R, limit: u64, gzipped: bool) -> Self {
        FieldReader {
            input,
            offset: 0,
            limit,
            gzipped,
        }
    }

    /// Byte offset in the decompressed stream.
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    /// Returns true if the bytes come out of a gzip decoder.
    pub(crate) fn gzipped(&self) -> bool {
        self.gzipped
    }

    /// Largest decompressed size accepted, in bytes.
    pub(crate) fn limit(&self) -> u64 {
        self.limit
    }

    pub(crate) fn at_end(&mut self) -> Result<bool, ProfileError> {
        Ok(self.peek()?.is_empty())
    }

    pub(crate) fn peek(&mut self) -> Result<&[u8], ProfileError> {
        let gzipped = self.gzipped;
        self.input.fill_buf().map_err(|e| io_error(e, gzipped))
    }

    /// Reads the next field key, or `None` at a clean end of input.
    pub(crate) fn next_key(&mut self) -> Result<Option<(u32, u8)>, ProfileError> {
        if self.at_end()? {
            return Ok(None);
        }
        let start = self.offset;
        let key = self.read_varint()?;
        let field = key >> 3;
        if field == 0 || field > u64::from(u32::MAX >> 3) {
            return Err(self.wire_error(start, format!("invalid field number {field}")));
        }
        Ok(Some((field as u32, (key & 7) as u8)))
    }

    /// Reads a varint. One that lies wholly in the input buffer, as almost
    /// every one does, is decoded there; the slow path reads byte by byte.
    #[inline]
    pub(crate) fn read_varint(&mut self) -> Result<u64, ProfileError> {
        let buffered = self.peek()?;
        let mut slice = Slice::new(buffered);
        if let Some(value) = slice.complete_varint() {
            let used = slice.pos;
            self.input.consume(used);
            self.advance(used as u64)?;
            return Ok(value);
        }
        self.read_varint_bytewise()
    }

    #[cold]
    fn read_varint_bytewise(&mut self) -> Result<u64, ProfileError> {
        let start = self.offset;
        let mut value = 0u64;
        for shift in (0..70).step_by(7) {
            let byte = self.read_byte(start)?;
            if shift == 63 && byte > 1 {
                return Err(self.wire_error(start, "varint overflows 64 bits".into()));
            }
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(self.wire_error(start, "varint is longer than 10 bytes".into()))
    }

    fn read_byte(&mut self, field_start: u64) -> Result<u8, ProfileError> {
        let byte = match self.peek()?.first() {
            Some(&byte) => byte,
            None => return Err(self.truncated(field_start)),
        };
        self.input.consume(1);
        self.advance(1)?;
        Ok(byte)
    }

    fn advance(&mut self, count: u64) -> Result<(), ProfileError> {
        self.offset += count;
        if self.offset > self.limit {
            return Err(ProfileError::TooLarge { limit: self.limit });
        }
        Ok(())
    }

    /// Reads the length of a length-delimited field and checks it against the
    /// limit. Returns the offset of the length and the length.
    pub(crate) fn read_length(&mut self) -> Result<(u64, u64), ProfileError> {
        let start = self.offset;
        let len = self.read_varint()?;
        if self.offset.saturating_add(len) > self.limit {
            return Err(self.length_error(start, len));
        }
        Ok((start, len))
    }

    /// Returns the next field when it is length-delimited, within the limit
    /// and wholly in the input buffer, without consuming it. Any other field,
    /// and any encoding error, is left to [`FieldReader::next_key`].
    #[inline]
    pub(crate) fn buffered_field(&mut self) -> Result<Option<BufferedField<'_>>, ProfileError> {
        let room = self.limit.saturating_sub(self.offset);
        let buffered = self.peek()?;
        Ok(Self::split_field(buffered, room))
    }

    #[inline]
    fn split_field(buffered: &[u8], room: u64) -> Option<BufferedField<'_>> {
        let mut slice = Slice::new(buffered);
        let key = slice.complete_varint()?;
        let field = key >> 3;
        if key & 7 != u64::from(LEN) || field == 0 || field > u64::from(u32::MAX >> 3) {
            return None;
        }
        let len = usize::try_from(slice.complete_varint()?).ok()?;
        let start = slice.pos;
        let payload = buffered.get(start..start.checked_add(len)?)?;
        let total = (start + len) as u64;
        (total <= room).then_some(BufferedField {
            field: field as u32,
            payload,
            total,
        })
    }

    /// Returns the next `len` bytes when they are all in the input buffer,
    /// without consuming them; [`FieldReader::consume`] does that.
    pub(crate) fn buffered(&mut self, len: u64) -> Result<Option<&[u8]>, ProfileError> {
        let buffered = self.peek()?;
        Ok(usize::try_from(len).ok().and_then(|n| buffered.get(..n)))
    }

    /// Consumes `len` bytes that [`FieldReader::buffered`] or
    /// [`FieldReader::buffered_field`] returned, which checked them against
    /// the limit.
    pub(crate) fn consume(&mut self, len: u64) {
        self.input.consume(len as usize);
        self.offset += len;
    }

    /// Reads a length-delimited payload into `buf`, replacing its contents.
    pub(crate) fn read_payload(&mut self, buf: &mut Vec<u8>) -> Result<(), ProfileError> {
        let (start, len) = self.read_length()?;
        self.read_payload_of(start, len, buf)
    }

    /// Reads the `len` bytes of a payload whose length started at `start`
    /// into `buf`, replacing its contents. The buffer grows with the bytes
    /// actually read, so a length prefix that lies costs no memory beyond the
    /// data that is there.
    pub(crate) fn read_payload_of(
        &mut self,
        start: u64,
        len: u64,
        buf: &mut Vec<u8>,
    ) -> Result<(), ProfileError> {
        buf.clear();
        if let Some(payload) = self.buffered(len)? {
            buf.extend_from_slice(payload);
            self.consume(len);
            return Ok(());
        }
        let gzipped = self.gzipped;
        let read = (&mut self.input)
            .take(len)
            .read_to_end(buf)
            .map_err(|e| io_error(e, gzipped))?;
        self.advance(read as u64)?;
        if (read as u64) < len {
            let end = if gzipped {
                "the decompressed data"
            } else {
                "the file"
            };
            return Err(self.wire_error(
                start,
                format!(
                    "field length {len} points past the end of {end} (only {read} bytes remain); \
                     the profile is truncated"
                ),
            ));
        }
        Ok(())
    }

    fn length_error(&self, start: u64, len: u64) -> ProfileError {
        if len > self.limit {
            self.wire_error(
                start,
                format!(
                    "field length {len} is larger than the --max-profile-bytes limit of {}; \
                     the file is corrupt",
                    format_size(self.limit)
                ),
            )
        } else {
            ProfileError::TooLarge { limit: self.limit }
        }
    }

    /// Builds the error for invalid protobuf encoding at `offset` of the
    /// (decompressed) stream.
    pub(crate) fn wire_error(&self, offset: u64, message: String) -> ProfileError {
        ProfileError::Wire {
            offset,
            gzipped: self.gzipped,
            message,
        }
    }

    fn truncated(&self, offset: u64) -> ProfileError {
        let message = if self.gzipped {
            "the decompressed data ends inside a field; \
             the profile was truncated before it was compressed"
        } else {
            "the file ends inside a field; the profile is truncated"
        };
        self.wire_error(offset, message.into())
    }

    /// Skips a field of an unknown number.
    pub(crate) fn skip(&mut self, wire_type: u8, buf: &mut Vec<u8>) -> Result<(), ProfileError> {
        let start = self.offset;
        match wire_type {
            VARINT => self.read_varint().map(drop),
            FIXED64 => self.skip_bytes(8, start),
            LEN => self.read_payload(buf),
            FIXED32 => self.skip_bytes(4, start),
            other => Err(self.wire_error(start, format!("unsupported wire type {other}"))),
        }
    }

    fn skip_bytes(&mut self, count: u64, start: u64) -> Result<(), ProfileError> {
        for _ in 0..count {
            self.read_byte(start)?;
        }
        Ok(())
    }
}

pub(super) fn io_error(e: std::io::Error, gzipped: bool) -> ProfileError {
    if !gzipped {
        return ProfileError::Read(e);
    }
    // flate2 reports damaged compressed data as InvalidInput or InvalidData,
    // and a stream that stops early as UnexpectedEof. Any other kind comes
    // from reading the file itself.
    match e.kind() {
        ErrorKind::UnexpectedEof => ProfileError::GzipTruncated(e.to_string()),
        ErrorKind::InvalidInput | ErrorKind::InvalidData => {
            ProfileError::GzipCorrupt(e.to_string())
        }
        _ => ProfileError::Read(e),
    }
}

/// A cursor over one field's payload.
pub(crate) struct Slice<'a> {
    pub(crate) data: &'a [u8],
    pub(crate) pos: usize,
}

impl<'a> Slice<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Slice { data, pos: 0 }
    }

    #[inline(always)]
    pub(crate) fn is_empty(&self) -> bool {
        self.pos >= self.data.len()
    }

    /// Decodes a varint. Values below 2^7, which are most ids and small
    /// numbers in a profile, take the shortest path.
    #[inline(always)]
    pub(crate) fn varint(&mut self) -> Result<u64, String> {
        if let Some(&first) = self.data.get(self.pos) {
            if first < 0x80 {
                self.pos += 1;
                return Ok(u64::from(first));
            }
        }
        match self.complete_varint() {
            Some(value) => Ok(value),
            None => self.varint_slow(),
        }
    }

    /// Decodes a varint that ends within the data and is valid, else returns
    /// `None` and leaves the position alone. With 10 bytes left, the longest a
    /// varint can be, the bytes are read without a bounds check each.
    #[inline]
    pub(crate) fn complete_varint(&mut self) -> Option<u64> {
        let rest = self.data.get(self.pos..)?;
        let mut value = 0u64;
        if let Some(window) = rest.first_chunk::<10>() {
            for (i, &byte) in window.iter().enumerate() {
                value |= u64::from(byte & 0x7f) << (7 * i);
                if byte < 0x80 {
                    if i == 9 && byte > 1 {
                        return None;
                    }
                    self.pos += i + 1;
                    return Some(value);
                }
            }
            return None;
        }
        for (i, &byte) in rest.iter().enumerate() {
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte < 0x80 {
                self.pos += i + 1;
                return Some(value);
            }
        }
        None
    }

    /// Decodes a varint of any length, or fails on a truncated or overlong one.
    #[cold]
    fn varint_slow(&mut self) -> Result<u64, String> {
        let mut value = 0u64;
        for shift in (0..70).step_by(7) {
            let Some(&byte) = self.data.get(self.pos) else {
                return Err("varint runs past the end of its message".into());
            };
            self.pos += 1;
            if shift == 63 && byte > 1 {
                return Err("varint overflows 64 bits".into());
            }
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err("varint is longer than 10 bytes".into())
    }

    /// Decodes a field key. Keys of fields 1 to 15 take one byte, which the
    /// inlined path decodes.
    #[inline(always)]
    pub(crate) fn key(&mut self) -> Result<(u32, u8), String> {
        if let Some(&byte) = self.data.get(self.pos) {
            if (8..0x80).contains(&byte) {
                self.pos += 1;
                return Ok((u32::from(byte >> 3), byte & 7));
            }
        }
        self.key_slow()
    }

    #[inline(never)]
    fn key_slow(&mut self) -> Result<(u32, u8), String> {
        let key = self.varint()?;
        let field = key >> 3;
        if field == 0 || field > u64::from(u32::MAX >> 3) {
            return Err(format!("invalid field number {field}"));
        }
        Ok((field as u32, (key & 7) as u8))
    }

    #[inline(always)]
    pub(crate) fn bytes(&mut self) -> Result<&'a [u8], String> {
        let len = self.varint()?;
        let remaining = (self.data.len() - self.pos) as u64;
        if len > remaining {
            return Err(format!(
                "length {len} points past the end of its message ({remaining} bytes remain)"
            ));
        }
        let start = self.pos;
        self.pos += len as usize;
        Ok(&self.data[start..self.pos])
    }

    pub(crate) fn skip(&mut self, wire_type: u8) -> Result<(), String> {
        let width = match wire_type {
            VARINT => return self.varint().map(drop),
            LEN => return self.bytes().map(drop),
            FIXED64 => 8,
            FIXED32 => 4,
            other => return Err(format!("unsupported wire type {other}")),
        };
        if self.pos + width > self.data.len() {
            return Err("fixed-width field runs past the end of its message".into());
        }
        self.pos += width;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Encodes `value` as a protobuf varint.
    fn encode(mut value: u64) -> Vec<u8> {
        let mut bytes = Vec::new();
        while value >= 0x80 {
            bytes.push(value as u8 | 0x80);
            value >>= 7;
        }
        bytes.push(value as u8);
        bytes
    }

    #[test]
    fn varint_decodes_every_length() {
        let cases = [
            0,
            1,
            0x7f,
            0x80,
            300,
            0x3fff,
            0x4000,
            0x1f_ffff,
            u64::from(u32::MAX),
            u64::MAX,
        ];
        for value in cases {
            let bytes = encode(value);
            let mut slice = Slice::new(&bytes);
            assert_eq!(slice.varint(), Ok(value), "value {value}");
            assert_eq!(slice.pos, bytes.len(), "bytes consumed for {value}");
        }
    }

    #[test]
    fn varint_reads_consecutive_values() {
        let mut bytes = encode(5);
        bytes.extend(encode(300));
        bytes.extend(encode(70_000));
        bytes.extend(encode(1));
        let mut slice = Slice::new(&bytes);
        assert_eq!(slice.varint(), Ok(5));
        assert_eq!(slice.varint(), Ok(300));
        assert_eq!(slice.varint(), Ok(70_000));
        assert_eq!(slice.varint(), Ok(1));
        assert!(slice.is_empty());
    }

    #[test]
    fn varint_rejects_truncated_input() {
        for bytes in [&[][..], &[0x80], &[0x80, 0x80], &[0xff; 9]] {
            let mut slice = Slice::new(bytes);
            let error = slice.varint().err().unwrap_or_default();
            assert_eq!(
                error, "varint runs past the end of its message",
                "input {bytes:?}"
            );
        }
    }

    #[test]
    fn varint_rejects_overlong_input() {
        let mut overflow = vec![0xff; 9];
        overflow.push(0x02);
        let mut slice = Slice::new(&overflow);
        assert_eq!(slice.varint(), Err("varint overflows 64 bits".into()));

        let mut eleven = vec![0x80; 10];
        eleven.push(0x00);
        let mut slice = Slice::new(&eleven);
        assert_eq!(slice.varint(), Err("varint overflows 64 bits".into()));
    }

    #[test]
    fn read_payload_copies_buffered_and_streamed_fields() {
        // The second payload is larger than the 16-byte input buffer, so it
        // takes the path through `read_to_end`.
        let mut data = vec![3, b'a', b'b', b'c', 40];
        data.extend(std::iter::repeat_n(b'x', 40));
        let input = std::io::BufReader::with_capacity(16, &data[..]);
        let mut reader = FieldReader::new(input, 1 << 20, false);
        let mut buf = Vec::new();
        assert!(reader.read_payload(&mut buf).is_ok());
        assert_eq!(buf, b"abc");
        assert_eq!(reader.offset(), 4);
        assert!(reader.read_payload(&mut buf).is_ok());
        assert_eq!(buf, vec![b'x'; 40]);
        assert_eq!(reader.offset(), 45);
        assert!(reader.at_end().unwrap_or(false));
    }

    #[test]
    fn read_payload_rejects_a_field_past_the_limit() {
        let data = [3, b'a', b'b', b'c'];
        let mut reader = FieldReader::new(&data[..], 3, false);
        let mut buf = Vec::new();
        let error = reader.read_payload(&mut buf).err().map(|e| e.to_string());
        assert!(error.is_some(), "a 4-byte field passed a 3-byte limit");
    }
}
