//! Where uploaded images are kept: content-addressed by sha256, so a retried upload stores
//! nothing twice and a stored image can always be checked against its name.

use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use async_trait::async_trait;
use bytes::Bytes;
use sha2::{Digest, Sha256};

/// The sha256 of an image's bytes, lowercase hex: its name in the store.
pub fn image_key(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Debug, thiserror::Error)]
pub enum ImageStoreError {
    #[error("image store at {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("no image {0} in the store")]
    Missing(String),
    #[error("image {key} in the store is damaged: its content no longer matches its sha256")]
    Damaged { key: String },
    /// Nothing was stored; the same upload succeeds once space is freed.
    #[error("image store at {path} is full: {reason}")]
    Full { path: PathBuf, reason: String },
}

impl ImageStoreError {
    /// An I/O error, as `Full` when the file system says it has no room.
    fn io(path: &Path, source: std::io::Error) -> Self {
        match source.kind() {
            std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => {
                Self::Full { path: path.to_owned(), reason: source.to_string() }
            }
            _ => Self::Io { path: path.to_owned(), source },
        }
    }
}

/// Durable storage for scan images. The local filesystem is the default; an S3-compatible
/// object store (e.g. with the `object_store` crate) can implement the same calls for
/// several instances sharing one store.
#[async_trait]
pub trait ImageStore: Send + Sync {
    /// Stores the bytes under `key`, their sha256 ([`image_key`]), and returns once they are
    /// durable. The caller has the key already: hashing megabytes twice per upload is waste.
    async fn put(&self, key: &str, bytes: Bytes) -> Result<(), ImageStoreError>;
    /// The bytes stored under `key`, checked against it.
    async fn get(&self, key: &str) -> Result<Bytes, ImageStoreError>;
    /// Deletes the image unless it was stored, or stored again, at or after `stored_since`:
    /// the same bytes may just have been uploaded for a new scan that the database does not
    /// show yet. Whether it was deleted (an image that is not there was not).
    async fn delete_unless_stored_since(&self, key: &str, stored_since: SystemTime) -> Result<bool, ImageStoreError>;
    /// Bytes free for new images, where the store can tell (a local disk): for monitoring.
    async fn free_bytes(&self) -> Option<u64> {
        None
    }
}

/// A store that also keeps the images stored last in memory, up to a budget in bytes. The
/// analysis worker takes a scan moments after its upload: with the bytes at hand it neither
/// reads them back nor hashes them again to check them (they are the bytes the key was
/// computed from).
pub struct RecentImages {
    store: Arc<dyn ImageStore>,
    budget: usize,
    kept: Mutex<Kept>,
}

#[derive(Default)]
struct Kept {
    oldest_first: VecDeque<String>,
    bytes: HashMap<String, Bytes>,
    total: usize,
}

impl RecentImages {
    pub fn new(store: Arc<dyn ImageStore>, budget: usize) -> Self {
        Self { store, budget, kept: Mutex::default() }
    }

    fn keep(&self, key: &str, bytes: Bytes) {
        let mut kept = self.kept.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if bytes.len() > self.budget || kept.bytes.contains_key(key) {
            return;
        }
        kept.total += bytes.len();
        kept.bytes.insert(key.to_owned(), bytes);
        kept.oldest_first.push_back(key.to_owned());
        while kept.total > self.budget
            && let Some(oldest) = kept.oldest_first.pop_front()
        {
            let freed = kept.bytes.remove(&oldest).map_or(0, |b| b.len());
            kept.total -= freed;
        }
    }

    fn kept(&self, key: &str) -> Option<Bytes> {
        self.kept.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).bytes.get(key).cloned()
    }
}

#[async_trait]
impl ImageStore for RecentImages {
    async fn put(&self, key: &str, bytes: Bytes) -> Result<(), ImageStoreError> {
        self.store.put(key, bytes.clone()).await?;
        self.keep(key, bytes);
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Bytes, ImageStoreError> {
        match self.kept(key) {
            Some(bytes) => Ok(bytes),
            None => self.store.get(key).await,
        }
    }

    async fn delete_unless_stored_since(&self, key: &str, stored_since: SystemTime) -> Result<bool, ImageStoreError> {
        let deleted = self.store.delete_unless_stored_since(key, stored_since).await?;
        if deleted {
            let mut kept = self.kept.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if let Some(bytes) = kept.bytes.remove(key) {
                kept.total -= bytes.len();
            }
        }
        Ok(deleted)
    }

    async fn free_bytes(&self) -> Option<u64> {
        self.store.free_bytes().await
    }
}

/// Images as files `<root>/<first two hex digits>/<sha256>`, each written to a temporary file,
/// synced, renamed into place and its directory synced: after `put` returns, a crash or power
/// loss cannot take the image back.
#[derive(Debug, Clone)]
pub struct FsImageStore {
    root: PathBuf,
    keep_free_bytes: u64,
    /// Makes storing an image that is already there (which renews its time) and deleting it
    /// one after the other, so that a deletion cannot take an image just stored again.
    renew_or_delete: Arc<Mutex<()>>,
}

impl FsImageStore {
    pub fn new(root: impl Into<PathBuf>) -> Result<Self, ImageStoreError> {
        let root = root.into();
        std::fs::create_dir_all(&root).map_err(|source| ImageStoreError::io(&root, source))?;
        Ok(Self { root, keep_free_bytes: 0, renew_or_delete: Arc::default() })
    }

    /// Refuses an image that would leave less than `bytes` free on the store's file system. The
    /// database, which records analyses and officers' decisions, usually shares that disk: it is
    /// new scans that should wait for space, not the work on the scans already taken in.
    pub fn keeping_free(self, bytes: u64) -> Self {
        Self { keep_free_bytes: bytes, ..self }
    }

    fn check_room_for(&self, incoming: usize) -> Result<(), ImageStoreError> {
        if self.keep_free_bytes == 0 {
            return Ok(());
        }
        let free = free_space(&self.root).map_err(|e| ImageStoreError::io(&self.root, e))?;
        if free < self.keep_free_bytes.saturating_add(incoming as u64) {
            const MB: u64 = 1 << 20;
            let reason = format!("{} MB free, and {} MB are kept free", free / MB, self.keep_free_bytes / MB);
            return Err(ImageStoreError::Full { path: self.root.clone(), reason });
        }
        Ok(())
    }

    fn path_of(&self, key: &str) -> Option<PathBuf> {
        let valid = key.len() == 64 && key.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        valid.then(|| self.root.join(&key[..2]).join(key))
    }

    fn put_blocking(&self, key: &str, bytes: &[u8]) -> Result<(), ImageStoreError> {
        let path = self.path_of(key).ok_or_else(|| ImageStoreError::Missing(key.to_owned()))?;
        {
            let _renewing = self.renew_or_delete.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if path.exists() {
                // Stored again: the modification time tells retention it is in use.
                let file = std::fs::File::options().write(true).open(&path).map_err(|e| ImageStoreError::io(&path, e))?;
                file.set_modified(SystemTime::now()).map_err(|e| ImageStoreError::io(&path, e))?;
                return Ok(());
            }
        }
        self.check_room_for(bytes.len())?;
        self.create_durably(&path, |dir| {
            let mut file = tempfile::NamedTempFile::new_in(dir).map_err(io(dir))?;
            file.write_all(bytes).map_err(io(file.path()))?;
            file.as_file().sync_all().map_err(io(file.path()))?;
            file.persist(&path).map_err(|e| ImageStoreError::io(&path, e.error))?;
            Ok(())
        })
    }

    /// Makes the file `path` with `create` (given its directory, made if need be), then syncs
    /// the directory, and the root when the directory is new: the name survives a crash.
    fn create_durably(&self, path: &Path, create: impl FnOnce(&Path) -> Result<(), ImageStoreError>) -> Result<(), ImageStoreError> {
        let dir = path.parent().expect("keys live in a subdirectory");
        let new_dir = !dir.exists();
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        create(dir)?;
        sync_dir(dir).map_err(io(dir))?;
        if new_dir {
            sync_dir(&self.root).map_err(io(&self.root))?;
        }
        Ok(())
    }

    /// Gives this store `other`'s file of `key` by a hard link, without copying it: for
    /// backups kept beside an earlier one on the same disk. False when there is nothing to link
    /// or the link cannot be made (another file system): then the caller copies.
    pub async fn link_from(&self, other: &FsImageStore, key: &str) -> Result<bool, ImageStoreError> {
        let (store, other, key) = (self.clone(), other.clone(), key.to_owned());
        crate::on_blocking_thread(move || {
            let (Some(from), Some(to)) = (other.path_of(&key), store.path_of(&key)) else {
                return Err(ImageStoreError::Missing(key));
            };
            if to.exists() {
                return Ok(true);
            }
            Ok(store.create_durably(&to, |_| std::fs::hard_link(&from, &to).map_err(io(&to))).is_ok())
        })
        .await
    }

    fn get_blocking(&self, key: &str) -> Result<Bytes, ImageStoreError> {
        let path = self.path_of(key).ok_or_else(|| ImageStoreError::Missing(key.to_owned()))?;
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(ImageStoreError::Missing(key.to_owned())),
            Err(source) => return Err(ImageStoreError::Io { path, source }),
        };
        if image_key(&bytes) != key {
            return Err(ImageStoreError::Damaged { key: key.to_owned() });
        }
        Ok(bytes.into())
    }

    fn delete_blocking(&self, key: &str, stored_since: SystemTime) -> Result<bool, ImageStoreError> {
        let path = self.path_of(key).ok_or_else(|| ImageStoreError::Missing(key.to_owned()))?;
        let _deleting = self.renew_or_delete.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let stored = match std::fs::metadata(&path).and_then(|m| m.modified()) {
            Ok(stored) => stored,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(source) => return Err(ImageStoreError::Io { path, source }),
        };
        if stored >= stored_since {
            return Ok(false);
        }
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(source) => Err(ImageStoreError::Io { path, source }),
        }
    }
}

/// Bytes available to this process on the file system holding `dir`.
fn free_space(dir: &Path) -> std::io::Result<u64> {
    let stat = rustix::fs::statvfs(dir)?;
    Ok(stat.f_bavail.saturating_mul(stat.f_frsize))
}

/// Maps an I/O error to the store's error naming `path`.
fn io(path: &Path) -> impl Fn(std::io::Error) -> ImageStoreError + use<> {
    let path = path.to_owned();
    move |source| ImageStoreError::io(&path, source)
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[async_trait]
impl ImageStore for FsImageStore {
    async fn put(&self, key: &str, bytes: Bytes) -> Result<(), ImageStoreError> {
        let (store, key) = (self.clone(), key.to_owned());
        crate::on_blocking_thread(move || store.put_blocking(&key, &bytes)).await
    }

    async fn get(&self, key: &str) -> Result<Bytes, ImageStoreError> {
        let (store, key) = (self.clone(), key.to_owned());
        crate::on_blocking_thread(move || store.get_blocking(&key)).await
    }

    async fn delete_unless_stored_since(&self, key: &str, stored_since: SystemTime) -> Result<bool, ImageStoreError> {
        let (store, key) = (self.clone(), key.to_owned());
        crate::on_blocking_thread(move || store.delete_blocking(&key, stored_since)).await
    }

    async fn free_bytes(&self) -> Option<u64> {
        let root = self.root.clone();
        crate::on_blocking_thread(move || free_space(&root)).await.ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn stores_by_content_and_detects_damage() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsImageStore::new(dir.path()).unwrap();
        let key = image_key(b"scan bytes");
        store.put(&key, Bytes::from_static(b"scan bytes")).await.unwrap();
        store.put(&key, Bytes::from_static(b"scan bytes")).await.unwrap();
        assert_eq!(store.get(&key).await.unwrap(), &b"scan bytes"[..]);

        std::fs::write(dir.path().join(&key[..2]).join(&key), b"scan bytez").unwrap();
        assert!(matches!(store.get(&key).await, Err(ImageStoreError::Damaged { .. })));
        assert!(matches!(store.get(&"0".repeat(64)).await, Err(ImageStoreError::Missing(_))));
        assert!(matches!(store.get("../../etc/passwd").await, Err(ImageStoreError::Missing(_))), "keys are never paths");
    }

    #[tokio::test]
    async fn an_image_that_would_eat_into_the_reserve_is_refused_and_nothing_is_left() {
        let dir = tempfile::tempdir().unwrap();
        let key = image_key(b"scan bytes");
        let full = FsImageStore::new(dir.path()).unwrap().keeping_free(u64::MAX);
        let error = full.put(&key, Bytes::from_static(b"scan bytes")).await.unwrap_err();
        assert!(matches!(error, ImageStoreError::Full { .. }), "{error}");
        assert!(error.to_string().contains("MB are kept free"), "{error}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "not even a temporary file");

        let roomy = FsImageStore::new(dir.path()).unwrap().keeping_free(1);
        roomy.put(&key, Bytes::from_static(b"scan bytes")).await.unwrap();
        assert_eq!(roomy.get(&key).await.unwrap(), &b"scan bytes"[..]);
        assert!(roomy.free_bytes().await.is_some_and(|free| free > 0));
    }

    #[test]
    fn the_file_system_saying_it_is_full_is_told_apart() {
        let enospc = std::io::Error::from_raw_os_error(28);
        assert!(matches!(ImageStoreError::io(Path::new("/images"), enospc), ImageStoreError::Full { .. }));
        let denied = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        assert!(matches!(ImageStoreError::io(Path::new("/images"), denied), ImageStoreError::Io { .. }));
    }

    #[tokio::test]
    async fn recent_images_are_served_from_memory_within_the_budget() {
        let dir = tempfile::tempdir().unwrap();
        let recent = RecentImages::new(Arc::new(FsImageStore::new(dir.path()).unwrap()), 11);
        let images: Vec<(String, Bytes)> = ["first", "second", "third"]
            .into_iter()
            .map(|text| (image_key(text.as_bytes()), Bytes::from(text)))
            .collect();
        for (key, bytes) in &images {
            recent.put(key, bytes.clone()).await.unwrap();
        }
        // Damage every file on disk: what is still kept in memory reads fine, the rest does not.
        for (key, _) in &images {
            std::fs::write(dir.path().join(&key[..2]).join(key), b"damaged").unwrap();
        }
        assert!(matches!(recent.get(&images[0].0).await, Err(ImageStoreError::Damaged { .. })), "the oldest left memory");
        assert_eq!(recent.get(&images[1].0).await.unwrap(), images[1].1);
        assert_eq!(recent.get(&images[2].0).await.unwrap(), images[2].1);
    }

    #[tokio::test]
    async fn an_image_is_deleted_unless_it_was_stored_again_since() {
        let dir = tempfile::tempdir().unwrap();
        let recent = RecentImages::new(Arc::new(FsImageStore::new(dir.path()).unwrap()), 1 << 20);
        let key = image_key(b"scan bytes");
        let path = dir.path().join(&key[..2]).join(&key);
        let stored_at = |when: SystemTime| std::fs::File::options().write(true).open(&path).unwrap().set_modified(when).unwrap();
        let (day_ago, hour_ago) = (SystemTime::now() - Duration::from_secs(86_400), SystemTime::now() - Duration::from_secs(3600));

        recent.put(&key, Bytes::from_static(b"scan bytes")).await.unwrap();
        stored_at(day_ago);
        recent.put(&key, Bytes::from_static(b"scan bytes")).await.unwrap();
        assert!(!recent.delete_unless_stored_since(&key, hour_ago).await.unwrap(), "stored again: in use");
        assert!(path.exists());

        stored_at(day_ago);
        assert!(recent.delete_unless_stored_since(&key, hour_ago).await.unwrap());
        assert!(!path.exists());
        assert!(matches!(recent.get(&key).await, Err(ImageStoreError::Missing(_))), "not served from memory either");
        assert!(!recent.delete_unless_stored_since(&key, hour_ago).await.unwrap(), "gone already");
        assert!(recent.delete_unless_stored_since("../../etc/passwd", hour_ago).await.is_err(), "keys are never paths");
    }
}
