use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use super::storage::{StorageArgs, block_on};
use crate::ingest::images::FsImageStore;
use crate::queue::backup::backup;

/// Copy the embedded database and its images into a new data directory while the service
/// runs; `serve --data-dir DIR` on the copy restores it (docs/operations.md).
#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The new data directory for the copy.
    #[arg(long)]
    to: PathBuf,
    #[command(flatten)]
    storage: StorageArgs,
}

pub fn run(args: BackupArgs) -> anyhow::Result<()> {
    block_on(async move {
        let store = args.storage.open_store().await?;
        let images = FsImageStore::new(args.storage.images_dir()).context("cannot open the image store")?;
        let copy = StorageArgs { data_dir: args.to.clone(), database: None };
        let report = backup(&store, &images, &copy.database_file(), &copy.images_dir())
            .await
            .with_context(|| format!("backup into {} failed", args.to.display()))?;
        println!(
            "backed up the database and {} images ({} MB) into {}",
            report.images,
            report.image_bytes / (1 << 20),
            args.to.display()
        );
        Ok(())
    })
}
