//! The outbox's sequence numbers: never given out twice, in either form a store may keep
//! the last one (`sqlite_sequence` with `AUTOINCREMENT`, or the newest row and `meta`).

use super::*;

#[test]
fn a_sequence_number_is_never_given_out_twice_after_the_newest_rows_were_delivered() {
    let dir = temp_dir("seq");
    rt().block_on(async {
        let (store, writer) = Store::open(&config(&dir, 1 << 20)).expect("open");
        store.enqueue((0..5).map(|_| item(Class::Critical, 10)).collect()).await.expect("enqueue");
        // Everything delivered: the outbox is empty, the numbers 1-5 were given out.
        assert_eq!(store.ack(vec![1, 2, 3, 4, 5]).await.expect("ack"), 5);
        assert!(seqs(&store).await.is_empty());
        close(store, writer).await;
        let (store, _writer) = Store::open(&config(&dir, 1 << 20)).expect("reopen");
        let out = store.enqueue(vec![item(Class::Critical, 10), item(Class::Telemetry, 10)]).await.expect("enqueue");
        assert!(matches!(out[..], [Enqueued::Stored(6), Enqueued::Stored(7)]), "{out:?}");
    });
}

/// Rewrites the outbox as a later release may keep it: without `AUTOINCREMENT` (so without
/// a row in `sqlite_sequence`), the last number given out in `meta` once its row was
/// delivered (`last`, or none).
fn keep_without_autoincrement(path: &Path, last: Option<i64>) {
    let conn = rusqlite::Connection::open(path).expect("open");
    conn.execute_batch(
        "BEGIN;
         CREATE TABLE outbox_new (seq INTEGER PRIMARY KEY, topic TEXT NOT NULL, payload BLOB NOT NULL,
                                  class INTEGER NOT NULL, created_ms INTEGER NOT NULL, bytes INTEGER NOT NULL);
         INSERT INTO outbox_new SELECT * FROM outbox;
         DROP TABLE outbox;
         ALTER TABLE outbox_new RENAME TO outbox;
         CREATE INDEX outbox_telemetry ON outbox (seq) WHERE class = 1;
         DELETE FROM sqlite_sequence;
         COMMIT;",
    )
    .expect("rewrite");
    if let Some(last) = last {
        conn.execute("INSERT INTO meta (key, value) VALUES ('outbox_last_seq', ?1)", [last.to_string()]).expect("meta");
    }
}

#[test]
fn a_store_kept_without_autoincrement_by_a_later_release_never_has_a_number_given_out_twice() {
    let dir = temp_dir("seq-forms");
    let config = config(&dir, 1 << 20);
    let stored = |out: Vec<Enqueued>| {
        out.into_iter()
            .map(|e| match e {
                Enqueued::Stored(seq) => seq,
                other => panic!("not stored: {other:?}"),
            })
            .collect::<Vec<_>>()
    };
    // Numbers 1-5 given out and delivered; the later release noted 5 in `meta`.
    rt().block_on(async {
        let (store, writer) = Store::open(&config).expect("open");
        store.enqueue((0..5).map(|_| item(Class::Critical, 10)).collect()).await.expect("enqueue");
        store.ack(vec![1, 2, 3, 4, 5]).await.expect("ack");
        close(store, writer).await;
    });
    keep_without_autoincrement(&config.path, Some(5));
    rt().block_on(async {
        let (store, writer) = Store::open(&config).expect("reopen");
        let out = store.enqueue(vec![item(Class::Critical, 10)]).await.expect("enqueue");
        assert_eq!(stored(out), vec![6], "the number after the one noted in meta");
        close(store, writer).await;
    });
    // Number 6 still stored, `meta` older than it: the outbox's newest row counts.
    keep_without_autoincrement(&config.path, None);
    rt().block_on(async {
        let (store, writer) = Store::open(&config).expect("reopen");
        let out = store.enqueue(vec![item(Class::Critical, 10)]).await.expect("enqueue");
        assert_eq!(stored(out), vec![7], "the number after the newest row's");
        // This build delivers its own newest rows in that store: it notes the number.
        assert_eq!(store.ack(vec![6, 7]).await.expect("ack"), 2);
        close(store, writer).await;
    });
    rt().block_on(async {
        let (store, _writer) = Store::open(&config).expect("reopen");
        let out = store.enqueue(vec![item(Class::Critical, 10)]).await.expect("enqueue");
        assert_eq!(stored(out), vec![8], "the number after the one this build noted");
    });
}

#[test]
fn a_last_sequence_number_noted_as_anything_but_a_number_is_reported_not_read_as_0() {
    let dir = temp_dir("seq-note");
    let config = config(&dir, 1 << 20);
    rt().block_on(async {
        let (store, writer) = Store::open(&config).expect("open");
        close(store, writer).await;
    });
    let conn = rusqlite::Connection::open(&config.path).expect("open");
    conn.execute("INSERT INTO meta (key, value) VALUES ('outbox_last_seq', '12x')", []).expect("meta");
    drop(conn);
    let err = Store::open(&config).map(|_| ()).expect_err("a note that is not a number");
    assert!(matches!(&err, StoreError::Corrupt { key, .. } if key == "outbox_last_seq"), "{err}");
    assert!(err.to_string().contains("12x"), "{err}");
}

#[test]
fn under_synchronous_normal_a_store_not_closed_skips_the_numbers_a_power_cut_may_have_undone() {
    let dir = temp_dir("seq-unclean");
    let config = StoreConfig { synchronous: crate::config::Synchronous::Normal, ..config(&dir, 1 << 20) };
    let first = |out: Vec<Enqueued>| match out[..] {
        [Enqueued::Stored(seq)] => seq,
        ref other => panic!("not stored: {other:?}"),
    };
    rt().block_on(async {
        // A clean close: the numbers go on.
        let (store, writer) = Store::open(&config).expect("open");
        assert_eq!(first(store.enqueue(vec![item(Class::Critical, 10)]).await.expect("enqueue")), 1);
        close(store, writer).await;
        let (store, writer) = Store::open(&config).expect("reopen");
        assert_eq!(store.stats().seq_skipped, None);
        assert_eq!(first(store.enqueue(vec![item(Class::Critical, 10)]).await.expect("enqueue")), 2);
        close(store, writer).await;
        // What a run killed or cut off leaves: the note of an open store.
        let conn = rusqlite::Connection::open(&config.path).expect("open");
        conn.execute("INSERT INTO meta (key, value) VALUES ('store_open', '1')", []).expect("note");
        drop(conn);
        let (store, writer) = Store::open(&config).expect("reopen");
        assert_eq!(store.stats().seq_skipped, Some((3, 2 + crate::store::unclean::SEQ_SKIP)));
        close(store, writer).await;
        // Killed again before any new row: the skip holds, it is not taken again from 2.
        let conn = rusqlite::Connection::open(&config.path).expect("open");
        conn.execute("INSERT INTO meta (key, value) VALUES ('store_open', '1')", []).expect("note");
        drop(conn);
        let (store, _writer) = Store::open(&config).expect("reopen");
        let skip = crate::store::unclean::SEQ_SKIP;
        assert_eq!(store.stats().seq_skipped, Some((3 + skip, 2 + 2 * skip)));
        assert_eq!(first(store.enqueue(vec![item(Class::Critical, 10)]).await.expect("enqueue")), 3 + 2 * skip);
    });
}
