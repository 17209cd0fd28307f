//! Growth of [`SmallNumbers`] under the decoding budget.

use super::budget::Budget;
use crate::error::ProfileError;
use crate::model::SmallNumbers;

/// Appends `value`, first moving every number to a wider type when it does
/// not fit the current one. The wider vector gets the capacity of the
/// narrower, so a forecast made before widening still holds.
#[inline]
pub(super) fn push(
    numbers: &mut SmallNumbers,
    value: u32,
    budget: &mut Budget,
) -> Result<(), ProfileError> {
    match numbers {
        SmallNumbers::U8(vec) => {
            if let Ok(value) = u8::try_from(value) {
                return budget.push(vec, value);
            }
        }
        SmallNumbers::U16(vec) => {
            if let Ok(value) = u16::try_from(value) {
                return budget.push(vec, value);
            }
        }
        SmallNumbers::U32(vec) => return budget.push(vec, value),
    }
    widen(numbers, value, budget)?;
    push(numbers, value, budget)
}

/// Moves the numbers to the narrowest type that also fits `value`.
#[cold]
fn widen(numbers: &mut SmallNumbers, value: u32, budget: &mut Budget) -> Result<(), ProfileError> {
    *numbers = match std::mem::take(numbers) {
        SmallNumbers::U8(old) if u16::try_from(value).is_ok() => {
            SmallNumbers::U16(copy_into(&old, budget)?)
        }
        SmallNumbers::U8(old) => SmallNumbers::U32(copy_into(&old, budget)?),
        SmallNumbers::U16(old) => SmallNumbers::U32(copy_into(&old, budget)?),
        wide @ SmallNumbers::U32(_) => wide,
    };
    Ok(())
}

/// Copies `old` into a wider vector with room for one more number.
fn copy_into<T: Copy, U: From<T>>(old: &[T], budget: &mut Budget) -> Result<Vec<U>, ProfileError> {
    let mut wider = Vec::new();
    budget.reserve(&mut wider, old.len() + 1)?;
    wider.extend(old.iter().map(|&value| U::from(value)));
    Ok(wider)
}

/// Reserves room for `scale` times the numbers stored so far; see
/// [`Budget::reserve_forecast`].
pub(super) fn reserve_forecast(
    numbers: &mut SmallNumbers,
    budget: &mut Budget,
    scale: f64,
    slack: f64,
) {
    match numbers {
        SmallNumbers::U8(vec) => budget.reserve_forecast(vec, scale, slack),
        SmallNumbers::U16(vec) => budget.reserve_forecast(vec, scale, slack),
        SmallNumbers::U32(vec) => budget.reserve_forecast(vec, scale, slack),
    };
}

/// Releases the spare capacity of `numbers`; see [`Budget::shrink`].
pub(super) fn shrink(numbers: &mut SmallNumbers, budget: &mut Budget) {
    match numbers {
        SmallNumbers::U8(vec) => budget.shrink(vec),
        SmallNumbers::U16(vec) => budget.shrink(vec),
        SmallNumbers::U32(vec) => budget.shrink(vec),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(numbers: &SmallNumbers) -> Vec<u32> {
        (0..numbers.len()).map(|i| numbers.get(i)).collect()
    }

    #[test]
    fn numbers_widen_to_the_narrowest_type_that_fits() {
        let mut budget = Budget::for_limit(1 << 20);
        let mut numbers = SmallNumbers::default();
        push(&mut numbers, 7, &mut budget).expect("room in the budget");
        push(&mut numbers, 255, &mut budget).expect("room in the budget");
        assert!(matches!(numbers, SmallNumbers::U8(_)));
        push(&mut numbers, 256, &mut budget).expect("room in the budget");
        assert!(matches!(numbers, SmallNumbers::U16(_)));
        push(&mut numbers, u32::MAX, &mut budget).expect("room in the budget");
        assert!(matches!(numbers, SmallNumbers::U32(_)));
        push(&mut numbers, 3, &mut budget).expect("room in the budget");
        assert_eq!(values(&numbers), [7, 255, 256, u32::MAX, 3]);
    }

    #[test]
    fn push_widens_byte_straight_to_four() {
        let mut budget = Budget::for_limit(1 << 20);
        let mut numbers = SmallNumbers::default();
        push(&mut numbers, 1, &mut budget).expect("room in the budget");
        push(&mut numbers, 1 << 20, &mut budget).expect("room in the budget");
        assert!(matches!(numbers, SmallNumbers::U32(_)));
        assert_eq!(values(&numbers), [1, 1 << 20]);
    }

    #[test]
    fn widening_is_charged_to_the_budget() {
        // Room for 64 bytes of decoded data in all.
        let mut budget = Budget::for_limit(64 / super::super::budget::DECODED_BYTES_PER_INPUT_BYTE);
        let mut numbers = SmallNumbers::default();
        for _ in 0..40 {
            push(&mut numbers, 1, &mut budget).expect("room in the budget");
        }
        assert!(push(&mut numbers, u32::MAX, &mut budget).is_err());
    }
}
