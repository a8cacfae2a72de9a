//! Simulating one 40 ft dual-energy scan (target: under 0.5 s on one core), and writing it.

use criterion::{Criterion, criterion_group, criterion_main};
use scantriage::sim::detector::Dose;
use scantriage::sim::scenario::Scenario;
use scantriage::sim::{Layout, SimOptions, simulate};
use scantriage::taxonomy::Taxonomy;

fn forty_foot_options() -> SimOptions {
    SimOptions {
        seed: 7,
        scenario: Some(Scenario::Honest),
        layout: Some(Layout::Forty),
        dose: Some(Dose::Normal),
        ..SimOptions::default()
    }
}

fn bench_simulate(c: &mut Criterion) {
    let taxonomy = Taxonomy::built_in();
    let options = forty_foot_options();
    let mut group = c.benchmark_group("simulate");
    group.sample_size(20);
    let mut index = 0;
    group.bench_function("40ft_dual_energy", |b| {
        b.iter(|| {
            index += 1;
            simulate(&options, index % 8, &taxonomy)
        })
    });
    let scan = simulate(&options, 0, &taxonomy);
    let dir = tempfile::tempdir().expect("temporary directory");
    group.bench_function("40ft_write_png", |b| {
        b.iter(|| scantriage::sim::output::write_scan(dir.path(), &scan).expect("write"))
    });
    group.finish();
}

criterion_group!(benches, bench_simulate);
criterion_main!(benches);
