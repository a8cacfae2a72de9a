//! One scan, start to finish: decode, locate the containers, tile their cargo space, run both
//! models side by side on the pool, and merge everything into an [`Analysis`].

use std::time::Instant;

use ndarray::{Array2, ArrayView2, Axis};

use super::analysis::{
    ANALYSIS_SCHEMA_VERSION, Analysis, AnomalyRegion, ContainerAnalysis, Heatmap, ImageSummary, StageTimings,
};
use super::composition::Votes;
use super::pool::{AnomalyOutput, InferenceError, InferencePool};
use crate::imaging::decode::{DecodeError, Limits, decode_scan};
use crate::imaging::locate::{ContainerBox, LocateError, locate_containers};
use crate::imaging::mass::estimate_cargo_mass;
use crate::imaging::partition::find_partitions;
use crate::imaging::preprocess::{Attenuation, Tiles};
use crate::ingest::ScanMetadata;
use crate::imaging::PixelBox;

#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error("the metadata declares a {declared} scan but {given} given")]
    EnergyMismatch { declared: &'static str, given: &'static str },
    #[error("cannot find the container(s) in the image: {0}")]
    Locate(#[from] LocateError),
    #[error(transparent)]
    Inference(#[from] InferenceError),
}

/// Analyses scans with the models of one pool.
pub struct Engine {
    pool: InferencePool,
    limits: Limits,
}

impl Engine {
    pub fn new(pool: InferencePool, limits: Limits) -> Self {
        Self { pool, limits }
    }

    pub fn pool(&self) -> &InferencePool {
        &self.pool
    }

    /// Analyses one scan: its encoded `high` (and `low`) image and validated metadata.
    /// Blocking: call it from a worker thread, not an async runtime's.
    pub fn analyse(&self, high: &[u8], low: Option<&[u8]>, metadata: &ScanMetadata) -> Result<Analysis, AnalysisError> {
        let started = Instant::now();
        let mut timings = StageTimings::default();
        match (metadata.is_dual_energy(), low.is_some()) {
            (true, false) => return Err(AnalysisError::EnergyMismatch { declared: "dual-energy", given: "no low image was" }),
            (false, true) => return Err(AnalysisError::EnergyMismatch { declared: "single-energy", given: "a low image was" }),
            _ => {}
        }
        let images = timed(&mut timings.decode, || decode_scan(high, low, &self.limits))?;
        let pitch = metadata.pixel_pitch_mm;
        let attenuation = timed(&mut timings.preprocess, || Attenuation::new(&images, pitch));
        let containers = timed(&mut timings.locate, || {
            locate_containers(attenuation.high.view(), pitch, metadata.containers.len())
        })?;
        let interiors: Vec<PixelBox> = containers.iter().map(|c| c.interior).collect();
        let preprocessing = &self.pool.registry().manifest().preprocessing;
        let mut tiles = timed(&mut timings.preprocess, || preprocessing.tiles(&attenuation, &interiors));

        // Both models at once, on different workers; merging needs only the tiles' origins.
        let classify_started = Instant::now();
        let data = std::mem::take(&mut tiles.data);
        let probabilities = self.pool.submit_classify(data.clone())?;
        let anomaly = self.pool.submit_anomaly(data)?;
        let probabilities = probabilities.wait()?;
        timings.classify = elapsed_ms(classify_started);
        let anomaly = anomaly.wait()?;
        timings.anomaly = elapsed_ms(classify_started);

        let merge_started = Instant::now();
        let merged = self.merge(&images_summary(&images, pitch), &containers, &tiles, &probabilities, &anomaly, attenuation.high.view());
        timings.merge = elapsed_ms(merge_started);
        timings.total = elapsed_ms(started);
        Ok(Analysis { timings_ms: timings, ..merged })
    }

    fn merge(
        &self,
        image: &ImageSummary,
        containers: &[ContainerBox],
        tiles: &Tiles,
        probabilities: &Array2<f32>,
        anomaly: &AnomalyOutput,
        high: ArrayView2<f32>,
    ) -> Analysis {
        let registry = self.pool.registry();
        let labels: Vec<&str> = registry.taxonomy().labels().collect();
        let empty = registry.taxonomy().index_of("empty");
        let threshold = registry.manifest().models.anomaly.thresholds.tile_score;
        let heatmap = heatmap(image, tiles, anomaly);
        let width = image.width as usize;
        let plane = high.as_standard_layout();
        let plane = plane.as_slice().unwrap_or_default();

        let mut scan_votes = Votes::new(labels.len());
        let analyses: Vec<ContainerAnalysis> = containers
            .iter()
            .enumerate()
            .map(|(index, container)| {
                let own: Vec<usize> = (0..tiles.origins.len()).filter(|&t| tiles.origins[t].region == index).collect();
                let score = own.iter().map(|&t| anomaly.score[t]).fold(0.0f32, f32::max);
                let votes = Votes::by_stack(
                    own.iter().map(|&t| (tiles.origins[t].x, probabilities.index_axis(Axis(0), t).to_slice().unwrap_or(&[]))),
                    labels.len(),
                    empty,
                );
                scan_votes.merge(&votes);
                ContainerAnalysis {
                    outer: container.outer,
                    interior: container.interior,
                    loaded_share: votes.loaded_share(empty),
                    composition: votes.composition(&labels, empty),
                    mass: estimate_cargo_mass(plane, width, &container.interior, image.pixel_pitch_mm),
                    anomaly_score: score,
                    partitions: find_partitions(high, &container.interior, image.pixel_pitch_mm),
                }
            })
            .collect();
        let regions = anomaly_regions(&heatmap, threshold, containers);
        Analysis {
            schema_version: ANALYSIS_SCHEMA_VERSION,
            image: image.clone(),
            composition: scan_votes.composition(&labels, empty),
            anomaly_score: analyses.iter().map(|c| c.anomaly_score).fold(0.0, f32::max),
            anomaly_threshold: threshold,
            anomaly_regions: regions,
            cargo_mass_kg: analyses.iter().map(|c| c.mass.kg).sum(),
            containers: analyses,
            models: registry.model_versions(),
            timings_ms: StageTimings::default(),
            heatmap,
        }
    }
}

fn images_summary(images: &crate::imaging::decode::ScanImages, pitch_mm: f64) -> ImageSummary {
    ImageSummary {
        width: images.width,
        height: images.height,
        pixel_pitch_mm: pitch_mm,
        dual_energy: images.low.is_some(),
        warnings: images.warnings.iter().map(ToString::to_string).collect(),
    }
}

/// The tiles' anomaly maps on one grid over the image; where tiles overlap, the larger value.
fn heatmap(image: &ImageSummary, tiles: &Tiles, anomaly: &AnomalyOutput) -> Heatmap {
    let (_, _, map_rows, map_cols) = anomaly.map.dim();
    let cell = ((tiles.extent / map_cols.max(1) as f64).round() as u32).max(1);
    let columns = image.width.div_ceil(cell);
    let rows = image.height.div_ceil(cell);
    let mut values = vec![0.0f32; (columns * rows) as usize];
    for (t, origin) in tiles.origins.iter().enumerate() {
        for my in 0..map_rows {
            for mx in 0..map_cols {
                let gx = origin.x / cell + mx as u32;
                let gy = origin.y / cell + my as u32;
                if gx < columns && gy < rows {
                    let v = &mut values[(gy * columns + gx) as usize];
                    *v = v.max(anomaly.map[[t, 0, my, mx]]);
                }
            }
        }
    }
    Heatmap { cell, columns, rows, values }
}

/// Connected groups of heatmap cells above the threshold, as boxes in scan pixels.
fn anomaly_regions(heatmap: &Heatmap, threshold: f32, containers: &[ContainerBox]) -> Vec<AnomalyRegion> {
    let (w, h) = (heatmap.columns as usize, heatmap.rows as usize);
    let mut seen = vec![false; w * h];
    let mut regions = Vec::new();
    for start in 0..w * h {
        if seen[start] || heatmap.values[start] <= threshold {
            continue;
        }
        let (mut x0, mut y0, mut x1, mut y1, mut score) = (w, h, 0, 0, 0.0f32);
        let mut stack = vec![start];
        seen[start] = true;
        while let Some(i) = stack.pop() {
            let (x, y) = (i % w, i / w);
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x + 1), y1.max(y + 1));
            score = score.max(heatmap.values[i]);
            let neighbours = [(x > 0).then(|| i - 1), (x + 1 < w).then(|| i + 1), (y > 0).then(|| i - w), (y + 1 < h).then(|| i + w)];
            for j in neighbours.into_iter().flatten() {
                if !seen[j] && heatmap.values[j] > threshold {
                    seen[j] = true;
                    stack.push(j);
                }
            }
        }
        let c = heatmap.cell;
        let bbox = PixelBox { x0: x0 as u32 * c, y0: y0 as u32 * c, x1: x1 as u32 * c, y1: y1 as u32 * c };
        let container = containers
            .iter()
            .position(|b| b.outer.x0 <= bbox.x1 && bbox.x0 <= b.outer.x1)
            .unwrap_or(0);
        regions.push(AnomalyRegion { container, bbox, score });
    }
    regions.sort_by(|a, b| b.score.total_cmp(&a.score));
    regions
}

fn timed<T>(total_ms: &mut f64, work: impl FnOnce() -> T) -> T {
    let started = Instant::now();
    let result = work();
    *total_ms += elapsed_ms(started);
    result
}

fn elapsed_ms(started: Instant) -> f64 {
    started.elapsed().as_secs_f64() * 1000.0
}
