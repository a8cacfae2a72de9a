//! SQLite, the embedded default: one file in the data directory, write-ahead log, every
//! commit synced to disk before a scan is acknowledged.

use std::time::Duration;

use async_trait::async_trait;
use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Executor};

use super::Backend;

#[derive(Debug)]
pub(super) struct Sqlite;

#[async_trait]
impl Backend for Sqlite {
    fn name(&self) -> &'static str {
        "sqlite"
    }

    async fn connect(&self, url: &str) -> Result<AnyPool, sqlx::Error> {
        let url = if url.contains('?') { url.to_owned() } else { format!("{url}?mode=rwc") };
        AnyPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(|connection, _| {
                Box::pin(async move {
                    // FULL: in WAL mode NORMAL may lose the last commits on power loss, and a
                    // commit is what acknowledges a scan.
                    connection
                        .execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                             PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;",
                        )
                        .await?;
                    Ok(())
                })
            })
            .connect(&url)
            .await
    }

    fn migrations(&self) -> &'static [(i64, &'static str)] {
        &[
            (1, include_str!("migrations/sqlite/0001_scans.sql")),
            (2, include_str!("migrations/common/0002_accounts.sql")),
            (3, include_str!("migrations/sqlite/0003_heatmap_cells.sql")),
            (4, include_str!("migrations/common/0004_scans_by_received.sql")),
            (5, include_str!("migrations/common/0005_image_retention.sql")),
            (6, include_str!("migrations/sqlite/0006_declaration_number.sql")),
            (7, include_str!("migrations/sqlite/0007_account_log.sql")),
            (8, include_str!("migrations/sqlite/0008_scan_containers.sql")),
            (9, include_str!("migrations/common/0009_key_last_used.sql")),
            (10, include_str!("migrations/common/0010_session_last_used.sql")),
        ]
    }

    fn migration_lock(&self) -> Option<&'static str> {
        None
    }

    fn skip_locked_rows(&self) -> &'static str {
        // SQLite has one writer at a time: the claiming UPDATE is atomic on its own.
        ""
    }

    fn single_instance(&self) -> bool {
        true
    }
}
