//! A scan as a scanner exports it: a folder with `meta.json`, the high-energy image and, for a
//! dual-energy scan, the low-energy one (docs/scan-format.md). Other files (a simulator's
//! `truth.json`, a scanner's own logs) are not sent.

use std::io;
use std::path::{Path, PathBuf};

pub const METADATA_FILE: &str = "meta.json";

/// The files of one scan, read into memory for the upload.
#[derive(Debug)]
pub struct ScanFiles {
    pub metadata: Vec<u8>,
    pub high: Image,
    pub low: Option<Image>,
}

#[derive(Debug)]
pub struct Image {
    pub file_name: String,
    pub mime: &'static str,
    pub bytes: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum FolderError {
    #[error("{0} is not a scan folder")]
    NotAFolder(PathBuf),
    #[error("{0} has no meta.json")]
    NoMetadata(PathBuf),
    #[error("{0} has no high-energy image (high.png, high.tif or high.tiff)")]
    NoHighImage(PathBuf),
    #[error("{folder} holds both {first} and {second}: which one is the {energy}-energy image?")]
    TwoImages { folder: PathBuf, energy: &'static str, first: String, second: String },
    #[error("cannot read {path}")]
    Read { path: PathBuf, source: io::Error },
}

impl FolderError {
    /// A stable code for the error document written beside a rejected scan.
    pub fn code(&self) -> &'static str {
        match self {
            FolderError::NotAFolder(_) | FolderError::NoMetadata(_) | FolderError::NoHighImage(_) | FolderError::TwoImages { .. } => "incomplete_scan",
            FolderError::Read { .. } => "unreadable_scan",
        }
    }
}

/// Reads a scan folder; a missing low image makes it a single-energy scan.
pub async fn read_scan(folder: &Path) -> Result<ScanFiles, FolderError> {
    let read_error = |source| FolderError::Read { path: folder.to_owned(), source };
    if !tokio::fs::metadata(folder).await.map_err(read_error)?.is_dir() {
        return Err(FolderError::NotAFolder(folder.to_owned()));
    }
    let metadata = read_optional(&folder.join(METADATA_FILE)).await?.ok_or_else(|| FolderError::NoMetadata(folder.to_owned()))?;
    let high = read_image(folder, "high").await?.ok_or_else(|| FolderError::NoHighImage(folder.to_owned()))?;
    let low = read_image(folder, "low").await?;
    Ok(ScanFiles { metadata, high, low })
}

/// `<energy>.png`, `.tif` or `.tiff`, whichever one is there.
async fn read_image(folder: &Path, energy: &'static str) -> Result<Option<Image>, FolderError> {
    let mut found: Option<Image> = None;
    for (extension, mime) in [("png", "image/png"), ("tif", "image/tiff"), ("tiff", "image/tiff")] {
        let file_name = format!("{energy}.{extension}");
        let Some(bytes) = read_optional(&folder.join(&file_name)).await? else { continue };
        if let Some(first) = found {
            return Err(FolderError::TwoImages { folder: folder.to_owned(), energy, first: first.file_name, second: file_name });
        }
        found = Some(Image { file_name, mime, bytes });
    }
    Ok(found)
}

async fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, FolderError> {
    match tokio::fs::read(path).await {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(FolderError::Read { path: path.to_owned(), source }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn single_and_dual_energy_folders_and_what_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let error = read_scan(&dir.path().join("absent")).await.unwrap_err();
        assert!(error.to_string().starts_with("cannot read") && error.code() == "unreadable_scan", "{error}");
        std::fs::write(dir.path().join("file"), b"").unwrap();
        assert!(matches!(read_scan(&dir.path().join("file")).await, Err(FolderError::NotAFolder(_))));

        let folder = &dir.path().join("scan");
        std::fs::create_dir(folder).unwrap();
        let error = read_scan(folder).await.unwrap_err();
        assert!(matches!(error, FolderError::NoMetadata(_)), "{error}");

        std::fs::write(folder.join("meta.json"), b"{}").unwrap();
        let error = read_scan(folder).await.unwrap_err();
        assert!(matches!(error, FolderError::NoHighImage(_)), "{error}");
        assert_eq!(error.code(), "incomplete_scan");

        std::fs::write(folder.join("high.tif"), b"II*\0").unwrap();
        let scan = read_scan(folder).await.unwrap();
        assert_eq!((scan.high.file_name.as_str(), scan.high.mime), ("high.tif", "image/tiff"));
        assert!(scan.low.is_none());

        std::fs::write(folder.join("low.png"), b"png").unwrap();
        assert_eq!(read_scan(folder).await.unwrap().low.unwrap().mime, "image/png");

        std::fs::write(folder.join("high.png"), b"png").unwrap();
        let error = read_scan(folder).await.unwrap_err();
        assert!(error.to_string().contains("both high.png and high.tif"), "{error}");
    }

    #[tokio::test]
    async fn an_unreadable_file_is_an_error_not_a_missing_one() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("meta.json")).unwrap(); // a folder cannot be read as a file
        let error = read_scan(dir.path()).await.unwrap_err();
        assert_eq!(error.code(), "unreadable_scan", "{error}");
    }
}
