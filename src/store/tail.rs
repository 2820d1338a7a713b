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
    pub fn extend(&mut self, rows: impl IntoIterator<Item = OutboxRow>) {
        for row in rows {
            self.bytes += size(&row);
            self.rows.push_back(row);
        }
        while self.bytes > self.limit {
            self.pop();
        }
    }

    /// Rows up to `removed_max` left the outbox while some may have been held here (evicted, or
    /// deleted before they were taken): nothing held is vouched for any more.
    pub fn forget(&mut self, removed_max: i64) {
        if removed_max > self.after {
            self.after = self.rows.back().map_or(self.after, |r| r.seq.max(self.after));
            self.rows.clear();
            self.bytes = 0;
        }
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

    #[test]
    fn rows_deleted_while_held_are_never_handed_out() {
        let mut tail = Tail::new(0, 1000);
        tail.extend((1..=5).map(row));
        tail.forget(0);
        assert_eq!(tail.rows.len(), 5, "deletes of rows already taken change nothing");
        tail.forget(3);
        assert!(tail.take_after(4, 10).is_none());
        assert_eq!(tail.take_after(5, 10).expect("held"), []);
        tail.extend([row(6)]);
        assert_eq!(seqs(&tail.take_after(5, 10).expect("held")), [6]);
    }
}
