//! Interning of sample label sets, so that samples with equal labels share one
//! set. The sets are stored back to back in one vector rather than one
//! allocation each, which keeps a file with millions of distinct sets cheap
//! to reject.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::mem::size_of;
use std::ops::Range;

use super::budget::Budget;
use crate::error::ProfileError;
use crate::model::Label;

/// Estimated memory of one hash map entry of a `u64` key and a `u32` value:
/// a 16-byte slot and a control byte, with up to 2.3 slots per entry because
/// the table doubles and stays at most 7/8 full.
const HASH_ENTRY_BYTES: usize = 40;

/// Marks the end of a chain of sets that share a hash.
const NO_SET: u32 = u32::MAX;

/// Distinct non-empty label sets. Set `i` (from 0) gets index `i + 1` in
/// `Profile::label_sets`, because index 0 is the empty set.
pub(super) struct LabelSets<S = foldhash::fast::RandomState> {
    labels: Vec<Label>,
    ranges: Vec<Range<u32>>,
    /// The first set of each hash, and for each set the next one with its hash.
    /// The hasher (foldhash) is keyed at random, so a file cannot be built
    /// to collide.
    first_by_hash: HashMap<u64, u32, BuildHasherDefault<PassThrough>>,
    next_same_hash: Vec<u32>,
    hasher: S,
    /// The bytes of the set being hashed, kept to reuse the allocation. It is
    /// not charged to the budget: at 20 bytes per label it is smaller than
    /// the builder's charged scratch of the same labels.
    hash_scratch: Vec<u8>,
    /// The set returned by the previous non-empty lookup.
    last: Option<u32>,
}

/// A hasher for keys that are already the output of the keyed `hasher` of
/// [`LabelSets`]: it passes the `u64` through instead of hashing it again.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // The map's `u64` keys use only `write_u64`. This fallback folds any
        // other input in, so the hasher stays correct for other key types.
        for &byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(byte);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

impl LabelSets {
    pub(super) fn new() -> Self {
        LabelSets::with_hasher(foldhash::fast::RandomState::default())
    }
}

impl<S: BuildHasher> LabelSets<S> {
    fn with_hasher(hasher: S) -> Self {
        LabelSets {
            labels: Vec::new(),
            ranges: Vec::new(),
            first_by_hash: HashMap::default(),
            next_same_hash: Vec::new(),
            hasher,
            hash_scratch: Vec::new(),
            last: None,
        }
    }

    /// Returns the `Profile::label_sets` index of `set`, adding it if new.
    pub(super) fn intern(
        &mut self,
        set: &[Label],
        budget: &mut Budget,
    ) -> Result<u32, ProfileError> {
        if set.is_empty() {
            return Ok(0);
        }
        // Consecutive samples often share one set: 262,166 of the 262,483
        // samples of the larger profile in BENCHMARKS.md do.
        if let Some(last) = self.last {
            if self.get(last) == set {
                return Ok(last + 1);
            }
        }
        let hash = self.hash(set);
        let first = self.first_by_hash.get(&hash).copied();
        let mut candidate = first.unwrap_or(NO_SET);
        while candidate != NO_SET {
            if self.get(candidate) == set {
                self.last = Some(candidate);
                return Ok(candidate + 1);
            }
            candidate = self.next_same_hash[candidate as usize];
        }
        self.push(set, hash, first, budget)
    }

    /// Hashes the fields of `set` as one byte string, in one `write` instead
    /// of the four per label of the derived `Hash`.
    fn hash(&mut self, set: &[Label]) -> u64 {
        let bytes = &mut self.hash_scratch;
        bytes.clear();
        for label in set {
            bytes.extend_from_slice(&label.key.0.to_le_bytes());
            bytes.extend_from_slice(&label.str.0.to_le_bytes());
            bytes.extend_from_slice(&label.num.to_le_bytes());
            bytes.extend_from_slice(&label.num_unit.0.to_le_bytes());
        }
        let mut hasher = self.hasher.build_hasher();
        hasher.write(bytes);
        hasher.finish()
    }

    fn push(
        &mut self,
        set: &[Label],
        hash: u64,
        first: Option<u32>,
        budget: &mut Budget,
    ) -> Result<u32, ProfileError> {
        let too_many = || ProfileError::invalid("more than 2^32 labels in all label sets");
        let index = u32::try_from(self.ranges.len())
            .ok()
            .filter(|&index| index < NO_SET - 1)
            .ok_or_else(too_many)?;
        let start = u32::try_from(self.labels.len()).map_err(|_| too_many())?;
        let end = u32::try_from(self.labels.len() + set.len()).map_err(|_| too_many())?;
        budget.reserve(&mut self.labels, set.len())?;
        budget.reserve(&mut self.ranges, 1)?;
        budget.reserve(&mut self.next_same_hash, 1)?;
        if first.is_none() {
            budget.charge(HASH_ENTRY_BYTES)?;
        }
        // The set joins the front of its hash's chain.
        self.labels.extend_from_slice(set);
        self.ranges.push(start..end);
        self.next_same_hash.push(first.unwrap_or(NO_SET));
        self.first_by_hash.insert(hash, index);
        self.last = Some(index);
        Ok(index + 1)
    }

    fn get(&self, index: u32) -> &[Label] {
        let range = &self.ranges[index as usize];
        &self.labels[range.start as usize..range.end as usize]
    }

    /// Charges the memory that [`LabelSets::into_profile_sets`] will allocate.
    pub(super) fn charge_profile_sets(&self, budget: &mut Budget) -> Result<(), ProfileError> {
        let vectors = (self.ranges.len() + 1) * size_of::<Vec<Label>>();
        budget.charge(vectors + self.labels.len() * size_of::<Label>())
    }

    /// Lists the sets in the form of `Profile::label_sets`: the empty set
    /// first, then each set in the order first seen.
    pub(super) fn into_profile_sets(self) -> Vec<Vec<Label>> {
        let mut sets = Vec::with_capacity(self.ranges.len() + 1);
        sets.push(Vec::new());
        for index in 0..self.ranges.len() {
            sets.push(self.get(index as u32).to_vec());
        }
        sets
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::StrId;

    fn numeric(key: u32, num: i64) -> Label {
        Label {
            key: StrId(key),
            str: StrId(0),
            num,
            num_unit: StrId(0),
        }
    }

    #[test]
    fn intern_shares_equal_sets() {
        let mut budget = Budget::for_limit(1 << 20);
        let mut sets = LabelSets::new();
        let a = [numeric(1, 64)];
        let b = [numeric(1, 64), numeric(2, 3)];
        assert_eq!(sets.intern(&[], &mut budget).ok(), Some(0));
        assert_eq!(sets.intern(&a, &mut budget).ok(), Some(1));
        assert_eq!(sets.intern(&b, &mut budget).ok(), Some(2));
        assert_eq!(sets.intern(&a, &mut budget).ok(), Some(1));
        let profile_sets = sets.into_profile_sets();
        assert_eq!(profile_sets, [vec![], a.to_vec(), b.to_vec()]);
    }

    /// A hasher that maps everything to 0, so every set collides.
    #[derive(Default)]
    struct ZeroHasher;

    impl std::hash::Hasher for ZeroHasher {
        fn finish(&self) -> u64 {
            0
        }

        fn write(&mut self, _bytes: &[u8]) {}
    }

    #[test]
    fn intern_tells_colliding_sets_apart() {
        let hasher = std::hash::BuildHasherDefault::<ZeroHasher>::default();
        let mut budget = Budget::for_limit(1 << 20);
        let mut sets = LabelSets::with_hasher(hasher);
        let all: Vec<[Label; 1]> = (0..5).map(|num| [numeric(1, num)]).collect();
        for (i, set) in all.iter().enumerate() {
            assert_eq!(sets.intern(set, &mut budget).ok(), Some(i as u32 + 1));
        }
        for (i, set) in all.iter().enumerate().rev() {
            assert_eq!(sets.intern(set, &mut budget).ok(), Some(i as u32 + 1));
        }
    }

    #[test]
    fn intern_repeats_the_previous_set() {
        let mut budget = Budget::for_limit(1 << 20);
        let mut sets = LabelSets::new();
        let a = [numeric(1, 64)];
        let b = [numeric(1, 128)];
        let order = [(&a, 1), (&a, 1), (&b, 2), (&b, 2), (&a, 1), (&b, 2)];
        for (set, expected) in order {
            assert_eq!(sets.intern(set, &mut budget).ok(), Some(expected));
        }
        assert_eq!(sets.intern(&[], &mut budget).ok(), Some(0));
        assert_eq!(sets.intern(&b, &mut budget).ok(), Some(2));
    }
}
