//! Ground truth written beside every simulated scan: what was really in the containers, where,
//! and how it differs from the declaration.

use serde::{Deserialize, Serialize};

use super::cargo::Goods;
use super::concealment::ConcealmentKind;
use super::detector::Dose;
use super::scenario::Scenario;
use crate::imaging::PixelBox;
use crate::ingest::ContainerLength;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroundTruth {
    pub simulator_version: u32,
    pub seed: u64,
    pub index: u64,
    pub scenario: Scenario,
    pub dose: Dose,
    /// Mismatch codes an ideal triage raises for this scan (empty when honest).
    pub expected_findings: Vec<String>,
    pub containers: Vec<ContainerTruth>,
    /// All cargo in the image, concealed objects included.
    pub cargo_mass_kg: f64,
    pub declared_gross_weight_kg: f64,
    pub concealed_objects: Vec<ConcealedTruth>,
    /// The label map file: 8-bit PNG, pixel value = index into `labels`, 255 outside containers.
    pub label_map: String,
    pub labels: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContainerTruth {
    pub number: String,
    pub length: ContainerLength,
    /// The container's outside in the image.
    pub outer: PixelBox,
    /// The cargo space.
    pub interior: PixelBox,
    pub contents: Vec<ContentTruth>,
    pub cargo_mass_kg: f64,
    pub declared_empty: bool,
    /// Goods that were declared for this container but not loaded.
    pub declared_not_loaded: Vec<Goods>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContentTruth {
    pub goods: Goods,
    pub declared: bool,
    pub mass_kg: f64,
    pub units: u32,
    /// Columns of the image the goods occupy.
    pub x0: u32,
    pub x1: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConcealedTruth {
    pub kind: ConcealmentKind,
    pub container: usize,
    #[serde(rename = "box")]
    pub bbox: PixelBox,
    pub mass_kg: f64,
    pub description: String,
}
