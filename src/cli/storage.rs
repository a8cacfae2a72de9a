//! Where the service keeps its state, as flags shared by `serve`, `users` and `keys`.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

/// Where the service keeps its state; shared by `serve`, `users` and `keys`.
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
        Ok(format!("sqlite://{}", self.data_dir.join("scantriage.db").display()))
    }

    pub fn images_dir(&self) -> PathBuf {
        self.data_dir.join("images")
    }

    pub async fn open_store(&self) -> anyhow::Result<crate::queue::Store> {
        let url = self.database_url()?;
        crate::queue::Store::open(&url).await.context("cannot open the database")
    }
}
