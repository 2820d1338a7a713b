//! The writer's care for disk space: the full-disk condition and its reserve, checkpoints
//! (spaced out on a roomy disk, bounded by the reserve, frequent on a tight one), and free
//! pages given back once the outbox drains. See docs/store.md.

use super::{CHECKPOINT_BYTES, StoreError, WAL_LIMIT, Writer, wal_frames};
use crate::store;
use std::time::{Duration, Instant};

/// Steps `sql` to its end (`incremental_vacuum` frees one page per step).
fn step_all(conn: &rusqlite::Connection, sql: &str) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare(sql)?;
    let mut rows = stmt.query([])?;
    while rows.next()?.is_some() {}
    Ok(())
}

/// How soon a full disk is first checked for room again (by taking the reserve back); the
/// wait doubles while there is none, up to [`DISK_RETRY_MAX`]. A try on a disk with no room
/// fails at its first block; one with a little room writes that much, so the back-off
/// bounds the flash writes of a disk that stays nearly full.
pub(super) const DISK_RETRY: Duration = Duration::from_secs(5);
const DISK_RETRY_MAX: Duration = Duration::from_secs(600);

/// Below this much room left on the file system, the WAL is kept to the reserve's size
/// (see [`Writer::tune_checkpoints`]); and never shorter than [`TIGHT_WAL`].
const TIGHT_DISK: u64 = 2 * WAL_LIMIT;
const TIGHT_WAL: u64 = 256 * 1024;

/// Commits that changed rows, at most, between the writer's checkpoints, whatever the WAL's
/// size: SQLite's WAL index finds a page's place by walking every earlier frame of that page
/// (a hash table with linear probing), so many small commits that rewrite the same few pages
/// (one event per request: the outbox's last leaf and `sqlite_sequence` in every commit) make
/// each commit walk a longer chain. At 3 MiB of WAL that was 11 % of the agent's instructions
/// with one client posting one event per request. Larger commits reach [`CHECKPOINT_BYTES`]
/// first.
const CHECKPOINT_COMMITS: u32 = 512;

/// Free pages worth reclaiming once the outbox is empty: 4 MiB, so a busy agent whose
/// outbox empties often does not vacuum after every burst.
const RECLAIM_MIN_BYTES: i64 = 4 * 1024 * 1024;

/// The store file's size on disk, in pages: what the next checkpoint grows it from.
pub(super) fn file_pages(path: &std::path::Path, page_bytes: i64) -> Option<i64> {
    std::fs::metadata(path).ok().map(|m| m.len() as i64 / page_bytes.max(512))
}

impl Writer {
    /// A commit failed for want of space: new events are refused (503) from now on, and
    /// the reserve is given back so that deletes, alarms and checkpoints can still commit.
    pub(super) fn disk_is_full(&mut self) {
        if self.disk_full.is_none() {
            log::error!("store: the disk is full; new events are refused until there is room");
            self.disk_full = Some(Instant::now());
        }
        if self.reserve.release() {
            log::warn!("store: gave the disk reserve back so delivered events can be deleted");
        }
    }

    /// On a full disk, now and then: the condition ends when the reserve can be taken
    /// again (with none configured, at the first try).
    pub(super) fn retake_reserve(&mut self) {
        let Some(since) = self.disk_full else { return };
        if since.elapsed() < self.retake_wait {
            return;
        }
        if self.reserve.take() {
            log::info!("store: the disk has room again");
            self.disk_full = None;
            self.retake_wait = DISK_RETRY;
        } else {
            self.disk_full = Some(Instant::now());
            self.retake_wait = (self.retake_wait * 2).min(DISK_RETRY_MAX);
        }
    }

    /// After [`CHECKPOINT_COMMITS`] commits that changed rows: a passive checkpoint, so the
    /// next commit starts the WAL afresh (unless the relay's read still holds part of it:
    /// then tried again after as many commits).
    pub(super) fn checkpoint_rewrites(&mut self) {
        if self.unchecked_commits < CHECKPOINT_COMMITS {
            return;
        }
        self.unchecked_commits = 0;
        if let Ok(pages) = self.page_count() {
            self.passive_checkpoint(pages);
        }
    }

    /// The store file's size in pages, as SQLite sees it (WAL included).
    fn page_count(&self) -> rusqlite::Result<i64> {
        self.conn.prepare_cached("PRAGMA page_count").and_then(|mut s| s.query_row([], |r| r.get(0)))
    }

    /// Copies what it can of the WAL into the store file without waiting for the relay's
    /// read (or the busy handler); `pages`: the file's size once it copied everything. On a
    /// full disk the reserve is given back for the next commits.
    fn passive_checkpoint(&mut self, pages: i64) {
        let done = self.conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
            Ok(r.get::<_, i64>(0)? == 0 && r.get::<_, i64>(1)? == r.get::<_, i64>(2)?)
        });
        match done {
            Ok(true) => {
                self.checkpointed_pages = pages;
                self.growth_bound = 0;
                super::frames::checkpointed();
                self.unchecked_commits = 0;
            }
            // The relay reads an older snapshot: tried again later.
            Ok(false) => {}
            Err(e) => {
                log::debug!("store: checkpoint failed: {e}");
                if matches!(StoreError::from(e), StoreError::DiskFull) {
                    self.disk_is_full();
                }
            }
        }
    }

    /// Copies the WAL into the store file and truncates it (waits for the relay's read).
    pub(super) fn checkpoint(&mut self) {
        self.unchecked_commits = 0;
        if let Err(e) = step_all(&self.conn, "PRAGMA wal_checkpoint(TRUNCATE)") {
            log::debug!("store: checkpoint failed: {e}");
        }
        self.recount_growth();
    }

    /// After a checkpoint that may not have copied everything, or a vacuum that shrank the
    /// file: the growth bound counts from the file's size on disk (what the next checkpoint
    /// grows), and SQLite is asked for the page count at the next commit that may grow it.
    fn recount_growth(&mut self) {
        self.checkpointed_pages = file_pages(&self.path, self.page_bytes).unwrap_or(self.checkpointed_pages);
        self.growth_bound = self.growth_limit;
        super::frames::checkpointed();
    }

    /// Whether the WAL is over [`WAL_LIMIT`] (the relay's reads can keep SQLite's own
    /// checkpoints from restarting it): then it is checkpointed and truncated.
    pub(super) fn wal_too_long(&self) -> bool {
        self.wal_bytes() > WAL_LIMIT
    }

    /// The WAL file's length (0 when there is none).
    fn wal_bytes(&self) -> u64 {
        std::fs::metadata(store::wal_path(&self.path)).map_or(0, |m| m.len())
    }

    /// SQLite's checkpoint interval for the room there is: spaced out ([`CHECKPOINT_BYTES`]), or,
    /// on a file system with less than [`TIGHT_DISK`] left, every `store.reserve_bytes` (at
    /// least [`TIGHT_WAL`]) as before they were spaced out, so the WAL does not take room the
    /// store may need. Looked at with the file sizes; a WAL longer than the short interval
    /// is truncated once when the disk turns tight.
    pub(super) fn tune_checkpoints(&mut self) {
        let tight = store::disk_space(&self.path).is_ok_and(|d| d.available < TIGHT_DISK);
        if tight == self.tight {
            return;
        }
        self.tight = tight;
        let bytes = if tight { self.growth_limit.max(TIGHT_WAL as i64) } else { CHECKPOINT_BYTES };
        let frames = wal_frames(bytes, self.page_bytes).max(64);
        super::frames::set_limit(frames);
        log::debug!(
            "store: {} disk: a checkpoint every {frames} WAL frames",
            if tight { "a tight" } else { "a roomy" }
        );
        if tight && self.wal_bytes() as i64 > bytes {
            self.checkpoint();
        }
    }

    /// SQLite checkpoints only every [`WAL_LIMIT`] of WAL: a page rewritten by many commits
    /// in between (the outbox's pages, filled and emptied as the relay keeps up) reaches the
    /// store file once. But a checkpoint grows the file by the pages added since the last
    /// one, and on a full disk only the reserve's room is there for it: once the store has
    /// grown by `store.reserve_bytes` since the last checkpoint (a backlog building up),
    /// the writer checkpoints itself.
    pub(super) fn bound_growth(&mut self) {
        if self.growth_limit == 0 {
            return;
        }
        // A commit grows the file by a page per WAL frame it appends, at most: SQLite is
        // asked for the page count only once that could add up to the limit.
        self.growth_bound += super::frames::take_appended() as i64 * self.page_bytes;
        if self.growth_bound < self.growth_limit {
            return;
        }
        let Ok(pages) = self.page_count() else {
            return;
        };
        // Smaller after a vacuum: the file was checkpointed with it.
        self.checkpointed_pages = self.checkpointed_pages.min(pages);
        self.growth_bound = (pages - self.checkpointed_pages) * self.page_bytes;
        if self.growth_bound < self.growth_limit {
            return;
        }
        // Tried again after the next commit if the relay's read held part of it back.
        self.passive_checkpoint(pages);
    }

    /// Gives the free pages back to the file system and empties the WAL: when the outbox
    /// is empty and there is enough to be worth it (a flash router's space is small), or
    /// whatever there is when the disk is full. True when it did (the sizes then changed).
    pub(super) fn reclaim(&mut self, always: bool) -> bool {
        // Free pages are pages of the store: while the growth bound is kept, a store that
        // cannot be RECLAIM_MIN_BYTES large is not asked (`PRAGMA freelist_count`, parsed anew
        // at each run, after every delivery in a trickle).
        if !always && self.growth_limit > 0 {
            let pending = super::frames::appended() as i64 * self.page_bytes;
            if self.checkpointed_pages * self.page_bytes + self.growth_bound + pending < RECLAIM_MIN_BYTES {
                return false;
            }
        }
        let free: i64 = self
            .conn
            .prepare_cached("PRAGMA freelist_count")
            .and_then(|mut stmt| stmt.query_row([], |r| r.get(0)))
            .unwrap_or(0);
        if free * self.page_bytes < RECLAIM_MIN_BYTES && !always {
            return false;
        }
        let before = store::file_bytes(&self.path);
        // On a full disk the WAL goes first: vacuuming writes pages into it.
        let truncated = if always { step_all(&self.conn, "PRAGMA wal_checkpoint(TRUNCATE)") } else { Ok(()) };
        let vacuumed = truncated
            .and_then(|()| step_all(&self.conn, "PRAGMA incremental_vacuum"))
            .and_then(|()| step_all(&self.conn, "PRAGMA wal_checkpoint(TRUNCATE)"));
        self.recount_growth();
        let after = store::file_bytes(&self.path);
        match vacuumed {
            Ok(()) => log::debug!("store: file {before} -> {after} bytes"),
            Err(e) => log::debug!("store: reclaiming space failed: {e}"),
        }
        true
    }
}
