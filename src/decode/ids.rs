//! Dense indexes for the arbitrary u64 ids of locations, functions and
//! mappings, and the tables their definitions are collected in.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::mem::size_of;

use super::budget::Budget;
use crate::error::ProfileError;

/// Ids below this bound map through a table, larger ones through a hash map.
/// The table costs 4 bytes per slot up to the largest id seen, at most 4 MiB
/// per id space, which the budget does not charge. [`IdMap`] also takes
/// larger ids into its table while they stay below a few times the number
/// of ids, as ids numbered from 1 do, and charges those slots.
pub(super) const DIRECT_ID_LIMIT: u64 = 1 << 20;

/// Slots of the direct table allowed per id seen, beyond [`DIRECT_ID_LIMIT`].
const DIRECT_SLOTS_PER_ID: u64 = 4;

/// Estimated memory of one hash map entry of a `u64` key and a `u32` value:
/// a 16-byte slot and a control byte, with up to 2.3 slots per entry because
/// the table doubles and stays at most 7/8 full.
pub(super) const SPARSE_ENTRY_BYTES: usize = 40;

/// Assigns dense indexes to ids in the order they are first seen, so a
/// reference may come before its definition.
#[derive(Default)]
pub(super) struct IdMap {
    direct: Vec<u32>,
    sparse: HashMap<u64, u32>,
    /// The id of each dense index.
    pub(super) raw: Vec<u64>,
}

impl IdMap {
    /// Returns the dense index of `id`, assigning the next one if `id` is new.
    /// An id already in the direct table costs one bounds check.
    #[inline]
    pub(super) fn dense(&mut self, id: u64, budget: &mut Budget) -> Result<u32, ProfileError> {
        // The table is never longer than a usize can count, so an id that
        // does not fit one cannot be in it.
        let slot = usize::try_from(id).ok().and_then(|i| self.direct.get(i));
        match slot {
            Some(&slot) if slot != 0 => Ok(slot - 1),
            _ => self.dense_slow(id, budget),
        }
    }

    /// Looks up or assigns the index of an id that is not yet in the direct
    /// table.
    #[inline(never)]
    fn dense_slow(&mut self, id: u64, budget: &mut Budget) -> Result<u32, ProfileError> {
        // An id that went to the hash map while the table was shorter stays
        // there.
        if !self.sparse.is_empty() {
            if let Some(&dense) = self.sparse.get(&id) {
                return Ok(dense);
            }
        }
        let bound = DIRECT_ID_LIMIT.max((self.raw.len() as u64 + 1) * DIRECT_SLOTS_PER_ID);
        if id < bound {
            let slot = id as usize;
            if slot >= self.direct.len() {
                let charged = |len: usize| len.saturating_sub(DIRECT_ID_LIMIT as usize);
                let added = charged(slot + 1) - charged(self.direct.len());
                budget.charge(added * size_of::<u32>())?;
                self.direct.resize(slot + 1, 0);
            }
            if self.direct[slot] == 0 {
                self.direct[slot] = push(&mut self.raw, id, budget)? + 1;
            }
            return Ok(self.direct[slot] - 1);
        }
        match self.sparse.entry(id) {
            Entry::Occupied(entry) => Ok(*entry.get()),
            Entry::Vacant(entry) => {
                budget.charge(SPARSE_ENTRY_BYTES)?;
                let dense = push(&mut self.raw, id, budget)?;
                entry.insert(dense);
                Ok(dense)
            }
        }
    }
}

/// Appends `id` to `raw` and returns its dense index.
fn push(raw: &mut Vec<u64>, id: u64, budget: &mut Budget) -> Result<u32, ProfileError> {
    // Dense indexes are stored plus one in `IdMap::direct`, so the largest is
    // u32::MAX - 1.
    let dense = u32::try_from(raw.len())
        .ok()
        .filter(|&dense| dense < u32::MAX)
        .ok_or_else(|| ProfileError::invalid("more than 2^32 distinct ids in one table"))?;
    budget.reserve(raw, 1)?;
    raw.push(id);
    Ok(dense)
}

/// Stores the definition of dense index `dense`, rejecting a second one.
pub(super) fn define<T>(
    table: &mut Vec<Option<T>>,
    budget: &mut Budget,
    dense: usize,
    value: T,
    what: &str,
    id: u64,
) -> Result<(), ProfileError> {
    if dense >= table.len() {
        budget.reserve(table, dense + 1 - table.len())?;
        table.resize_with(dense + 1, || None);
    }
    if table[dense].is_some() {
        return Err(ProfileError::invalid(format!(
            "{what} id {id} is defined twice; each {what} needs a unique id"
        )));
    }
    // `resolve` copies every definition into a second vector.
    budget.charge(size_of::<T>())?;
    table[dense] = Some(value);
    Ok(())
}

/// Turns the table of definitions into a dense vector, failing on the first id
/// that `referrer` refers to but the profile never defines.
pub(super) fn resolve<T>(
    table: Vec<Option<T>>,
    ids: &IdMap,
    what: &str,
    referrer: &str,
) -> Result<Vec<T>, ProfileError> {
    let mut resolved = Vec::with_capacity(ids.raw.len());
    let mut table = table.into_iter();
    for &raw in &ids.raw {
        match table.next().flatten() {
            Some(value) => resolved.push(value),
            None => {
                return Err(ProfileError::invalid(format!(
                    "{what} id {raw} is used by {referrer} but not defined; \
                     the profile is incomplete or corrupt"
                )))
            }
        }
    }
    Ok(resolved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_indexes_follow_first_use() {
        let mut budget = Budget::for_limit(1 << 20);
        let mut ids = IdMap::default();
        let large = DIRECT_ID_LIMIT + 5;
        assert_eq!(ids.dense(7, &mut budget).ok(), Some(0));
        assert_eq!(ids.dense(large, &mut budget).ok(), Some(1));
        assert_eq!(ids.dense(1, &mut budget).ok(), Some(2));
        assert_eq!(ids.dense(7, &mut budget).ok(), Some(0));
        assert_eq!(ids.dense(large, &mut budget).ok(), Some(1));
        assert_eq!(ids.raw, [7, large, 1]);
    }

    #[test]
    fn dense_grows_direct_table_on_demand() {
        let mut budget = Budget::for_limit(1 << 20);
        let mut ids = IdMap::default();
        // Each id is first seen past the end of the table, then looked up
        // through it.
        for (dense, id) in [3u64, 1, 1000, 2].into_iter().enumerate() {
            assert_eq!(ids.dense(id, &mut budget).ok(), Some(dense as u32));
        }
        for (dense, id) in [3u64, 1, 1000, 2].into_iter().enumerate() {
            assert_eq!(ids.dense(id, &mut budget).ok(), Some(dense as u32));
        }
        assert_eq!(ids.direct.len(), 1001);
    }

    #[test]
    fn dense_separates_ids_at_direct_limit() {
        let mut budget = Budget::for_limit(1 << 20);
        let mut ids = IdMap::default();
        let ids_in_order = [DIRECT_ID_LIMIT - 1, DIRECT_ID_LIMIT, u64::MAX];
        for (dense, id) in ids_in_order.into_iter().enumerate() {
            assert_eq!(ids.dense(id, &mut budget).ok(), Some(dense as u32));
        }
        for (dense, id) in ids_in_order.into_iter().enumerate() {
            assert_eq!(ids.dense(id, &mut budget).ok(), Some(dense as u32));
        }
        assert_eq!(ids.direct.len() as u64, DIRECT_ID_LIMIT);
        assert_eq!(ids.raw, ids_in_order);
    }

    #[test]
    fn ids_numbered_from_one_stay_in_the_table() {
        let mut budget = Budget::for_limit(1 << 30);
        let mut ids = IdMap::default();
        // An id beyond the table goes to the hash map, and keeps its index
        // once the table has grown past it.
        let early = 3 * DIRECT_ID_LIMIT;
        assert_eq!(ids.dense(early, &mut budget).ok(), Some(0));
        for id in 1..=2 * DIRECT_ID_LIMIT {
            assert_eq!(ids.dense(id, &mut budget).ok(), Some(id as u32));
        }
        assert_eq!(ids.sparse.len(), 1);
        assert_eq!(ids.direct.len() as u64, 2 * DIRECT_ID_LIMIT + 1);
        assert_eq!(ids.dense(early, &mut budget).ok(), Some(0));
        assert_eq!(
            ids.dense(early + 1, &mut budget).ok(),
            Some(2 * DIRECT_ID_LIMIT as u32 + 1)
        );
        assert_eq!(ids.sparse.len(), 1);
    }

    #[test]
    fn define_rejects_a_second_definition() {
        let mut budget = Budget::for_limit(1 << 20);
        let mut table = Vec::new();
        assert!(define(&mut table, &mut budget, 2, 'a', "function", 9).is_ok());
        let error = define(&mut table, &mut budget, 2, 'b', "function", 9);
        let message = error.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(
            message.contains("function id 9 is defined twice"),
            "{message}"
        );
    }
}
