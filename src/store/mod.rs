//! The durable store: one SQLite file in WAL mode, owned by one writer thread.
//!
//! Every operation is a closure sent over a channel to the writer, which runs the
//! closures that are waiting (up to `store.batch_max`) in one transaction — so that one
//! failing call is undone alone, a savepoint each, or, for the store's own calls that can
//! run again, none while none fails (see `writer/pass.rs`) — and answers them only after
//! the COMMIT returned. So a caller that got `Ok` knows
//! its rows are on disk (with `synchronous = FULL`; the relay's deletes of delivered rows
//! alone are fsynced later, see `writer/pace.rs`), and fsync cost is shared by a batch.
//! A failed commit (disk full, read-only file system, I/O error) answers every caller of
//! the batch with the error; nothing is half-written and the writer keeps going.
//!
//! After each commit the writer hands the new outbox rows to the relay in memory (`tail`)
//! and publishes [`StoreStats`] on a watch channel; the relay waits on it for new rows.

mod db;
mod lock;
mod migrations;
mod raised;
mod reserve;
mod tail;
mod tx;
pub(crate) mod unclean;
mod writer;

pub use db::{CommandStart, Db, Enqueued, Ledger, OutboxItem, OutboxRow, PendingCommand, ROW_OVERHEAD};
pub use raised::Raised;

use crate::config::{StoreConfig, Synchronous};
use rusqlite::Connection;
use std::path::Path;
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot, watch};

/// Why a store operation failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("store is full of undelivered critical events")]
    Full,
    /// The file system has no room (SQLITE_FULL): nothing of the call was written.
    #[error("the disk is full")]
    DiskFull,
    /// The file could not be read, written or opened (SQLITE_IOERR, SQLITE_CANTOPEN).
    #[error("sqlite i/o: {0}")]
    Io(String),
    #[error("sqlite: {0}")]
    Sqlite(String),
    #[error("store is closed")]
    Closed,
    #[error("{0}")]
    Invalid(String),
    /// A value a connector kept does not decode: reported, never silently reset.
    #[error("corrupt state {scope}/{key}: {reason}")]
    Corrupt { scope: String, key: String, reason: String },
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DiskFull) => StoreError::DiskFull,
            Some(rusqlite::ErrorCode::SystemIoFailure | rusqlite::ErrorCode::CannotOpen) => {
                StoreError::Io(e.to_string())
            }
            _ => StoreError::Sqlite(e.to_string()),
        }
    }
}

/// What the store looks like after the last commit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreStats {
    pub ledger: Ledger,
    /// Bumped by every commit that added outbox rows.
    pub outbox_version: u64,
    /// Commits that held since start.
    pub commits: u64,
    /// Of them, those that waited for the disk (an fsync of the WAL): with `synchronous =
    /// full`, those that changed rows, but for most of deletes of delivered rows alone; with
    /// `normal`, none.
    pub synced_commits: u64,
    /// Commits that failed since start, and the last reason.
    pub commit_errors: u64,
    pub last_error: Option<String>,
    /// The last commit failed (cleared by the next one that succeeds).
    pub failing: bool,
    /// A commit failed for want of disk space; cleared once the reserve could be taken
    /// again (or, with no reserve, by the next commit that succeeds).
    pub disk_full: bool,
    /// The reserve file is on disk in full.
    pub reserve_held: bool,
    pub file_bytes: u64,
    /// Sequence numbers skipped at open after an unclean stop under `normal` (unclean.rs).
    pub seq_skipped: Option<(i64, i64)>,
}

type Job = Box<dyn writer::Job>;

/// A cheap handle to the store; clone it freely.
#[derive(Clone)]
pub struct Store {
    jobs: mpsc::Sender<Job>,
    stats: watch::Receiver<StoreStats>,
    /// A read-only connection for the relay's outbox reads: in WAL mode it sees every
    /// committed row without queueing behind the writer's fsyncs.
    reader: Arc<Mutex<Connection>>,
    /// The rows the writer committed last, for the relay to take without reading them back.
    tail: Arc<Mutex<tail::Tail>>,
    /// Rung after each caller's job is sent (see [`writer::Bell`]).
    bell: writer::Bell,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

/// Joins the writer thread; dropping every [`Store`] handle first lets it finish.
#[derive(Debug)]
pub struct WriterHandle(std::thread::JoinHandle<()>);

impl WriterHandle {
    /// Waits (blocking) until the writer has committed everything and closed the file.
    pub fn join(self) {
        let _ = self.0.join();
    }
}

impl Store {
    /// Opens (creating if needed) and migrates the database, then starts the writer. On
    /// a full disk the reserve is given back first if opening needs the room (a WAL to
    /// recover, its index to create).
    pub fn open(config: &StoreConfig) -> Result<(Store, WriterHandle), StoreError> {
        if let Some(dir) = config.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::Invalid(format!("cannot create {}: {e}", dir.display())))?;
        }
        let lock = lock::acquire(&config.path, lock::LOCK_WAIT)?;
        let mut reserve = reserve::Reserve::new(&config.path, config.reserve_bytes);
        let open = || -> Result<Connection, StoreError> {
            let mut conn = open_connection(config)?;
            migrations::migrate(&mut conn)?;
            Ok(conn)
        };
        let (conn, released) = match open() {
            Ok(conn) => (conn, false),
            Err(e) if needs_room(&e) && reserve.release() => {
                log::warn!("store: cannot open ({e}); gave the disk reserve back and trying again");
                (open()?, true)
            }
            Err(e) => return Err(e),
        };
        let mut ledger = Ledger::default();
        ledger.recount(&conn)?;
        let seq_skipped = unclean::mark_open(&conn, &mut ledger, config.synchronous)?;
        let floor: u64 = db::get_meta(&conn, "id_floor_ms")?.and_then(|f| f.parse().ok()).unwrap_or(0);
        crate::event::raise_id_floor(floor);
        let reserve_held = !released && reserve.take();
        let stats = StoreStats {
            ledger,
            file_bytes: file_bytes(&config.path),
            disk_full: released,
            reserve_held,
            seq_skipped,
            ..StoreStats::default()
        };
        let (stats_tx, stats_rx) = watch::channel(stats);
        let (jobs_tx, jobs_rx) = mpsc::channel(1024);
        let reader = Connection::open_with_flags(&config.path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        reader.busy_timeout(std::time::Duration::from_secs(5))?;
        // The relay reads each row once, in order: a small page cache is as good as SQLite's
        // 2 MB, which a long WAL (kept between checkpoints) would let it fill.
        reader.pragma_update(None, "cache_size", -256)?;
        let w = writer::Writer::new(conn, config, ledger, reserve, stats_tx, floor, lock);
        let tail = w.tail();
        let wanted = w.wanted();
        let handle = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || w.run(jobs_rx))
            .map_err(|e| StoreError::Invalid(format!("cannot start writer thread: {e}")))?;
        let (reader, bell) = (Arc::new(Mutex::new(reader)), writer::Bell::new(handle.thread().clone(), wanted));
        Ok((Store { jobs: jobs_tx, stats: stats_rx, reader, tail, bell }, WriterHandle(handle)))
    }

    /// Runs `f` on the writer thread inside the next group commit; answers after COMMIT.
    pub async fn call<R, F>(&self, f: F) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnOnce(&mut Db<'_>) -> Result<R, StoreError> + Send + 'static,
    {
        let (reply, rx) = oneshot::channel();
        self.send(Box::new(writer::CallJob::new(f, reply))).await?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// [`Store::call`] for the store's own calls that can run again (see [`writer::Job::can_run_again`]).
    async fn call_again<R, F>(&self, f: F, can_wait: bool) -> Result<R, StoreError>
    where
        R: Send + 'static,
        F: FnMut(&mut Db<'_>) -> Result<R, StoreError> + Send + 'static,
    {
        let (reply, rx) = oneshot::channel();
        let job = if can_wait { writer::RepeatJob::waiting(f, reply) } else { writer::RepeatJob::new(f, reply) };
        self.send(Box::new(job)).await?;
        rx.await.map_err(|_| StoreError::Closed)?
    }

    /// Queues a job for the writer, and wakes it if it waited for this caller (see
    /// [`writer::Bell`]).
    async fn send(&self, job: Job) -> Result<(), StoreError> {
        let caller = !job.can_wait();
        self.jobs.send(job).await.map_err(|_| StoreError::Closed)?;
        if caller {
            self.bell.ring();
        }
        Ok(())
    }

    /// Appends events to the outbox, all or none.
    pub async fn enqueue(&self, items: Vec<OutboxItem>) -> Result<Vec<Enqueued>, StoreError> {
        self.call_again(move |db| items.iter().map(|item| db.enqueue(item)).collect(), false).await
    }

    /// Appends events past the bound, not past a full disk (see [`Db::enqueue_past_bound`]).
    pub async fn enqueue_past_bound(&self, items: Vec<OutboxItem>) -> Result<Vec<Enqueued>, StoreError> {
        self.call_again(move |db| items.iter().map(|item| db.enqueue_past_bound(item)).collect(), false).await
    }

    /// Appends one event outside the bound (alarms, command results).
    pub async fn enqueue_unbounded(&self, item: OutboxItem) -> Result<Enqueued, StoreError> {
        self.call_again(move |db| db.enqueue_unbounded(&item), false).await
    }

    /// The oldest committed outbox rows after `after_seq`: handed over by the writer when
    /// they were committed lately (see [`tail`]), else read beside the writer.
    pub async fn outbox_after(&self, after_seq: i64, limit: usize) -> Result<Vec<OutboxRow>, StoreError> {
        if let Some(rows) = self.tail.lock().unwrap_or_else(|e| e.into_inner()).take_after(after_seq, limit) {
            return Ok(rows);
        }
        let reader = self.reader.clone();
        tokio::task::spawn_blocking(move || {
            let conn = reader.lock().unwrap_or_else(|e| e.into_inner());
            db::read_outbox(&conn, after_seq, limit)
        })
        .await
        .map_err(|e| StoreError::Invalid(format!("reader task: {e}")))?
    }

    /// Deletes delivered rows. The call may wait [`writer::SHARE_WAIT`] for new events to
    /// share its commit.
    pub async fn ack(&self, seqs: Vec<i64>) -> Result<usize, StoreError> {
        self.call_again(move |db| db.ack(&seqs), true).await
    }

    pub fn stats(&self) -> StoreStats {
        self.stats.borrow().clone()
    }

    /// A receiver that wakes on commits that add outbox rows, change the full flag, or fail.
    pub fn watch(&self) -> watch::Receiver<StoreStats> {
        self.stats.clone()
    }
}

fn open_connection(config: &StoreConfig) -> Result<Connection, StoreError> {
    let (path, sync) = (config.path.as_path(), config.synchronous);
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    shape_file(&conn, path);
    let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    // Unknown or refused pragmas are silently ignored by SQLite: read the mode back.
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Invalid(format!("cannot enable WAL (journal_mode is {mode})")));
    }
    let level = match sync {
        Synchronous::Full => "FULL",
        Synchronous::Normal => "NORMAL",
    };
    conn.pragma_update(None, "synchronous", level)?;
    conn.pragma_update(None, "journal_size_limit", writer::WAL_LIMIT as i64)?;
    // Checkpoints after CHECKPOINT_BYTES of WAL (SQLite's default: every 1,000 pages), below the
    // limit at which the writer truncates the WAL; the writer checkpoints sooner while the
    // store grows, and has SQLite do so on a disk with little room (see `Writer::bound_growth`
    // and `Writer::tune_checkpoints`).
    let page: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
    conn.pragma_update(None, "wal_autocheckpoint", writer::wal_frames(writer::CHECKPOINT_BYTES, page))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(conn)
}

/// The page size of a new store: every commit writes whole pages (the rows' leaves, the
/// header, the pointer map, the freelist trunk, `sqlite_sequence`) into the WAL and again at
/// the checkpoint, so small pages write less for the small commits an agent mostly makes.
/// Measured (`cargo bench --bench relay`, bytes written per event): one event per request
/// from one client 12,465 with 4 KiB pages, 6,221 with 1 KiB; from 8 clients 4,854 and 2,161;
/// batches of 100 about a tenth more (974 and 1,065), files spooled 8–17 % slower.
pub const PAGE_SIZE: i64 = 1024;

/// A store file at most this large (file and WAL) is rewritten at start to [`PAGE_SIZE`]
/// pages; a larger one (a backlog, spooled files) keeps its page size until a start that
/// finds it drained (the rewrite needs a copy's room and time).
const RESHAPE_MAX_BYTES: u64 = 4 * 1024 * 1024;

/// Gives a new file, or one made by an older version, its shape before the first table:
/// [`PAGE_SIZE`] pages and `auto_vacuum = INCREMENTAL` (freed pages go back to the file
/// system when the outbox drains, see the writer). An existing file is rewritten by a VACUUM
/// out of WAL mode (the page size cannot change in it); on a full disk, or when another
/// process holds the file, that is logged and left for a later start.
fn shape_file(conn: &Connection, path: &Path) {
    let read = |pragma: &str| conn.query_row(&format!("PRAGMA {pragma}"), [], |r| r.get::<_, i64>(0)).unwrap_or(0);
    let (auto_vacuum, page) = (read("auto_vacuum"), read("page_size"));
    let bytes = file_bytes(path);
    // The rewrite needs room for the rollback journal and the copy besides the file: without
    // it, leaving WAL mode could leave a store that cannot go back to it on this start.
    let room = bytes == 0 || disk_space(path).is_ok_and(|d| d.available >= 3 * bytes + RESHAPE_MAX_BYTES);
    let resize = page != PAGE_SIZE && bytes <= RESHAPE_MAX_BYTES && room;
    if page != PAGE_SIZE && bytes <= RESHAPE_MAX_BYTES && !room {
        log::info!("store: {} keeps {page} byte pages until a start with room to rewrite it", path.display());
    }
    if auto_vacuum == 2 && !resize {
        return;
    }
    let shaped = (|| -> rusqlite::Result<()> {
        if resize {
            let mode: String = conn.query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))?;
            if mode.eq_ignore_ascii_case("delete") {
                conn.pragma_update(None, "page_size", PAGE_SIZE)?;
            }
        }
        conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")?;
        conn.execute_batch("VACUUM")
    })();
    match shaped {
        Ok(()) if bytes > 0 && page != read("page_size") => {
            log::info!("store: {} now has {} byte pages (was {page})", path.display(), read("page_size"))
        }
        Ok(()) => {}
        Err(e) => log::warn!("store: cannot reshape {} yet: {e}", path.display()),
    }
}

/// The store's file system: its size, the bytes free, and those free to this process.
#[derive(Debug, Clone, Copy)]
pub struct DiskSpace {
    pub total: u64,
    pub free: u64,
    pub available: u64,
}

/// The space on the file system of the store at `path` (its directory).
pub fn disk_space(path: &Path) -> Result<DiskSpace, String> {
    // The field types differ between targets.
    fn n<T: Into<u64>>(v: T) -> u64 {
        v.into()
    }
    let s = nix::sys::statvfs::statvfs(store_dir(path)).map_err(|e| e.to_string())?;
    let block = n(s.fragment_size());
    Ok(DiskSpace {
        total: n(s.blocks()) * block,
        free: n(s.blocks_free()) * block,
        available: n(s.blocks_available()) * block,
    })
}

/// The directory the store file is in.
pub fn store_dir(path: &Path) -> &Path {
    path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

/// Whether an error opening the store may come from a full disk (not a locked or
/// corrupt file): then the reserve is given back before trying again.
fn needs_room(e: &StoreError) -> bool {
    matches!(e, StoreError::DiskFull | StoreError::Io(_))
}

/// The WAL beside the store file.
fn wal_path(path: &Path) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push("-wal");
    name.into()
}

fn file_bytes(path: &Path) -> u64 {
    [path, wal_path(path).as_path()].iter().filter_map(|p| std::fs::metadata(p).ok()).map(|m| m.len()).sum()
}

#[cfg(test)]
pub(crate) mod tests;

/// A fresh directory for a unit test's database.
#[cfg(test)]
pub(crate) fn temp_dir_for_tests(name: &str) -> std::path::PathBuf {
    tests::temp_dir(name)
}

/// Makes every outbox insert on the writer's connection fail (`on`) or work again.
#[cfg(test)]
pub(crate) async fn fail_inserts_for_tests(store: &Store, on: bool) {
    let sql = if on {
        "CREATE TEMP TRIGGER fail_insert BEFORE INSERT ON outbox BEGIN SELECT RAISE(ABORT, 'injected'); END"
    } else {
        "DROP TRIGGER temp.fail_insert"
    };
    store.call(move |db| Ok(db.conn().execute(sql, [])?)).await.expect("trigger");
}
