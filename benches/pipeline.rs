//! Benchmarks of reading, top, diff and trend on large heap profiles.
//!
//! The inputs are the two profiles that `testdata/bigstacks.sh` writes into
//! `target/bigstacks`: about 131,000 and 262,000 samples, 7 and 15 MB
//! uncompressed. `scripts/bench-vs-pprof.sh` writes them when they are missing.

mod common;

use criterion::{criterion_group, criterion_main, Criterion};

use pprof_chain::analysis::growth::{analyze, reduce, Axis, AxisSource};
use pprof_chain::analysis::sites::{aggregate, Granularity};
use pprof_chain::analysis::top::{top, TopOptions};
use pprof_chain::decode::{read_file, ReadOptions};

use common::{gunzip_and_walk, inputs};

fn benchmarks(c: &mut Criterion) {
    let (small, large) = inputs();
    let options = ReadOptions::default();
    let mut group = c.benchmark_group("large");
    group.sample_size(30);
    group.bench_function("gunzip_and_walk", |b| b.iter(|| gunzip_and_walk(&large)));
    group.bench_function("read", |b| {
        b.iter(|| read_file(&large, &options).expect("read"))
    });
    let profile = read_file(&large, &options).expect("read");
    group.bench_function("top", |b| {
        b.iter(|| {
            let table = aggregate(&profile, Granularity::Functions);
            top(&table, 3, "inuse_space", "bytes", &TopOptions::default())
        })
    });
    group.bench_function("diff", |b| {
        b.iter(|| {
            let before = read_file(&small, &options).expect("read");
            let after = read_file(&large, &options).expect("read");
            let reduced = vec![
                reduce("before", &before, Granularity::Functions),
                reduce("after", &after, Granularity::Functions),
            ];
            let axis = Axis {
                source: AxisSource::Order,
                values: vec![0.0, 1.0],
            };
            analyze(&reduced, axis).expect("analyze")
        })
    });
    let reduced_large = reduce("large", &profile, Granularity::Functions);
    for count in [4usize, 8, 16] {
        let series: Vec<_> = (0..count).map(|_| reduced_large.clone()).collect();
        let axis = Axis {
            source: AxisSource::Option,
            values: (0..count).map(|i| i as f64).collect(),
        };
        group.bench_function(format!("trend_analyze_{count}"), |b| {
            b.iter(|| analyze(&series, axis.clone()).expect("analyze"))
        });
    }
    group.finish();
}

criterion_group!(benches, benchmarks);
criterion_main!(benches);
