//! The operations that run on the writer thread, inside its group-commit transaction.
//!
//! [`Db`] is what a store call's closure receives: the open transaction (one failing call
//! is undone alone, see the writer) and the [`Ledger`] of outbox content that
//! enforces `store.max_bytes`. The bound's policy lives in [`Db::enqueue`]:
//! telemetry is evicted oldest-first to make room; when only critical rows remain, a
//! critical event is refused with [`StoreError::Full`] (ingress answers 503) and a
//! telemetry event is dropped and counted. Command results and alarms bypass the bound;
//! what a vendor's callback brings (which it may never send again) goes past it, but not
//! past a full disk.

use super::StoreError;
use crate::event::Class;
use rusqlite::{Connection, OptionalExtension, params};

/// Which limits an append keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bound {
    /// `store.max_bytes` and the disk.
    Kept,
    /// The disk only.
    Disk,
    /// Neither (the reserve's room on a full disk).
    None,
}

/// How many times `store.max_bytes` a vendor's callbacks may fill the outbox, at most.
pub const PAST_BOUND: u64 = 2;

/// Bytes a row counts beyond its topic and payload (keys, row header, index entry).
pub const ROW_OVERHEAD: u64 = 64;

/// Running totals of the outbox, kept in memory and restored from SQL after a rollback.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ledger {
    pub rows: u64,
    pub bytes: u64,
    pub critical_rows: u64,
    /// Telemetry rows evicted to make room, since start.
    pub evicted: u64,
    /// Telemetry events dropped because nothing could be evicted, since start.
    pub dropped: u64,
    /// Critical events refused because the store was full, since start.
    pub refused: u64,
    /// Set when a critical event was refused; cleared below 90 % of the bound.
    pub full: bool,
    /// The last outbox sequence number given out (AUTOINCREMENT: never re-used).
    pub last_seq: i64,
}

impl Ledger {
    /// Recounts the outbox; the counters since start are kept.
    pub fn recount(&mut self, conn: &Connection) -> Result<(), StoreError> {
        let (rows, bytes, critical): (i64, i64, i64) = conn.query_row(
            "SELECT count(*), coalesce(sum(bytes), 0), coalesce(sum(class = 0), 0) FROM outbox",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
        self.rows = rows as u64;
        self.bytes = bytes as u64;
        self.critical_rows = critical as u64;
        self.last_seq = last_seq(conn)?;
        Ok(())
    }
}

/// The `meta` key of the last outbox sequence number, in a store without `AUTOINCREMENT`.
pub(super) const LAST_SEQ_KEY: &str = "outbox_last_seq";

/// The last outbox sequence number given out, in either form a store may keep it.
/// `AUTOINCREMENT` keeps it in `sqlite_sequence`, a page every commit writes again. A store
/// without it (the form a later release can move to, once every release it may roll back to
/// reads this one) keeps it in the outbox's newest row, or, once that row was delivered, in
/// `meta` (`outbox_last_seq`). This build reads the largest of the three, so a rollback from
/// such a release never gives a number out twice (docs/update.md).
fn last_seq(conn: &Connection) -> Result<i64, StoreError> {
    let newest: i64 = conn.query_row("SELECT coalesce(max(seq), 0) FROM outbox", [], |r| r.get(0))?;
    // A note that is not a number is reported, never read as 0.
    let noted: i64 = get_meta(conn, LAST_SEQ_KEY)?.map_or(Ok(0), |v| {
        v.parse().map_err(|e| StoreError::Corrupt {
            scope: "meta".into(),
            key: LAST_SEQ_KEY.into(),
            reason: format!("{v:?}: {e}"),
        })
    })?;
    let has_sequence: bool = conn.query_row(
        "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'",
        [],
        |r| r.get(0),
    )?;
    let counted: Option<i64> = if has_sequence {
        conn.query_row("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'", [], |r| r.get(0)).optional()?
    } else {
        None
    };
    Ok(newest.max(noted).max(counted.unwrap_or(0)))
}

/// The agent's own note under `key` in `meta`, on any connection.
pub(super) fn get_meta(conn: &Connection, key: &str) -> rusqlite::Result<Option<String>> {
    conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0)).optional()
}

/// Writes the agent's own note under `key` in `meta` (inside the caller's transaction).
pub(super) fn put_meta(conn: &Connection, key: &str, value: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )?
    .execute([key, value])?;
    Ok(())
}

/// Whether the outbox was made with `AUTOINCREMENT` (so `sqlite_sequence` keeps its last
/// number); true when it cannot be told.
pub(super) fn outbox_autoincrement(conn: &Connection) -> bool {
    conn.query_row(
        "SELECT instr(upper(sql), 'AUTOINCREMENT') > 0 FROM sqlite_master WHERE type = 'table' AND name = 'outbox'",
        [],
        |r| r.get(0),
    )
    .unwrap_or(true)
}

/// What became of an event handed to [`Db::enqueue`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Enqueued {
    /// Stored under this outbox sequence number.
    Stored(i64),
    /// Its de-duplication key was seen before: nothing stored. Carries the id of the
    /// event first stored under that key.
    Duplicate(String),
    /// A telemetry event that did not fit: nothing stored, counted in `dropped`.
    Dropped,
}

/// One outbox row as the relay reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    pub seq: i64,
    pub topic: String,
    pub payload: Vec<u8>,
}

/// An event ready for the outbox.
#[derive(Debug, Clone)]
pub struct OutboxItem {
    /// The event id inside the payload (kept with the de-duplication key).
    pub id: String,
    pub topic: String,
    pub payload: Vec<u8>,
    pub class: Class,
    pub dedup_key: Option<String>,
}

impl OutboxItem {
    /// The item for `event`, with a fresh id and the current time, sent by `agent`.
    pub fn from_event(event: &crate::event::NewEvent, agent: &str) -> OutboxItem {
        let id = crate::event::new_id();
        let payload = crate::event::encode_envelope(event, &id, crate::event::now_ms(), agent);
        OutboxItem { id, topic: event.topic_suffix(), payload, class: event.class, dedup_key: event.dedup_key.clone() }
    }
}

/// Reads outbox rows after `after_seq` in sequence order, on any connection.
///
/// The limit is applied here, not as `LIMIT ?`: SQLite plans a bound LIMIT as a constant,
/// so binding it again expires the statement and every read parsed and planned it anew.
/// The rows come in rowid order, so stopping early costs nothing.
pub fn read_outbox(conn: &Connection, after_seq: i64, limit: usize) -> Result<Vec<OutboxRow>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT seq, topic, payload FROM outbox WHERE seq > ?1 ORDER BY seq")?;
    let rows =
        stmt.query_map([after_seq], |r| Ok(OutboxRow { seq: r.get(0)?, topic: r.get(1)?, payload: r.get(2)? }))?;
    Ok(rows.take(limit).collect::<Result<_, _>>()?)
}

/// How a command's arrival was recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandStart {
    /// First time seen: execute it.
    New,
    /// Seen and not finished yet: its one result is still to come.
    InProgress,
    /// Finished before: the stored result payload, to publish again.
    Done(Vec<u8>),
}

/// A command received and not finished (found at start after a crash).
#[derive(Debug, Clone)]
pub struct PendingCommand {
    pub cmd_id: String,
    pub target: String,
    pub name: String,
    pub body: Vec<u8>,
}

/// The writer's view of the database for one store call.
pub struct Db<'a> {
    pub(super) conn: &'a Connection,
    pub(super) ledger: &'a mut Ledger,
    pub(super) max_bytes: u64,
    pub(super) now_ms: u64,
    pub(super) enqueued: bool,
    /// The disk is full: new events are refused so the space left serves deletes.
    pub(super) disk_full: bool,
    /// Set when the call failed for want of space (the writer then treats the disk as full).
    pub(super) out_of_space: bool,
    /// The rows this batch added, for the relay's [`super::tail::Tail`] once committed.
    pub(super) fresh: &'a mut super::tail::Fresh,
    /// The newest seq this call asked to delete or evicted (0: none), whether or not the
    /// rows were there.
    pub(super) removed_max: i64,
}

impl Db<'_> {
    /// The raw connection, for driver tables (`kv` is usually enough).
    pub fn conn(&self) -> &Connection {
        self.conn
    }

    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }

    /// Appends an event to the outbox under the bound's policy (see the module doc).
    pub fn enqueue(&mut self, item: &OutboxItem) -> Result<Enqueued, StoreError> {
        self.enqueue_inner(item, Bound::Kept)
    }

    /// Appends without the bound: for command results and alarms, which are small and few.
    pub fn enqueue_unbounded(&mut self, item: &OutboxItem) -> Result<Enqueued, StoreError> {
        self.enqueue_inner(item, Bound::None)
    }

    /// Appends past `store.max_bytes` once no telemetry is left to evict, up to
    /// [`PAST_BOUND`] times it, and not on a full disk: for what a vendor's callback brings.
    /// Not every vendor document promises a callback is sent again after a refusal, so one
    /// refused for the bound alone could be lost; the vendor is authenticated and its rate
    /// its own. The store then counts as full (the ingress is refused, `store.full` raised).
    pub fn enqueue_past_bound(&mut self, item: &OutboxItem) -> Result<Enqueued, StoreError> {
        self.enqueue_inner(item, Bound::Disk)
    }

    fn enqueue_inner(&mut self, item: &OutboxItem, bound: Bound) -> Result<Enqueued, StoreError> {
        if self.disk_full && bound != Bound::None {
            return Err(StoreError::DiskFull);
        }
        if let Some(key) = &item.dedup_key {
            let fresh = self.conn.execute(
                "INSERT OR IGNORE INTO dedup (key, created_ms, event_id) VALUES (?1, ?2, ?3)",
                params![key, self.now_ms as i64, item.id],
            )?;
            if fresh == 0 {
                let first: String =
                    self.conn.query_row("SELECT event_id FROM dedup WHERE key = ?1", [key], |r| r.get(0))?;
                return Ok(Enqueued::Duplicate(first));
            }
        }
        // Every relayed message carries its outbox sequence number (`seq`): gap-free except
        // for evicted telemetry, so the cloud can tell a gap and restore the order.
        let seq = self.ledger.last_seq + 1;
        let payload = crate::event::with_seq(&item.payload, seq);
        let size = item.topic.len() as u64 + payload.len() as u64 + ROW_OVERHEAD;
        if bound != Bound::None && self.ledger.bytes + size > self.max_bytes {
            self.evict_telemetry(self.ledger.bytes + size - self.max_bytes)?;
            let over = self.ledger.bytes + size > self.max_bytes;
            let past = bound == Bound::Disk
                && item.class == Class::Critical
                && self.ledger.bytes + size <= self.max_bytes.saturating_mul(PAST_BOUND);
            if over && past {
                self.ledger.full = true;
            } else if over {
                if item.class == Class::Telemetry {
                    // Not stored: its key must not answer "duplicate" to the producer's
                    // next try (it would take that for stored, and the event is lost).
                    if let Some(key) = &item.dedup_key {
                        self.conn.prepare_cached("DELETE FROM dedup WHERE key = ?1")?.execute([key])?;
                    }
                    self.ledger.dropped += 1;
                    return Ok(Enqueued::Dropped);
                }
                self.ledger.refused += 1;
                self.ledger.full = true;
                return Err(StoreError::Full);
            }
        }
        self.conn
            .prepare_cached(
                "INSERT INTO outbox (seq, topic, payload, class, created_ms, bytes) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![seq, item.topic, payload, item.class.as_i64(), self.now_ms as i64, size as i64])?;
        self.fresh.push(OutboxRow { seq, topic: item.topic.clone(), payload });
        self.ledger.last_seq = seq;
        self.ledger.rows += 1;
        self.ledger.bytes += size;
        if item.class == Class::Critical {
            self.ledger.critical_rows += 1;
        }
        self.enqueued = true;
        Ok(Enqueued::Stored(seq))
    }

    /// Deletes the oldest telemetry rows until `need` bytes are freed or none are left.
    fn evict_telemetry(&mut self, need: u64) -> Result<(), StoreError> {
        let mut freed = 0u64;
        let mut last_seq = None;
        let mut count = 0u64;
        {
            let mut stmt = self.conn.prepare_cached("SELECT seq, bytes FROM outbox WHERE class = 1 ORDER BY seq")?;
            let mut rows = stmt.query([])?;
            while freed < need {
                let Some(row) = rows.next()? else { break };
                last_seq = Some(row.get::<_, i64>(0)?);
                freed += row.get::<_, i64>(1)? as u64;
                count += 1;
            }
        }
        if let Some(last) = last_seq {
            self.conn.execute("DELETE FROM outbox WHERE class = 1 AND seq <= ?1", [last])?;
            self.removed_max = self.removed_max.max(last);
            self.ledger.rows -= count;
            self.ledger.bytes -= freed;
            self.ledger.evicted += count;
        }
        Ok(())
    }

    /// The oldest outbox rows after `after_seq`, at most `limit`.
    pub fn outbox_after(&mut self, after_seq: i64, limit: usize) -> Result<Vec<OutboxRow>, StoreError> {
        read_outbox(self.conn, after_seq, limit)
    }

    /// Deletes acknowledged rows; already-deleted ones are ignored. Consecutive seqs (the
    /// usual case: PUBACKs come in order) go as one range per statement.
    pub fn ack(&mut self, seqs: &[i64]) -> Result<usize, StoreError> {
        let mut sorted = seqs.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        self.removed_max = self.removed_max.max(sorted.last().copied().unwrap_or(0));
        // What the ledger loses is summed first, then the rows go: `DELETE … RETURNING` would
        // have SQLite build a temporary table for the returned rows at every call (a B-tree and
        // its page cache opened and closed: ~5,000 instructions per delete).
        let mut sum = self.conn.prepare_cached(
            "SELECT count(*), coalesce(sum(bytes), 0), coalesce(sum(class = 0), 0) FROM outbox WHERE seq BETWEEN ?1 AND ?2",
        )?;
        let mut delete = self.conn.prepare_cached("DELETE FROM outbox WHERE seq BETWEEN ?1 AND ?2")?;
        let mut deleted = 0;
        let mut i = 0;
        while i < sorted.len() {
            let mut j = i;
            while j + 1 < sorted.len() && sorted[j + 1] == sorted[j] + 1 {
                j += 1;
            }
            let range = [sorted[i], sorted[j]];
            let (rows, bytes, critical): (i64, i64, i64) =
                sum.query_row(range, |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            if rows > 0 {
                delete.execute(range)?;
                deleted += rows as usize;
                self.ledger.rows -= rows as u64;
                self.ledger.bytes -= bytes as u64;
                self.ledger.critical_rows -= critical as u64;
            }
            i = j + 1;
        }
        if self.ledger.full && self.ledger.bytes * 10 < self.max_bytes * 9 {
            self.ledger.full = false;
        }
        Ok(deleted)
    }

    /// Records a command's arrival; tells whether to execute it.
    pub fn command_begin(
        &mut self,
        cmd_id: &str,
        target: &str,
        name: &str,
        body: &[u8],
    ) -> Result<CommandStart, StoreError> {
        let existing: Option<(String, Option<Vec<u8>>)> = self
            .conn
            .query_row("SELECT state, result FROM inbox WHERE cmd_id = ?1", [cmd_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        match existing {
            Some((state, Some(result))) if state == "done" => Ok(CommandStart::Done(result)),
            Some(_) => Ok(CommandStart::InProgress),
            None => {
                self.conn.execute(
                    "INSERT INTO inbox (cmd_id, target, name, body, state, received_ms) VALUES (?1, ?2, ?3, ?4, 'received', ?5)",
                    params![cmd_id, target, name, body, self.now_ms as i64],
                )?;
                Ok(CommandStart::New)
            }
        }
    }

    /// Marks a command done and queues its result, in the same transaction.
    pub fn command_finish(&mut self, cmd_id: &str, result: &OutboxItem) -> Result<(), StoreError> {
        self.conn.execute(
            "UPDATE inbox SET state = 'done', result = ?2, done_ms = ?3 WHERE cmd_id = ?1",
            params![cmd_id, result.payload, self.now_ms as i64],
        )?;
        self.enqueue_unbounded(result)?;
        Ok(())
    }

    /// Commands received and not finished, oldest first.
    pub fn commands_pending(&mut self) -> Result<Vec<PendingCommand>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT cmd_id, target, name, body FROM inbox WHERE state = 'received' ORDER BY received_ms, rowid",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(PendingCommand { cmd_id: r.get(0)?, target: r.get(1)?, name: r.get(2)?, body: r.get(3)? })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Whether command `cmd_id` has its result (a running or resumable one has not).
    pub fn command_finished(&mut self, cmd_id: &str) -> Result<bool, StoreError> {
        let state: Option<String> =
            self.conn.query_row("SELECT state FROM inbox WHERE cmd_id = ?1", [cmd_id], |r| r.get(0)).optional()?;
        Ok(state.as_deref() == Some("done"))
    }

    pub fn kv_get(&mut self, scope: &str, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT value FROM kv WHERE scope = ?1 AND key = ?2", [scope, key], |r| r.get(0))
            .optional()?)
    }

    pub fn kv_put(&mut self, scope: &str, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO kv (scope, key, value, updated_ms) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (scope, key) DO UPDATE SET value = excluded.value, updated_ms = excluded.updated_ms",
            params![scope, key, value, self.now_ms as i64],
        )?;
        Ok(())
    }

    /// Forgets de-duplication keys and finished commands older than `cutoff_ms` (each
    /// connector prunes its own state beside this).
    pub fn prune(&mut self, cutoff_ms: u64) -> Result<usize, StoreError> {
        let a = self.conn.execute("DELETE FROM dedup WHERE created_ms < ?1", [cutoff_ms as i64])?;
        let b = self.conn.execute("DELETE FROM inbox WHERE state = 'done' AND done_ms < ?1", [cutoff_ms as i64])?;
        Ok(a + b)
    }

    pub fn meta_get(&mut self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(get_meta(self.conn, key)?)
    }

    pub fn meta_put(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        Ok(put_meta(self.conn, key, value)?)
    }
}
