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
    /// An earlier backup on the same disk: the images it holds intact are hard-linked from it
    /// instead of copied, so each backup is complete but only new images take room.
    #[arg(long, value_name = "DIR")]
    previous: Option<PathBuf>,
    #[command(flatten)]
    storage: StorageArgs,
}

pub fn run(args: BackupArgs) -> anyhow::Result<()> {
    block_on(async move {
        let store = args.storage.open_store().await?;
        let images = FsImageStore::new(args.storage.images_dir()).context("cannot open the image store")?;
        let copy = StorageArgs { data_dir: args.to.clone(), database: None };
        let previous = match &args.previous {
            Some(dir) => {
                let earlier = StorageArgs { data_dir: dir.clone(), database: None };
                anyhow::ensure!(earlier.database_file().is_file(), "{} is not a backup: it has no database", dir.display());
                Some(FsImageStore::new(earlier.images_dir()).context("cannot open the earlier backup's images")?)
            }
            None => None,
        };
        let report = backup(&store, &images, &copy.database_file(), &copy.images_dir(), previous.as_ref())
            .await
            .with_context(|| format!("backup into {} failed", args.to.display()))?;
        println!(
            "backed up the database and {} images ({} MB copied, {} linked to the earlier backup) into {}",
            report.images,
            report.image_bytes / (1 << 20),
            report.linked,
            args.to.display()
        );
        Ok(())
    })
}
