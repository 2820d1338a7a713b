//! Small helpers for files that must survive a power cut where they were put: the config
//! and its trial files, the update's binary, marker and symlink. A rename is atomic, but it
//! is on disk only once the folder holding it is synced.

use std::path::{Path, PathBuf};

/// `path` with `suffix` added to its file name (`telbridge.toml` → `telbridge.toml.prev`).
pub fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_os_string();
    s.push(suffix);
    PathBuf::from(s)
}

/// Syncs the folder `dir` (what was renamed or removed in it is then on disk).
pub fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Syncs the folder holding `path`.
pub fn sync_parent(path: &Path) {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        sync_dir(dir);
    }
}
