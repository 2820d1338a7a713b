//! One agent per store: an exclusive lock on `<store>.lock`, held while the writer runs.
//! A start that finds it held (the previous process still stopping after a handover, or an
//! orphan of one killed outright) waits for it up to [`LOCK_WAIT`], then refuses to open
//! the store rather than relay the same rows twice beside it. Where the lock cannot be had
//! at all (no room for the file on a full disk, a file system without locks) the store
//! opens without it, with a warning: a full disk must not stop the agent.

use super::StoreError;
use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long a start waits for another process to let go of the store.
pub const LOCK_WAIT: Duration = Duration::from_secs(15);

/// The held lock; dropping it (or the process ending, however) lets go.
#[derive(Debug)]
pub struct StoreLock {
    _file: Option<File>,
}

fn lock_path(store: &Path) -> PathBuf {
    let mut name = store.as_os_str().to_owned();
    name.push(".lock");
    name.into()
}

/// Takes the store's lock, waiting up to `wait` while another process holds it.
pub fn acquire(store: &Path, wait: Duration) -> Result<StoreLock, StoreError> {
    let path = lock_path(store);
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
            Ok(()) => return Ok(StoreLock { _file: Some(file) }),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_waits_for_the_first_and_gives_up_after_the_wait() {
        let dir = super::super::temp_dir_for_tests("lock");
        let store = dir.join("s.db");
        let first = acquire(&store, Duration::ZERO).expect("first");
        let err = acquire(&store, Duration::from_millis(200)).expect_err("held");
        assert!(err.to_string().contains("another telbridge is using"), "{err}");
        let waiter = std::thread::spawn({
            let store = store.clone();
            move || acquire(&store, Duration::from_secs(10)).map(|_| Instant::now())
        });
        std::thread::sleep(Duration::from_millis(300));
        let released = Instant::now();
        drop(first);
        let got = waiter.join().expect("thread").expect("taken once released");
        assert!(got >= released, "taken only after the first let go");
    }
}
