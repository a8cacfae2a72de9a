use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Args;

use crate::sim::cargo::Goods;
use crate::sim::concealment::ConcealmentKind;
use crate::sim::detector::Dose;
use crate::sim::output::{PngCompression, write_scan};
use crate::sim::scenario::Scenario;
use crate::sim::{Layout, SimOptions, simulate};
use crate::taxonomy::Taxonomy;

/// Generate simulated scans with ground truth: one folder per scan under --out.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Folder to write the scans into (created when missing).
    #[arg(long)]
    out: PathBuf,
    /// How many scans.
    #[arg(long, default_value_t = 10)]
    count: u64,
    /// Seed of the set: the same seed and index always give the same scan.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Index of the first scan, to extend a set.
    #[arg(long, default_value_t = 0)]
    first_index: u64,
    /// Scenario of every scan; random mix when absent.
    #[arg(long, value_enum)]
    scenario: Option<Scenario>,
    /// Kind of concealment for the concealment scenario; random when absent.
    #[arg(long, value_enum)]
    concealment: Option<ConcealmentKind>,
    /// Main goods of the (first) container, by taxonomy id (`empty` for an honest empty
    /// container); random when absent.
    #[arg(long, value_parser = parse_goods)]
    goods: Option<GoodsChoice>,
    /// Containers on the truck; random when absent.
    #[arg(long, value_enum)]
    container: Option<Layout>,
    /// Accelerator dose; random (mostly normal) when absent.
    #[arg(long, value_enum)]
    dose: Option<Dose>,
    /// Write only the high-energy image, as a single-energy scanner does.
    #[arg(long)]
    single_energy: bool,
    /// How hard to compress the PNGs (same pixels either way): `best` writes files about 7 %
    /// smaller and makes simulating about five times slower.
    #[arg(long, value_enum, default_value_t = PngCompression::Fast)]
    png_compression: PngCompression,
    /// Goods taxonomy file; the one built from models/goods_categories.toml when absent.
    #[arg(long)]
    taxonomy: Option<PathBuf>,
}

pub fn run(args: SimulateArgs) -> anyhow::Result<()> {
    let taxonomy = match &args.taxonomy {
        Some(path) => Taxonomy::load(path)?,
        None => Taxonomy::built_in(),
    };
    let options = SimOptions {
        seed: args.seed,
        scenario: args.scenario,
        concealment: args.concealment,
        goods: match args.goods {
            Some(GoodsChoice::Goods(goods)) => Some(goods),
            _ => None,
        },
        empty: matches!(args.goods, Some(GoodsChoice::Empty)),
        layout: args.container,
        dose: args.dose,
        single_energy: args.single_energy,
    };
    std::fs::create_dir_all(&args.out).with_context(|| format!("cannot create {}", args.out.display()))?;
    let started = Instant::now();
    for index in args.first_index..args.first_index + args.count {
        let scan = simulate(&options, index, &taxonomy);
        let dir = write_scan(&args.out, &scan, args.png_compression)?;
        tracing::info!(
            scan = %dir.display(),
            scenario = ?scan.truth.scenario,
            width = scan.width,
            height = scan.height,
            cargo_kg = scan.truth.cargo_mass_kg.round(),
            "simulated"
        );
    }
    tracing::info!(count = args.count, seconds = started.elapsed().as_secs_f32(), out = %args.out.display(), "done");
    Ok(())
}

#[derive(Debug, Clone, Copy)]
enum GoodsChoice {
    Empty,
    Goods(Goods),
}

fn parse_goods(id: &str) -> Result<GoodsChoice, String> {
    if id == "empty" {
        return Ok(GoodsChoice::Empty);
    }
    Goods::from_id(id).map(GoodsChoice::Goods).ok_or_else(|| {
        let known: Vec<&str> = Goods::ALL.iter().map(|g| g.id()).collect();
        format!("unknown goods {id:?}; one of: empty, {}", known.join(", "))
    })
}
