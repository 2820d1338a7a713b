//! The newest committed outbox rows, handed from the writer to the relay in memory.
//!
//! While the relay keeps up, it takes the rows the writer has just committed from here
//! instead of reading them back from SQLite (a hop to a blocking thread, the reader's
//! locks, page reads). The tail only ever holds committed rows: the writer adds them after
//! COMMIT and before it answers the callers or tells the relay. It is a cache: whatever
//! it cannot vouch for — rows it let go for room, rows deleted while it held them — is
//! read from SQLite as before.

use super::OutboxRow;
use std::collections::VecDeque;

/// Bytes of rows held at most; beyond it the oldest go and are read from SQLite.
pub const TAIL_BYTES: usize = 256 * 1024;

/// A row larger than this (a file's chunk) is not copied for the tail: its batch is read
/// from SQLite (files are kept out of memory on their way through the store).
pub const TAIL_ROW_BYTES: usize = 16 * 1024;

/// The rows one batch adds, kept for the tail until its commit: at most [`TAIL_BYTES`]
/// of them (a connector may queue a whole spooled file in one call), none larger than
/// [`TAIL_ROW_BYTES`]; past that none, and the relay reads the batch from SQLite.
#[derive(Debug, Default)]
pub struct Fresh {
    rows: Vec<OutboxRow>,
    bytes: usize,
    overflow: bool,
}

impl Fresh {
    pub fn push(&mut self, row: OutboxRow) {
        if self.overflow || size(&row) > TAIL_ROW_BYTES || self.bytes + size(&row) > TAIL_BYTES {
            self.overflow = true;
            return;
        }
        self.bytes += size(&row);
        self.rows.push(row);
    }

    /// Nothing to hand over: no rows, none left out.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty() && !self.overflow
    }

    /// How many rows are kept (to [`Fresh::truncate`] back to).
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Drops the rows of a call that was undone (an overflow stays: it is only a cost).
    pub fn truncate(&mut self, len: usize) {
        for row in self.rows.drain(len.min(self.rows.len())..) {
            self.bytes -= size(&row);
        }
    }

    pub fn clear(&mut self) {
        *self = Fresh::default();
    }
}

#[derive(Debug)]
pub struct Tail {
    rows: VecDeque<OutboxRow>,
    bytes: usize,
    /// Every committed row with a greater seq is in `rows`, in order.
    after: i64,
    limit: usize,
}

fn size(row: &OutboxRow) -> usize {
    row.topic.len() + row.payload.len()
}

impl Tail {
    /// An empty tail for a store whose newest row is `last_seq`.
    pub fn new(last_seq: i64, limit: usize) -> Self {
        Tail { rows: VecDeque::new(), bytes: 0, after: last_seq, limit }
    }

    /// Rows just committed, in seq order.
    fn extend(&mut self, rows: impl IntoIterator<Item = OutboxRow>) {
        for row in rows {
            self.bytes += size(&row);
            self.rows.push_back(row);
        }
        while self.bytes > self.limit {
            self.pop();
        }
    }

    /// Rows up to `removed_max` are leaving the outbox (evicted, or deleted before they
    /// were taken): called before their COMMIT, so nothing held that they may be is
    /// vouched for any more.
    pub fn forget(&mut self, removed_max: i64) {
        if removed_max > self.after {
            self.after = self.rows.back().map_or(self.after, |r| r.seq.max(self.after));
            self.rows.clear();
            self.bytes = 0;
        }
    }

    /// The rows a batch committed. `removed_max`: the newest seq it asked to delete or
    /// evicted (it may have evicted some of its own rows).
    pub fn add(&mut self, fresh: &mut Fresh, removed_max: i64, last_seq: i64) {
        let own_evicted = fresh.rows.first().is_some_and(|r| r.seq <= removed_max);
        if fresh.overflow || own_evicted {
            // Not all of them, or not only live ones: none; the relay reads them from SQLite.
            self.rows.clear();
            self.bytes = 0;
            self.after = self.after.max(last_seq);
        } else {
            self.extend(fresh.rows.drain(..));
        }
        fresh.clear();
    }

    /// Up to `limit` rows after `seq`, taken out; None when rows after `seq` may be missing
    /// here (then SQLite has them).
    pub fn take_after(&mut self, seq: i64, limit: usize) -> Option<Vec<OutboxRow>> {
        if seq < self.after {
            return None;
        }
        while self.rows.front().is_some_and(|r| r.seq <= seq) {
            self.pop();
        }
        let n = limit.min(self.rows.len());
        let taken: Vec<OutboxRow> = self.rows.drain(..n).collect();
        self.bytes -= taken.iter().map(size).sum::<usize>();
        if let Some(last) = taken.last() {
            self.after = last.seq;
        }
        Some(taken)
    }

    fn pop(&mut self) {
        if let Some(row) = self.rows.pop_front() {
            self.bytes -= size(&row);
            self.after = row.seq;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(seq: i64) -> OutboxRow {
        OutboxRow { seq, topic: "t".into(), payload: vec![b'x'; 9] }
    }

    fn seqs(rows: &[OutboxRow]) -> Vec<i64> {
        rows.iter().map(|r| r.seq).collect()
    }

    #[test]
    fn rows_after_the_newest_taken_come_from_memory_in_order() {
        let mut tail = Tail::new(4, 1000);
        tail.extend((5..=9).map(row));
        assert!(tail.take_after(3, 10).is_none(), "row 4 was never held");
        assert_eq!(seqs(&tail.take_after(4, 2).expect("held")), [5, 6]);
        assert_eq!(seqs(&tail.take_after(7, 10).expect("held")), [8, 9], "rows up to the cursor are skipped");
        assert_eq!(tail.take_after(9, 10).expect("held"), [], "nothing newer is committed");
        assert!(tail.take_after(0, 10).is_none(), "a cursor sent back (a new connection) reads SQLite");
    }

    #[test]
    fn rows_let_go_for_room_are_read_from_sqlite() {
        let mut tail = Tail::new(0, 30);
        tail.extend((1..=5).map(row));
        assert!(tail.take_after(0, 10).is_none(), "the oldest went: 10 bytes a row, 30 held");
        assert_eq!(seqs(&tail.take_after(2, 10).expect("held")), [3, 4, 5]);
    }

    fn fresh(seqs: impl IntoIterator<Item = i64>) -> Fresh {
        let mut fresh = Fresh::default();
        seqs.into_iter().for_each(|seq| fresh.push(row(seq)));
        fresh
    }

    #[test]
    fn a_batch_that_evicted_rows_of_its_own_hands_none_over() {
        let mut tail = Tail::new(100, 1000);
        tail.add(&mut fresh([101, 102]), 101, 102);
        assert!(tail.take_after(100, 10).is_none(), "101 is gone: SQLite knows");
        assert_eq!(tail.take_after(102, 10).expect("held"), []);
        tail.add(&mut fresh([103]), 0, 103);
        assert_eq!(seqs(&tail.take_after(102, 10).expect("held")), [103]);
    }

    #[test]
    fn a_batch_larger_than_the_tail_or_with_a_file_chunk_is_read_from_sqlite() {
        let mut tail = Tail::new(0, TAIL_BYTES);
        let mut big = fresh(1..=2);
        big.push(OutboxRow { seq: 3, topic: "t".into(), payload: vec![0; TAIL_ROW_BYTES] });
        big.push(row(4));
        assert_eq!(big.len(), 2, "nothing after the row that did not fit");
        assert!(!big.is_empty());
        tail.add(&mut big, 0, 4);
        assert!(tail.take_after(0, 10).is_none());
        assert_eq!(tail.take_after(4, 10).expect("held"), []);
        // Many rows, each small enough, more than the tail holds together.
        let mut many = Fresh::default();
        (5..=40).for_each(|seq| many.push(OutboxRow { seq, topic: "t".into(), payload: vec![0; 10_000] }));
        assert!(many.len() < 36, "{} of 36 kept", many.len());
        tail.add(&mut many, 0, 40);
        assert!(tail.take_after(4, 10).is_none());
        assert_eq!(tail.take_after(40, 10).expect("held"), []);
    }

    #[test]
    fn rows_deleted_while_held_are_never_handed_out() {
        let mut tail = Tail::new(0, 1000);
        tail.extend((1..=5).map(row));
        tail.forget(0);
        assert_eq!(tail.rows.len(), 5, "deletes of rows already taken change nothing");
        tail.forget(3);
        assert!(tail.take_after(4, 10).is_none());
        assert_eq!(tail.take_after(5, 10).expect("held"), []);
        tail.add(&mut fresh([6]), 0, 6);
        assert_eq!(seqs(&tail.take_after(5, 10).expect("held")), [6]);
    }
}
