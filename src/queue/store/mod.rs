//! The scans table, their analyses and the audit log, in SQL that SQLite and PostgreSQL both
//! speak. Every change of a scan bumps its `version` and appends an audit entry in the same
//! transaction, so the log can be trusted to tell the whole story.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;
use sqlx::any::AnyRow;
use sqlx::{AnyPool, Connection, Row};

use super::backend::Backend;
use super::postgres::Postgres;
use super::records::{Claim, ScanRecord, ScanState, StoredAnalysis};
use crate::inference::analysis::Heatmap;
use super::sqlite::Sqlite;
use super::now_ms;

mod officers;
mod processing;
mod retention;

pub use retention::ExpiredScan;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported database URL {0:?}: use sqlite:///path/to/file.db or postgres://user@host/db")]
    UnsupportedUrl(String),
    #[error("{backend} database: {source}")]
    Database { backend: &'static str, source: sqlx::Error },
    #[error("{backend} database at {address} did not answer within {waited_s} s of start-up: {source}")]
    Unreachable { backend: &'static str, address: String, waited_s: u64, source: sqlx::Error },
    #[error("{backend} schema migration {version} failed: {source}")]
    Migration { backend: &'static str, version: i64, source: sqlx::Error },
    #[error("stored value cannot be read: {0}")]
    Corrupt(String),
    #[error("a {0} database is backed up with its own tools (pg_dump), not by scantriage")]
    NoSnapshot(&'static str),
}

impl StoreError {
    /// Whether the database refused a write for lack of disk space: SQLite's `SQLITE_FULL`
    /// (13, also for its extended codes), PostgreSQL's `disk_full` (53100). Nothing of the
    /// failed transaction was written.
    pub fn is_disk_full(&self) -> bool {
        let (Self::Database { backend, source: sqlx::Error::Database(error) }
        | Self::Migration { backend, source: sqlx::Error::Database(error), .. }) = self
        else {
            return false;
        };
        match (*backend, error.code().as_deref()) {
            ("postgresql", Some(code)) => code == "53100",
            ("sqlite", Some(code)) => code.parse::<i32>().is_ok_and(|code| code & 0xff == 13),
            _ => false,
        }
    }

    /// Whether the database could not do the work now but may shortly: unreachable, the
    /// connection lost, no connection free within the pool's wait, PostgreSQL refusing
    /// connections (starting up, shutting down, too many) or SQLite still locked by another
    /// writer after its busy wait. Nothing of the failed transaction was written.
    pub fn is_unavailable(&self) -> bool {
        let Self::Database { backend, source } = self else {
            return matches!(self, Self::Unreachable { .. });
        };
        match source {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => true,
            sqlx::Error::Database(error) => match (*backend, error.code().as_deref()) {
                // Class 08: connection exceptions; 57P01-03: shutting down, crashed, starting up.
                ("postgresql", Some(code)) => code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03" | "53300"),
                ("sqlite", Some(code)) => code.parse::<i32>().is_ok_and(|code| code & 0xff == 5),
                _ => false,
            },
            _ => false,
        }
    }

    /// Start-up's last word on a database that never answered: where it looked and how long,
    /// which sqlx's own error (a pool timeout) does not say.
    fn unreachable_at(self, url: &str) -> Self {
        match self {
            Self::Database { backend, source } => {
                Self::Unreachable { backend, address: address_of(url), waited_s: STARTUP_WAIT.as_secs(), source }
            }
            other => other,
        }
    }
}

/// Every column of `scans` a [`ScanRecord`] is read from.
const SCAN_COLUMNS: &str = "id, station_id, station_scan_id, state, failure, attempts, risk_score, lane, verdict, \
    containers, declared_goods, claimed_by, claim_until, decision, decision_notes, decided_by, decided_at, \
    outcome, outcome_notes, outcome_by, outcome_at, received_at, updated_at, metadata, high_image, low_image, images_purged_at, version";

/// The actor recorded for what the service does on its own.
pub const SYSTEM_ACTOR: &str = "system";

/// How long start-up goes on trying a database that does not answer yet (one started beside
/// the service, say) before it gives up.
const STARTUP_WAIT: Duration = Duration::from_secs(30);

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
        let started = Instant::now();
        let pool = loop {
            match backend.connect(url).await.map_err(database(backend)) {
                Err(error) if error.is_unavailable() && started.elapsed() < STARTUP_WAIT => {
                    tracing::warn!(%error, "the database is not reachable yet; trying again");
                }
                Err(error) if error.is_unavailable() => return Err(error.unreachable_at(url)),
                opened => break opened?,
            }
        };
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

    pub async fn scan(&self, id: &str) -> Result<Option<ScanRecord>, StoreError> {
        let row = sqlx::query(&format!("SELECT {SCAN_COLUMNS} FROM scans WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(self.error())?;
        row.map(|row| scan_record(&row)).transpose()
    }

    /// The analysis alone, as a scan view shows it: the heatmap (about 650 KB for a 40 ft scan)
    /// is read only where it is drawn.
    pub async fn analysis_summary(&self, scan_id: &str) -> Result<Option<Value>, StoreError> {
        let row = sqlx::query("SELECT analysis FROM analyses WHERE scan_id = $1")
            .bind(scan_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(self.error())?;
        row.map(|row| json_column(&row, "analysis")).transpose()
    }

    pub async fn analysis(&self, scan_id: &str) -> Result<Option<StoredAnalysis>, StoreError> {
        let row = sqlx::query("SELECT analysis, heatmap, heatmap_cells, models FROM analyses WHERE scan_id = $1")
            .bind(scan_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(self.error())?;
        row.map(|row| {
            Ok(StoredAnalysis {
                analysis: json_column(&row, "analysis")?,
                heatmap: stored_heatmap(&row)?,
                models: json_column(&row, "models")?,
            })
        })
        .transpose()
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

    /// A consistent copy of the whole database in a new SQLite file at `path`, taken while the
    /// service runs (`VACUUM INTO` reads one snapshot of the write-ahead log).
    pub async fn snapshot_into(&self, path: &Path) -> Result<(), StoreError> {
        if self.backend.name() != "sqlite" {
            return Err(StoreError::NoSnapshot(self.backend.name()));
        }
        sqlx::query("VACUUM INTO $1")
            .bind(path.display().to_string())
            .execute(&self.pool)
            .await
            .map_err(self.error())?;
        Ok(())
    }

    /// Every image a scan that keeps its images refers to, in the SQLite database file at
    /// `path` (a snapshot), read over one connection that is closed before returning: the file
    /// is then left on its own, without a write-ahead log beside it.
    pub async fn kept_image_keys_in(path: &Path) -> Result<Vec<String>, StoreError> {
        let failed = database(&Sqlite);
        sqlx::any::install_default_drivers();
        let url = format!("sqlite://{}", path.display());
        let mut connection = <sqlx::AnyConnection as Connection>::connect(&url).await.map_err(&failed)?;
        let keys = sqlx::query_scalar(
            "SELECT high_image FROM scans WHERE images_purged_at IS NULL \
             UNION SELECT low_image FROM scans WHERE images_purged_at IS NULL AND low_image IS NOT NULL",
        )
        .fetch_all(&mut connection)
        .await
        .map_err(&failed)?;
        connection.close().await.map_err(&failed)?;
        Ok(keys)
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

/// Where sqlx connects for `url`: a SQLite file, or a PostgreSQL server's `host:port` or socket
/// file, resolved as sqlx resolves it (a URL without a host takes `PGHOST` or the first local
/// socket found). Never the user or password.
fn address_of(url: &str) -> String {
    if let Some(rest) = url.strip_prefix("sqlite:") {
        return rest.trim_start_matches("//").split('?').next().unwrap_or_default().to_owned();
    }
    let Ok(options) = url.parse::<sqlx::postgres::PgConnectOptions>() else {
        return "an address its URL does not give".to_owned();
    };
    let host = Path::new(options.get_host());
    match options.get_socket().map(PathBuf::as_path).or(host.has_root().then_some(host)) {
        Some(directory) => format!("the socket {}", directory.join(format!(".s.PGSQL.{}", options.get_port())).display()),
        None => format!("{}:{}", options.get_host(), options.get_port()),
    }
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

/// The heatmap's grid without its cells, which go to `heatmap_cells`.
fn heatmap_grid(heatmap: &Heatmap) -> String {
    serde_json::json!({ "cell": heatmap.cell, "columns": heatmap.columns, "rows": heatmap.rows }).to_string()
}

fn heatmap_cells(heatmap: &Heatmap) -> Vec<u8> {
    heatmap.values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Reads a heatmap stored either way: cells in `heatmap_cells`, or (before migration 3) in
/// the JSON of `heatmap`. None when a purge deleted the cells.
fn stored_heatmap(row: &AnyRow) -> Result<Option<Heatmap>, StoreError> {
    let grid: String = row.try_get("heatmap").map_err(corrupt)?;
    let mut heatmap: Heatmap = serde_json::from_str(&grid).map_err(corrupt)?;
    match row.try_get::<Option<Vec<u8>>, _>("heatmap_cells").map_err(corrupt)? {
        Some(cells) => heatmap.values = cells.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect(),
        None if heatmap.values.is_empty() => return Ok(None),
        None => {}
    }
    if heatmap.values.len() != heatmap.columns as usize * heatmap.rows as usize {
        return Err(StoreError::Corrupt(format!(
            "a heatmap of {} × {} cells holds {} values",
            heatmap.columns,
            heatmap.rows,
            heatmap.values.len()
        )));
    }
    Ok(Some(heatmap))
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
        images_purged_at: get_opt_int("images_purged_at")?,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_is_named_by_its_host_or_file_never_by_its_password() {
        assert_eq!(address_of("postgres://triage:s3cret@db.port.example:5433/scans?sslmode=require"), "db.port.example:5433");
        assert_eq!(address_of("postgresql://db.port.example/scans"), "db.port.example:5432");
        assert_eq!(address_of("postgres:///scans?host=/run/postgresql"), "the socket /run/postgresql/.s.PGSQL.5432");
        assert_eq!(address_of("postgres://%2Ftmp%2Fpg:5433/scans"), "the socket /tmp/pg/.s.PGSQL.5433");
        assert_eq!(address_of("sqlite:///var/lib/scantriage/scantriage.db?mode=rwc"), "/var/lib/scantriage/scantriage.db");
        assert_eq!(address_of("sqlite://relative.db"), "relative.db");
    }

    /// A real `SQLITE_FULL`: the database may not grow past the pages it has.
    #[tokio::test]
    async fn a_database_without_room_is_told_apart_and_answered_507() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite(&dir.path().join("full.db")).await.unwrap();
        let mut connection = store.pool().acquire().await.unwrap();
        sqlx::raw_sql("PRAGMA max_page_count = 1").execute(&mut *connection).await.unwrap();
        let full = sqlx::raw_sql("CREATE TABLE filler (bytes BLOB); INSERT INTO filler VALUES (zeroblob(1000000))")
            .execute(&mut *connection)
            .await
            .map_err(store.error())
            .unwrap_err();
        assert!(full.is_disk_full(), "{full}");
        let answer = crate::api::ApiError::from(full);
        assert_eq!((answer.status.as_u16(), answer.code, answer.retry_after_seconds), (507, "storage_full", Some(60)));

        let other = sqlx::query("SELECT * FROM no_such_table").execute(&mut *connection).await.map_err(store.error()).unwrap_err();
        assert!(!other.is_disk_full(), "{other}");
        assert!(!other.is_unavailable(), "{other}");
        assert_eq!(crate::api::ApiError::from(other).status.as_u16(), 500);
    }

    /// A real `SQLITE_BUSY`: another connection holds the write lock past the busy wait.
    #[tokio::test]
    async fn a_locked_or_unreachable_database_is_answered_503() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("locked.db");
        let store = Store::open_sqlite(&path).await.unwrap();
        let mut holder = <sqlx::AnyConnection as Connection>::connect(&format!("sqlite://{}", path.display())).await.unwrap();
        sqlx::raw_sql("BEGIN IMMEDIATE").execute(&mut holder).await.unwrap();
        let mut connection = store.pool().acquire().await.unwrap();
        sqlx::raw_sql("PRAGMA busy_timeout = 0").execute(&mut *connection).await.unwrap();
        let locked = sqlx::query("DELETE FROM scans").execute(&mut *connection).await.map_err(store.error()).unwrap_err();
        assert!(locked.is_unavailable(), "{locked}");
        let answer = crate::api::ApiError::from(locked);
        assert_eq!((answer.status.as_u16(), answer.code, answer.retry_after_seconds), (503, "database_unavailable", Some(5)));

        for source in [sqlx::Error::PoolTimedOut, sqlx::Error::Io(std::io::ErrorKind::ConnectionRefused.into())] {
            assert!(StoreError::Database { backend: "postgresql", source }.is_unavailable());
        }
        assert!(!StoreError::Database { backend: "postgresql", source: sqlx::Error::RowNotFound }.is_unavailable());
    }
}
