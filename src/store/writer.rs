//! The writer thread: drains waiting jobs into one transaction and answers after COMMIT.

use super::{Db, Ledger, StoreError, StoreStats};
use crate::config::StoreConfig;
use rusqlite::{Connection, TransactionBehavior};
use std::path::PathBuf;
use tokio::sync::{mpsc, oneshot, watch};

/// One store call: runs in the transaction, then learns whether the commit held.
pub trait Job: Send {
    /// Runs against the open transaction; false means "roll my savepoint back".
    fn run(&mut self, db: &mut Db<'_>) -> bool;
    /// Answers the caller once the batch's fate is known.
    fn finish(self: Box<Self>, commit: Result<(), StoreError>);
}

/// A closure and the channel its answer goes back on.
pub struct CallJob<F, R> {
    f: Option<F>,
    result: Option<Result<R, StoreError>>,
    reply: oneshot::Sender<Result<R, StoreError>>,
}

impl<F, R> CallJob<F, R> {
    pub fn new(f: F, reply: oneshot::Sender<Result<R, StoreError>>) -> Self {
        CallJob { f: Some(f), result: None, reply }
    }
}

impl<F, R> Job for CallJob<F, R>
where
    R: Send + 'static,
    F: FnOnce(&mut Db<'_>) -> Result<R, StoreError> + Send + 'static,
{
    fn run(&mut self, db: &mut Db<'_>) -> bool {
        let result = match self.f.take() {
            Some(f) => f(db),
            None => Err(StoreError::Invalid("job ran twice".into())),
        };
        let ok = result.is_ok();
        self.result = Some(result);
        ok
    }

    fn finish(self: Box<Self>, commit: Result<(), StoreError>) {
        let result = match (commit, self.result) {
            (_, Some(Err(e))) => Err(e),
            (Err(e), _) => Err(e),
            (Ok(()), Some(ok)) => ok,
            (Ok(()), None) => Err(StoreError::Invalid("job did not run".into())),
        };
        let _ = self.reply.send(result);
    }
}

pub struct Writer {
    conn: Connection,
    path: PathBuf,
    batch_max: usize,
    max_bytes: u64,
    ledger: Ledger,
    stats: watch::Sender<StoreStats>,
}

/// Steps `sql` to its end (`incremental_vacuum` frees one page per step).
fn step_all(conn: &rusqlite::Connection, sql: &str) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare(sql)?;
    let mut rows = stmt.query([])?;
    while rows.next()?.is_some() {}
    Ok(())
}

/// Free pages (4 KiB each) worth reclaiming once the outbox is empty: 4 MiB, so a busy
/// agent whose outbox empties often does not vacuum after every burst.
const RECLAIM_MIN_PAGES: i64 = 1024;

impl Writer {
    pub fn new(conn: Connection, config: &StoreConfig, ledger: Ledger, stats: watch::Sender<StoreStats>) -> Self {
        Writer {
            conn,
            path: config.path.clone(),
            batch_max: config.batch_max,
            max_bytes: config.max_bytes,
            ledger,
            stats,
        }
    }

    /// Serves jobs until every sender is gone, then checkpoints and closes the file.
    pub fn run(mut self, mut jobs: mpsc::Receiver<Box<dyn Job>>) {
        let mut batch: Vec<Box<dyn Job>> = Vec::with_capacity(self.batch_max);
        while let Some(first) = jobs.blocking_recv() {
            batch.push(first);
            while batch.len() < self.batch_max {
                match jobs.try_recv() {
                    Ok(job) => batch.push(job),
                    Err(_) => break,
                }
            }
            self.commit_batch(&mut batch);
        }
        let _ = self.conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)");
        log::debug!("store writer stopped");
    }

    fn commit_batch(&mut self, batch: &mut Vec<Box<dyn Job>>) {
        let before = self.ledger;
        let (commit, enqueued) = self.run_batch(batch);
        if commit.is_err() {
            self.ledger = before;
            let _ = self.ledger.recount(&self.conn);
        }
        let file_bytes = super::file_bytes(&self.path);
        // The stats are always updated; waiters are woken only for what they wait on (new
        // outbox rows, the full flag, commit failures), not for every delete.
        self.stats.send_if_modified(|s| {
            let wake = (enqueued && commit.is_ok())
                || s.ledger.full != self.ledger.full
                || s.failing != commit.is_err()
                || commit.is_err();
            s.ledger = self.ledger;
            s.file_bytes = file_bytes;
            if enqueued && commit.is_ok() {
                s.outbox_version += 1;
            }
            s.failing = commit.is_err();
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
        if commit.is_ok() && self.ledger.rows == 0 {
            self.reclaim();
        }
    }

    /// The outbox is empty: gives the free pages back to the file system and empties the
    /// WAL, when there is enough to be worth it (a flash router's space is small).
    fn reclaim(&mut self) {
        let free: i64 = self.conn.query_row("PRAGMA freelist_count", [], |r| r.get(0)).unwrap_or(0);
        if free < RECLAIM_MIN_PAGES {
            return;
        }
        let before = super::file_bytes(&self.path);
        let vacuumed = step_all(&self.conn, "PRAGMA incremental_vacuum")
            .and_then(|()| step_all(&self.conn, "PRAGMA wal_checkpoint(TRUNCATE)"));
        let after = super::file_bytes(&self.path);
        match vacuumed {
            Ok(()) => log::debug!("store: outbox drained, file {before} -> {after} bytes"),
            Err(e) => log::debug!("store: reclaiming space failed: {e}"),
        }
        self.stats.send_modify(|s| s.file_bytes = after);
    }

    /// Runs every job in one transaction; returns the commit's outcome and whether
    /// outbox rows were added.
    fn run_batch(&mut self, batch: &mut [Box<dyn Job>]) -> (Result<(), StoreError>, bool) {
        let now_ms = crate::event::now_ms();
        let mut tx = match self.conn.transaction_with_behavior(TransactionBehavior::Immediate) {
            Ok(tx) => tx,
            Err(e) => return (Err(e.into()), false),
        };
        let mut enqueued = false;
        for job in batch.iter_mut() {
            let snapshot = self.ledger;
            let sp = match tx.savepoint() {
                Ok(sp) => sp,
                Err(e) => return (Err(e.into()), false),
            };
            let mut db = Db { conn: &sp, ledger: &mut self.ledger, max_bytes: self.max_bytes, now_ms, enqueued: false };
            let ok = job.run(&mut db);
            let job_enqueued = db.enqueued;
            if ok {
                if let Err(e) = sp.commit() {
                    return (Err(e.into()), false);
                }
                enqueued |= job_enqueued;
            } else {
                // Dropping the savepoint rolls it back; the ledger goes back with it,
                // except the counters of refusals, which are facts about this call.
                let (refused, dropped, full) = (self.ledger.refused, self.ledger.dropped, self.ledger.full);
                self.ledger = Ledger { refused, dropped, full, ..snapshot };
            }
        }
        if enqueued {
            let floor = crate::event::id_floor().to_string();
            if let Err(e) = tx.execute(
                "INSERT INTO meta (key, value) VALUES ('id_floor_ms', ?1) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [floor],
            ) {
                return (Err(e.into()), false);
            }
        }
        (tx.commit().map_err(StoreError::from), enqueued)
    }
}
