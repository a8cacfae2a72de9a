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
    /// Images in the backup.
    pub images: usize,
    /// Of those, the ones linked to an earlier backup's copy rather than copied.
    pub linked: usize,
    /// Bytes copied.
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
/// from `images` into the directory `images_to`. Images that an earlier backup's `previous`
/// holds intact are hard-linked from there where the file system allows, so that daily backups
/// each stay complete while only new images take room.
pub async fn backup(
    store: &Store,
    images: &dyn ImageStore,
    database: &Path,
    images_to: &Path,
    previous: Option<&FsImageStore>,
) -> Result<BackupReport, BackupError> {
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
        if let Some(previous) = previous {
            // Read back first: a damaged earlier copy is copied afresh, not linked.
            if previous.get(&key).await.is_ok() && copies.link_from(previous, &key).await? {
                report.images += 1;
                report.linked += 1;
                continue;
            }
        }
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

    /// A database with one scan for each of these high-energy images.
    async fn scans_of(dir: &Path, highs: &[String]) -> Store {
        let store = Store::open_sqlite(&dir.join("scantriage.db")).await.unwrap();
        for (n, high) in highs.iter().enumerate() {
            let scan = NewScan {
                id: format!("scan-{n}"),
                station_id: "GATE-1".into(),
                station_scan_id: format!("{n}"),
                content_digest: format!("digest-{n}"),
                metadata: "{}".into(),
                high_image: high.clone(),
                low_image: None,
                containers: String::new(),
                declared_goods: String::new(),
                declaration_number: String::new(),
            };
            store.insert_scan(&scan).await.unwrap();
        }
        store
    }

    #[tokio::test]
    async fn an_image_that_cannot_be_read_leaves_the_backup_incomplete_and_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let images = FsImageStore::new(dir.path().join("images")).unwrap();
        let present = image_key(b"present");
        images.put(&present, bytes::Bytes::from_static(b"present")).await.unwrap();
        let store = scans_of(dir.path(), &[present.clone(), image_key(b"never stored")]).await;
        let copy = dir.path().join("copy");
        let error = backup(&store, &images, &copy.join("scantriage.db"), &copy.join("images"), None).await.unwrap_err();
        assert!(matches!(&error, BackupError::Unreadable { count: 1, .. }), "{error}");
        assert!(copy.join("images").join(&present[..2]).join(&present).exists(), "the rest is copied");
    }

    #[tokio::test]
    async fn intact_images_of_an_earlier_backup_are_linked_and_damaged_ones_copied_again() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let images = FsImageStore::new(dir.path().join("images")).unwrap();
        let previous = FsImageStore::new(dir.path().join("monday")).unwrap();
        let (kept, damaged) = (image_key(b"kept"), image_key(b"damaged"));
        for (key, bytes) in [(&kept, b"kept".as_slice()), (&damaged, b"damaged".as_slice())] {
            images.put(key, bytes::Bytes::copy_from_slice(bytes)).await.unwrap();
            previous.put(key, bytes::Bytes::copy_from_slice(bytes)).await.unwrap();
        }
        let file = |root: &str, key: &str| dir.path().join(root).join(&key[..2]).join(key);
        std::fs::write(file("monday", &damaged), b"damagex").unwrap();
        let store = scans_of(dir.path(), &[kept.clone(), damaged.clone()]).await;

        let tuesday = dir.path().join("tuesday");
        let report = backup(&store, &images, &tuesday.join("scantriage.db"), &tuesday.join("images"), Some(&previous)).await.unwrap();
        assert_eq!(report, BackupReport { images: 2, linked: 1, image_bytes: b"damaged".len() as u64 });
        let inode = |path: PathBuf| std::fs::metadata(path).unwrap().ino();
        assert_eq!(inode(file("tuesday/images", &kept)), inode(file("monday", &kept)));
        assert_eq!(std::fs::read(file("tuesday/images", &damaged)).unwrap(), b"damaged");
    }
}
