//! The model manifest, `models/manifest.toml`: what training produced and how to check it.
//! Training writes it; `registry.rs` checks it.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::Deserialize;

use crate::imaging::preprocess::Preprocessing;

/// The manifest shipped with the models, relative to the repository.
pub const DEFAULT_MANIFEST_PATH: &str = "models/manifest.toml";
/// The only `manifest_version` this code reads.
pub const MANIFEST_VERSION: u32 = 1;

#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    pub manifest_version: u32,
    /// The goods taxonomy the classifier was trained on, relative to the manifest.
    pub taxonomy: PathBuf,
    /// How tiles were made for training; inference must make them the same way.
    pub preprocessing: Preprocessing,
    pub models: Models,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Models {
    pub classifier: ClassifierSpec,
    pub anomaly: AnomalySpec,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ClassifierSpec {
    #[serde(flatten)]
    pub model: ModelSpec,
    /// Output index → taxonomy category id; must equal the taxonomy's ids in order.
    pub labels: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AnomalySpec {
    #[serde(flatten)]
    pub model: ModelSpec,
    pub thresholds: Thresholds,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Thresholds {
    /// An anomaly-map cell above this is anomalous, and so is a tile whose score (the mean of
    /// its top cells) is.
    pub tile_score: f32,
    /// The share of honest validation scans with a cell above `tile_score`, which is what it
    /// was calibrated for.
    pub false_alarm_rate: f32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ModelSpec {
    /// The ONNX file, relative to the manifest.
    pub file: PathBuf,
    pub sha256: String,
    pub version: String,
    pub inputs: Vec<TensorSpec>,
    pub outputs: Vec<TensorSpec>,
    /// Free-form tables training writes (`training`, `metrics`, …), kept for reports.
    #[serde(flatten)]
    pub extra: BTreeMap<String, toml::Value>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TensorSpec {
    pub name: String,
    /// ONNX element type name: "float32", "int64", …
    pub dtype: String,
    pub shape: Vec<Dim>,
}

/// A tensor dimension: a fixed size, or a named dynamic one such as "batch".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dim {
    Fixed(usize),
    Named(String),
}

/// By hand rather than `#[serde(untagged)]`, whose error names no valid form.
impl<'de> Deserialize<'de> for Dim {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Dim;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a dimension: a size (0 or more) or a name such as \"batch\"")
            }
            fn visit_u64<E: serde::de::Error>(self, size: u64) -> Result<Dim, E> {
                usize::try_from(size).map(Dim::Fixed).map_err(E::custom)
            }
            fn visit_i64<E: serde::de::Error>(self, size: i64) -> Result<Dim, E> {
                usize::try_from(size)
                    .map(Dim::Fixed)
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Signed(size), &self))
            }
            fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<Dim, E> {
                Ok(Dim::Named(name.to_owned()))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl fmt::Display for Dim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dim::Fixed(size) => write!(f, "{size}"),
            Dim::Named(name) => f.write_str(name),
        }
    }
}

/// Formats a shape the way the manifest writes it: `[batch, 2, 64, 64]`.
pub(crate) fn shape_text(shape: &[Dim]) -> String {
    format!("[{}]", shape.iter().map(Dim::to_string).collect::<Vec<_>>().join(", "))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ModelKind {
    Classifier,
    Anomaly,
}

impl ModelKind {
    pub const ALL: [ModelKind; 2] = [ModelKind::Classifier, ModelKind::Anomaly];
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ModelKind::Classifier => "classifier",
            ModelKind::Anomaly => "anomaly",
        })
    }
}

impl Models {
    pub fn spec(&self, kind: ModelKind) -> &ModelSpec {
        match kind {
            ModelKind::Classifier => &self.classifier.model,
            ModelKind::Anomaly => &self.anomaly.model,
        }
    }
}

impl TensorSpec {
    /// The sizes after the batch dimension, which the registry has checked are all fixed.
    pub fn item_dims(&self) -> Vec<usize> {
        self.shape[1..].iter().filter_map(|d| if let Dim::Fixed(size) = d { Some(*size) } else { None }).collect()
    }
}
