//! Shared by the integration tests: fresh databases on both storage backends.
#![allow(dead_code)] // each test crate uses a part

pub mod server;

use scantriage::queue::Store;
use sqlx::Connection;

pub const POSTGRES_URL_VAR: &str = "SCANTRIAGE_TEST_POSTGRES_URL";

/// An empty SQLite database in its own temporary directory (kept alive by the returned guard).
pub async fn sqlite_store() -> (Store, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("scantriage.db").display());
    (Store::open(&url).await.unwrap(), url, dir)
}

/// A new, empty database on the test PostgreSQL server that `make test` starts.
pub async fn postgres_url() -> String {
    let admin = std::env::var(POSTGRES_URL_VAR).unwrap_or_else(|_| {
        panic!(
            "{POSTGRES_URL_VAR} is not set: run the tests with `make test`, which starts a throwaway \
             PostgreSQL server (scripts/with-postgres.sh)"
        )
    });
    sqlx::any::install_default_drivers();
    let name = format!("test_{}", uuid::Uuid::now_v7().simple());
    let mut connection = sqlx::AnyConnection::connect(&admin).await.expect("the test PostgreSQL server answers");
    sqlx::raw_sql(&format!("CREATE DATABASE {name}")).execute(&mut connection).await.unwrap();
    connection.close().await.unwrap();
    let (base, _) = admin.rsplit_once('/').unwrap();
    format!("{base}/{name}")
}

pub async fn postgres_store() -> (Store, String) {
    let url = postgres_url().await;
    (Store::open(&url).await.unwrap(), url)
}
