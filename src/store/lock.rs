//! One agent per store: an exclusive lock on `<store>.lock`, held while the writer runs.
//! A start that finds it held (the previous process still stopping after a handover, or an
//! orphan of one killed outright) waits for it up to [`LOCK_WAIT`], then refuses to open
//! the store rather than relay the same rows twice beside it. Where the lock cannot be had
//! at all (no room for the file on a full disk, a file system without locks) the store
//! opens without it, with a warning: a full disk must not stop the agent.
//!
//! Within one process the lock is shared: an in-process restart may open the store while
//! the previous writer still closes it (its join is bounded by a timeout), and `flock`
//! would count that second open as another holder.

use super::StoreError;
use std::collections::BTreeMap;
use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

/// How long a start waits for another process to let go of the store: longer than the
/// stop steps of one that stops gracefully (a handover, an orphan told to stop).
pub const LOCK_WAIT: Duration = Duration::from_secs(60);

/// The held lock; dropping its last holder in the process (or the process ending, however)
/// lets go.
#[derive(Debug)]
pub struct StoreLock {
    _file: Option<Arc<File>>,
}

/// The locks this process holds, by lock file.
static HELD: Mutex<BTreeMap<PathBuf, Weak<File>>> = Mutex::new(BTreeMap::new());

fn lock_path(store: &Path) -> PathBuf {
    let mut name = store.as_os_str().to_owned();
    name.push(".lock");
    name.into()
}

/// Takes the store's lock, waiting up to `wait` while another process holds it.
pub fn acquire(store: &Path, wait: Duration) -> Result<StoreLock, StoreError> {
    let path = lock_path(store);
    if let Some(file) = held().get(&path).and_then(Weak::upgrade) {
        return Ok(StoreLock { _file: Some(file) });
    }
    let file = match OpenOptions::new().create(true).truncate(false).write(true).open(&path) {
        Ok(f) => f,
        Err(e) => {
            log::warn!("store: cannot create {} ({e}): opening without the one-agent lock", path.display());
            return Ok(StoreLock { _file: None });
        }
    };
    let until = Instant::now() + wait;
    let mut told = false;
    loop {
        match file.try_lock() {
            Ok(()) => {
                let file = Arc::new(file);
                held().insert(path, Arc::downgrade(&file));
                return Ok(StoreLock { _file: Some(file) });
            }
            Err(TryLockError::WouldBlock) if Instant::now() < until => {
                if !told {
                    log::warn!("store: waiting for another telbridge to let go of {}", store.display());
                    told = true;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(TryLockError::WouldBlock) => {
                return Err(StoreError::Invalid(format!(
                    "another telbridge is using {} (it holds {} since over {} s)",
                    store.display(),
                    path.display(),
                    wait.as_secs()
                )));
            }
            Err(TryLockError::Error(e)) => {
                log::warn!("store: cannot lock {} ({e}): opening without the one-agent lock", path.display());
                return Ok(StoreLock { _file: None });
            }
        }
    }
}

/// The registry of this process's locks, without the ones let go.
fn held() -> std::sync::MutexGuard<'static, BTreeMap<PathBuf, Weak<File>>> {
    let mut held = HELD.lock().unwrap_or_else(|e| e.into_inner());
    held.retain(|_, file| file.strong_count() > 0);
    held
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_process_shares_its_lock_and_another_holder_is_waited_for_then_refused() {
        let dir = super::super::temp_dir_for_tests("lock");
        let store = dir.join("s.db");
        let first = acquire(&store, Duration::ZERO).expect("first");
        let second = acquire(&store, Duration::ZERO).expect("shared within the process");
        // Another open file of the lock, as another process has: refused while held.
        let other = File::open(lock_path(&store)).expect("open");
        assert!(other.try_lock().is_err(), "held");
        drop(first);
        assert!(other.try_lock().is_err(), "still held by the second holder");
        drop(second);
        other.try_lock().expect("free once the last holder let go");
        // Now another "process" holds it: a start waits, then refuses.
        let err = acquire(&store, Duration::from_millis(200)).expect_err("held elsewhere");
        assert!(err.to_string().contains("another telbridge is using"), "{err}");
        drop(other);
        acquire(&store, Duration::ZERO).expect("taken once the other let go");
    }
}
