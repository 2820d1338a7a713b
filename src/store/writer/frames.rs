//! The WAL's frames as the writer's commits append them. SQLite calls [`on_commit`] after
//! every commit on the writer's connection with the WAL's length in frames. It does what
//! SQLite's own hook for `wal_autocheckpoint` did (a passive checkpoint once the WAL is that
//! long; installing a hook replaces SQLite's), and it counts the frames appended: a commit
//! grows the store file by at most a page per frame it appends, so the writer knows without
//! asking SQLite whether the file can have grown by the reserve since its last checkpoint
//! (`PRAGMA page_count`, like every pragma, is parsed anew at each run: ~10,000 instructions
//! after every commit before). Per thread: the writer's connection commits only on its own
//! thread, and each store has its own writer.

use rusqlite::Connection;
use rusqlite::hooks::Wal;
use std::cell::Cell;
use std::ffi::c_int;

thread_local! {
    /// The WAL's length, in frames, at which a commit checkpoints (0: never).
    static LIMIT: Cell<c_int> = const { Cell::new(0) };
    /// The WAL's length after the last commit.
    static LENGTH: Cell<c_int> = const { Cell::new(0) };
    /// Frames appended since [`take_appended`] last looked.
    static APPENDED: Cell<u64> = const { Cell::new(0) };
    /// Whether the hook ran since [`take_called`] last looked.
    static CALLED: Cell<bool> = const { Cell::new(false) };
}

/// Installs the hook on `conn`, which commits on this thread from now on, checkpointing
/// every `limit` frames.
pub(super) fn install(conn: &Connection, limit: i64) {
    set_limit(limit);
    reinstall(conn);
}

/// SQLite's `wal_autocheckpoint` for the writer's connection (the pragma would remove the
/// hook).
pub(super) fn set_limit(limit: i64) {
    LIMIT.set(c_int::try_from(limit).unwrap_or(c_int::MAX));
}

/// Installs the hook again (with the same interval): something on the connection replaced
/// it (`PRAGMA wal_autocheckpoint` does), which [`take_called`] tells.
pub(super) fn reinstall(conn: &Connection) {
    conn.wal_hook(Some(on_commit));
}

/// The frames appended since the last call (the first call counts the whole WAL).
pub(super) fn take_appended() -> u64 {
    APPENDED.replace(0)
}

/// The frames appended since [`take_appended`] last looked, left to count.
pub(super) fn appended() -> u64 {
    APPENDED.get()
}

/// Whether the hook ran since the last call: a commit that wrote runs it.
pub(super) fn take_called() -> bool {
    CALLED.replace(false)
}

/// After a checkpoint (it may have copied the whole WAL, which SQLite then starts afresh at
/// the next commit): the next commit's frames all count as appended, and those before are
/// forgotten (the writer counts from the file's size again). Counting from 0 can only count
/// too many.
pub(super) fn checkpointed() {
    LENGTH.set(0);
    APPENDED.set(0);
}

fn on_commit(wal: &Wal, length: c_int) -> rusqlite::Result<()> {
    CALLED.set(true);
    let last = LENGTH.replace(length);
    // Shorter than before: the WAL started afresh after a checkpoint, with these frames.
    // (After the writer's own checkpoints the count starts from 0: see [`checkpointed`].)
    let appended = if length >= last { length - last } else { length };
    APPENDED.set(APPENDED.get() + appended.max(0) as u64);
    let limit = LIMIT.get();
    if limit > 0 && length >= limit {
        // As SQLite's own hook does, a checkpoint that fails or cannot finish is left for
        // the next commit: an error returned here would be reported as the COMMIT's, which
        // has happened.
        let _ = wal.checkpoint();
        // Counted from 0 again: a WAL started afresh is as long as the frames appended.
        LENGTH.set(0);
    }
    Ok(())
}
