//! Simulating one 40 ft dual-energy scan (target: under 0.5 s on one core), writing it, and
//! packing each category of goods into a 40 ft hold.

use criterion::{Criterion, criterion_group, criterion_main};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use scantriage::sim::canvas::Canvas;
use scantriage::sim::cargo::{Goods, load};
use scantriage::sim::container;
use scantriage::sim::detector::Dose;
use scantriage::sim::output::{PngCompression, write_scan};
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
    for compression in [PngCompression::Fast, PngCompression::Best] {
        let name = format!("40ft_write_png_{compression:?}").to_lowercase();
        group.bench_function(name, |b| b.iter(|| write_scan(dir.path(), &scan, compression).expect("write")));
    }
    group.finish();
}

/// Painting a full 40 ft load of each category (the scene's share of the simulation time).
fn bench_cargo(c: &mut Criterion) {
    let mut group = c.benchmark_group("cargo");
    group.sample_size(20);
    for goods in Goods::ALL {
        group.bench_function(goods.id(), |b| {
            let mut seed = 0;
            b.iter(|| {
                seed += 1;
                let mut canvas = Canvas::new(2600, 780, 0.5, 425.0);
                let hold = container::paint(&mut canvas, 30.0, 1219.2, 120.0, 289.6);
                load(&mut canvas, &hold, hold.x0, hold.x1, 1.0, goods, 1, &mut ChaCha8Rng::seed_from_u64(seed))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_simulate, bench_cargo);
criterion_main!(benches);
