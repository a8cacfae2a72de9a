//! The officers' side: the queue, claims, review changes, audit log, outcomes and statistics.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::super::records::{AuditEntry, OutcomeExport, QueueEntry, QueueFilter, QueueStats, ScanRecord, ScanState};
use super::{SCAN_COLUMNS, Store, StoreError, audit, corrupt, json_column, parse_opt, reason_codes, scan_record};
use crate::queue::now_ms;
use crate::review::ReviewChange;
use crate::triage::Lane;

impl Store {
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

    /// Up to `limit` scans in any state, newest first, whose declaration's number is `text`
    /// (case ignored) or, when `text` is 4 to 11 letters and digits (spaces and dashes aside),
    /// whose container numbers contain them.
    pub async fn find_scans(&self, text: &str, limit: i64) -> Result<Vec<QueueEntry>, StoreError> {
        let text = text.trim().to_uppercase();
        let letters: String = text.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
        let container = (4..=11).contains(&letters.len()) && letters.bytes().all(|b| b.is_ascii_alphanumeric());
        // A declaration's number alone is one index lookup. With a container fragment, the ids
        // of both matches are gathered first: under `declaration_number = $1 OR id IN (…)`
        // PostgreSQL read every scan's row (docs/benchmarks.md, "Finding scans").
        let matching = if container {
            "id IN (SELECT id FROM scans WHERE declaration_number = $1 \
             UNION ALL SELECT scan_id FROM scan_containers WHERE number LIKE $3)"
        } else {
            "declaration_number = $1"
        };
        let sql = format!("SELECT {SCAN_COLUMNS} FROM scans WHERE {matching} ORDER BY received_at DESC, id LIMIT $2");
        let mut query = sqlx::query(&sql).bind(&text).bind(limit);
        if container {
            query = query.bind(format!("%{letters}%"));
        }
        let rows = query.fetch_all(&self.pool).await.map_err(self.error())?;
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
            let details = serde_json::json!({ "until": crate::queue::to_rfc3339(until) });
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

    /// Whether `name` is a user who may sign in (exists and is not disabled).
    pub async fn is_active_user(&self, name: &str) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT name FROM users WHERE name = $1 AND disabled_at IS NULL")
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(self.error())?;
        Ok(row.is_some())
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

    /// Scans by state, lane and station, and by day received over the last `days` UTC days
    /// (today included).
    pub async fn stats(&self, days: u32) -> Result<QueueStats, StoreError> {
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
        const DAY_MS: i64 = 86_400_000;
        let first_day = now_ms() / DAY_MS - i64::from(days.max(1)) + 1;
        let day_rows = sqlx::query(
            "SELECT received_at / 86400000 AS day, COALESCE(lane, 'none') AS lane, COUNT(*) AS n FROM scans \
             WHERE received_at >= $1 GROUP BY received_at / 86400000, COALESCE(lane, 'none') ORDER BY day",
        )
        .bind(first_day * DAY_MS)
        .fetch_all(&self.pool)
        .await
        .map_err(self.error())?;
        for row in &day_rows {
            let day: i64 = row.try_get("day").map_err(self.error())?;
            let date = crate::queue::to_rfc3339(day * DAY_MS)[..10].to_owned();
            let lane: String = row.try_get("lane").map_err(self.error())?;
            *stats.by_day.entry(date).or_default().entry(lane).or_default() += row.try_get::<i64, _>("n").map_err(self.error())?;
        }
        // Only inspected scans have an outcome: a small share of all, read whole.
        let outcome_rows = sqlx::query("SELECT verdict, outcome FROM scans WHERE outcome IS NOT NULL")
            .fetch_all(&self.pool)
            .await
            .map_err(self.error())?;
        for row in &outcome_rows {
            let verdict: Option<String> = row.try_get("verdict").map_err(corrupt)?;
            let verdict: Option<serde_json::Value> = verdict.map(|text| serde_json::from_str(&text)).transpose().map_err(corrupt)?;
            let outcome: String = row.try_get("outcome").map_err(corrupt)?;
            let mut reasons = reason_codes(verdict.as_ref());
            if reasons.is_empty() {
                reasons.push("none".to_owned());
            }
            for reason in reasons {
                *stats.outcomes_by_reason.entry(reason).or_default().entry(outcome.clone()).or_default() += 1;
            }
        }
        Ok(stats)
    }

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
