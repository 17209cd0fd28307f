//! Compares reading a profile with the floor for reading it: gunzipping it
//! and walking its protobuf fields once.
//!
//! The two are timed in turn, round after round, and the medians compared.
//! On a shared or virtual machine the speed of a core drifts by tens of
//! percent within minutes. Timing each in a run of its own, as criterion
//! does, then measures the drift as much as the code.
//!
//! Use: `cargo bench --bench read_floor [-- FILE [ROUNDS]]`. Without a file
//! it reads the larger profile that `testdata/bigstacks.sh` writes.

mod common;

use std::path::PathBuf;
use std::time::Instant;

use pprof_chain::decode::{read_file, ReadOptions};

use common::{gunzip_and_walk, inputs};

/// Rounds when none are given; each reads the file twice.
const DEFAULT_ROUNDS: usize = 60;

fn main() {
    // Cargo passes `--bench` to benchmarks without a harness.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|arg| !arg.starts_with("--"))
        .collect();
    let path = match args.first() {
        Some(path) => PathBuf::from(path),
        None => inputs().1,
    };
    let rounds = match args.get(1) {
        Some(rounds) => rounds.parse().expect("ROUNDS must be a whole number"),
        None => DEFAULT_ROUNDS,
    };
    let options = ReadOptions::default();
    // One round of each before timing: the first reads fault in memory
    // that later ones reuse.
    gunzip_and_walk(&path);
    read_file(&path, &options).expect("read the profile");

    let mut floor = Vec::with_capacity(rounds);
    let mut read = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let start = Instant::now();
        std::hint::black_box(gunzip_and_walk(&path));
        floor.push(start.elapsed().as_secs_f64() * 1e3);
        let start = Instant::now();
        std::hint::black_box(read_file(&path, &options).expect("read the profile"));
        read.push(start.elapsed().as_secs_f64() * 1e3);
    }
    let ratios: Vec<f64> = read.iter().zip(&floor).map(|(r, f)| r / f).collect();
    println!("file:   {}", path.display());
    println!("rounds: {rounds}");
    report("floor (gunzip and walk)", floor.clone(), "ms");
    report("read", read.clone(), "ms");
    report("read / floor, each round", ratios, "");
    println!(
        "ratio of the medians: {:.2} (target: at most 1.5)",
        median(&mut read) / median(&mut floor)
    );
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Prints the median and quartiles of `values`.
fn report(name: &str, mut values: Vec<f64>, unit: &str) {
    values.sort_by(f64::total_cmp);
    let at = |share: f64| values[((values.len() - 1) as f64 * share).round() as usize];
    println!(
        "{name}: median {:.2}{unit}, quartiles {:.2} to {:.2}{unit}, min {:.2}{unit}",
        at(0.5),
        at(0.25),
        at(0.75),
        values[0]
    );
}
