//! Schema migrations: `.sql` files applied in order, tracked by `PRAGMA user_version`.

use rusqlite::Connection;

/// Every migration, oldest first; index + 1 is the schema version it produces.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_init.sql"),
    include_str!("migrations/0002_wavefax.sql"),
    include_str!("migrations/0003_spool.sql"),
    include_str!("migrations/0004_outbox_telemetry_index.sql"),
];

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

    #[test]
    fn eviction_finds_telemetry_through_the_partial_index_and_critical_rows_write_no_entry() {
        let mut conn = Connection::open_in_memory().expect("memory db");
        migrate(&mut conn).expect("migrate");
        let plan: Vec<String> = conn
            .prepare("EXPLAIN QUERY PLAN SELECT seq, bytes FROM outbox WHERE class = 1 ORDER BY seq")
            .expect("plan")
            .query_map([], |r| r.get(3))
            .expect("rows")
            .collect::<Result<_, _>>()
            .expect("details");
        assert!(plan.iter().any(|d| d.contains("outbox_telemetry")), "{plan:?}");
        for class in [0, 0, 1] {
            conn.execute(
                "INSERT INTO outbox (topic, payload, class, created_ms, bytes) VALUES ('t', x'00', ?1, 0, 1)",
                [class],
            )
            .expect("row");
        }
        let entries: i64 = conn
            .query_row("SELECT count(*) FROM outbox INDEXED BY outbox_telemetry WHERE class = 1", [], |r| r.get(0))
            .expect("index");
        assert_eq!(entries, 1);
    }

    #[test]
    fn a_spooled_fax_of_schema_2_moves_to_the_shared_spool_with_its_file() {
        let mut conn = Connection::open_in_memory().expect("memory db");
        for (i, sql) in MIGRATIONS[..2].iter().enumerate() {
            conn.execute_batch(sql).expect("old schema");
            conn.pragma_update(None, "user_version", i as u32 + 1).expect("version");
        }
        conn.execute(
            "INSERT INTO fax_in (server, faxid, file_id, state, data, bytes, sha256, meta, offered_ms, updated_ms)
             VALUES ('fax1', '1001', 'f-1', 'spooled', x'49492a00', 4, 'abc', '{}', 5, 6)",
            [],
        )
        .expect("old row");
        migrate(&mut conn).expect("migrate");
        let row: (String, String, String, Vec<u8>) = conn
            .query_row("SELECT source, item, state, data FROM spool WHERE file_id = 'f-1'", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .expect("moved");
        assert_eq!(row, ("wavefax/fax1".into(), "1001".into(), "spooled".into(), vec![0x49, 0x49, 0x2a, 0]));
    }
}
