//! The sampling model of Go heap profiles, used to tell real change from
//! sampling noise.

use crate::model::{Profile, Values};

/// Sampling parameters of a heap profile, to tell real change from sampling
/// noise.
///
/// Go records an allocation of `size` bytes with probability
/// `1 - exp(-size / rate)` and scales the recorded counts up by its inverse,
/// so a scaled count of `n` objects rests on about `n * p` real samples.
#[derive(Clone, Copy, Debug)]
pub struct Sampling {
    inuse_objects: Option<usize>,
    inuse_space: Option<usize>,
    /// Bytes between samples (runtime.MemProfileRate); 1 or less is exact.
    rate: f64,
}

impl Sampling {
    pub fn of(profile: &Profile) -> Self {
        let space_period = profile
            .period_type
            .is_some_and(|t| profile.str(t.kind) == "space");
        Sampling {
            inuse_objects: profile.sample_type_index("inuse_objects"),
            inuse_space: profile.sample_type_index("inuse_space"),
            rate: if space_period {
                profile.period as f64
            } else {
                1.0
            },
        }
    }

    /// Variance of one sample's scaled in-use bytes. The runtime kept each of
    /// `n` objects of `size` bytes with probability p, so the scaled count has
    /// variance n(1-p)/p and the bytes size² times that.
    pub fn variance(&self, values: Values<'_>) -> f64 {
        let (Some(objects), Some(space)) = (self.inuse_objects, self.inuse_space) else {
            return 0.0;
        };
        let count = values.get(objects) as f64;
        if count <= 0.0 || self.rate <= 1.0 {
            return 0.0;
        }
        let size = values.get(space) as f64 / count;
        let kept = -(-size / self.rate).exp_m1();
        size * size * count * (1.0 - kept) / kept
    }
}
