//! The model registry: the manifest with its taxonomy and model files, checked against each
//! other and against what the pool needs before any session is built. What a session reports
//! about its model is checked in `session.rs`.

use std::fmt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::manifest::{Dim, MANIFEST_VERSION, Manifest, ModelKind, ModelSpec, TensorSpec, shape_text};
use crate::taxonomy::{Taxonomy, TaxonomyError};

/// The element type of every tensor the pool feeds and reads.
const FLOAT32: &str = "float32";

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("cannot read model manifest {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("model manifest {path} is invalid: {source}")]
    Syntax { path: PathBuf, source: toml::de::Error },
    #[error("model manifest {path}: preprocessing: {message}")]
    Preprocessing { path: PathBuf, message: String },
    #[error("model manifest {path}: taxonomy: {source}")]
    Taxonomy { path: PathBuf, source: TaxonomyError },
    #[error("model {model}: cannot read {path}: {source}")]
    ModelFile { model: ModelKind, path: PathBuf, source: std::io::Error },
    /// A manifest field disagrees with the model file, the taxonomy or what the code needs.
    #[error("{scope}: {field}: expected {expected}, found {found}")]
    Mismatch { scope: String, field: String, expected: String, found: String },
    #[error("model {model}: ONNX Runtime cannot load it: {source}")]
    Session { model: ModelKind, source: ort::Error },
}

impl RegistryError {
    pub(crate) fn mismatch(
        model: ModelKind,
        field: impl Into<String>,
        expected: impl fmt::Display,
        found: impl fmt::Display,
    ) -> Self {
        Self::Mismatch {
            scope: format!("model {model}"),
            field: field.into(),
            expected: expected.to_string(),
            found: found.to_string(),
        }
    }
}

/// `models/manifest.toml` under the current directory when there is one, else in the source
/// tree this binary was built from.
pub fn default_manifest_path() -> PathBuf {
    let local = PathBuf::from("models/manifest.toml");
    if local.is_file() { local } else { Path::new(env!("CARGO_MANIFEST_DIR")).join(local) }
}

/// The manifest with its taxonomy and the bytes of each model, all checked against each other.
#[derive(Debug)]
pub struct ModelRegistry {
    manifest: Manifest,
    taxonomy: Taxonomy,
    /// The verified bytes, so that sessions run exactly what was checksummed.
    classifier: Vec<u8>,
    anomaly: Vec<u8>,
}

impl ModelRegistry {
    /// Reads the manifest, its taxonomy and its models, refusing any disagreement.
    pub fn load(manifest_path: &Path) -> Result<Self, RegistryError> {
        let path = manifest_path.to_owned();
        let text =
            std::fs::read_to_string(&path).map_err(|source| RegistryError::Read { path: path.clone(), source })?;
        let manifest: Manifest =
            toml::from_str(&text).map_err(|source| RegistryError::Syntax { path: path.clone(), source })?;
        if manifest.manifest_version != MANIFEST_VERSION {
            return Err(RegistryError::Mismatch {
                scope: format!("model manifest {}", path.display()),
                field: "manifest_version".into(),
                expected: MANIFEST_VERSION.to_string(),
                found: manifest.manifest_version.to_string(),
            });
        }
        manifest
            .preprocessing
            .validate()
            .map_err(|message| RegistryError::Preprocessing { path: path.clone(), message })?;
        let dir = manifest_path.parent().unwrap_or(Path::new("."));
        let taxonomy =
            Taxonomy::load(&dir.join(&manifest.taxonomy)).map_err(|source| RegistryError::Taxonomy { path, source })?;
        check_labels(&manifest.models.classifier.labels, &taxonomy)?;
        for kind in ModelKind::ALL {
            check_contract(kind, &manifest)?;
        }
        let read = |kind| read_verified(kind, dir, manifest.models.spec(kind));
        Ok(Self { classifier: read(ModelKind::Classifier)?, anomaly: read(ModelKind::Anomaly)?, manifest, taxonomy })
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    pub fn taxonomy(&self) -> &Taxonomy {
        &self.taxonomy
    }

    /// Which models analyses are made with, as recorded in each.
    pub fn model_versions(&self) -> Vec<super::analysis::ModelVersion> {
        [ModelKind::Classifier, ModelKind::Anomaly]
            .into_iter()
            .map(|kind| {
                let spec = self.spec(kind);
                super::analysis::ModelVersion { name: kind.to_string(), version: spec.version.clone(), sha256: spec.sha256.clone() }
            })
            .collect()
    }

    pub fn spec(&self, kind: ModelKind) -> &ModelSpec {
        self.manifest.models.spec(kind)
    }

    pub(crate) fn bytes(&self, kind: ModelKind) -> &[u8] {
        match kind {
            ModelKind::Classifier => &self.classifier,
            ModelKind::Anomaly => &self.anomaly,
        }
    }
}

fn check_labels(labels: &[String], taxonomy: &Taxonomy) -> Result<(), RegistryError> {
    let ids: Vec<&str> = taxonomy.labels().collect();
    for i in 0..labels.len().max(ids.len()) {
        let (id, label) = (ids.get(i), labels.get(i));
        if id.copied() != label.map(String::as_str) {
            let expected = match id {
                Some(id) => format!("{id:?} (the taxonomy's id at {i})"),
                None => format!("no more labels (the taxonomy has {} ids)", ids.len()),
            };
            let found = label
                .map_or_else(|| format!("none (the manifest lists {} labels)", labels.len()), |l| format!("{l:?}"));
            return Err(RegistryError::mismatch(ModelKind::Classifier, format!("labels[{i}]"), expected, found));
        }
    }
    Ok(())
}

/// What the pool relies on: one float32 tile input `[batch, channels, tile, tile]`, float32
/// outputs with the batch first and fixed sizes after it, of the ranks each model's results have.
fn check_contract(kind: ModelKind, manifest: &Manifest) -> Result<(), RegistryError> {
    let spec = manifest.models.spec(kind);
    let output_ranks: &[usize] = match kind {
        ModelKind::Classifier => &[2],
        ModelKind::Anomaly => &[4, 1],
    };
    let ranks = |tensors: &[TensorSpec]| tensors.iter().map(|t| t.shape.len()).collect::<Vec<_>>();
    if ranks(&spec.inputs) != [4] {
        return Err(RegistryError::mismatch(
            kind,
            "inputs",
            "one tensor of rank 4 [batch, channels, tile, tile]",
            format!("ranks {:?}", ranks(&spec.inputs)),
        ));
    }
    if ranks(&spec.outputs) != output_ranks {
        return Err(RegistryError::mismatch(
            kind,
            "outputs",
            format!("tensors of ranks {output_ranks:?}"),
            format!("ranks {:?}", ranks(&spec.outputs)),
        ));
    }
    for (side, tensors) in [("inputs", &spec.inputs), ("outputs", &spec.outputs)] {
        for (i, tensor) in tensors.iter().enumerate() {
            if tensor.dtype != FLOAT32 {
                return Err(RegistryError::mismatch(kind, format!("{side}[{i}].dtype"), FLOAT32, &tensor.dtype));
            }
            let batch_first = matches!(tensor.shape[0], Dim::Named(_))
                && tensor.shape[1..].iter().all(|d| matches!(d, Dim::Fixed(_)));
            if !batch_first {
                let expected = "a named batch dimension, then fixed sizes";
                return Err(RegistryError::mismatch(
                    kind,
                    format!("{side}[{i}].shape"),
                    expected,
                    shape_text(&tensor.shape),
                ));
            }
        }
    }
    let tile = manifest.preprocessing.tile_size;
    if spec.inputs[0].item_dims()[1..] != [tile, tile] {
        let expected = format!("[batch, channels, {tile}, {tile}] (preprocessing.tile_size = {tile})");
        return Err(RegistryError::mismatch(kind, "inputs[0].shape", expected, shape_text(&spec.inputs[0].shape)));
    }
    if kind == ModelKind::Classifier {
        let labels = manifest.models.classifier.labels.len();
        let classes = spec.outputs[0].item_dims()[0];
        if classes != labels {
            return Err(RegistryError::mismatch(
                kind,
                "outputs[0].shape[1]",
                format!("{labels} (one per label)"),
                classes,
            ));
        }
    }
    Ok(())
}

fn read_verified(kind: ModelKind, dir: &Path, spec: &ModelSpec) -> Result<Vec<u8>, RegistryError> {
    let path = dir.join(&spec.file);
    let bytes =
        std::fs::read(&path).map_err(|source| RegistryError::ModelFile { model: kind, path: path.clone(), source })?;
    let found = format!("{:x}", Sha256::digest(&bytes));
    if !found.eq_ignore_ascii_case(&spec.sha256) {
        return Err(RegistryError::mismatch(kind, format!("sha256 of {}", path.display()), &spec.sha256, found));
    }
    Ok(bytes)
}
