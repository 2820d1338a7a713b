//! Schema migrations: `.sql` files applied in order, tracked by `PRAGMA user_version`.

use rusqlite::Connection;

/// Every migration, oldest first; index + 1 is the schema version it produces.
const MIGRATIONS: &[&str] = &[include_str!("migrations/0001_init.sql"), include_str!("migrations/0002_wavefax.sql")];

/// Applies the migrations the database has not seen yet, each in its own transaction.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<u32> {
    let current: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", i as u32 + 1)?;
        tx.commit()?;
    }
    Ok(MIGRATIONS.len() as u32)
}

/// The schema version this build writes.
#[cfg(test)]
pub fn latest() -> u32 {
    MIGRATIONS.len() as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_apply_to_an_empty_database_and_are_idempotent() {
        let mut conn = Connection::open_in_memory().expect("memory db");
        assert_eq!(migrate(&mut conn).expect("first"), latest());
        assert_eq!(migrate(&mut conn).expect("second"), latest());
        let v: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).expect("version");
        assert_eq!(v, latest());
        let n: i64 = conn.query_row("SELECT count(*) FROM outbox", [], |r| r.get(0)).expect("outbox");
        assert_eq!(n, 0);
    }
}
