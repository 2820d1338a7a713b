//! The writer's transaction control through cached statements: `BEGIN IMMEDIATE`,
//! `SAVEPOINT`, `RELEASE`, `ROLLBACK TO`, `ROLLBACK` and `COMMIT` are prepared once per
//! connection.
//! rusqlite's `Transaction` and `Savepoint` parse each of them at every call (and format
//! the savepoint's name): about a tenth of a one-event request's instructions in the
//! relay bench.

use rusqlite::Connection;

/// Runs one of the statements above from the connection's statement cache.
fn run(conn: &Connection, sql: &'static str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(drop)
}

/// Rolls back a transaction left open (a ROLLBACK that failed), which would make every
/// BEGIN fail, and every change of `synchronous` too.
pub(super) fn end_open(conn: &Connection) -> rusqlite::Result<()> {
    if conn.is_autocommit() { Ok(()) } else { run(conn, "ROLLBACK") }
}

/// An open write transaction; dropped before its commit held, it is rolled back.
pub(super) struct Tx<'c> {
    conn: &'c Connection,
}

impl<'c> Tx<'c> {
    /// Takes the write lock at once (`BEGIN IMMEDIATE`).
    pub(super) fn begin(conn: &'c Connection) -> rusqlite::Result<Self> {
        end_open(conn)?;
        run(conn, "BEGIN IMMEDIATE")?;
        Ok(Tx { conn })
    }

    /// Opens the savepoint one job runs in.
    pub(super) fn savepoint(&self) -> rusqlite::Result<()> {
        run(self.conn, "SAVEPOINT job")
    }

    /// Keeps what the job did.
    pub(super) fn release(&self) -> rusqlite::Result<()> {
        run(self.conn, "RELEASE job")
    }

    /// Undoes what the job did and closes its savepoint.
    pub(super) fn undo(&self) -> rusqlite::Result<()> {
        run(self.conn, "ROLLBACK TO job")?;
        run(self.conn, "RELEASE job")
    }

    /// Commits; on failure the transaction is rolled back when dropped.
    pub(super) fn commit(self) -> rusqlite::Result<()> {
        run(self.conn, "COMMIT")
    }
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        // After a COMMIT that held (or one SQLite rolled back itself) there is nothing to undo.
        if !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}
