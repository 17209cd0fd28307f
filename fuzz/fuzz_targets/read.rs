//! Fuzzes profile reading: any bytes, gzipped or not, must give a profile or
//! an error, never a panic. For an accepted profile the target performs every
//! lookup that the model's indexing methods do, so an unchecked reference
//! panics here.

#![no_main]

use libfuzzer_sys::fuzz_target;
use pprof_chain::decode::{read_bytes, ReadOptions};

fuzz_target!(|data: &[u8]| {
    // A small limit keeps each run fast; the limits scale together.
    let options = ReadOptions {
        max_profile_bytes: 4 << 20,
    };
    let Ok(profile) = read_bytes(data, &options) else {
        return;
    };
    for sample in profile.samples() {
        assert_eq!(sample.values.len(), profile.sample_types.len());
        for location in sample.stack {
            for line in profile.location_lines(location) {
                let _ = profile.function_name(line.function);
            }
        }
        for label in sample.labels {
            let _ = (profile.str(label.key), profile.str(label.str));
        }
    }
    let _ = (
        profile.totals(),
        profile.kind(),
        profile.default_sample_index(),
    );
    for index in 0..profile.sample_types.len() {
        let _ = profile.sample_unit(index);
    }
});
