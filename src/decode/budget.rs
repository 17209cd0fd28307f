//! A cap on the memory the decoded profile may take, so that a file under the
//! decompressed size limit still cannot decode into gigabytes.
//!
//! Protobuf packs small numbers into single bytes that decode into 8-byte
//! values, and every string or table entry carries fixed overhead. Decoded
//! data can so be many times larger than its encoding: 2 bytes of empty
//! string become a 24-byte `String`, for example. The decoder charges the memory it
//! allocates for the profile to the budget before allocating it: the capacity
//! of every growing `Vec`, the text of every string, and an estimate for each
//! hash map entry.

use std::mem::size_of;

use crate::error::ProfileError;

/// Bytes of decoded profile allowed per byte of the `--max-profile-bytes`
/// limit, which makes 1 GiB for the default 128 MiB. Go heap profiles of
/// 2 KB to 10 MB took 3 to 6 bytes per decompressed byte, counting the spare
/// capacity of vectors.
pub(crate) const DECODED_BYTES_PER_INPUT_BYTE: u64 = 8;

pub(crate) struct Budget {
    used: u64,
    max: u64,
    limit: u64,
}

impl Budget {
    /// Creates the budget for a decompressed size limit of `limit` bytes.
    pub(crate) fn for_limit(limit: u64) -> Self {
        Budget {
            used: 0,
            max: limit.saturating_mul(DECODED_BYTES_PER_INPUT_BYTE),
            limit,
        }
    }

    /// Appends `value`, reserving room as [`Budget::reserve`] does when the
    /// vector is full. The check for room is inline: most pushes need none.
    #[inline]
    pub(crate) fn push<T>(&mut self, vec: &mut Vec<T>, value: T) -> Result<(), ProfileError> {
        if vec.len() == vec.capacity() {
            self.reserve(vec, 1)?;
        }
        vec.push(value);
        Ok(())
    }

    /// Fails when `bytes` alone would pass the cap. For memory that the
    /// analysis of a profile allocates after reading it.
    pub(crate) fn check_fits(&self, bytes: u64) -> Result<(), ProfileError> {
        if bytes > self.max {
            return Err(ProfileError::DecodedTooLarge {
                limit: self.limit,
                budget: self.max,
            });
        }
        Ok(())
    }

    /// Releases the spare capacity of `vec` and takes it off the total, as
    /// every capacity was charged when it was reserved.
    pub(crate) fn shrink<T>(&mut self, vec: &mut Vec<T>) {
        let before = vec.capacity();
        vec.shrink_to_fit();
        let released = before.saturating_sub(vec.capacity()) * size_of::<T>();
        self.used = self.used.saturating_sub(released as u64);
    }

    /// Records `bytes` more of decoded data, failing once the total passes the cap.
    #[inline]
    pub(crate) fn charge(&mut self, bytes: usize) -> Result<(), ProfileError> {
        self.used = self.used.saturating_add(bytes as u64);
        if self.used > self.max {
            return Err(ProfileError::DecodedTooLarge {
                limit: self.limit,
                budget: self.max,
            });
        }
        Ok(())
    }

    /// Makes room in `vec` for `additional` more elements, charging the new
    /// capacity before it is allocated. Capacity at least doubles, as in
    /// `Vec::push`, so the cost per element stays constant.
    #[inline]
    pub(crate) fn reserve<T>(
        &mut self,
        vec: &mut Vec<T>,
        additional: usize,
    ) -> Result<(), ProfileError> {
        let needed = vec.len().saturating_add(additional);
        if needed <= vec.capacity() {
            return Ok(());
        }
        let capacity = needed.max(vec.capacity().saturating_mul(2)).max(8);
        let added = capacity - vec.capacity();
        let bytes = added.saturating_mul(size_of::<T>());
        self.charge(bytes)?;
        // With a raised limit the budget can allow more than the system
        // gives; that ends in an error, not an abort.
        vec.try_reserve_exact(capacity - vec.len())
            .map_err(|_| ProfileError::OutOfMemory {
                bytes: bytes as u64,
            })
    }
}

impl Budget {
    /// Reserves room in `vec` for `scale` times its length and a share
    /// `slack` more, if its capacity is below `scale` times its length, the
    /// budget can cover it and the allocation succeeds. Returns whether it
    /// did. Room is reserved only when the forecast outgrows the capacity, so
    /// forecasts that change a little do not copy the vector each time.
    pub(crate) fn reserve_forecast<T>(&mut self, vec: &mut Vec<T>, scale: f64, slack: f64) -> bool {
        let forecast = vec.len() as f64 * scale;
        if forecast <= vec.capacity() as f64 {
            return false;
        }
        let reserved = (forecast * (1.0 + slack)) as usize;
        let added = (reserved - vec.capacity()).saturating_mul(size_of::<T>()) as u64;
        if self.used.saturating_add(added) > self.max {
            return false;
        }
        // A forecast is a guess, so an allocation that fails only skips it.
        if vec.try_reserve_exact(reserved - vec.len()).is_err() {
            return false;
        }
        self.used += added;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charge_fails_past_the_cap() {
        let mut budget = Budget::for_limit(10);
        let cap = 10 * DECODED_BYTES_PER_INPUT_BYTE as usize;
        assert!(budget.charge(cap).is_ok());
        let message = budget.charge(1).err().map(|e| e.to_string());
        let message = message.unwrap_or_default();
        assert!(message.contains("would take more than"), "{message}");
    }

    #[test]
    fn reserve_charges_before_allocating() {
        // Room for exactly 8 values of 8 bytes.
        let mut budget = Budget::for_limit(64 / DECODED_BYTES_PER_INPUT_BYTE);
        let mut values: Vec<i64> = Vec::new();
        assert!(budget.reserve(&mut values, 1).is_ok());
        assert_eq!(values.capacity(), 8);
        assert!(budget.reserve(&mut values, 9).is_err());
        assert_eq!(
            values.capacity(),
            8,
            "capacity grew although the charge failed"
        );
    }
}
