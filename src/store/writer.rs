//! The writer thread: drains waiting jobs into one transaction and answers after COMMIT.

mod frames;
mod gather;
mod job;
mod pace;
mod pass;
mod room;

pub use gather::{Bell, SHARE_WAIT};
use gather::{GROUP_WAIT, callers};
pub use job::{CallJob, Job, RepeatJob};
use pace::Pace;
#[cfg(test)]
pub(crate) use pace::UNSYNCED_MAX;
use pass::{Pass, Passed};
use room::DISK_RETRY;

use super::reserve::Reserve;
use super::tail::{Fresh, Tail};
use super::tx::Tx;
use super::{Ledger, StoreError, StoreStats};
use crate::config::StoreConfig;
use rusqlite::Connection;
use std::path::PathBuf;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

pub struct Writer {
    conn: Connection,
    path: PathBuf,
    batch_max: usize,
    max_bytes: u64,
    ledger: Ledger,
    stats: watch::Sender<StoreStats>,
    reserve: Reserve,
    /// Since a commit failed for want of space; with when the reserve was last tried.
    disk_full: Option<Instant>,
    /// The wait before the next try to take the reserve back (doubling while it fails).
    retake_wait: Duration,
    /// The id floor last committed to `meta` (see [`FLOOR_LEAD_MS`]): the one loaded at
    /// start, so quick restarts do not push ids further ahead each time. Rewritten once ids
    /// reach it, so it stays above every id issued.
    floor_saved: u64,
    /// When the file sizes were last looked at (see [`SIZE_EVERY`]).
    sized_at: Option<Instant>,
    /// Callers (jobs that cannot wait) the last commit that had any served: how many the
    /// next one waits for (see [`Writer::gather`]).
    callers_seen: usize,
    /// The file's page size.
    page_bytes: i64,
    /// The most a checkpoint may grow the store file by (`store.reserve_bytes`; 0: no
    /// bound), and the file's size in pages when the last checkpoint ended (see
    /// [`Writer::bound_growth`]).
    growth_limit: i64,
    checkpointed_pages: i64,
    /// The most the file can have grown by since that checkpoint, in bytes: as the page
    /// count last told, plus a page for every WAL frame appended since.
    growth_bound: i64,
    /// The file system has little room left: SQLite checkpoints as often as it used to.
    tight: bool,
    /// While the writer waits for callers: how many more should ring the [`Bell`] before it
    /// is woken (0: it is not waiting).
    wanted: Arc<AtomicUsize>,
    /// One agent per store, until the writer has closed the file.
    _lock: super::lock::StoreLock,
    /// How long the last commit took, from BEGIN to the end of COMMIT: how long, at most,
    /// the next one waits for company (within [`GROUP_WAIT`]).
    commit_took: Duration,
    /// The batch's new outbox rows, and the newest seq it deleted: for the [`Tail`].
    fresh: Fresh,
    removed_max: i64,
    tail: Arc<Mutex<Tail>>,
    /// Which commits wait for the disk (see [`pace`]).
    pace: Pace,
    /// The outbox keeps its last sequence number through `AUTOINCREMENT` (every store this
    /// release makes); without it the writer notes the number in `meta`.
    autoincrement: bool,
    /// Commits that changed rows since the writer last checkpointed (see
    /// [`Writer::checkpoint_rewrites`]).
    unchecked_commits: u32,
}

/// How often, at most, the store and WAL sizes are looked at after commits (for the WAL
/// limit and the stats) while the disk has room.
const SIZE_EVERY: Duration = Duration::from_millis(250);

/// How far ahead of the newest id the persisted id floor is written: the row is rewritten
/// only when ids pass it, about once a second under load instead of once per commit.
const FLOOR_LEAD_MS: u64 = 1000;

/// The WAL size beyond which the writer checkpoints it down at once (SQLite's own
/// checkpoints cannot shrink it while the relay keeps reading: without this it grew to
/// fill the disk). `journal_size_limit` is the same.
pub const WAL_LIMIT: u64 = 4 * 1024 * 1024;

/// The WAL bytes after which SQLite checkpoints (see [`Writer::tune_checkpoints`]): three
/// quarters of [`WAL_LIMIT`], below the writer's own truncating checkpoint.
pub const CHECKPOINT_BYTES: i64 = WAL_LIMIT as i64 * 3 / 4;

/// The WAL frames (a 24-byte header and a page each) in `bytes` of WAL: the unit of
/// `wal_autocheckpoint`.
pub fn wal_frames(bytes: i64, page_bytes: i64) -> i64 {
    bytes / (page_bytes.max(512) + 24)
}
impl Writer {
    pub fn new(
        conn: Connection,
        config: &StoreConfig,
        ledger: Ledger,
        reserve: Reserve,
        stats: watch::Sender<StoreStats>,
        floor_saved: u64,
        lock: super::lock::StoreLock,
    ) -> Self {
        let disk_full = stats.borrow().disk_full.then(Instant::now);
        let autoincrement = super::db::outbox_autoincrement(&conn);
        let page_bytes = conn.query_row("PRAGMA page_size", [], |r| r.get(0)).unwrap_or(4096);
        // The store file's own size, not `page_count`: after a crash, pages the WAL still
        // holds (recovered at open, not checkpointed) grow the file at the next checkpoint.
        let checkpointed_pages = room::file_pages(&config.path, page_bytes).unwrap_or(0);
        Writer {
            _lock: lock,
            wanted: Arc::default(),
            page_bytes,
            growth_limit: config.reserve_bytes as i64,
            checkpointed_pages,
            // Unknown until the page count is asked for, after the first commit.
            growth_bound: config.reserve_bytes as i64,
            tight: false,
            conn,
            path: config.path.clone(),
            batch_max: config.batch_max,
            max_bytes: config.max_bytes,
            ledger,
            stats,
            reserve,
            disk_full,
            retake_wait: DISK_RETRY,
            floor_saved,
            sized_at: None,
            callers_seen: 1,
            commit_took: *GROUP_WAIT.start(),
            fresh: Fresh::default(),
            removed_max: 0,
            tail: Arc::new(Mutex::new(Tail::new(ledger.last_seq, super::tail::TAIL_BYTES))),
            pace: Pace::new(config.synchronous),
            autoincrement,
            unchecked_commits: 0,
        }
    }

    /// The rows this writer hands to the relay (see [`Tail`]).
    pub fn tail(&self) -> Arc<Mutex<Tail>> {
        self.tail.clone()
    }

    /// The count behind the [`Bell`] for this writer.
    pub fn wanted(&self) -> Arc<AtomicUsize> {
        self.wanted.clone()
    }

    /// Serves jobs until every sender is gone, then checkpoints and closes the file.
    pub fn run(mut self, mut jobs: mpsc::Receiver<Box<dyn Job>>) {
        let mut batch: Vec<Box<dyn Job>> = Vec::with_capacity(self.batch_max);
        frames::install(&self.conn, wal_frames(CHECKPOINT_BYTES, self.page_bytes));
        while let Some(first) = jobs.blocking_recv() {
            batch.push(first);
            self.take_queued(&mut jobs, &mut batch);
            // Only deletes of delivered rows: they wait a moment for new events, so both
            // share one commit (one fsync, and the pages every commit writes once) instead of
            // two. Never on a full disk, where deletes go alone and at once.
            if self.disk_full.is_none() && callers(&batch) == 0 {
                self.wait_for(&mut jobs, &mut batch, Instant::now() + SHARE_WAIT, 1);
            }
            if self.disk_full.is_none() && callers(&batch) > 0 {
                self.gather(&mut jobs, &mut batch);
            }
            self.commit_batch(&mut batch);
        }
        super::unclean::mark_closed(&self.conn);
        let _ = self.conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)");
        log::debug!("store writer stopped");
    }

    fn commit_batch(&mut self, batch: &mut Vec<Box<dyn Job>>) {
        let before = self.ledger;
        // Deletes alone never grow the file: the pages they free go to SQLite's freelist.
        let may_grow = callers(batch) > 0;
        let started = Instant::now();
        let (commit, enqueued, synced) = self.run_batch(batch);
        self.commit_took = started.elapsed();
        self.hand_over(commit.is_ok());
        if commit.is_err() {
            // The recount must not see the failed batch's rows (a ROLLBACK that failed in
            // the transaction's drop is tried again here).
            if !self.conn.is_autocommit() {
                let _ = self.conn.execute_batch("ROLLBACK");
            }
            self.ledger = before;
            // Not inside a transaction left open (its rows are not committed): then the
            // ledger from before the batch stands.
            if self.conn.is_autocommit() {
                let _ = self.ledger.recount(&self.conn);
            }
        }
        if let Err(StoreError::DiskFull) = &commit {
            self.disk_is_full();
        }
        // The stats are always updated; waiters are woken only for what they wait on (new
        // outbox rows, the full flags, commit failures), not for every delete.
        let disk_full = self.disk_full.is_some();
        self.stats.send_if_modified(|s| {
            let wake = (enqueued && commit.is_ok())
                || s.ledger.full != self.ledger.full
                || s.disk_full != disk_full
                || s.failing != commit.is_err()
                || commit.is_err();
            s.ledger = self.ledger;
            s.disk_full = disk_full;
            if enqueued && commit.is_ok() {
                s.outbox_version += 1;
            }
            s.failing = commit.is_err();
            s.commits += u64::from(commit.is_ok());
            s.synced_commits += u64::from(synced);
            if let Err(e) = &commit {
                s.commit_errors += 1;
                s.last_error = Some(e.to_string());
            }
            wake
        });
        if let Err(e) = &commit {
            log::error!("store commit failed, {} callers told: {e}", batch.len());
        }
        for job in batch.drain(..) {
            job.finish(commit.clone());
        }
        // After the callers are answered: space. On a full disk every commit (deletes,
        // mostly) hands its freed pages and the WAL back, then the reserve is tried.
        // The file sizes are looked at (two stat calls) at most every SIZE_EVERY under load,
        // and at every commit while the disk is full.
        let disk_full = self.disk_full.is_some();
        let mut look = disk_full || self.sized_at.is_none_or(|at| at.elapsed() >= SIZE_EVERY);
        if commit.is_ok() {
            if disk_full || self.ledger.rows == 0 {
                look |= self.reclaim(disk_full);
            } else if look && self.wal_too_long() {
                self.checkpoint();
            }
            if disk_full {
                self.retake_reserve();
            }
            if may_grow {
                self.bound_growth();
            }
            self.checkpoint_rewrites();
        }
        if !look {
            return;
        }
        self.sized_at = Some(Instant::now());
        self.tune_checkpoints();
        let (file_bytes, reserve_held) = (super::file_bytes(&self.path), self.reserve.held());
        let disk_full = self.disk_full.is_some();
        self.stats.send_if_modified(|s| {
            let wake = s.disk_full != disk_full;
            (s.file_bytes, s.reserve_held, s.disk_full) = (file_bytes, reserve_held, disk_full);
            wake
        });
    }

    /// Gives the relay the rows just committed (before anyone hears of them); a failed
    /// batch's rows are dropped, never handed out. (Rows it deleted were forgotten before
    /// its COMMIT: see [`Writer::run_jobs`].)
    fn hand_over(&mut self, committed: bool) {
        let removed_max = std::mem::take(&mut self.removed_max);
        if !committed {
            self.fresh.clear();
            return;
        }
        if self.fresh.is_empty() && removed_max == 0 {
            return;
        }
        let mut tail = self.tail.lock().unwrap_or_else(|e| e.into_inner());
        tail.add(&mut self.fresh, removed_max, self.ledger.last_seq);
    }

    /// Runs every job in one transaction (a second one when a job that ran without a
    /// savepoint failed); returns the commit's outcome, whether outbox rows were added and
    /// whether it waited for the disk (see [`pace`]).
    fn run_batch(&mut self, batch: &mut [Box<dyn Job>]) -> (Result<(), StoreError>, bool, bool) {
        // Decided on the whole batch: nothing joins it from here on.
        if let Err(e) = self.pace.set(&self.conn, callers(batch) == 0) {
            return (Err(e), false, false);
        }
        let changes = self.conn.total_changes();
        frames::take_called();
        let mut out_of_space = false;
        let (commit, enqueued) = self.run_jobs(batch, &mut out_of_space);
        if out_of_space {
            self.disk_is_full();
        }
        // A COMMIT that changed nothing does not sync.
        let wrote = commit.is_ok() && self.conn.total_changes() != changes;
        if wrote && !frames::take_called() {
            // The WAL hook was replaced (a `wal_autocheckpoint` pragma), or the changes were
            // all undone (failed calls): the page count is asked for at the next chance.
            log::debug!("store: no WAL hook call for a commit that changed rows; installed again");
            frames::reinstall(&self.conn);
            self.growth_bound = self.growth_limit;
        }
        self.unchecked_commits += u32::from(wrote);
        let synced = commit.is_ok() && self.pace.committed(wrote);
        (commit, enqueued, synced)
    }

    fn run_jobs(&mut self, batch: &mut [Box<dyn Job>], out_of_space: &mut bool) -> (Result<(), StoreError>, bool) {
        // Jobs that can run again go first, and without a savepoint each while none fails;
        // one failing rolls the batch back and they run again, a savepoint each. (Callers
        // wait for their answers, so no caller's order is changed.) Not while the disk or the
        // store is full, when calls fail: then every job runs in a savepoint, in the order it
        // came (the first come are the first served with the room there is).
        let optimistic = self.disk_full.is_none() && !self.ledger.full;
        if optimistic {
            batch.sort_by_key(|job| !job.can_run_again());
        }
        let again = if optimistic { batch.iter().filter(|job| job.can_run_again()).count() } else { 0 };
        let start = self.ledger;
        let mut pass = Pass {
            conn: &self.conn,
            ledger: &mut self.ledger,
            fresh: &mut self.fresh,
            removed_max: &mut self.removed_max,
            max_bytes: self.max_bytes,
            disk_full: self.disk_full.is_some(),
            now_ms: crate::event::now_ms(),
            enqueued: false,
            out_of_space: false,
        };
        let ran = (|| -> Result<Tx<'_>, StoreError> {
            let mut tx = Tx::begin(&self.conn)?;
            let (repeatable, once) = batch.split_at_mut(again);
            if let Passed::Failed(n) = pass.run(&tx, repeatable, false)? {
                log::debug!("store: call {n} of a batch failed; the batch runs again, a savepoint each");
                drop(tx);
                pass.restart(start);
                tx = Tx::begin(&self.conn)?;
                pass.run(&tx, repeatable, true)?;
            }
            pass.run(&tx, once, true)?;
            Ok(tx)
        })();
        *out_of_space |= pass.out_of_space;
        let enqueued = pass.enqueued;
        let tx = match ran {
            Ok(tx) => tx,
            Err(e) => return (Err(e), false),
        };
        // In a store kept without AUTOINCREMENT (a later release's, rolled back from), the
        // last number given out is in the newest row or, once that is gone, in `meta` (see
        // `db::last_seq`); a store with it keeps the number in `sqlite_sequence`.
        if !self.autoincrement
            && self.removed_max >= self.ledger.last_seq
            && self.removed_max > 0
            && let Err(e) = super::db::put_meta(&self.conn, super::db::LAST_SEQ_KEY, &self.ledger.last_seq.to_string())
        {
            return (Err(e.into()), false);
        }
        // The floor is saved ahead of the ids, so only about once a second (not a page
        // written by every commit); a restart never issues an id older than one stored.
        let floor = crate::event::id_floor();
        let saved = (enqueued && floor >= self.floor_saved).then_some(floor + FLOOR_LEAD_MS);
        if let Some(saved) = saved
            && let Err(e) = super::db::put_meta(&self.conn, "id_floor_ms", &saved.to_string())
        {
            return (Err(e.into()), false);
        }
        // Rows this batch deletes leave the tail before the deletes can be seen (the relay
        // must not take a row it evicted); should the COMMIT fail, this only costs reads.
        self.tail.lock().unwrap_or_else(|e| e.into_inner()).forget(self.removed_max);
        let commit = tx.commit().map_err(StoreError::from);
        if let (Ok(()), Some(saved)) = (&commit, saved) {
            self.floor_saved = saved;
        }
        (commit, enqueued)
    }
}
