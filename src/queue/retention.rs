//! Retention: a settled scan's images (about 6 MB for a 40 ft dual-energy scan) and anomaly
//! heatmap cells (about 650 KB) are deleted a configured number of days after its last change,
//! so that the disk does not fill up at a steady rate of scans. The scan's record, verdict,
//! decision, outcome and audit log stay.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{ExpiredScan, Store, StoreError, now_ms};
use crate::ingest::images::{ImageStore, ImageStoreError};
use crate::metrics::Metrics;

/// Scans looked at per query.
const BATCH: i64 = 200;
/// An image stored again this recently may belong to a scan being taken in, which the database
/// does not show yet: it stays.
const RECENTLY_STORED: Duration = Duration::from_secs(3600);
/// How often the service looks for scans due.
pub const PURGE_INTERVAL: Duration = Duration::from_secs(3600);

#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Images(#[from] ImageStoreError),
}

/// What a purge did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Purged {
    /// Scans whose images and heatmap were deleted.
    pub scans: usize,
    /// Image files deleted (two scans may share one).
    pub images: usize,
}

/// Deletes the images and heatmap cells of up to `max_scans` settled scans unchanged since
/// before `changed_before` (Unix ms), oldest first, while `keep_going` holds. Each scan is
/// marked in the database first, so no scan ever refers to a deleted image; a crash between
/// the two leaves at most one scan's files behind.
pub async fn purge(
    store: &Store,
    images: &dyn ImageStore,
    changed_before: i64,
    max_scans: usize,
    keep_going: &(dyn Fn() -> bool + Sync),
) -> Result<Purged, RetentionError> {
    let mut purged = Purged::default();
    loop {
        let due = store.scans_with_expired_images(changed_before, BATCH).await?;
        let marked_before = purged.scans;
        for scan in &due {
            if purged.scans >= max_scans || !keep_going() {
                return Ok(purged);
            }
            if store.mark_images_purged(scan).await? {
                purged.scans += 1;
                purged.images += delete_unused_images(store, images, scan).await?;
            }
        }
        // A full batch of scans that all changed meanwhile is looked at next time.
        if (due.len() as i64) < BATCH || purged.scans == marked_before {
            return Ok(purged);
        }
    }
}

async fn delete_unused_images(store: &Store, images: &dyn ImageStore, scan: &ExpiredScan) -> Result<usize, RetentionError> {
    let stored_since = SystemTime::now() - RECENTLY_STORED;
    let mut deleted = 0;
    for key in std::iter::once(&scan.high_image).chain(&scan.low_image) {
        if !store.image_in_use(key).await? && images.delete_unless_stored_since(key, stored_since).await? {
            deleted += 1;
        }
    }
    Ok(deleted)
}

/// The service's purge every [`PURGE_INTERVAL`], the first at start-up.
pub struct Retention {
    stop: watch::Sender<bool>,
    handle: JoinHandle<()>,
}

impl Retention {
    pub fn start(store: Store, images: Arc<dyn ImageStore>, keep: Duration, metrics: Arc<Metrics>) -> Self {
        let (stop, mut stopped) = watch::channel(false);
        let handle = tokio::spawn(async move {
            loop {
                let changed_before = now_ms() - i64::try_from(keep.as_millis()).unwrap_or(i64::MAX);
                let running = || !*stopped.borrow();
                let purge = purge(&store, images.as_ref(), changed_before, usize::MAX, &running).await;
                metrics.count_purge(purge.as_ref());
                match purge {
                    Ok(Purged { scans: 0, .. }) => tracing::debug!("no scan's images are due for deletion"),
                    Ok(purged) => tracing::info!(scans = purged.scans, files = purged.images, "deleted the images of settled scans"),
                    // Tried again at the next interval; a scan marked but not cleaned up only
                    // leaves its files behind.
                    Err(error) => tracing::error!(%error, "deleting the images of settled scans failed"),
                }
                tokio::select! {
                    _ = tokio::time::sleep(PURGE_INTERVAL) => {}
                    _ = stopped.changed() => return,
                }
            }
        });
        Self { stop, handle }
    }

    /// Stops after the scan being purged, if any.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.handle.await;
    }
}
