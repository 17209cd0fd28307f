//! Stack frames while a profile is read: the location ids exactly as the file
//! gives them, in the narrowest width that fits every id seen so far.
//!
//! Go numbers its locations 1 to N in the order it writes them, so the ids
//! are already the model's location index plus one (see [`Frames`]) and most
//! of them fit one byte. A packed list whose bytes are all below 0x80 is a
//! list of one-byte varints, and those bytes are the ids: it is stored with
//! one copy, without decoding. The outer frames that a sample shares with the
//! sample before it are not stored again: the sample gets a [`Tail`] to them.
//! Once the whole profile has been read, [`RawFrames::finish`] checks every
//! id against the locations the file defines, and renumbers the frames only
//! when the file numbers its locations some other way.
//!
//! An id that does not fit 32 bits would make every frame take eight bytes.
//! From the first such id on, frames hold tokens instead: the ids numbered in
//! the order first seen, which fit the narrowest width as the ids of a Go
//! profile do. Frames stored before it are converted.

use std::collections::HashMap;

use super::budget::Budget;
use super::builder::FieldError;
use super::ids::{IdMap, DIRECT_ID_LIMIT, SPARSE_ENTRY_BYTES};
use super::small;
use super::stream::Slice;
use crate::error::ProfileError;
use crate::model::{Frames, SmallNumbers, Tail};

/// Maximum length of a packed list kept to compare with the next sample's.
/// The copy is not charged to the budget. Stacks in Go heap profiles take a
/// few hundred bytes at most.
const MAX_SHARED_LIST_BYTES: usize = 64 << 10;

/// Frames as read, before the ids are checked: each sample's own frames and
/// its tail, and what the previous sample gave so that the next one can
/// share its frames.
pub(super) struct FrameStore {
    ids: RawFrames,
    /// The ids of the tokens that frames hold once an id did not fit 32 bits.
    tokens: Option<IdMap>,
    /// The start of each sample's own frames, then the end of the last one's.
    starts: Vec<u32>,
    tails: Vec<Tail>,
    lens: SmallNumbers,
    /// The packed location ids of the previous sample, when it had exactly
    /// one packed list and nothing else.
    last_packed: Vec<u8>,
    last_shareable: bool,
    /// Frames in the previous sample's whole stack.
    last_len: usize,
    /// The current sample: its frame fields so far, whether all of them were
    /// packed lists, its tail, and the frames the tail leads to.
    fields: u32,
    packed_only: bool,
    tail: Tail,
    shared: usize,
}

impl Default for FrameStore {
    fn default() -> Self {
        FrameStore {
            ids: RawFrames::default(),
            tokens: None,
            starts: vec![0],
            tails: Vec::new(),
            lens: SmallNumbers::default(),
            last_packed: Vec::new(),
            last_shareable: false,
            last_len: 0,
            fields: 0,
            packed_only: true,
            tail: Tail::NONE,
            shared: 0,
        }
    }
}

/// The frames of a profile as the model stores them.
pub(super) struct FinishedFrames {
    pub(super) frames: Frames,
    pub(super) starts: Vec<u32>,
    pub(super) tails: Vec<Tail>,
    pub(super) lens: SmallNumbers,
    pub(super) order: Order,
}

/// Frames as read, in the width of the largest value so far: location ids,
/// or tokens plus one (see [`FrameStore::tokens`]).
pub(super) type RawFrames = SmallNumbers;

/// Returns the length of the longest common suffix of `a` and `b`.
fn common_suffix(a: &[u8], b: &[u8]) -> usize {
    let len = a.len().min(b.len());
    let (a, b) = (&a[a.len() - len..], &b[b.len() - len..]);
    let mut same = 0;
    // Blocks of 16, then 8 bytes compare as one number each. In the first
    // block that differs, the equal bytes at its end are the leading zero
    // bytes of the XOR, read little-endian.
    while let (Some(x), Some(y)) = (
        a[..len - same].last_chunk::<16>(),
        b[..len - same].last_chunk::<16>(),
    ) {
        let diff = u128::from_le_bytes(*x) ^ u128::from_le_bytes(*y);
        if diff != 0 {
            return same + diff.leading_zeros() as usize / 8;
        }
        same += 16;
    }
    if let (Some(x), Some(y)) = (
        a[..len - same].last_chunk::<8>(),
        b[..len - same].last_chunk::<8>(),
    ) {
        let diff = u64::from_le_bytes(*x) ^ u64::from_le_bytes(*y);
        if diff != 0 {
            return same + diff.leading_zeros() as usize / 8;
        }
        same += 8;
    }
    while same < len && a[len - same - 1] == b[len - same - 1] {
        same += 1;
    }
    same
}

/// The high bit of each byte of a word.
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// The low bit of each byte of a word.
const LOW_BITS: u64 = 0x0101_0101_0101_0101;

/// Counts the bytes below 0x80, each of which ends a varint. Counting in
/// one-byte lanes over blocks of at most 255 bytes lets the compiler use
/// vectors.
fn varint_ends(bytes: &[u8]) -> usize {
    bytes
        .chunks(255)
        .map(|block| block.iter().fold(0u8, |n, &b| n + (!b >> 7)) as usize)
        .sum()
}

/// Returns whether every byte is below 0x80 and none is 0, that is whether
/// the bytes are a list of one-byte varints of ids other than 0, eight bytes
/// at a time.
fn one_byte_ids(bytes: &[u8]) -> (bool, bool) {
    let mut words = bytes.chunks_exact(8);
    let (mut high, mut zero) = (0u64, 0u64);
    for word in &mut words {
        let word = u64::from_le_bytes(word.try_into().unwrap_or_default());
        high |= word;
        // The high bit of a byte of this is set if that byte is 0; the
        // bytes are below 0x80, or the list fails the other test anyway.
        zero |= word.wrapping_sub(LOW_BITS) & !word;
    }
    for &byte in words.remainder() {
        high |= u64::from(byte);
        zero |= u64::from(byte == 0) << 7;
    }
    (high & HIGH_BITS == 0, zero & HIGH_BITS != 0)
}

impl FrameStore {
    /// Reserves room for `scale` times the frames and samples stored so far;
    /// see [`Budget::reserve_forecast`].
    pub(super) fn reserve_forecast(&mut self, budget: &mut Budget, scale: f64, slack: f64) {
        small::reserve_forecast(&mut self.ids, budget, scale, slack);
        budget.reserve_forecast(&mut self.starts, scale, slack);
        budget.reserve_forecast(&mut self.tails, scale, slack);
        small::reserve_forecast(&mut self.lens, budget, scale, slack);
    }

    /// Releases the spare capacity of the frame and sample arrays; see
    /// [`Budget::shrink`].
    pub(super) fn shrink(&mut self, budget: &mut Budget) {
        small::shrink(&mut self.ids, budget);
        budget.shrink(&mut self.starts);
        budget.shrink(&mut self.tails);
        small::shrink(&mut self.lens, budget);
    }

    /// Checks the frames and returns them as the model stores them; see
    /// [`RawFrames::finish`].
    pub(super) fn finish(
        self,
        defined: &[u64],
        budget: &mut Budget,
    ) -> Result<FinishedFrames, ProfileError> {
        let (frames, order) = match self.tokens {
            Some(tokens) => (
                self.ids.finish_tokens(&tokens, defined, budget)?,
                Order::AsDefined,
            ),
            None => self.ids.finish(defined, budget)?,
        };
        Ok(FinishedFrames {
            frames,
            starts: self.starts,
            tails: self.tails,
            lens: self.lens,
            order,
        })
    }

    /// Marks the start of a sample's fields.
    pub(super) fn start_sample(&mut self) {
        self.fields = 0;
        self.packed_only = true;
        self.tail = Tail::NONE;
        self.shared = 0;
    }

    /// Marks the end of a sample and stores where its frames start and end.
    /// Its frames may be shared with the next sample when it had one packed
    /// list.
    #[inline]
    pub(super) fn end_sample(&mut self, budget: &mut Budget) -> Result<(), ProfileError> {
        let end = u32::try_from(self.ids.len())
            .map_err(|_| ProfileError::invalid("more than 2^32 stack frames in all samples"))?;
        let own = end - self.starts.last().copied().unwrap_or(0);
        budget.push(&mut self.starts, end)?;
        budget.push(&mut self.tails, self.tail)?;
        // Shared frames are frames of the previous stack, which is no longer
        // than 2^32 frames.
        self.last_len = own as usize + self.shared;
        let len = u32::try_from(self.last_len)
            .map_err(|_| ProfileError::invalid("a stack has more than 2^32 frames"))?;
        small::push(&mut self.lens, len, budget)?;
        self.last_shareable = self.fields == 1 && self.packed_only;
        Ok(())
    }

    /// Appends one location id given as a field of its own.
    pub(super) fn push(&mut self, id: u64, budget: &mut Budget) -> Result<(), PushError> {
        self.fields += 1;
        self.packed_only = false;
        if self.tail != Tail::NONE {
            self.store_tail(budget)?;
        }
        self.push_id(id, budget)
    }

    /// Appends the frame of one id, as a token once tokens are in use.
    fn push_id(&mut self, id: u64, budget: &mut Budget) -> Result<(), PushError> {
        if id == 0 {
            return Err(PushError::Zero);
        }
        if self.tokens.is_none() && id > u64::from(u32::MAX) {
            self.start_tokens(budget)?;
        }
        let stored = match &mut self.tokens {
            // A token plus one fits 32 bits: IdMap makes fewer than 2^32 - 1.
            Some(tokens) => u64::from(tokens.dense(id, budget)?) + 1,
            None => id,
        };
        Ok(self.ids.push(stored, budget)?)
    }

    /// Appends the frames of a packed list, one id at a time.
    fn push_ids(&mut self, data: &[u8], budget: &mut Budget) -> Result<(), PushError> {
        let mut packed = Slice::new(data);
        while !packed.is_empty() {
            let id = packed.varint()?;
            self.push_id(id, budget)?;
        }
        Ok(())
    }

    /// Converts the frames stored so far, which are all ids of 32 bits, to
    /// tokens.
    #[cold]
    fn start_tokens(&mut self, budget: &mut Budget) -> Result<(), ProfileError> {
        let mut tokens = IdMap::default();
        let mut converted = RawFrames::default();
        let len = self.ids.len();
        for index in 0..len {
            let id = u64::from(self.ids.get(index));
            converted.push(u64::from(tokens.dense(id, budget)?) + 1, budget)?;
        }
        self.ids = converted;
        self.tokens = Some(tokens);
        Ok(())
    }

    /// Appends a packed list of location ids. Sibling stacks share their
    /// outer frames, which come last: the bytes this list has in common at
    /// its end with the previous sample's list are not decoded again, and
    /// the sample's tail leads to the frames they stand for.
    #[inline]
    pub(super) fn push_packed(
        &mut self,
        data: &[u8],
        budget: &mut Budget,
    ) -> Result<(), PushError> {
        self.fields += 1;
        if self.tail != Tail::NONE {
            self.store_tail(budget)?;
        }
        let shared = if self.fields == 1 && self.last_shareable {
            self.shared_suffix(data)
        } else {
            None
        };
        let own = match shared {
            Some((start, frames, tail)) => {
                self.tail = tail;
                self.shared = frames;
                &data[..start]
            }
            None => data,
        };
        let result = if self.tokens.is_some() {
            self.push_ids(own, budget)
        } else {
            match self.ids.push_packed(own, budget) {
                // An id of more than 32 bits stopped it.
                Ok(Some(stop)) => self.push_ids(&own[stop..], budget),
                Ok(None) => Ok(()),
                Err(e) => Err(e),
            }
        };
        self.last_packed.clear();
        if data.len() <= MAX_SHARED_LIST_BYTES {
            self.last_packed.extend_from_slice(data);
        } else {
            self.packed_only = false;
        }
        result
    }

    /// Stores the frames that the current sample's tail leads to as its own,
    /// before frames that come after them in the file are appended.
    #[cold]
    fn store_tail(&mut self, budget: &mut Budget) -> Result<(), ProfileError> {
        while self.tail != Tail::NONE {
            let sample = self.tail.sample as usize;
            let start = self.starts[sample] as usize + self.tail.offset as usize;
            let end = self.starts[sample + 1] as usize;
            self.ids.copy_within(start, end, budget)?;
            self.tail = self.tails[sample];
        }
        self.shared = 0;
        Ok(())
    }

    /// Finds the bytes at the end of `data` that equal the end of the
    /// previous sample's list and start a varint in both. Returns where they
    /// start in `data`, how many ids they contain and the tail to them.
    fn shared_suffix(&self, data: &[u8]) -> Option<(usize, usize, Tail)> {
        let last = &self.last_packed;
        let same = common_suffix(data, last);
        if same == 0 {
            return None;
        }
        let mut start = data.len() - same;
        let mut last_start = last.len() - same;
        // A varint starts where the byte before it ends one (is below 0x80).
        let boundary = |bytes: &[u8], at: usize| at == 0 || bytes[at - 1] < 0x80;
        if !boundary(data, start) || !boundary(last, last_start) {
            // The first byte below 0x80 in the common part ends a varint in
            // both lists, so the next byte starts one in both.
            let end = data[start..].iter().position(|&b| b < 0x80)?;
            start += end + 1;
            last_start += end + 1;
        }
        // The common part is most of the list, so its ids are counted as
        // those of the previous list less the ids before it.
        let frames = self
            .last_len
            .checked_sub(varint_ends(&last[..last_start]))?;
        if frames == 0 {
            return None;
        }
        Some((start, frames, self.tail_to_last(frames)?))
    }

    /// Returns the tail to the last `count` frames of the previous sample's
    /// stack, following its segments from the leaf. Each step moves past one
    /// segment, and a stack has no more segments than frames.
    fn tail_to_last(&self, count: usize) -> Option<Tail> {
        let mut skip = self.last_len.checked_sub(count)?;
        let mut sample = self.tails.len().checked_sub(1)?;
        let mut offset = 0;
        loop {
            let own = (self.starts[sample + 1] - self.starts[sample]) as usize - offset;
            if skip < own {
                return Some(Tail {
                    sample: sample as u32,
                    offset: (offset + skip) as u32,
                });
            }
            skip -= own;
            let next = self.tails[sample];
            if next == Tail::NONE {
                return None;
            }
            sample = next.sample as usize;
            offset = next.offset as usize;
        }
    }
}

/// Appends the ids at the start of `data` that take one or two bytes and
/// fit `T`, as all ids do in profiles of up to 16,383 locations, and returns
/// the bytes they took. The first id that is longer or does not fit stops it.
/// The loop has no error path per id, which makes it several times faster
/// than decoding varints one by one.
#[inline]
fn push_short_ids<T: TryFrom<u16>>(
    ids: &mut Vec<T>,
    data: &[u8],
    budget: &mut Budget,
) -> Result<usize, PushError> {
    // Each id takes at least one byte.
    if ids.capacity() - ids.len() < data.len() {
        budget.reserve(ids, data.len())?;
    }
    let mut pos = 0;
    while let Some(&first) = data.get(pos) {
        let (id, len) = if first < 0x80 {
            (u16::from(first), 1)
        } else {
            match data.get(pos + 1) {
                Some(&second) if second < 0x80 => {
                    (u16::from(first & 0x7f) | u16::from(second) << 7, 2)
                }
                _ => break,
            }
        };
        if id == 0 {
            return Err(PushError::Zero);
        }
        let Ok(id) = T::try_from(id) else { break };
        ids.push(id);
        pos += len;
    }
    Ok(pos)
}

/// The reason a frame could not be stored.
pub(super) enum PushError {
    /// The frame refers to location id 0, which the format reserves.
    Zero,
    Field(FieldError),
}

impl From<String> for PushError {
    fn from(message: String) -> Self {
        PushError::Field(FieldError::Wire(message))
    }
}

impl From<ProfileError> for PushError {
    fn from(e: ProfileError) -> Self {
        PushError::Field(FieldError::Profile(e))
    }
}

impl RawFrames {
    /// Appends a copy of the frames from `start` to `end`.
    fn copy_within(
        &mut self,
        start: usize,
        end: usize,
        budget: &mut Budget,
    ) -> Result<(), ProfileError> {
        fn copy<T: Copy>(
            ids: &mut Vec<T>,
            start: usize,
            end: usize,
            budget: &mut Budget,
        ) -> Result<(), ProfileError> {
            budget.reserve(ids, end - start)?;
            ids.extend_from_within(start..end);
            Ok(())
        }
        match self {
            RawFrames::U8(ids) => copy(ids, start, end, budget),
            RawFrames::U16(ids) => copy(ids, start, end, budget),
            RawFrames::U32(ids) => copy(ids, start, end, budget),
        }
    }

    /// Appends a packed list of location ids. Stops before an id of more
    /// than 32 bits, and then returns where it starts in `data`.
    fn push_packed(
        &mut self,
        data: &[u8],
        budget: &mut Budget,
    ) -> Result<Option<usize>, PushError> {
        if let RawFrames::U8(ids) = self {
            let (one_byte, has_zero) = one_byte_ids(data);
            if one_byte {
                if has_zero {
                    return Err(PushError::Zero);
                }
                if ids.capacity() - ids.len() < data.len() {
                    budget.reserve(ids, data.len())?;
                }
                ids.extend_from_slice(data);
                return Ok(None);
            }
        }
        // Runs of short ids take the fast loop. Each id that stops it is
        // decoded on its own, and widens the frames if it does not fit.
        let mut packed = Slice::new(data);
        while !packed.is_empty() {
            let rest = &data[packed.pos..];
            packed.pos += match self {
                RawFrames::U8(ids) => push_short_ids(ids, rest, budget)?,
                RawFrames::U16(ids) => push_short_ids(ids, rest, budget)?,
                RawFrames::U32(ids) => push_short_ids(ids, rest, budget)?,
            };
            if packed.is_empty() {
                break;
            }
            let start = packed.pos;
            let id = packed.varint()?;
            if id == 0 {
                return Err(PushError::Zero);
            }
            if id > u64::from(u32::MAX) {
                return Ok(Some(start));
            }
            self.push(id, budget)?;
        }
        Ok(None)
    }

    /// Appends one value, which is not 0 and fits 32 bits.
    fn push(&mut self, value: u64, budget: &mut Budget) -> Result<(), ProfileError> {
        small::push(self, value as u32, budget)
    }

    /// Checks every frame against the location ids the file defines,
    /// `defined[i]` being the id of location `i`, and returns the frames of
    /// the model. When the ids are 1 to N in some order, the frames stay as
    /// they are, and with [`Order::ById`] the caller moves location `i` to
    /// index `defined[i] - 1`. Otherwise every frame is renumbered to its
    /// location's index plus one.
    fn finish(self, defined: &[u64], budget: &mut Budget) -> Result<(Frames, Order), ProfileError> {
        let count = defined.len() as u64;
        let numbered = defined.iter().all(|&id| (1..=count).contains(&id));
        if numbered {
            let order = if defined
                .iter()
                .enumerate()
                .all(|(i, &id)| id == i as u64 + 1)
            {
                Order::AsDefined
            } else {
                Order::ById
            };
            let frames = match self {
                RawFrames::U8(ids) => Frames::U8(checked(ids, count)?),
                RawFrames::U16(ids) => Frames::U16(checked(ids, count)?),
                RawFrames::U32(ids) => Frames::U32(checked(ids, count)?),
            };
            return Ok((frames, order));
        }
        let renumber = Renumber::new(defined, budget)?;
        let frames = match self {
            RawFrames::U8(ids) => renumber.apply(&ids, budget)?,
            RawFrames::U16(ids) => renumber.apply(&ids, budget)?,
            RawFrames::U32(ids) => renumber.apply(&ids, budget)?,
        };
        Ok((frames, Order::AsDefined))
    }

    /// Returns the frames of the model for frames that hold tokens plus one,
    /// `tokens` giving the id of each token, and checks every id against the
    /// locations the file defines.
    fn finish_tokens(
        self,
        tokens: &IdMap,
        defined: &[u64],
        budget: &mut Budget,
    ) -> Result<Frames, ProfileError> {
        let renumber = Renumber::new(defined, budget)?;
        let mut stored = Vec::new();
        budget.reserve(&mut stored, tokens.raw.len())?;
        for &id in &tokens.raw {
            stored.push(renumber.get(id)?);
        }
        // Every value is a token plus one, so the index is in range.
        let lookup = |value: u64| Ok(stored[value as usize - 1]);
        match self {
            RawFrames::U8(ids) => renumber.apply_with(&ids, budget, lookup),
            RawFrames::U16(ids) => renumber.apply_with(&ids, budget, lookup),
            RawFrames::U32(ids) => renumber.apply_with(&ids, budget, lookup),
        }
    }
}

/// The source of the model's location `i`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Order {
    /// The `i`th location the file defines.
    AsDefined,
    /// The location with id `i + 1`.
    ById,
}

/// Returns `ids` when every one of them is at most `count`; the decoder has
/// already rejected 0.
fn checked<T: Copy + Into<u64> + Ord>(ids: Vec<T>, count: u64) -> Result<Vec<T>, ProfileError> {
    // A maximum vectorizes, where a test per element with an early exit
    // does not; the search for the culprit runs only on failure.
    let max = ids.iter().copied().max().map_or(0, Into::into);
    if max <= count {
        return Ok(ids);
    }
    let culprit = ids.iter().map(|&id| id.into()).find(|&id| id > count);
    Err(undefined(culprit.unwrap_or(max)))
}

fn undefined(id: u64) -> ProfileError {
    ProfileError::invalid(format!(
        "location id {id} is used by a sample but not defined; \
         the profile is incomplete or corrupt"
    ))
}

/// Maps the file's location ids to index plus one.
struct Renumber {
    direct: Vec<u32>,
    sparse: HashMap<u64, u32>,
    count: usize,
}

impl Renumber {
    fn new(defined: &[u64], budget: &mut Budget) -> Result<Self, ProfileError> {
        let mut direct = Vec::new();
        let mut sparse = HashMap::new();
        let large = defined.iter().filter(|&&id| id >= DIRECT_ID_LIMIT).count();
        budget.charge(large.saturating_mul(SPARSE_ENTRY_BYTES))?;
        for (index, &id) in defined.iter().enumerate() {
            // Index plus one fits: there are fewer than 2^32 locations.
            let stored = index as u32 + 1;
            if id < DIRECT_ID_LIMIT {
                let slot = id as usize;
                if slot >= direct.len() {
                    direct.resize(slot + 1, 0);
                }
                direct[slot] = stored;
            } else {
                sparse.insert(id, stored);
            }
        }
        Ok(Renumber {
            direct,
            sparse,
            count: defined.len(),
        })
    }

    fn get(&self, id: u64) -> Result<u32, ProfileError> {
        let stored = if id < DIRECT_ID_LIMIT {
            self.direct.get(id as usize).copied().unwrap_or(0)
        } else {
            self.sparse.get(&id).copied().unwrap_or(0)
        };
        match stored {
            0 => Err(undefined(id)),
            stored => Ok(stored),
        }
    }

    /// Renumbers frames that hold location ids.
    fn apply<T: Copy + Into<u64>>(
        &self,
        ids: &[T],
        budget: &mut Budget,
    ) -> Result<Frames, ProfileError> {
        self.apply_with(ids, budget, |id| self.get(id))
    }

    /// Renumbers frames whose values `lookup` turns into location indexes
    /// plus one, in the narrowest width for the number of locations.
    fn apply_with<T: Copy + Into<u64>>(
        &self,
        ids: &[T],
        budget: &mut Budget,
        lookup: impl Fn(u64) -> Result<u32, ProfileError>,
    ) -> Result<Frames, ProfileError> {
        if self.count <= usize::from(u8::MAX) {
            Ok(Frames::U8(map(ids, budget, &lookup, |s| s as u8)?))
        } else if self.count <= usize::from(u16::MAX) {
            Ok(Frames::U16(map(ids, budget, &lookup, |s| s as u16)?))
        } else {
            Ok(Frames::U32(map(ids, budget, &lookup, |s| s)?))
        }
    }
}

fn map<T: Copy + Into<u64>, U>(
    ids: &[T],
    budget: &mut Budget,
    lookup: &impl Fn(u64) -> Result<u32, ProfileError>,
    narrow: impl Fn(u32) -> U,
) -> Result<Vec<U>, ProfileError> {
    let mut out = Vec::new();
    budget.reserve(&mut out, ids.len())?;
    for &id in ids {
        out.push(narrow(lookup(id.into())?));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget() -> Budget {
        Budget::for_limit(1 << 20)
    }

    fn stored(frames: &Frames) -> Vec<u32> {
        match frames {
            Frames::U8(ids) => ids.iter().map(|&id| u32::from(id)).collect(),
            Frames::U16(ids) => ids.iter().map(|&id| u32::from(id)).collect(),
            Frames::U32(ids) => ids.clone(),
        }
    }

    fn varints(ids: &[u64]) -> Vec<u8> {
        let mut bytes = Vec::new();
        for &id in ids {
            prost::encoding::encode_varint(id, &mut bytes);
        }
        bytes
    }

    #[test]
    fn common_suffix_matches_a_byte_count() {
        let base: Vec<u8> = (0..40).map(|i| (i * 37 % 251) as u8).collect();
        let naive = |a: &[u8], b: &[u8]| {
            let pairs = a.iter().rev().zip(b.iter().rev());
            pairs.take_while(|(x, y)| x == y).count()
        };
        for len_a in 0..=base.len() {
            for len_b in [0, 1, 7, 8, 9, 15, 16, 17, 24, 33, 40] {
                let a = &base[base.len() - len_a..];
                let mut b = base[base.len() - len_b..].to_vec();
                assert_eq!(common_suffix(a, &b), naive(a, &b), "{len_a} and {len_b}");
                // A difference at every position from the end.
                for back in 0..len_b {
                    let at = len_b - 1 - back;
                    b[at] ^= 0x40;
                    assert_eq!(
                        common_suffix(a, &b),
                        naive(a, &b),
                        "{len_a} and {len_b}, differing {back} from the end"
                    );
                    b[at] ^= 0x40;
                }
            }
        }
    }

    /// Returns the stack of every sample, following tails.
    fn stacks(store: &FrameStore) -> Vec<Vec<u64>> {
        let ids: Vec<u64> = (0..store.ids.len())
            .map(|index| {
                let value = u64::from(store.ids.get(index));
                match &store.tokens {
                    Some(tokens) => tokens.raw[value as usize - 1],
                    None => value,
                }
            })
            .collect();
        let segment = |sample: usize, offset: usize| {
            let start = store.starts[sample] as usize + offset;
            ids[start..store.starts[sample + 1] as usize].to_vec()
        };
        (0..store.tails.len())
            .map(|sample| {
                let mut stack = segment(sample, 0);
                let mut tail = store.tails[sample];
                while tail != Tail::NONE {
                    assert!((tail.sample as usize) < sample, "a tail points forward");
                    stack.extend(segment(tail.sample as usize, tail.offset as usize));
                    tail = store.tails[tail.sample as usize];
                }
                stack
            })
            .collect()
    }

    /// Stores each stack as one sample of one packed list.
    fn store_packed(stacks: &[Vec<u64>]) -> FrameStore {
        let mut budget = budget();
        let mut store = FrameStore::default();
        for stack in stacks {
            store.start_sample();
            assert!(store.push_packed(&varints(stack), &mut budget).is_ok());
            assert!(store.end_sample(&mut budget).is_ok());
        }
        store
    }

    #[test]
    fn shared_frames_equal_decoded_frames() {
        // Stacks that keep a random part of the previous stack's outer end,
        // with ids of one to four varint bytes, so that common bytes often
        // start inside a varint.
        let mut random = crate::testing::Random(0x2545_f491_4f6c_dd1d);
        let mut next = move |bound: u64| random.below(bound);
        let ranges = [127, 300, 16_383, 20_000, 2_100_000];
        let mut expected: Vec<Vec<u64>> = Vec::new();
        let mut previous: Vec<u64> = Vec::new();
        for _ in 0..2_000 {
            let keep = next(previous.len() as u64 + 1) as usize;
            let mut stack = Vec::new();
            for _ in 0..next(6) {
                let range = ranges[next(ranges.len() as u64) as usize];
                stack.push(1 + next(range));
            }
            stack.extend_from_slice(&previous[previous.len() - keep..]);
            expected.push(stack.clone());
            previous = stack;
        }
        let store = store_packed(&expected);
        assert_eq!(stacks(&store), expected);
        // Each stack stores only the frames it does not share with the
        // previous one.
        let mut own = expected[0].len();
        for pair in expected.windows(2) {
            let pairs = pair[0].iter().rev().zip(pair[1].iter().rev());
            own += pair[1].len() - pairs.take_while(|(a, b)| a == b).count();
        }
        assert_eq!(store.ids.len(), own);
    }

    #[test]
    fn shared_frames_follow_tails_of_tails() {
        // Each stack shares all but its leaf with the one before, and the
        // third shares frames that the second got through its tail.
        let expected = vec![
            vec![1, 2, 3, 4],
            vec![5, 2, 3, 4],
            vec![6, 7, 3, 4],
            vec![8, 4],
        ];
        let store = store_packed(&expected);
        assert_eq!(stacks(&store), expected);
        assert_eq!(store.ids.len(), 4 + 1 + 2 + 1);
    }

    #[test]
    fn frames_after_a_tail_are_stored_in_order() {
        let mut budget = budget();
        let mut store = FrameStore::default();
        store.start_sample();
        assert!(store.push_packed(&[1, 2, 3], &mut budget).is_ok());
        assert!(store.end_sample(&mut budget).is_ok());
        // The first list shares [2, 3], then more frames follow in a second
        // list and in a field of their own.
        store.start_sample();
        assert!(store.push_packed(&[4, 2, 3], &mut budget).is_ok());
        assert!(store.push_packed(&[5], &mut budget).is_ok());
        assert!(store.push(6, &mut budget).is_ok());
        assert!(store.end_sample(&mut budget).is_ok());
        store.start_sample();
        assert!(store.push_packed(&[7, 5, 6], &mut budget).is_ok());
        assert!(store.end_sample(&mut budget).is_ok());
        let expected = vec![vec![1, 2, 3], vec![4, 2, 3, 5, 6], vec![7, 5, 6]];
        assert_eq!(stacks(&store), expected);
    }

    #[test]
    fn word_tests_match_byte_tests() {
        let mut random = crate::testing::Random(99);
        for len in 0..40 {
            for _ in 0..50 {
                // Mostly small bytes, so that lists of one-byte ids occur.
                let bytes: Vec<u8> = (0..len)
                    .map(|_| match random.below(20) {
                        0 => 0,
                        1 => 0x80 + random.below(0x80) as u8,
                        _ => 1 + random.below(0x7f) as u8,
                    })
                    .collect();
                let ends = bytes.iter().filter(|&&b| b < 0x80).count();
                assert_eq!(varint_ends(&bytes), ends, "{bytes:?}");
                let expected = (bytes.iter().all(|&b| b < 0x80), bytes.contains(&0));
                let (one_byte, has_zero) = one_byte_ids(&bytes);
                assert_eq!(one_byte, expected.0, "{bytes:?}");
                if one_byte {
                    assert_eq!(has_zero, expected.1, "{bytes:?}");
                }
            }
        }
    }

    #[test]
    fn one_byte_ids_are_copied() {
        let mut budget = budget();
        let mut frames = RawFrames::default();
        assert!(frames.push_packed(&[3, 1, 2], &mut budget).is_ok());
        assert!(matches!(&frames, RawFrames::U8(ids) if ids == &[3, 1, 2]));
    }

    #[test]
    fn frames_widen_for_each_larger_id() {
        let mut budget = budget();
        let mut frames = RawFrames::default();
        assert!(frames
            .push_packed(&varints(&[5, 200, 300]), &mut budget)
            .is_ok());
        assert!(matches!(&frames, RawFrames::U16(_)));
        assert!(frames.push(70_000, &mut budget).is_ok());
        assert!(matches!(&frames, RawFrames::U32(_)));
        let stored: Vec<u64> = (0..frames.len())
            .map(|i| u64::from(frames.get(i)))
            .collect();
        assert_eq!(stored, [5, 200, 300, 70_000]);
    }

    #[test]
    fn ids_beyond_32_bits_turn_frames_into_tokens() {
        // The first list stops at the large id and goes on with tokens; the
        // frames stored before it become tokens too.
        let expected = vec![
            vec![5, 300, 70_000],
            vec![9, 1 << 33, 7, 300],
            vec![u64::MAX, 7, 300],
        ];
        let store = store_packed(&expected);
        assert_eq!(stacks(&store), expected);
        assert!(store.tokens.is_some(), "no tokens");
        // The third stack shares its last two frames with the second.
        assert_eq!(store.ids.len(), 3 + 4 + 1);
        // Seven distinct ids take one-byte tokens.
        assert!(matches!(&store.ids, RawFrames::U8(_)));
    }

    #[test]
    fn raw_frames_stop_before_a_64_bit_id() {
        let mut budget = budget();
        let mut frames = RawFrames::default();
        let data = varints(&[3, 1 << 40, 4]);
        let stop = frames.push_packed(&data, &mut budget);
        assert!(matches!(stop, Ok(Some(1))), "did not stop after one byte");
        assert_eq!(frames.len(), 1);
    }

    #[test]
    fn zero_is_rejected_on_every_path() {
        let mut budget = budget();
        let mut frames = RawFrames::default();
        assert!(matches!(
            frames.push_packed(&[1, 0], &mut budget),
            Err(PushError::Zero)
        ));
        assert!(matches!(
            frames.push_packed(&varints(&[300, 0]), &mut budget),
            Err(PushError::Zero)
        ));
        assert!(matches!(
            frames.push_packed(&[0x80, 0x00], &mut budget),
            Err(PushError::Zero)
        ));
        let mut store = FrameStore::default();
        store.start_sample();
        assert!(matches!(store.push(0, &mut budget), Err(PushError::Zero)));
        // With tokens in use.
        assert!(store.push(1 << 40, &mut budget).is_ok());
        assert!(matches!(
            store.push_packed(&varints(&[3, 0]), &mut budget),
            Err(PushError::Zero)
        ));
    }

    #[test]
    fn ids_numbered_one_to_n_are_kept() {
        let mut budget = budget();
        let mut frames = RawFrames::default();
        assert!(frames.push_packed(&[2, 1, 3], &mut budget).is_ok());
        let finished = frames.finish(&[1, 2, 3], &mut budget);
        let (frames, order) = finished.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(stored(&frames), [2, 1, 3]);
        assert_eq!(order, Order::AsDefined);
    }

    #[test]
    fn unordered_ids_are_sorted() {
        let mut budget = budget();
        let mut frames = RawFrames::default();
        assert!(frames.push_packed(&[2, 1, 3], &mut budget).is_ok());
        let finished = frames.finish(&[3, 1, 2], &mut budget);
        let (frames, order) = finished.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(stored(&frames), [2, 1, 3]);
        assert_eq!(order, Order::ById);
    }

    #[test]
    fn sparse_ids_are_renumbered_in_definition_order() {
        for ids in [[900, 7, 1 << 19, 7], [900, 7, 1 << 40, 7]] {
            let store = store_packed(&[ids.to_vec()]);
            let mut budget = budget();
            let finished = store.finish(&[7, ids[2], 900], &mut budget);
            let finished = finished.unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(stored(&finished.frames), [3, 1, 2, 1], "ids {ids:?}");
            assert!(matches!(finished.frames, Frames::U8(_)));
            assert_eq!(finished.order, Order::AsDefined);
        }
    }

    #[test]
    fn undefined_id_is_named() {
        for defined in [&[1u64, 2][..], &[1, 5]] {
            let mut budget = budget();
            let mut frames = RawFrames::default();
            assert!(frames.push_packed(&[1, 4, 2], &mut budget).is_ok());
            let error = frames.finish(defined, &mut budget).err();
            let message = error.map(|e| e.to_string()).unwrap_or_default();
            assert!(
                message.contains("location id 4 is used by a sample but not defined"),
                "defined {defined:?}: {message}"
            );
        }
    }

    #[test]
    fn undefined_64_bit_id_is_named() {
        let store = store_packed(&[vec![1, 1 << 35]]);
        let mut budget = budget();
        let error = store.finish(&[1], &mut budget).err();
        let message = error.map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("location id 34359738368"), "{message}");
    }
}
