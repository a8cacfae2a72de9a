//! Writes a simulated scan the way a scanner station exports it: one folder per scan with the
//! images, the metadata, and (simulator only) the ground truth and label map.

use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{ExtendedColorType, ImageEncoder};

use super::scan::SimulatedScan;

pub const HIGH_FILE: &str = "high.png";
pub const LOW_FILE: &str = "low.png";
pub const METADATA_FILE: &str = "meta.json";
pub const TRUTH_FILE: &str = "truth.json";
pub const LABELS_FILE: &str = "labels.png";

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("cannot write {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("cannot encode {path}: {source}")]
    Encode { path: PathBuf, source: image::ImageError },
    #[error("cannot serialise {path}: {source}")]
    Json { path: PathBuf, source: serde_json::Error },
}

/// Writes the scan into `parent/<station_scan_id>/` and returns that folder.
pub fn write_scan(parent: &Path, scan: &SimulatedScan) -> Result<PathBuf, WriteError> {
    let dir = parent.join(&scan.metadata.station_scan_id);
    fs::create_dir_all(&dir).map_err(|source| WriteError::Io { path: dir.clone(), source })?;
    let (w, h) = (scan.width as u32, scan.height as u32);
    write_png(&dir.join(HIGH_FILE), &u16_bytes(&scan.high), w, h, ExtendedColorType::L16)?;
    if let Some(low) = &scan.low {
        write_png(&dir.join(LOW_FILE), &u16_bytes(low), w, h, ExtendedColorType::L16)?;
    }
    write_png(&dir.join(LABELS_FILE), &scan.labels, w, h, ExtendedColorType::L8)?;
    write_json(&dir.join(METADATA_FILE), &scan.metadata)?;
    write_json(&dir.join(TRUTH_FILE), &scan.truth)?;
    Ok(dir)
}

/// The encoder takes native-endian samples and writes PNG's big-endian itself.
fn u16_bytes(samples: &[u16]) -> Vec<u8> {
    samples.iter().flat_map(|v| v.to_ne_bytes()).collect()
}

fn write_png(path: &Path, bytes: &[u8], width: u32, height: u32, color: ExtendedColorType) -> Result<(), WriteError> {
    let file = fs::File::create(path).map_err(|source| WriteError::Io { path: path.to_owned(), source })?;
    let mut out = BufWriter::new(file);
    PngEncoder::new_with_quality(&mut out, CompressionType::Best, FilterType::Adaptive)
        .write_image(bytes, width, height, color)
        .map_err(|source| WriteError::Encode { path: path.to_owned(), source })?;
    out.flush().map_err(|source| WriteError::Io { path: path.to_owned(), source })
}

fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<(), WriteError> {
    let mut text = serde_json::to_string_pretty(value).map_err(|source| WriteError::Json { path: path.to_owned(), source })?;
    text.push('\n');
    fs::write(path, text).map_err(|source| WriteError::Io { path: path.to_owned(), source })
}
