//! Which scan folders in the watched folder are complete. Scanners write a scan's files one
//! by one, so a folder counts as complete once it has `meta.json` and nothing in it has changed
//! (no file added, removed, grown or touched) for the settle time.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use super::folder::METADATA_FILE;

/// What a folder looks like from outside: each entry's name, size and modification time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    entries: Vec<(String, u64, Option<SystemTime>)>,
}

impl Snapshot {
    fn has_metadata(&self) -> bool {
        self.entries.iter().any(|(name, ..)| name == METADATA_FILE)
    }
}

/// The scan folders in `dir` and their snapshots. Hidden entries (the default spool, scanners'
/// temporary files), plain files and `skip` (a spool kept inside `dir`) are not scans. Blocking.
pub fn look(dir: &Path, skip: &Path) -> io::Result<Vec<(PathBuf, Snapshot)>> {
    let mut folders = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if hidden || path == skip || !entry.file_type()?.is_dir() {
            continue;
        }
        // A folder may vanish or change under us: it is looked at again next time.
        if let Ok(snapshot) = snapshot(&path) {
            folders.push((path, snapshot));
        }
    }
    Ok(folders)
}

fn snapshot(folder: &Path) -> io::Result<Snapshot> {
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(folder)? {
        let entry = entry?;
        let metadata = entry.metadata()?;
        entries.push((entry.file_name().to_string_lossy().into_owned(), metadata.len(), metadata.modified().ok()));
    }
    entries.sort();
    Ok(Snapshot { entries })
}

/// Remembers since when each folder has looked the same.
#[derive(Debug)]
pub struct Settler {
    settle: Duration,
    unchanged_since: HashMap<PathBuf, (Snapshot, Instant)>,
}

impl Settler {
    pub fn new(settle: Duration) -> Self {
        Self { settle, unchanged_since: HashMap::new() }
    }

    /// Takes in what the folder looks like at `now`; returns the folders that are complete, by
    /// name, and forgets them (the caller moves them away).
    pub fn complete(&mut self, folders: Vec<(PathBuf, Snapshot)>, now: Instant) -> Vec<PathBuf> {
        let mut previous = std::mem::take(&mut self.unchanged_since);
        let mut complete = Vec::new();
        for (path, snapshot) in folders {
            let since = match previous.remove(&path) {
                Some((before, since)) if before == snapshot => since,
                _ => now,
            };
            if snapshot.has_metadata() && now.duration_since(since) >= self.settle {
                complete.push(path);
            } else {
                self.unchanged_since.insert(path, (snapshot, since));
            }
        }
        complete.sort();
        complete
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_is_complete_once_it_has_metadata_and_stopped_changing() {
        let dir = tempfile::tempdir().unwrap();
        let (spool, scan) = (dir.path().join("spool"), dir.path().join("SCAN-1"));
        for folder in [&spool, &dir.path().join(".hidden"), &scan] {
            std::fs::create_dir(folder).unwrap();
            std::fs::write(folder.join("high.png"), b"1").unwrap();
        }
        std::fs::write(dir.path().join("notes.txt"), b"not a scan").unwrap();
        let settle = Duration::from_secs(2);
        let mut settler = Settler::new(settle);
        let start = Instant::now();
        let mut at = |seconds: u64| settler.complete(look(dir.path(), &spool).unwrap(), start + Duration::from_secs(seconds));

        assert!(at(0).is_empty());
        assert!(at(5).is_empty(), "no meta.json yet: the scanner is still writing");
        std::fs::write(scan.join("meta.json"), b"{").unwrap();
        assert!(at(6).is_empty(), "just changed");
        std::fs::write(scan.join("meta.json"), b"{}").unwrap();
        assert!(at(7).is_empty(), "changed again");
        assert!(at(8).is_empty(), "unchanged for 1 s");
        assert_eq!(at(9), vec![scan.clone()], "unchanged for 2 s");
        assert!(at(10).is_empty(), "handed out once");
    }
}
