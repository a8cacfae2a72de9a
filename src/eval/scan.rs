//! One simulated scan through the real pipeline, measured against its ground truth.

use std::fs;
use std::path::Path;

use anyhow::Context;
use ndarray::Axis;

use crate::imaging::decode::{Limits, decode_scan};
use crate::imaging::locate::locate_containers;
use crate::imaging::preprocess::{Attenuation, Tiles};
use crate::inference::Engine;
use crate::ingest::ScanMetadata;
use crate::sim::output::{HIGH_FILE, LABELS_FILE, LOW_FILE, METADATA_FILE, TRUTH_FILE};
use crate::sim::scenario::Scenario;
use crate::imaging::PixelBox;
use crate::sim::truth::GroundTruth;
use crate::triage::{ReasonCode, TriageConfig, triage};

/// Tiles whose majority label covers less than this share are mixed; training left them out.
const MIN_PURITY: f64 = 0.6;
/// labels.png's value outside the containers.
const OUTSIDE: u8 = 255;
/// Below this true cargo mass a relative error says little (an empty container's is ~0).
const MIN_MASS_KG: f64 = 500.0;

/// What one scan contributes to the metrics.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ScanOutcome {
    pub name: String,
    /// The simulator's scenario, e.g. `honest`, `undeclared`, `concealment`.
    pub scenario: String,
    /// `20ft` / `40ft`, of the first container (a twin load is two 20 ft ones).
    pub length: String,
    /// `normal` / `low`.
    pub dose: String,
    /// `(true, predicted)` taxonomy index of every pure tile.
    #[serde(skip)]
    pub tiles: Vec<(usize, usize)>,
    /// The anomaly model's score of the scan.
    pub anomaly_score: f64,
    /// Regions the analysis marked as anomalous.
    pub anomaly_regions: usize,
    /// Walls across a hold the analysis found. These and anomaly regions raise triage's
    /// concealment reason.
    pub partitions: usize,
    /// The concealed objects of the truth.
    pub concealed: Vec<ConcealedOutcome>,
    /// `|estimated / true - 1|` of the cargo mass, for loads of at least [`MIN_MASS_KG`].
    pub mass_error: Option<f64>,
    /// Whether the declaration misstates the goods (undeclared, misdeclared, declared empty
    /// but loaded): `Some(false)` for honest scans, `None` for the other scenarios.
    pub misdeclared: Option<bool>,
    /// Whether triage raised a reason about the declared goods.
    pub flagged: bool,
    /// Triage's sentences for those reasons.
    pub goods_reasons: Vec<String>,
}

/// One concealed object and whether the analysis found it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ConcealedOutcome {
    /// The simulator's kind, e.g. `dense_packages`, `weapon`.
    pub kind: String,
    /// Whether an anomaly region or a wall the analysis found overlaps its box.
    pub localised: bool,
}

impl ScanOutcome {
    /// The pipeline's evidence of concealment as one number to rank scans by: a wall across a
    /// hold ranks above every anomaly score (those are at most 1), and among scans with one,
    /// as among the others, the anomaly score decides.
    pub fn concealment_score(&self) -> f64 {
        self.anomaly_score + if self.partitions > 0 { 1.0 } else { 0.0 }
    }

    /// Whether triage raises its concealment reason.
    pub fn concealment_alarm(&self) -> bool {
        self.anomaly_regions > 0 || self.partitions > 0
    }
}

/// The reasons that say the declared goods do not match the load.
const GOODS_MISMATCHES: [ReasonCode; 3] =
    [ReasonCode::UndeclaredGoods, ReasonCode::DeclaredGoodsNotSeen, ReasonCode::DeclaredEmptyButLoaded];

pub fn measure(engine: &Engine, dir: &Path, triage_config: &TriageConfig) -> anyhow::Result<ScanOutcome> {
    let read = |file: &str| fs::read(dir.join(file)).with_context(|| format!("cannot read {}", dir.join(file).display()));
    let metadata = ScanMetadata::from_json(&read(METADATA_FILE)?)?;
    let truth: GroundTruth = serde_json::from_slice(&read(TRUTH_FILE)?).context("bad truth.json")?;
    let high = read(HIGH_FILE)?;
    let low = dir.join(LOW_FILE).is_file().then(|| read(LOW_FILE)).transpose()?;

    let analysis = engine.analyse(&high, low.as_deref(), &metadata)?;
    let mass_error = (truth.cargo_mass_kg >= MIN_MASS_KG).then(|| (analysis.cargo_mass_kg / truth.cargo_mass_kg - 1.0).abs());

    let verdict = triage(&analysis, &metadata, engine.pool().registry().taxonomy(), triage_config);
    let misdeclared = match truth.scenario {
        Scenario::Honest => Some(false),
        Scenario::Undeclared | Scenario::Misdeclared | Scenario::DeclaredEmptyButLoaded => Some(true),
        Scenario::WeightMisdeclared | Scenario::Concealment => None,
    };
    let label_of = |v: serde_json::Value| v.as_str().unwrap_or("?").to_owned();
    let walls: Vec<&PixelBox> = analysis.containers.iter().flat_map(|c| &c.partitions).map(|p| &p.bbox).collect();
    let marked: Vec<&PixelBox> = analysis.anomaly_regions.iter().map(|r| &r.bbox).chain(walls.iter().copied()).collect();
    let concealed = truth
        .concealed_objects
        .iter()
        .map(|o| ConcealedOutcome {
            kind: label_of(serde_json::to_value(o.kind).unwrap_or_default()),
            localised: marked.iter().any(|b| overlaps(&o.bbox, b)),
        })
        .collect();
    let goods_reasons: Vec<String> =
        verdict.reasons.into_iter().filter(|r| GOODS_MISMATCHES.contains(&r.code)).map(|r| r.sentence).collect();
    Ok(ScanOutcome {
        name: dir.file_name().unwrap_or_default().to_string_lossy().into_owned(),
        scenario: label_of(serde_json::to_value(truth.scenario).unwrap_or_default()),
        length: truth.containers.first().map_or("?".into(), |c| label_of(serde_json::to_value(c.length).unwrap_or_default())),
        dose: label_of(serde_json::to_value(truth.dose).unwrap_or_default()),
        tiles: classified_tiles(engine, &high, low.as_deref(), &metadata, &truth, &read(LABELS_FILE)?)?,
        anomaly_score: f64::from(analysis.anomaly_score),
        anomaly_regions: analysis.anomaly_regions.len(),
        partitions: walls.len(),
        concealed,
        mass_error,
        misdeclared,
        flagged: !goods_reasons.is_empty(),
        goods_reasons,
    })
}

/// The engine's tiles of this scan with their true and predicted categories. The analysis only
/// keeps votes per container, so the tiles are cut again here with the same public steps and
/// the registry's preprocessing, and classified on the engine's pool.
fn classified_tiles(
    engine: &Engine,
    high: &[u8],
    low: Option<&[u8]>,
    metadata: &ScanMetadata,
    truth: &GroundTruth,
    labels_png: &[u8],
) -> anyhow::Result<Vec<(usize, usize)>> {
    let pitch = metadata.pixel_pitch_mm;
    let attenuation = Attenuation::new(&decode_scan(high, low, &Limits::default())?, pitch);
    let containers = locate_containers(attenuation.high.view(), pitch, metadata.containers.len())?;
    let interiors: Vec<PixelBox> = containers.iter().map(|c| c.interior).collect();
    let registry = engine.pool().registry();
    let Tiles { data, origins, extent } = registry.manifest().preprocessing.tiles(&attenuation, &interiors);
    let probabilities = engine.pool().classify(data)?;

    let labels = image::load_from_memory(labels_png).context("bad labels.png")?.into_luma8();
    // labels.png indexes truth.labels; map that to the registry's taxonomy by name.
    let lut: Vec<Option<usize>> = truth.labels.iter().map(|name| registry.taxonomy().index_of(name)).collect();
    let extent = extent.round() as u32;
    let pairs = origins
        .iter()
        .zip(probabilities.axis_iter(Axis(0)))
        .filter_map(|(origin, p)| {
            let (value, purity) = majority(&labels, origin.x, origin.y, extent)?;
            if purity < MIN_PURITY || value == OUTSIDE {
                return None;
            }
            let truth = lut.get(usize::from(value)).copied().flatten()?;
            let predicted = p.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1))?.0;
            Some((truth, predicted))
        })
        .collect();
    Ok(pairs)
}

/// The most frequent label over the `extent`² tile at `(x, y)` and its share of the tile.
fn majority(labels: &image::GrayImage, x: u32, y: u32, extent: u32) -> Option<(u8, f64)> {
    let mut counts = [0usize; 256];
    for yy in y..(y + extent).min(labels.height()) {
        for xx in x..(x + extent).min(labels.width()) {
            counts[usize::from(labels.get_pixel(xx, yy).0[0])] += 1;
        }
    }
    let (value, &count) = counts.iter().enumerate().max_by_key(|&(_, c)| c)?;
    // Pixels past the image edge count against purity, as the whole tile is the denominator.
    Some((value as u8, count as f64 / f64::from(extent * extent).max(1.0)))
}

fn overlaps(a: &PixelBox, b: &PixelBox) -> bool {
    a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1
}
