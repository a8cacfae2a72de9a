//! A scan's way from upload to the queue: insertion, analysis leases, results, routing.

use std::time::Duration;

use sqlx::Row;
use sqlx::any::{Any, AnyArguments};
use sqlx::query::QueryScalar;

use super::super::records::{Inserted, NewScan, PendingAnalysis, ScanState, StoredAnalysis};
use super::{SYSTEM_ACTOR, Store, StoreError, audit, heatmap_cells, heatmap_grid, lease_ms};
use crate::queue::now_ms;
use crate::inference::analysis::Heatmap;
use crate::triage::{Lane, Verdict};

/// A change of state that many scans make at once, as the audit log records it.
struct Transition<'a> {
    at: i64,
    actor: &'a str,
    action: &'a str,
    from: ScanState,
    to: ScanState,
}

impl Store {
    /// Inserts a received scan, or finds the one the same station already sent under its id.
    pub async fn insert_scan(&self, scan: &NewScan) -> Result<Inserted, StoreError> {
        let now = now_ms();
        let mut tx = self.pool.begin().await.map_err(self.error())?;
        let inserted: Option<String> = sqlx::query_scalar(
            "INSERT INTO scans (id, station_id, station_scan_id, content_digest, metadata, high_image, low_image, \
             containers, declared_goods, state, received_at, updated_at, declaration_number) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12) \
             ON CONFLICT (station_id, station_scan_id) DO NOTHING RETURNING id",
        )
        .bind(&scan.id)
        .bind(&scan.station_id)
        .bind(&scan.station_scan_id)
        .bind(&scan.content_digest)
        .bind(&scan.metadata)
        .bind(&scan.high_image)
        .bind(&scan.low_image)
        .bind(&scan.containers)
        .bind(&scan.declared_goods)
        .bind(ScanState::Received.as_str())
        .bind(now)
        .bind(&scan.declaration_number)
        .fetch_optional(&mut *tx)
        .await
        .map_err(self.error())?;
        if inserted.is_some() {
            let details = serde_json::json!({ "station_scan_id": scan.station_scan_id, "high_image": scan.high_image, "low_image": scan.low_image });
            audit(&mut tx, &scan.id, now, &scan.station_id, "received", None, Some(ScanState::Received), &details)
                .await
                .map_err(self.error())?;
            for number in scan.containers.split(", ").filter(|number| !number.is_empty()) {
                sqlx::query("INSERT INTO scan_containers (number, scan_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                    .bind(number)
                    .bind(&scan.id)
                    .execute(&mut *tx)
                    .await
                    .map_err(self.error())?;
            }
            tx.commit().await.map_err(self.error())?;
            return Ok(Inserted::New { id: scan.id.clone() });
        }
        tx.rollback().await.map_err(self.error())?;
        let (id, digest) = self
            .find_station_scan(&scan.station_id, &scan.station_scan_id)
            .await?
            .ok_or_else(|| StoreError::Corrupt("a conflicting scan vanished".into()))?;
        Ok(if digest == scan.content_digest { Inserted::Duplicate { id } } else { Inserted::Conflict { id } })
    }

    /// The scan a station sent under its own id, with its content digest.
    pub async fn find_station_scan(
        &self,
        station_id: &str,
        station_scan_id: &str,
    ) -> Result<Option<(String, String)>, StoreError> {
        let row = sqlx::query("SELECT id, content_digest FROM scans WHERE station_id = $1 AND station_scan_id = $2")
            .bind(station_id)
            .bind(station_scan_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(self.error())?;
        row.map(|row| Ok((row.try_get("id")?, row.try_get("content_digest")?))).transpose().map_err(self.error())
    }

    /// Scans accepted but not yet through analysis and triage: the analysis backlog.
    pub async fn backlog(&self) -> Result<i64, StoreError> {
        sqlx::query_scalar("SELECT COUNT(*) FROM scans WHERE state IN ('received', 'analysing', 'analysed')")
            .fetch_one(&self.pool)
            .await
            .map_err(self.error())
    }

    /// Takes the oldest scan waiting for analysis, or one whose worker's lease lapsed, for
    /// `lease`. Scans interrupted `max_attempts` times fail instead: something in them may be
    /// what brings the worker down.
    pub async fn claim_analysis(
        &self,
        worker: &str,
        lease: Duration,
        max_attempts: i64,
    ) -> Result<Option<PendingAnalysis>, StoreError> {
        let now = now_ms();
        self.fail_exhausted(now, max_attempts).await?;
        let mut tx = self.pool.begin().await.map_err(self.error())?;
        let sql = format!(
            "UPDATE scans SET state = 'analysing', attempts = attempts + 1, worker = $1, lease_until = $2, \
             updated_at = $3, version = version + 1 \
             WHERE id = (SELECT id FROM scans WHERE state = 'received' OR (state = 'analysing' AND lease_until < $3) \
             ORDER BY received_at LIMIT 1 {}) \
             RETURNING id, attempts, metadata, high_image, low_image, received_at",
            self.backend.skip_locked_rows()
        );
        let row = sqlx::query(&sql)
            .bind(worker)
            .bind(now + lease_ms(lease))
            .bind(now)
            .fetch_optional(&mut *tx)
            .await
            .map_err(self.error())?;
        let Some(row) = row else {
            return Ok(None);
        };
        let pending = PendingAnalysis {
            scan_id: row.try_get("id").map_err(self.error())?,
            attempt: row.try_get("attempts").map_err(self.error())?,
            metadata: row.try_get("metadata").map_err(self.error())?,
            high_image: row.try_get("high_image").map_err(self.error())?,
            low_image: row.try_get("low_image").map_err(self.error())?,
            received_at: row.try_get("received_at").map_err(self.error())?,
        };
        let previous = if pending.attempt == 1 { ScanState::Received } else { ScanState::Analysing };
        let details = serde_json::json!({ "worker": worker, "attempt": pending.attempt });
        audit(&mut tx, &pending.scan_id, now, SYSTEM_ACTOR, "analysis_started", Some(previous), Some(ScanState::Analysing), &details)
            .await
            .map_err(self.error())?;
        tx.commit().await.map_err(self.error())?;
        Ok(Some(pending))
    }

    async fn fail_exhausted(&self, now: i64, max_attempts: i64) -> Result<(), StoreError> {
        let failure = format!("analysis was interrupted {max_attempts} times");
        let update = sqlx::query_scalar(
            "UPDATE scans SET state = 'failed', failure = $1, worker = NULL, lease_until = NULL, updated_at = $2, \
             version = version + 1 WHERE state = 'analysing' AND lease_until < $2 AND attempts >= $3 RETURNING id",
        )
        .bind(&failure)
        .bind(now)
        .bind(max_attempts);
        let change = Transition { at: now, actor: SYSTEM_ACTOR, action: "analysis_failed", from: ScanState::Analysing, to: ScanState::Failed };
        self.transition(update, change, &failure).await?;
        Ok(())
    }

    /// Called when the analysis workers start. On a database one process owns, analyses marked
    /// running died with the previous process: they wait for a worker again at once. Shared
    /// databases leave them to their leases, as another instance may still be working on them.
    pub async fn requeue_interrupted(&self) -> Result<(), StoreError> {
        if !self.backend.single_instance() {
            return Ok(());
        }
        let now = now_ms();
        let update = sqlx::query_scalar(
            "UPDATE scans SET state = 'received', worker = NULL, lease_until = NULL, updated_at = $1, \
             version = version + 1 WHERE state = 'analysing' RETURNING id",
        )
        .bind(now);
        let change = Transition { at: now, actor: SYSTEM_ACTOR, action: "analysis_requeued", from: ScanState::Analysing, to: ScanState::Received };
        let ids = self.transition(update, change, "the service restarted during the analysis").await?;
        if !ids.is_empty() {
            tracing::warn!(scans = ids.len(), "analyses interrupted by the last shutdown are queued again");
        }
        Ok(())
    }

    /// Scans that failed at or after `since` wait for a worker again, their attempts reset:
    /// for when the cause (a full disk, a database outage, a broken model) is fixed. Scans
    /// whose images retention deleted stay failed. The ids of the scans queued again.
    pub async fn requeue_failed(&self, since: i64, actor: &str) -> Result<Vec<String>, StoreError> {
        let now = now_ms();
        let update = sqlx::query_scalar(
            "UPDATE scans SET state = 'received', attempts = 0, failure = NULL, worker = NULL, lease_until = NULL, \
             updated_at = $1, version = version + 1 \
             WHERE state = 'failed' AND updated_at >= $2 AND images_purged_at IS NULL RETURNING id",
        )
        .bind(now)
        .bind(since);
        let change = Transition { at: now, actor, action: "analysis_requeued", from: ScanState::Failed, to: ScanState::Received };
        self.transition(update, change, "queued again after its failure").await
    }

    /// Runs `update`, an UPDATE of many scans returning their ids, and logs `change` with
    /// `reason` for each, in one transaction.
    async fn transition<'q>(
        &self,
        update: QueryScalar<'q, Any, String, AnyArguments<'q>>,
        change: Transition<'_>,
        reason: &str,
    ) -> Result<Vec<String>, StoreError> {
        let mut tx = self.pool.begin().await.map_err(self.error())?;
        let ids = update.fetch_all(&mut *tx).await.map_err(self.error())?;
        let details = serde_json::json!({ "reason": reason });
        for id in &ids {
            audit(&mut tx, id, change.at, change.actor, change.action, Some(change.from), Some(change.to), &details)
                .await
                .map_err(self.error())?;
        }
        tx.commit().await.map_err(self.error())?;
        Ok(ids)
    }

    /// Stores a finished analysis if `job` still holds the scan; `false` when another worker
    /// took it over after this one's lease lapsed (its result is then dropped, never doubled).
    pub async fn finish_analysis(&self, job: &PendingAnalysis, analysis: &StoredAnalysis) -> Result<bool, StoreError> {
        let now = now_ms();
        let mut tx = self.pool.begin().await.map_err(self.error())?;
        if !self.leave_analysing(&mut tx, job, ScanState::Analysed, None, now).await? {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO analyses (scan_id, analysis, heatmap, heatmap_cells, models, attempt, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&job.scan_id)
        .bind(analysis.analysis.to_string())
        .bind(heatmap_grid(analysis.heatmap.as_ref().unwrap_or(&Heatmap::default())))
        .bind(analysis.heatmap.as_ref().map(heatmap_cells))
        .bind(analysis.models.to_string())
        .bind(job.attempt)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(self.error())?;
        let details = serde_json::json!({ "attempt": job.attempt, "models": analysis.models });
        audit(&mut tx, &job.scan_id, now, SYSTEM_ACTOR, "analysed", Some(ScanState::Analysing), Some(ScanState::Analysed), &details)
            .await
            .map_err(self.error())?;
        tx.commit().await.map_err(self.error())?;
        Ok(true)
    }

    /// Marks a scan that cannot be analysed as failed, with the reason.
    pub async fn fail_analysis(&self, job: &PendingAnalysis, reason: &str) -> Result<bool, StoreError> {
        let now = now_ms();
        let mut tx = self.pool.begin().await.map_err(self.error())?;
        if !self.leave_analysing(&mut tx, job, ScanState::Failed, Some(reason), now).await? {
            return Ok(false);
        }
        let details = serde_json::json!({ "attempt": job.attempt, "reason": reason });
        audit(&mut tx, &job.scan_id, now, SYSTEM_ACTOR, "analysis_failed", Some(ScanState::Analysing), Some(ScanState::Failed), &details)
            .await
            .map_err(self.error())?;
        tx.commit().await.map_err(self.error())?;
        Ok(true)
    }

    async fn leave_analysing(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        job: &PendingAnalysis,
        state: ScanState,
        failure: Option<&str>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE scans SET state = $1, failure = $2, worker = NULL, lease_until = NULL, updated_at = $3, \
             version = version + 1 WHERE id = $4 AND state = 'analysing' AND attempts = $5",
        )
        .bind(state.as_str())
        .bind(failure)
        .bind(now)
        .bind(&job.scan_id)
        .bind(job.attempt)
        .execute(&mut **tx)
        .await
        .map_err(self.error())?;
        Ok(done.rows_affected() == 1)
    }

    /// Analysed scans whose triage has not been stored: (scan id, metadata, analysis).
    pub async fn awaiting_triage(&self) -> Result<Vec<(String, String, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT s.id, s.metadata, a.analysis FROM scans s JOIN analyses a ON a.scan_id = s.id \
             WHERE s.state = 'analysed' ORDER BY s.received_at",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(self.error())?;
        rows.iter()
            .map(|row| Ok((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(self.error())
    }

    /// Stores triage's verdict: green scans are released, yellow and red ones queued.
    pub async fn route(&self, scan_id: &str, verdict: &Verdict) -> Result<ScanState, StoreError> {
        let now = now_ms();
        let state = if verdict.lane == Lane::Green { ScanState::Released } else { ScanState::Queued };
        let verdict_json = serde_json::to_value(verdict).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut tx = self.pool.begin().await.map_err(self.error())?;
        let done = sqlx::query(
            "UPDATE scans SET state = $1, risk_score = $2, lane = $3, verdict = $4, updated_at = $5, \
             version = version + 1 WHERE id = $6 AND state = 'analysed'",
        )
        .bind(state.as_str())
        .bind(i64::from(verdict.risk_score))
        .bind(verdict.lane.as_str())
        .bind(verdict_json.to_string())
        .bind(now)
        .bind(scan_id)
        .execute(&mut *tx)
        .await
        .map_err(self.error())?;
        if done.rows_affected() == 1 {
            let reasons: Vec<_> = verdict.reasons.iter().map(|r| r.code).collect();
            let details = serde_json::json!({ "lane": verdict.lane, "risk_score": verdict.risk_score, "reasons": reasons });
            let action = if state == ScanState::Queued { "queued" } else { "released" };
            audit(&mut tx, scan_id, now, SYSTEM_ACTOR, action, Some(ScanState::Analysed), Some(state), &details)
                .await
                .map_err(self.error())?;
        }
        tx.commit().await.map_err(self.error())?;
        Ok(state)
    }
}
