//! Profiles built in memory for unit tests of the decoder and the analyses.

use prost::Message;

use crate::decode::{read_bytes, ReadOptions};
use crate::model::Profile;
use crate::pb;

/// One sample of a test profile.
pub(crate) struct TestSample {
    /// Location ids, leaf first.
    pub(crate) stack: Vec<u64>,
    /// inuse_objects and inuse_space.
    pub(crate) values: [i64; 2],
    /// The numeric `bytes` label, if any.
    pub(crate) bytes: Option<i64>,
}

/// Returns the encoding of a profile with `locations` locations, numbered 1
/// to N. Location `i` is function `main.f{i}`, except that every location
/// whose id is a multiple of `inlined_every` also has `main.f{i}` inlined
/// into `main.caller{i}` (0 for none).
pub(crate) fn encode(locations: u64, inlined_every: u64, samples: &[TestSample]) -> Vec<u8> {
    let mut strings = vec![
        String::new(),
        "inuse_objects".to_string(),
        "count".to_string(),
        "inuse_space".to_string(),
        "bytes".to_string(),
    ];
    let mut string = |text: String| {
        strings.push(text);
        strings.len() as i64 - 1
    };
    let mut profile = pb::Profile {
        sample_type: vec![
            pb::ValueType { r#type: 1, unit: 2 },
            pb::ValueType { r#type: 3, unit: 4 },
        ],
        ..Default::default()
    };
    for id in 1..=locations {
        let name = string(format!("main.f{id}"));
        profile.function.push(pb::Function {
            id,
            name,
            system_name: name,
            ..Default::default()
        });
        let mut lines = vec![pb::Line {
            function_id: id,
            line: 10,
            column: 0,
        }];
        if inlined_every != 0 && id % inlined_every == 0 {
            let caller = string(format!("main.caller{id}"));
            let caller_id = locations + id;
            profile.function.push(pb::Function {
                id: caller_id,
                name: caller,
                system_name: caller,
                ..Default::default()
            });
            lines.push(pb::Line {
                function_id: caller_id,
                line: 20,
                column: 0,
            });
        }
        profile.location.push(pb::Location {
            id,
            line: lines,
            ..Default::default()
        });
    }
    for sample in samples {
        let label = sample.bytes.map(|num| pb::Label {
            key: 4,
            num,
            ..Default::default()
        });
        profile.sample.push(pb::Sample {
            location_id: sample.stack.clone(),
            value: sample.values.to_vec(),
            label: label.into_iter().collect(),
        });
    }
    profile.string_table = strings;
    profile.encode_to_vec()
}

/// Decodes what [`encode`] returns.
pub(crate) fn decode(bytes: &[u8]) -> Profile {
    read_bytes(bytes, &ReadOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

/// A generator of pseudo-random numbers for tests (xorshift), so that test
/// data is the same on every run.
pub(crate) struct Random(pub(crate) u64);

impl Random {
    /// Returns a number below `bound`, which must not be 0.
    pub(crate) fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound
    }
}

/// Returns `count` stacks over locations 1 to `locations`, each keeping a
/// random part of the previous stack's outer end, as sibling stacks do, and
/// with locations that recur.
pub(crate) fn sibling_stacks(random: &mut Random, count: usize, locations: u64) -> Vec<Vec<u64>> {
    let mut stacks: Vec<Vec<u64>> = Vec::new();
    let mut previous: Vec<u64> = Vec::new();
    for _ in 0..count {
        let keep = random.below(previous.len() as u64 + 1) as usize;
        let mut stack: Vec<u64> = (0..random.below(6))
            .map(|_| 1 + random.below(locations))
            .collect();
        stack.extend_from_slice(&previous[previous.len() - keep..]);
        stacks.push(stack.clone());
        previous = stack;
    }
    stacks
}
