//! Which commits wait for the disk. With `store.synchronous = "full"` every commit with
//! callers (new events, command results, connector state) waits for the fsync of the WAL
//! (SQLite's `FULL`). A commit of deletes of delivered rows alone does not (`NORMAL`): it is
//! written to the WAL, and the next commit with callers that writes fsyncs it with its own
//! (a checkpoint does too). A process that dies keeps it (it is in the kernel's page cache);
//! a power cut before that fsync can undo it, and the rows it deleted are then sent again,
//! each with its id (docs/mqtt.md). So that a power cut repeats little, deletes wait so for
//! at most [`UNSYNCED_MAX`]: the first commit of deletes alone after that waits for the disk.
//! In a trickle (events further apart than a delete waits for company) every event cost two
//! fsyncs, its insert's and its delete's: now one. While a backlog drains with no new
//! events, one a second.

use crate::config::Synchronous;
use crate::store::StoreError;
use rusqlite::Connection;
use std::time::{Duration, Instant};

/// How long deletes committed without an fsync wait for one, at most: what a power cut can
/// make the agent send again is the deliveries of about this long.
pub const UNSYNCED_MAX: Duration = Duration::from_secs(1);

#[derive(Debug)]
pub(super) struct Pace {
    /// `store.synchronous = "full"`: `normal` never waits for the disk and never switches.
    full: bool,
    /// The connection is set to `NORMAL`, or may be (a switch that failed half-way).
    lazy: bool,
    /// Since when deletes committed under `NORMAL` have waited for an fsync.
    unsynced_since: Option<Instant>,
}

impl Pace {
    pub(super) fn new(synchronous: Synchronous) -> Pace {
        Pace { full: synchronous == Synchronous::Full, lazy: false, unsynced_since: None }
    }

    /// Sets the connection for the next batch; `deletes_alone`: it holds only deletes of
    /// delivered rows. A batch with callers fails rather than commit under `NORMAL`.
    pub(super) fn set(&mut self, conn: &Connection, deletes_alone: bool) -> Result<(), StoreError> {
        let lazy = deletes_alone && self.full && self.unsynced_since.is_none_or(|t| t.elapsed() < UNSYNCED_MAX);
        if lazy == self.lazy {
            return Ok(());
        }
        // SQLite refuses the switch inside a transaction (should one be left open, the
        // switch below fails and says so).
        let _ = crate::store::tx::end_open(conn);
        // SQLite applies the level as it parses the pragma, before the statement runs (a
        // cached one is parsed again at each run: ~6,000 instructions, against an fsync
        // saved). Until the switch is known to have worked the connection counts as lazy, so
        // the next batch with callers sets `FULL` again.
        self.lazy = true;
        match conn.pragma_update(None, "synchronous", if lazy { "NORMAL" } else { "FULL" }) {
            Ok(()) => {
                self.lazy = lazy;
                Ok(())
            }
            // Deletes may as well wait for the disk.
            Err(e) if lazy => {
                log::debug!("store: synchronous = NORMAL: {e}");
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    /// After a COMMIT that held (`wrote`: it changed rows): whether it waited for the disk.
    pub(super) fn committed(&mut self, wrote: bool) -> bool {
        if !wrote || !self.full {
            return false;
        }
        if self.lazy {
            self.unsynced_since.get_or_insert_with(Instant::now);
            return false;
        }
        self.unsynced_since = None;
        true
    }
}
