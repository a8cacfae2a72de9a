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

/// How hard the PNGs are deflated; the pixels are the same either way. Noisy 16-bit images
/// hardly compress, so the best level buys little and costs most of a scan's simulation time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum PngCompression {
    /// A 40 ft scan's folder in tens of milliseconds instead of over a second; files about 7 %
    /// larger than at `best`.
    #[default]
    Fast,
    /// The smallest files, for scans committed to the repository.
    Best,
}

impl PngCompression {
    fn encoder_level(self) -> CompressionType {
        match self {
            Self::Fast => CompressionType::Fast,
            Self::Best => CompressionType::Best,
        }
    }
}

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
pub fn write_scan(parent: &Path, scan: &SimulatedScan, compression: PngCompression) -> Result<PathBuf, WriteError> {
    let dir = parent.join(&scan.metadata.station_scan_id);
    fs::create_dir_all(&dir).map_err(|source| WriteError::Io { path: dir.clone(), source })?;
    let (w, h) = (scan.width as u32, scan.height as u32);
    let png = |name: &str, bytes: &[u8], color| write_png(&dir.join(name), bytes, w, h, color, compression);
    png(HIGH_FILE, &u16_bytes(&scan.high), ExtendedColorType::L16)?;
    if let Some(low) = &scan.low {
        png(LOW_FILE, &u16_bytes(low), ExtendedColorType::L16)?;
    }
    png(LABELS_FILE, &scan.labels, ExtendedColorType::L8)?;
    write_json(&dir.join(METADATA_FILE), &scan.metadata)?;
    write_json(&dir.join(TRUTH_FILE), &scan.truth)?;
    Ok(dir)
}

/// The encoder takes native-endian samples and writes PNG's big-endian itself.
fn u16_bytes(samples: &[u16]) -> Vec<u8> {
    samples.iter().flat_map(|v| v.to_ne_bytes()).collect()
}

fn write_png(
    path: &Path,
    bytes: &[u8],
    width: u32,
    height: u32,
    color: ExtendedColorType,
    compression: PngCompression,
) -> Result<(), WriteError> {
    let file = fs::File::create(path).map_err(|source| WriteError::Io { path: path.to_owned(), source })?;
    let mut out = BufWriter::new(file);
    PngEncoder::new_with_quality(&mut out, compression.encoder_level(), FilterType::Adaptive)
        .write_image(bytes, width, height, color)
        .map_err(|source| WriteError::Encode { path: path.to_owned(), source })?;
    out.flush().map_err(|source| WriteError::Io { path: path.to_owned(), source })
}

fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<(), WriteError> {
    let mut text = serde_json::to_string_pretty(value).map_err(|source| WriteError::Json { path: path.to_owned(), source })?;
    text.push('\n');
    fs::write(path, text).map_err(|source| WriteError::Io { path: path.to_owned(), source })
}
