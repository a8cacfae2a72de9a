//! What the models see in one scan: the structured, explainable result the offline `scan`
//! command prints and the HTTP API returns.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::imaging::PixelBox;
use crate::imaging::mass::MassEstimate;
use crate::imaging::partition::Partition;

/// Bumped when a field changes meaning or disappears.
pub const ANALYSIS_SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Analysis {
    pub schema_version: u32,
    pub image: ImageSummary,
    /// One entry per container found in the image, in scan order.
    pub containers: Vec<ContainerAnalysis>,
    /// Goods over all containers, by share of the loaded area.
    pub composition: Vec<CategoryShare>,
    /// Highest anomaly score of any cargo tile; above `anomaly_threshold` means something
    /// looks unlike ordinary cargo.
    pub anomaly_score: f32,
    pub anomaly_threshold: f32,
    pub anomaly_regions: Vec<AnomalyRegion>,
    pub cargo_mass_kg: f64,
    pub models: Vec<ModelVersion>,
    pub timings_ms: StageTimings,
    /// Per-cell anomaly scores over the image; rendered as an overlay, not serialised.
    #[serde(skip)]
    pub heatmap: Heatmap,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ImageSummary {
    pub width: u32,
    pub height: u32,
    pub pixel_pitch_mm: f64,
    pub dual_energy: bool,
    /// Things the result should be read with, e.g. an 8-bit image.
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ContainerAnalysis {
    pub outer: PixelBox,
    pub interior: PixelBox,
    /// Share of the interior's tiles holding goods rather than nothing.
    pub loaded_share: f32,
    pub composition: Vec<CategoryShare>,
    pub mass: MassEstimate,
    pub anomaly_score: f32,
    /// Walls across the hold away from its ends, where a false wall would stand; ordinary
    /// loads have none. Analyses stored before this check have none either.
    #[serde(default)]
    pub partitions: Vec<Partition>,
}

/// A goods category, its share of the loaded area and the classifier's mean confidence there,
/// both from the votes of the load's stacks (`inference::composition`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct CategoryShare {
    pub category: String,
    pub share: f32,
    pub confidence: f32,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AnomalyRegion {
    pub container: usize,
    #[serde(rename = "box")]
    pub bbox: PixelBox,
    pub score: f32,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ModelVersion {
    pub name: String,
    pub version: String,
    pub sha256: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct StageTimings {
    pub decode: f64,
    pub locate: f64,
    pub preprocess: f64,
    pub classify: f64,
    pub anomaly: f64,
    pub merge: f64,
    pub total: f64,
}

/// Anomaly scores on a grid of `cell` × `cell` pixels covering the image (0 outside cargo).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Heatmap {
    pub cell: u32,
    pub columns: u32,
    pub rows: u32,
    /// Row-major, `columns × rows`.
    #[serde(default)]
    pub values: Vec<f32>,
}
