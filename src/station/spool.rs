//! The agent's spool: a scan folder moves by rename — atomic within one filesystem — from the
//! watched folder into `pending/`, and once the service has answered into `done/` or
//! `rejected/`. A scan is therefore always in exactly one place, and a crash at any point
//! leaves it either where the scanner put it or in `pending/`, from where the next run uploads
//! it again (the service answers a repeated upload with the original scan).

use std::fs::File;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde_json::Value;

/// Written into a rejected scan's folder: the service's error document.
pub const ERROR_FILE: &str = "error.json";

#[derive(Debug)]
pub struct Spool {
    pending: PathBuf,
    done: PathBuf,
    rejected: PathBuf,
    /// Held while the agent runs: two agents on one spool would send scans twice.
    _lock: File,
}

impl Spool {
    /// Creates the spool's folders under `root` and locks it. Scans come from `source`, which
    /// must be on the same filesystem for the moves to be renames.
    pub fn open(root: &Path, source: &Path) -> anyhow::Result<Self> {
        let [pending, done, rejected] = ["pending", "done", "rejected"].map(|name| root.join(name));
        for dir in [&pending, &done, &rejected] {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create the spool folder {}", dir.display()))?;
        }
        let device = |path: &Path| path.metadata().map(|m| m.dev()).with_context(|| format!("cannot read {}", path.display()));
        anyhow::ensure!(
            device(root)? == device(source)?,
            "the spool {} is on another filesystem than {}: scans move into it by rename, which needs one filesystem",
            root.display(),
            source.display()
        );
        let lock_path = root.join("agent.lock");
        let lock = File::create(&lock_path).with_context(|| format!("cannot create {}", lock_path.display()))?;
        lock.try_lock().map_err(|e| match e {
            std::fs::TryLockError::WouldBlock => anyhow::anyhow!("another agent is running on the spool {}", root.display()),
            std::fs::TryLockError::Error(e) => anyhow::Error::new(e).context(format!("cannot lock {}", lock_path.display())),
        })?;
        Ok(Self { pending, done, rejected, _lock: lock })
    }

    /// Scans an earlier run moved in but did not finish, by name.
    pub async fn pending(&self) -> io::Result<Vec<PathBuf>> {
        let mut entries = tokio::fs::read_dir(&self.pending).await?;
        let mut scans = Vec::new();
        while let Some(entry) = entries.next_entry().await? {
            if entry.file_type().await?.is_dir() {
                scans.push(entry.path());
            }
        }
        scans.sort();
        Ok(scans)
    }

    /// Takes a complete scan folder from the scanner's folder; returns where it is now.
    pub async fn admit(&self, folder: &Path) -> io::Result<PathBuf> {
        move_into(folder, &self.pending).await
    }

    /// The service has the scan.
    pub async fn finish(&self, scan: &Path) -> io::Result<PathBuf> {
        move_into(scan, &self.done).await
    }

    /// The service refused the scan for good; `error` says why, and is written first so that a
    /// scan in `rejected/` always has its reason.
    pub async fn reject(&self, scan: &Path, error: &Value) -> io::Result<PathBuf> {
        let text = serde_json::to_vec_pretty(error).map_err(io::Error::other)?;
        tokio::fs::write(scan.join(ERROR_FILE), text).await?;
        move_into(scan, &self.rejected).await
    }
}

/// Moves `folder` into `dir` under its name, or `<name>.2`, `<name>.3`… when a scan of that
/// name is there already (a scanner that reuses folder names, a scan sent again by hand).
async fn move_into(folder: &Path, dir: &Path) -> io::Result<PathBuf> {
    let name = folder.file_name().ok_or_else(|| io::Error::other(format!("{} has no folder name", folder.display())))?;
    let mut target = dir.join(name);
    let mut n = 1;
    while tokio::fs::try_exists(&target).await? {
        n += 1;
        let mut numbered = name.to_owned();
        numbered.push(format!(".{n}"));
        target = dir.join(numbered);
    }
    tokio::fs::rename(folder, &target).await?;
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn scans_move_through_the_spool_and_keep_their_reason() {
        let watched = tempfile::tempdir().unwrap();
        let root = watched.path().join(".scantriage");
        let spool = Spool::open(&root, watched.path()).unwrap();
        let error = Spool::open(&root, watched.path()).unwrap_err();
        assert!(error.to_string().contains("another agent"), "{error}");

        let mut names = Vec::new();
        for _ in 0..2 {
            // The scanner reuses the folder name: the second scan must not overwrite the first.
            let scan = watched.path().join("SCAN-1");
            std::fs::create_dir(&scan).unwrap();
            std::fs::write(scan.join("meta.json"), b"{}").unwrap();
            let pending = spool.admit(&scan).await.unwrap();
            assert!(!scan.exists());
            assert_eq!(spool.pending().await.unwrap(), vec![pending.clone()]);
            names.push(spool.finish(&pending).await.unwrap());
        }
        assert_eq!(names, vec![root.join("done/SCAN-1"), root.join("done/SCAN-1.2")]);
        assert!(spool.pending().await.unwrap().is_empty());

        let scan = watched.path().join("SCAN-2");
        std::fs::create_dir(&scan).unwrap();
        let pending = spool.admit(&scan).await.unwrap();
        let error = serde_json::json!({ "error": { "code": "invalid_metadata", "message": "…" } });
        let rejected = spool.reject(&pending, &error).await.unwrap();
        assert_eq!(rejected, root.join("rejected/SCAN-2"));
        let written: Value = serde_json::from_slice(&std::fs::read(rejected.join(ERROR_FILE)).unwrap()).unwrap();
        assert_eq!(written, error);

        drop(spool);
        Spool::open(&root, watched.path()).expect("the lock ends with the agent");
    }
}
