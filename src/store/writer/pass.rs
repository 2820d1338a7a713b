//! One pass of a batch's jobs through the open transaction: each in a savepoint of its
//! own, or — for jobs that can run again — none while none fails (a savepoint's statements
//! and the pages SQLite copies for it were a tenth of a one-event request's instructions).

use super::super::tail::Fresh;
use super::super::tx::Tx;
use super::super::{Db, Ledger, StoreError};
use super::Job;
use rusqlite::Connection;

/// What the jobs of one batch write into, across its passes.
pub(super) struct Pass<'a> {
    pub conn: &'a Connection,
    pub ledger: &'a mut Ledger,
    pub fresh: &'a mut Fresh,
    pub removed_max: &'a mut i64,
    pub max_bytes: u64,
    pub disk_full: bool,
    pub now_ms: u64,
    /// Outbox rows were added.
    pub enqueued: bool,
    /// A statement failed for want of space (inside a commit that may still hold).
    pub out_of_space: bool,
}

/// How a pass ended.
pub(super) enum Passed {
    /// Every job ran; a failed one (in its savepoint) was undone alone.
    Done,
    /// Job `n`, run without a savepoint, failed: the transaction must be rolled back.
    Failed(usize),
}

impl Pass<'_> {
    /// Runs `jobs`; `savepoints`: each in its own, so that a failing one is undone alone.
    pub fn run(&mut self, tx: &Tx<'_>, jobs: &mut [Box<dyn Job>], savepoints: bool) -> Result<Passed, StoreError> {
        for (n, job) in jobs.iter_mut().enumerate() {
            let snapshot = *self.ledger;
            if savepoints {
                tx.savepoint()?;
            }
            let mut db = Db {
                conn: self.conn,
                ledger: &mut *self.ledger,
                max_bytes: self.max_bytes,
                now_ms: self.now_ms,
                enqueued: false,
                disk_full: self.disk_full,
                out_of_space: false,
                fresh: &mut *self.fresh,
                removed_max: 0,
            };
            let fresh_before = db.fresh.len();
            let ok = job.run(&mut db);
            let (enqueued, out_of_space, removed) = (db.enqueued, db.out_of_space, db.removed_max);
            if !ok {
                db.fresh.truncate(fresh_before);
            }
            // Deletes count even when undone: forgetting the tail is always safe.
            *self.removed_max = (*self.removed_max).max(removed);
            self.out_of_space |= out_of_space && !self.disk_full;
            if !savepoints {
                if !ok {
                    return Ok(Passed::Failed(n));
                }
                self.enqueued |= enqueued;
                continue;
            }
            let closed = if ok {
                self.enqueued |= enqueued;
                tx.release()
            } else {
                // The job's rows go; the ledger goes back with them, except the counters
                // of refusals, which are facts about this call.
                let (refused, dropped, full) = (self.ledger.refused, self.ledger.dropped, self.ledger.full);
                *self.ledger = Ledger { refused, dropped, full, ..snapshot };
                tx.undo()
            };
            if let Err(e) = closed {
                // SQLite rolls the whole transaction back itself on some errors (SQLITE_FULL
                // among them): then the batch failed for the job's reason, not the savepoint's.
                let gone = !ok && self.conn.is_autocommit();
                return Err(match (gone, out_of_space) {
                    (true, true) => StoreError::DiskFull,
                    (true, false) => StoreError::Sqlite("a call failed and SQLite rolled back its batch".into()),
                    (false, _) => e.into(),
                });
            }
        }
        Ok(Passed::Done)
    }

    /// Back to the batch's start (its transaction was rolled back).
    pub fn restart(&mut self, start: Ledger) {
        *self.ledger = start;
        self.fresh.clear();
        self.enqueued = false;
    }
}
