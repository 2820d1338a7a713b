//! Sequence numbers after a stop that did not close the store, with `store.synchronous =
//! "normal"`. There a power cut can undo the last commits (up to a checkpoint's worth:
//! 512 commits or a few MiB of WAL), whose rows the relay may already have published with
//! their `seq`: the numbers would be given out again to new events, and a cloud that drops a
//! `seq` at or below the last it saw (docs/mqtt.md) would drop those new events.
//!
//! So a store opened under `normal` carries a note (`store_open` in `meta`, written with an
//! fsync before the writer starts) that only a clean close removes. Finding it at open, the
//! agent skips [`SEQ_SKIP`] numbers, far more than a checkpoint interval can hold, and says
//! so (`store.seq_skipped`); the skip itself is noted with an fsync too, so a second power
//! cut before any new row cannot undo it. Under `full` every commit is on disk before its rows
//! are published: no note, but one left by a run under `normal` still counts.

use super::StoreError;
use super::db::{LAST_SEQ_KEY, Ledger, get_meta, put_meta};
use crate::config::Synchronous;
use rusqlite::Connection;

/// Numbers skipped after an unclean stop under `normal`.
pub const SEQ_SKIP: i64 = 1_000_000;

const OPEN_KEY: &str = "store_open";

/// At open, before the writer starts: skips numbers when the last run did not close the
/// store (the range skipped, `from..=to`), and notes this run under `normal`.
pub fn mark_open(conn: &Connection, ledger: &mut Ledger, sync: Synchronous) -> Result<Option<(i64, i64)>, StoreError> {
    let unclean = get_meta(conn, OPEN_KEY)?.is_some();
    let skipped = unclean.then(|| (ledger.last_seq + 1, ledger.last_seq + SEQ_SKIP));
    if !unclean && sync == Synchronous::Full {
        return Ok(None);
    }
    conn.pragma_update(None, "synchronous", "FULL")?;
    let noted = (|| -> rusqlite::Result<()> {
        let tx = conn.unchecked_transaction()?;
        if let Some((_, to)) = skipped {
            put_meta(&tx, LAST_SEQ_KEY, &to.to_string())?;
        }
        if sync == Synchronous::Normal {
            put_meta(&tx, OPEN_KEY, &crate::event::now_ms().to_string())?;
        } else {
            tx.execute("DELETE FROM meta WHERE key = ?1", [OPEN_KEY])?;
        }
        tx.commit()
    })();
    if sync == Synchronous::Normal {
        conn.pragma_update(None, "synchronous", "NORMAL")?;
    }
    noted?;
    if let Some((from, to)) = skipped {
        log::warn!("store: the last run did not close it (synchronous = normal): seq {from}..={to} skipped");
        ledger.last_seq = to;
    }
    Ok(skipped)
}

/// At a clean close (the final checkpoint after it puts it on disk).
pub fn mark_closed(conn: &Connection) {
    if let Err(e) = conn.execute("DELETE FROM meta WHERE key = ?1", [OPEN_KEY]) {
        log::warn!("store: cannot note the clean close: {e}");
    }
}
