use crate::model::LocId;
use crate::testing::{decode, encode, sibling_stacks, Random, TestSample};

fn samples_of(stacks: &[Vec<u64>]) -> Vec<TestSample> {
    stacks
        .iter()
        .map(|stack| TestSample {
            stack: stack.clone(),
            values: [1, 16],
            bytes: Some(16),
        })
        .collect()
}

#[test]
fn stacks_read_as_written() {
    // Location counts for frames of one, two and four bytes.
    for locations in [200, 3_000, 70_000] {
        let mut random = Random(0x9e37_79b9_7f4a_7c15 ^ locations);
        let stacks = sibling_stacks(&mut random, 3_000, locations);
        let profile = decode(&encode(locations, 0, &samples_of(&stacks)));
        assert_eq!(profile.sample_count(), stacks.len());
        for (index, (sample, expected)) in profile.samples().zip(&stacks).enumerate() {
            let read: Vec<u64> = sample.stack.iter().map(|l| u64::from(l.0) + 1).collect();
            assert_eq!(&read, expected, "sample {index} of {locations} locations");
            assert_eq!(
                sample.stack.len(),
                expected.len(),
                "length of sample {index}"
            );
            assert_eq!(
                sample.stack.first(),
                expected.first().map(|&id| LocId(id as u32 - 1))
            );
            let by_index = profile.sample(index).stack.to_vec();
            assert_eq!(by_index, sample.stack.to_vec(), "sample {index} by index");
        }
    }
}

#[test]
fn shared_frames_are_stored_once() {
    let mut random = Random(7);
    let stacks = sibling_stacks(&mut random, 2_000, 100);
    let profile = decode(&encode(100, 0, &samples_of(&stacks)));
    let all: usize = stacks.iter().map(Vec::len).sum();
    let stored = *profile.samples.stack_starts.last().unwrap_or(&0) as usize;
    assert!(stored < all / 2, "{stored} of {all} frames stored");
}

#[test]
fn repeated_labels_keep_their_values() {
    let labels = [
        Some(64),
        Some(64),
        Some(128),
        Some(64),
        None,
        Some(64),
        Some(64),
    ];
    let samples: Vec<TestSample> = labels
        .iter()
        .map(|&bytes| TestSample {
            stack: vec![1],
            values: [1, bytes.unwrap_or(8)],
            bytes,
        })
        .collect();
    let profile = decode(&encode(1, 0, &samples));
    let read: Vec<Option<i64>> = profile
        .samples()
        .map(|sample| profile.numeric_label(&sample, "bytes"))
        .collect();
    assert_eq!(read, labels);
    // Equal sets are one set, however they were recognized.
    assert_eq!(profile.label_sets.len(), 3);
}
