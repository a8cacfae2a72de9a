//! The scans table, their analyses and the audit log, in SQL that SQLite and PostgreSQL both
//! speak. Every change of a scan bumps its `version` and appends an audit entry in the same
//! transaction, so the log can be trusted to tell the whole story.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Row};

use super::backend::Backend;
use super::postgres::Postgres;
use super::records::{
    AuditEntry, Claim, Inserted, NewScan, OutcomeExport, PendingAnalysis, QueueEntry, QueueFilter, QueueStats,
    ScanRecord, ScanState, StoredAnalysis,
};
use super::sqlite::Sqlite;
use super::now_ms;
use crate::review::ReviewChange;
use crate::triage::{Lane, Verdict};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported database URL {0:?}: use sqlite:///path/to/file.db or postgres://user@host/db")]
    UnsupportedUrl(String),
    #[error("{backend} database: {source}")]
    Database { backend: &'static str, source: sqlx::Error },
    #[error("{backend} schema migration {version} failed: {source}")]
    Migration { backend: &'static str, version: i64, source: sqlx::Error },
    #[error("stored value cannot be read: {0}")]
    Corrupt(String),
}

/// Every column of `scans` a [`ScanRecord`] is read from.
const SCAN_COLUMNS: &str = "id, station_id, station_scan_id, state, failure, attempts, risk_score, lane, verdict, \
    containers, declared_goods, claimed_by, claim_until, decision, decision_notes, decided_by, decided_at, \
    outcome, outcome_notes, outcome_by, outcome_at, received_at, updated_at, metadata, high_image, low_image, version";

/// The actor recorded for what the service does on its own.
pub const SYSTEM_ACTOR: &str = "system";

/// Scans, analyses and audit log on one database.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: &'static dyn Backend,
}

impl Store {
    /// Opens the database a URL names (`sqlite://…` or `postgres://…`) and migrates it.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend: &'static dyn Backend = if url.starts_with("sqlite:") {
            &Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            &Postgres
        } else {
            return Err(StoreError::UnsupportedUrl(url.to_owned()));
        };
        let pool = backend.connect(url).await.map_err(database(backend))?;
        let store = Self { pool, backend };
        store.migrate().await?;
        Ok(store)
    }

    /// Opens (creating if needed) the SQLite database at `path`.
    pub async fn open_sqlite(path: &Path) -> Result<Self, StoreError> {
        Self::open(&format!("sqlite://{}", path.display())).await
    }

    pub fn backend(&self) -> &'static str {
        self.backend.name()
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").fetch_one(&self.pool).await.map_err(self.error())?;
        Ok(())
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let backend = self.backend;
        let failed = |version| move |source| StoreError::Migration { backend: backend.name(), version, source };
        let mut tx = self.pool.begin().await.map_err(failed(0))?;
        if let Some(lock) = backend.migration_lock() {
            sqlx::query(lock).fetch_one(&mut *tx).await.map_err(failed(0))?;
        }
        sqlx::raw_sql(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
        )
        .execute(&mut *tx)
        .await
        .map_err(failed(0))?;
        let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM schema_migrations")
            .fetch_all(&mut *tx)
            .await
            .map_err(failed(0))?;
        for &(version, sql) in backend.migrations() {
            if applied.contains(&version) {
                continue;
            }
            sqlx::raw_sql(sql).execute(&mut *tx).await.map_err(failed(version))?;
            sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)")
                .bind(version)
                .bind(now_ms())
                .execute(&mut *tx)
                .await
                .map_err(failed(version))?;
            tracing::info!(backend = backend.name(), version, "applied schema migration");
        }
        tx.commit().await.map_err(failed(0))?;
        Ok(())
    }

    /// Inserts a received scan, or finds the one the same station already sent under its id.
    pub async fn insert_scan(&self, scan: &NewScan) -> Result<Inserted, StoreError> {
        let now = now_ms();
        let mut tx = self.pool.begin().await.map_err(self.error())?;
        let inserted: Option<String> = sqlx::query_scalar(
            "INSERT INTO scans (id, station_id, station_scan_id, content_digest, metadata, high_image, low_image, \
             containers, declared_goods, state, received_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) \
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
        .fetch_optional(&mut *tx)
        .await
        .map_err(self.error())?;
        if inserted.is_some() {
            let details = serde_json::json!({ "station_scan_id": scan.station_scan_id, "high_image": scan.high_image, "low_image": scan.low_image });
            audit(&mut tx, &scan.id, now, &scan.station_id, "received", None, Some(ScanState::Received), &details)
                .await
                .map_err(self.error())?;
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
        let mut tx = self.pool.begin().await.map_err(self.error())?;
        let failure = format!("analysis was interrupted {max_attempts} times");
        let ids: Vec<String> = sqlx::query_scalar(
            "UPDATE scans SET state = 'failed', failure = $1, worker = NULL, lease_until = NULL, updated_at = $2, \
             version = version + 1 WHERE state = 'analysing' AND lease_until < $2 AND attempts >= $3 RETURNING id",
        )
        .bind(&failure)
        .bind(now)
        .bind(max_attempts)
        .fetch_all(&mut *tx)
        .await
        .map_err(self.error())?;
        for id in &ids {
            let details = serde_json::json!({ "reason": failure });
            audit(&mut tx, id, now, SYSTEM_ACTOR, "analysis_failed", Some(ScanState::Analysing), Some(ScanState::Failed), &details)
                .await
                .map_err(self.error())?;
        }
        tx.commit().await.map_err(self.error())?;
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
        let mut tx = self.pool.begin().await.map_err(self.error())?;
        let ids: Vec<String> = sqlx::query_scalar(
            "UPDATE scans SET state = 'received', worker = NULL, lease_until = NULL, updated_at = $1, \
             version = version + 1 WHERE state = 'analysing' RETURNING id",
        )
        .bind(now)
        .fetch_all(&mut *tx)
        .await
        .map_err(self.error())?;
        for id in &ids {
            let details = serde_json::json!({ "reason": "the service restarted during the analysis" });
            audit(&mut tx, id, now, SYSTEM_ACTOR, "analysis_requeued", Some(ScanState::Analysing), Some(ScanState::Received), &details)
                .await
                .map_err(self.error())?;
        }
        tx.commit().await.map_err(self.error())?;
        if !ids.is_empty() {
            tracing::warn!(scans = ids.len(), "analyses interrupted by the last shutdown are queued again");
        }
        Ok(())
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
            "INSERT INTO analyses (scan_id, analysis, heatmap, models, attempt, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&job.scan_id)
        .bind(analysis.analysis.to_string())
        .bind(analysis.heatmap.to_string())
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

    pub async fn scan(&self, id: &str) -> Result<Option<ScanRecord>, StoreError> {
        let row = sqlx::query(&format!("SELECT {SCAN_COLUMNS} FROM scans WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(self.error())?;
        row.map(|row| scan_record(&row)).transpose()
    }

    pub async fn analysis(&self, scan_id: &str) -> Result<Option<StoredAnalysis>, StoreError> {
        let row = sqlx::query("SELECT analysis, heatmap, models FROM analyses WHERE scan_id = $1")
            .bind(scan_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(self.error())?;
        row.map(|row| {
            Ok(StoredAnalysis {
                analysis: json_column(&row, "analysis")?,
                heatmap: json_column(&row, "heatmap")?,
                models: json_column(&row, "models")?,
            })
        })
        .transpose()
    }

    /// The risk queue: highest risk first, then oldest.
    pub async fn queue(&self, filter: &QueueFilter) -> Result<Vec<QueueEntry>, StoreError> {
        let state = filter.state.unwrap_or(ScanState::Queued);
        let rows = sqlx::query(&format!(
            "SELECT {SCAN_COLUMNS} FROM scans WHERE state = $1 AND ($2 IS NULL OR lane = $2) \
             AND ($3 IS NULL OR station_id = $3) \
             ORDER BY risk_score DESC, received_at ASC, id LIMIT $4 OFFSET $5"
        ))
        .bind(state.as_str())
        .bind(filter.lane.map(Lane::as_str))
        .bind(filter.station.as_deref())
        .bind(filter.limit())
        .bind(i64::from(filter.offset.unwrap_or(0)))
        .fetch_all(&self.pool)
        .await
        .map_err(self.error())?;
        rows.iter().map(|row| scan_record(row).map(queue_entry)).collect()
    }

    /// Claims the first unclaimed scan of the queue for `officer` until `until`.
    pub async fn claim_next(&self, officer: &str, filter: &QueueFilter, until: i64) -> Result<Option<String>, StoreError> {
        let now = now_ms();
        let mut tx = self.pool.begin().await.map_err(self.error())?;
        let sql = format!(
            "UPDATE scans SET claimed_by = $1, claim_until = $2, updated_at = $3, version = version + 1 \
             WHERE id = (SELECT id FROM scans WHERE state = 'queued' AND (claimed_by IS NULL OR claim_until < $3) \
             AND ($4 IS NULL OR lane = $4) AND ($5 IS NULL OR station_id = $5) \
             ORDER BY risk_score DESC, received_at ASC, id LIMIT 1 {}) RETURNING id",
            self.backend.skip_locked_rows()
        );
        let id: Option<String> = sqlx::query_scalar(&sql)
            .bind(officer)
            .bind(until)
            .bind(now)
            .bind(filter.lane.map(Lane::as_str))
            .bind(filter.station.as_deref())
            .fetch_optional(&mut *tx)
            .await
            .map_err(self.error())?;
        if let Some(id) = &id {
            let details = serde_json::json!({ "until": super::records::to_rfc3339(until) });
            audit(&mut tx, id, now, officer, "claimed", Some(ScanState::Queued), Some(ScanState::Queued), &details)
                .await
                .map_err(self.error())?;
        }
        tx.commit().await.map_err(self.error())?;
        Ok(id)
    }

    /// Applies an officer's change to the scan if it is still at `version`; `false` when
    /// someone else changed it first (the caller reads it again and re-decides).
    pub async fn apply_review(&self, id: &str, version: i64, change: &ReviewChange) -> Result<bool, StoreError> {
        let now = now_ms();
        let mut tx = self.pool.begin().await.map_err(self.error())?;
        let fields = &change.fields;
        let done = sqlx::query(
            "UPDATE scans SET state = $1, claimed_by = $2, claim_until = $3, decision = $4, decision_notes = $5, \
             decided_by = $6, decided_at = $7, outcome = $8, outcome_notes = $9, outcome_by = $10, outcome_at = $11, \
             updated_at = $12, version = version + 1 WHERE id = $13 AND version = $14",
        )
        .bind(change.new_state.as_str())
        .bind(fields.claim.as_ref().map(|c| c.officer.clone()))
        .bind(fields.claim.as_ref().map(|c| c.until))
        .bind(fields.decision.map(|d| d.as_str()))
        .bind(fields.decision_notes.as_deref())
        .bind(fields.decided_by.as_deref())
        .bind(fields.decided_at)
        .bind(fields.outcome.map(|o| o.as_str()))
        .bind(fields.outcome_notes.as_deref())
        .bind(fields.outcome_by.as_deref())
        .bind(fields.outcome_at)
        .bind(now)
        .bind(id)
        .bind(version)
        .execute(&mut *tx)
        .await
        .map_err(self.error())?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        audit(&mut tx, id, now, &change.actor, change.action, Some(change.previous_state), Some(change.new_state), &change.details)
            .await
            .map_err(self.error())?;
        tx.commit().await.map_err(self.error())?;
        Ok(true)
    }

    /// A scan's audit log, oldest first.
    pub async fn audit_log(&self, scan_id: &str) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, scan_id, at, actor, action, previous_state, new_state, details FROM audit_log \
             WHERE scan_id = $1 ORDER BY seq",
        )
        .bind(scan_id)
        .fetch_all(&self.pool)
        .await
        .map_err(self.error())?;
        rows.iter().map(audit_entry).collect()
    }

    /// Decided scans with what they were flagged for and by which models, oldest decision first.
    pub async fn outcomes(&self, decided_since: Option<i64>) -> Result<Vec<OutcomeExport>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {SCAN_COLUMNS}, a.models FROM scans s JOIN analyses a ON a.scan_id = s.id \
             WHERE s.decided_at IS NOT NULL AND s.decided_at >= $1 ORDER BY s.decided_at, s.id"
        ))
        .bind(decided_since.unwrap_or(0))
        .fetch_all(&self.pool)
        .await
        .map_err(self.error())?;
        rows.iter()
            .map(|row| {
                let scan = scan_record(row)?;
                Ok(OutcomeExport {
                    reasons: reason_codes(scan.verdict.as_ref()),
                    models: json_column(row, "models")?,
                    scan_id: scan.id,
                    station_id: scan.station_id,
                    station_scan_id: scan.station_scan_id,
                    containers: scan.containers,
                    lane: scan.lane,
                    risk_score: scan.risk_score,
                    decision: scan.decision,
                    decided_by: scan.decided_by,
                    decided_at: scan.decided_at,
                    outcome: scan.outcome,
                    outcome_at: scan.outcome_at,
                })
            })
            .collect()
    }

    /// Scans by state, lane, station and day received.
    pub async fn stats(&self) -> Result<QueueStats, StoreError> {
        let by_state = self.counts_by_state().await?.into_iter().map(|(s, n)| (s.as_str().to_owned(), n)).collect();
        let grouped = |sql: &'static str| async move {
            let rows = sqlx::query(sql).fetch_all(&self.pool).await.map_err(self.error())?;
            rows.iter()
                .map(|row| Ok((row.try_get::<String, _>(0)?, row.try_get::<String, _>(1)?, row.try_get::<i64, _>(2)?)))
                .collect::<Result<Vec<_>, sqlx::Error>>()
                .map_err(self.error())
        };
        let mut stats = QueueStats { by_state, ..QueueStats::default() };
        for (lane, state, n) in grouped(
            "SELECT COALESCE(lane, 'none'), state, COUNT(*) FROM scans GROUP BY COALESCE(lane, 'none'), state",
        )
        .await?
        {
            *stats.by_lane.entry(lane).or_default().entry(state).or_default() += n;
        }
        for (station, lane, n) in grouped(
            "SELECT station_id, COALESCE(lane, 'none'), COUNT(*) FROM scans GROUP BY station_id, COALESCE(lane, 'none')",
        )
        .await?
        {
            *stats.by_station.entry(station).or_default().entry(lane).or_default() += n;
        }
        let days = sqlx::query(
            "SELECT received_at / 86400000 AS day, COALESCE(lane, 'none') AS lane, COUNT(*) AS n FROM scans \
             GROUP BY received_at / 86400000, COALESCE(lane, 'none') ORDER BY day",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(self.error())?;
        for row in &days {
            let day: i64 = row.try_get("day").map_err(self.error())?;
            let date = super::records::to_rfc3339(day * 86_400_000)[..10].to_owned();
            let lane: String = row.try_get("lane").map_err(self.error())?;
            *stats.by_day.entry(date).or_default().entry(lane).or_default() += row.try_get::<i64, _>("n").map_err(self.error())?;
        }
        Ok(stats)
    }

    /// Counts of scans by state.
    pub async fn counts_by_state(&self) -> Result<Vec<(ScanState, i64)>, StoreError> {
        let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM scans GROUP BY state ORDER BY state")
            .fetch_all(&self.pool)
            .await
            .map_err(self.error())?;
        rows.iter()
            .map(|row| {
                let state: String = row.try_get("state").map_err(self.error())?;
                Ok((parse(&state)?, row.try_get("n").map_err(self.error())?))
            })
            .collect()
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub(crate) fn error(&self) -> impl Fn(sqlx::Error) -> StoreError + use<> {
        database(self.backend)
    }
}

fn database(backend: &'static dyn Backend) -> impl Fn(sqlx::Error) -> StoreError {
    move |source| StoreError::Database { backend: backend.name(), source }
}

fn lease_ms(lease: Duration) -> i64 {
    i64::try_from(lease.as_millis()).unwrap_or(i64::MAX / 2)
}

#[allow(clippy::too_many_arguments)]
async fn audit(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    scan_id: &str,
    at: i64,
    actor: &str,
    action: &str,
    previous: Option<ScanState>,
    new: Option<ScanState>,
    details: &Value,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_log (scan_id, at, actor, action, previous_state, new_state, details) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(scan_id)
    .bind(at)
    .bind(actor)
    .bind(action)
    .bind(previous.map(ScanState::as_str))
    .bind(new.map(ScanState::as_str))
    .bind(details.to_string())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn corrupt(error: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(error.to_string())
}

fn parse<T: std::str::FromStr<Err = String>>(text: &str) -> Result<T, StoreError> {
    text.parse().map_err(StoreError::Corrupt)
}

fn parse_opt<T: std::str::FromStr<Err = String>>(text: Option<String>) -> Result<Option<T>, StoreError> {
    text.as_deref().map(parse).transpose()
}

fn json_column(row: &AnyRow, column: &str) -> Result<Value, StoreError> {
    let text: String = row.try_get(column).map_err(corrupt)?;
    serde_json::from_str(&text).map_err(corrupt)
}

fn scan_record(row: &AnyRow) -> Result<ScanRecord, StoreError> {
    let get_text = |column: &str| row.try_get::<String, _>(column).map_err(corrupt);
    let get_opt_text = |column: &str| row.try_get::<Option<String>, _>(column).map_err(corrupt);
    let get_opt_int = |column: &str| row.try_get::<Option<i64>, _>(column).map_err(corrupt);
    let claim = match (get_opt_text("claimed_by")?, get_opt_int("claim_until")?) {
        (Some(officer), Some(until)) => Some(Claim { officer, until }),
        _ => None,
    };
    let verdict = get_opt_text("verdict")?.map(|text| serde_json::from_str(&text)).transpose().map_err(corrupt)?;
    Ok(ScanRecord {
        id: get_text("id")?,
        station_id: get_text("station_id")?,
        station_scan_id: get_text("station_scan_id")?,
        state: parse(&get_text("state")?)?,
        failure: get_opt_text("failure")?,
        attempts: row.try_get("attempts").map_err(corrupt)?,
        risk_score: get_opt_int("risk_score")?,
        lane: parse_opt(get_opt_text("lane")?)?,
        verdict,
        containers: get_text("containers")?,
        declared_goods: get_text("declared_goods")?,
        claim,
        decision: parse_opt(get_opt_text("decision")?)?,
        decision_notes: get_opt_text("decision_notes")?,
        decided_by: get_opt_text("decided_by")?,
        decided_at: get_opt_int("decided_at")?,
        outcome: parse_opt(get_opt_text("outcome")?)?,
        outcome_notes: get_opt_text("outcome_notes")?,
        outcome_by: get_opt_text("outcome_by")?,
        outcome_at: get_opt_int("outcome_at")?,
        received_at: row.try_get("received_at").map_err(corrupt)?,
        updated_at: row.try_get("updated_at").map_err(corrupt)?,
        metadata: json_column(row, "metadata")?,
        high_image: get_text("high_image")?,
        low_image: get_opt_text("low_image")?,
        version: row.try_get("version").map_err(corrupt)?,
    })
}

fn reason_codes(verdict: Option<&Value>) -> Vec<String> {
    verdict
        .and_then(|v| v.get("reasons"))
        .and_then(Value::as_array)
        .map(|reasons| reasons.iter().filter_map(|r| r.get("code")?.as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

fn queue_entry(scan: ScanRecord) -> QueueEntry {
    QueueEntry {
        reasons: reason_codes(scan.verdict.as_ref()),
        id: scan.id,
        station_id: scan.station_id,
        state: scan.state,
        lane: scan.lane,
        risk_score: scan.risk_score,
        containers: scan.containers,
        declared_goods: scan.declared_goods,
        claim: scan.claim,
        received_at: scan.received_at,
    }
}

fn audit_entry(row: &AnyRow) -> Result<AuditEntry, StoreError> {
    Ok(AuditEntry {
        seq: row.try_get("seq").map_err(corrupt)?,
        scan_id: row.try_get("scan_id").map_err(corrupt)?,
        at: row.try_get("at").map_err(corrupt)?,
        actor: row.try_get("actor").map_err(corrupt)?,
        action: row.try_get("action").map_err(corrupt)?,
        previous_state: parse_opt(row.try_get("previous_state").map_err(corrupt)?)?,
        new_state: parse_opt(row.try_get("new_state").map_err(corrupt)?)?,
        details: json_column(row, "details")?,
    })
}
