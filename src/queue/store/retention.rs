//! Retention: which settled scans' images have been kept long enough, and recording that they
//! were deleted. The files themselves are the image store's (`crate::queue::retention`).

use sqlx::Row;

use super::super::records::ScanState;
use super::{SYSTEM_ACTOR, Store, StoreError, audit, corrupt, parse};
use crate::queue::now_ms;

/// States in which nothing will read a scan's images again but a person looking back.
const SETTLED_STATES: [ScanState; 4] = [ScanState::Released, ScanState::Decided, ScanState::Closed, ScanState::Failed];

/// A settled scan whose images are due for deletion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpiredScan {
    pub id: String,
    pub state: ScanState,
    pub version: i64,
    pub high_image: String,
    pub low_image: Option<String>,
}

impl Store {
    /// Up to `limit` settled scans, unchanged since before `changed_before` (ms), that still
    /// have their images: oldest change first.
    pub async fn scans_with_expired_images(&self, changed_before: i64, limit: i64) -> Result<Vec<ExpiredScan>, StoreError> {
        let settled = SETTLED_STATES.map(|s| format!("'{}'", s.as_str())).join(", ");
        let rows = sqlx::query(&format!(
            "SELECT id, state, version, high_image, low_image FROM scans \
             WHERE images_purged_at IS NULL AND updated_at < $1 AND state IN ({settled}) \
             ORDER BY updated_at, id LIMIT $2"
        ))
        .bind(changed_before)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(self.error())?;
        rows.iter()
            .map(|row| {
                Ok(ExpiredScan {
                    id: row.try_get("id").map_err(corrupt)?,
                    state: parse(&row.try_get::<String, _>("state").map_err(corrupt)?)?,
                    version: row.try_get("version").map_err(corrupt)?,
                    high_image: row.try_get("high_image").map_err(corrupt)?,
                    low_image: row.try_get("low_image").map_err(corrupt)?,
                })
            })
            .collect()
    }

    /// Records that the scan's images are deleted and drops its heatmap cells, with an audit
    /// entry; false when the scan changed since it was read (it is then looked at next time).
    /// Called before the files go: a scan never refers to an image that is gone.
    pub async fn mark_images_purged(&self, scan: &ExpiredScan) -> Result<bool, StoreError> {
        let now = now_ms();
        let mut tx = self.pool.begin().await.map_err(self.error())?;
        let done = sqlx::query(
            "UPDATE scans SET images_purged_at = $1, updated_at = $1, version = version + 1 \
             WHERE id = $2 AND version = $3 AND images_purged_at IS NULL",
        )
        .bind(now)
        .bind(&scan.id)
        .bind(scan.version)
        .execute(&mut *tx)
        .await
        .map_err(self.error())?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        sqlx::query("UPDATE analyses SET heatmap_cells = NULL WHERE scan_id = $1")
            .bind(&scan.id)
            .execute(&mut *tx)
            .await
            .map_err(self.error())?;
        let details = serde_json::json!({ "high_image": scan.high_image, "low_image": scan.low_image });
        audit(&mut tx, &scan.id, now, SYSTEM_ACTOR, "images_purged", Some(scan.state), Some(scan.state), &details)
            .await
            .map_err(self.error())?;
        tx.commit().await.map_err(self.error())?;
        Ok(true)
    }

    /// Whether a scan that keeps its images refers to the image `key`.
    pub async fn image_in_use(&self, key: &str) -> Result<bool, StoreError> {
        let row = sqlx::query(
            "SELECT 1 AS used FROM scans WHERE images_purged_at IS NULL AND (high_image = $1 OR low_image = $1) LIMIT 1",
        )
        .bind(key)
        .fetch_optional(&self.pool)
        .await
        .map_err(self.error())?;
        Ok(row.is_some())
    }
}
