//! Where the service keeps its state, as flags shared by `serve`, `users`, `keys` and `backup`.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

/// Where the service keeps its state; shared by `serve`, `users`, `keys` and `backup`.
#[derive(Debug, Clone, Args)]
pub struct StorageArgs {
    /// Directory for the embedded database and the image store.
    #[arg(long, global = true, env = "SCANTRIAGE_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
    /// Database URL (sqlite:///path or postgres://…) [default: SQLite in the data directory].
    #[arg(long, global = true, env = "SCANTRIAGE_DATABASE_URL", hide_env_values = true)]
    pub database: Option<String>,
}

impl StorageArgs {
    pub fn database_url(&self) -> anyhow::Result<String> {
        if let Some(url) = &self.database {
            return Ok(url.clone());
        }
        std::fs::create_dir_all(&self.data_dir)
            .with_context(|| format!("cannot create the data directory {}", self.data_dir.display()))?;
        Ok(format!("sqlite://{}", self.database_file().display()))
    }

    /// The embedded database's file in the data directory.
    pub fn database_file(&self) -> PathBuf {
        self.data_dir.join("scantriage.db")
    }

    pub fn images_dir(&self) -> PathBuf {
        self.data_dir.join("images")
    }

    pub async fn open_store(&self) -> anyhow::Result<crate::queue::Store> {
        let url = self.database_url()?;
        crate::queue::Store::open(&url).await.context("cannot open the database")
    }
}

/// Runs a command's async work on a runtime of one thread.
pub fn block_on(work: impl std::future::Future<Output = anyhow::Result<()>>) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(work)
}
