//! Backups of the embedded storage while the service runs: the SQLite database as one
//! consistent snapshot, then every image a scan in that snapshot refers to, read back and
//! checked against its sha256 and written durably. The copy is a data directory of its own:
//! `scantriage serve --data-dir` on it is the restore.

use std::path::{Path, PathBuf};

use super::{Store, StoreError};
use crate::ingest::images::{FsImageStore, ImageStore, ImageStoreError};

/// What a backup copied.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BackupReport {
    pub images: usize,
    pub image_bytes: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0} exists already: back up into a new directory")]
    Exists(PathBuf),
    #[error("cannot create {path}: {source}")]
    Create { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot write the copy: {0}")]
    Copy(#[from] ImageStoreError),
    /// The rest was copied; these scans' images are not in the backup.
    #[error("{count} images the database refers to could not be read, e.g. {first}: the backup is incomplete")]
    Unreadable { count: usize, first: String },
}

/// Copies the database behind `store` to the new file `database` and the images it refers to
/// from `images` into the directory `images_to`.
pub async fn backup(store: &Store, images: &dyn ImageStore, database: &Path, images_to: &Path) -> Result<BackupReport, BackupError> {
    if database.exists() {
        return Err(BackupError::Exists(database.to_owned()));
    }
    if let Some(dir) = database.parent() {
        std::fs::create_dir_all(dir).map_err(|source| BackupError::Create { path: dir.to_owned(), source })?;
    }
    store.snapshot_into(database).await?;
    // The snapshot, not the live database, says which images belong in the backup: the live
    // one may have scans the snapshot does not.
    let keys = Store::kept_image_keys_in(database).await?;
    let copies = FsImageStore::new(images_to)?;
    let mut report = BackupReport::default();
    let mut unreadable = Vec::new();
    for key in keys {
        match images.get(&key).await {
            Ok(bytes) => {
                report.image_bytes += bytes.len() as u64;
                copies.put(&key, bytes).await?;
                report.images += 1;
            }
            Err(error) => unreadable.push(error.to_string()),
        }
    }
    match unreadable.first() {
        Some(first) => Err(BackupError::Unreadable { count: unreadable.len(), first: first.clone() }),
        None => Ok(report),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::images::image_key;
    use crate::queue::NewScan;

    #[tokio::test]
    async fn an_image_that_cannot_be_read_leaves_the_backup_incomplete_and_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite(&dir.path().join("scantriage.db")).await.unwrap();
        let images = FsImageStore::new(dir.path().join("images")).unwrap();
        let present = image_key(b"present");
        images.put(&present, bytes::Bytes::from_static(b"present")).await.unwrap();
        for (n, high) in [present.clone(), image_key(b"never stored")].into_iter().enumerate() {
            let scan = NewScan {
                id: format!("scan-{n}"),
                station_id: "GATE-1".into(),
                station_scan_id: format!("{n}"),
                content_digest: format!("digest-{n}"),
                metadata: "{}".into(),
                high_image: high,
                low_image: None,
                containers: String::new(),
                declared_goods: String::new(),
                declaration_number: String::new(),
            };
            store.insert_scan(&scan).await.unwrap();
        }
        let copy = dir.path().join("copy");
        let error = backup(&store, &images, &copy.join("scantriage.db"), &copy.join("images")).await.unwrap_err();
        assert!(matches!(&error, BackupError::Unreadable { count: 1, .. }), "{error}");
        assert!(copy.join("images").join(&present[..2]).join(&present).exists(), "the rest is copied");
    }
}
