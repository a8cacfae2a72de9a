//! PostgreSQL, for several service instances sharing one queue.

use std::time::Duration;

use async_trait::async_trait;
use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;

use super::Backend;

#[derive(Debug)]
pub(super) struct Postgres;

#[async_trait]
impl Backend for Postgres {
    fn name(&self) -> &'static str {
        "postgresql"
    }

    async fn connect(&self, url: &str) -> Result<AnyPool, sqlx::Error> {
        // While the server is unreachable every request waits this long for a connection
        // before it is answered 503, so the wait is short; `Store::open` waits longer for a
        // server that is still starting.
        AnyPoolOptions::new().max_connections(10).acquire_timeout(Duration::from_secs(5)).connect(url).await
    }

    fn migrations(&self) -> &'static [(i64, &'static str)] {
        &[
            (1, include_str!("migrations/postgres/0001_scans.sql")),
            (2, include_str!("migrations/common/0002_accounts.sql")),
            (3, include_str!("migrations/postgres/0003_heatmap_cells.sql")),
            (4, include_str!("migrations/common/0004_scans_by_received.sql")),
            (5, include_str!("migrations/common/0005_image_retention.sql")),
            (6, include_str!("migrations/postgres/0006_declaration_number.sql")),
            (7, include_str!("migrations/postgres/0007_account_log.sql")),
            (8, include_str!("migrations/postgres/0008_scan_containers.sql")),
            (9, include_str!("migrations/common/0009_key_last_used.sql")),
            (10, include_str!("migrations/common/0010_session_last_used.sql")),
        ]
    }

    fn migration_lock(&self) -> Option<&'static str> {
        // The lock function returns void, which the query layer cannot read: select around it.
        Some("SELECT 1 AS locked FROM (SELECT pg_advisory_xact_lock(6346)) AS migration_lock")
    }

    fn skip_locked_rows(&self) -> &'static str {
        "FOR UPDATE SKIP LOCKED"
    }

    fn single_instance(&self) -> bool {
        false
    }
}
