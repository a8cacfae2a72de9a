//! What differs between the two databases. Everything else is the same SQL in [`super::Store`].

use async_trait::async_trait;
use sqlx::AnyPool;

/// A database the store can run on.
#[async_trait]
pub trait Backend: Send + Sync + std::fmt::Debug {
    fn name(&self) -> &'static str;

    /// Opens the pool, creating the database file where that is the backend's job.
    async fn connect(&self, url: &str) -> Result<AnyPool, sqlx::Error>;

    /// Schema migrations in order, as (version, SQL).
    fn migrations(&self) -> &'static [(i64, &'static str)];

    /// A statement run first in the migration transaction so that instances starting together
    /// migrate one after the other; `None` where the database serialises writers anyway.
    fn migration_lock(&self) -> Option<&'static str>;

    /// Appended to the sub-select that picks the next scan to claim, so that concurrent
    /// claimers pass over each other's rows instead of taking the same one.
    fn skip_locked_rows(&self) -> &'static str;

    /// Whether one process owns the database: then analyses still marked running at start-up
    /// were interrupted by a crash and are taken up again at once instead of after their lease.
    fn single_instance(&self) -> bool;
}
