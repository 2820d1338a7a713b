//! What a commit promises: rows on disk after reopening, WAL mode, and which commits wait
//! for an fsync.

use super::*;

#[test]
fn committed_rows_survive_reopening_the_file() {
    let dir = temp_dir("reopen");
    rt().block_on(async {
        let (store, writer) = Store::open(&config(&dir, 1 << 20)).expect("open");
        let out = store.enqueue(vec![item(Class::Critical, 10), item(Class::Telemetry, 10)]).await.expect("enqueue");
        assert!(matches!(out[..], [Enqueued::Stored(1), Enqueued::Stored(2)]), "{out:?}");
        drop(store);
        tokio::task::spawn_blocking(move || writer.join()).await.expect("join");
        let (store, _writer) = Store::open(&config(&dir, 1 << 20)).expect("reopen");
        let rows = store.outbox_after(0, 10).await.expect("rows");
        assert_eq!(rows.iter().map(|r| r.seq).collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(store.stats().ledger.rows, 2);
        assert_eq!(store.ack(vec![1, 1, 7]).await.expect("ack"), 1);
        assert_eq!(store.outbox_after(0, 10).await.expect("rows").len(), 1);
    });
}

#[test]
fn the_journal_mode_is_wal() {
    let dir = temp_dir("wal");
    let config = StoreConfig { path: dir.join("w.db"), synchronous: Synchronous::Full, ..StoreConfig::default() };
    let conn = open_connection(&config).expect("open");
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).expect("mode");
    assert_eq!(mode, "wal");
    let sync: i64 = conn.query_row("PRAGMA synchronous", [], |r| r.get(0)).expect("sync");
    assert_eq!(sync, 2, "FULL");
    let page: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0)).expect("page size");
    assert_eq!(page, PAGE_SIZE, "a new store's pages");
}

/// The `synchronous` level SQLite ran each commit under: one of a caller (new events), then
/// one of deletes of delivered rows alone, twice over; and the store's counts after.
fn sync_levels(synchronous: Synchronous) -> (Vec<i64>, StoreStats) {
    let dir = temp_dir("pace");
    rt().block_on(async {
        let (store, _w) = Store::open(&StoreConfig { synchronous, ..config(&dir, 1 << 20) }).expect("open");
        let level = |db: &mut Db<'_>| Ok(db.conn().query_row("PRAGMA synchronous", [], |r| r.get::<_, i64>(0))?);
        let mut levels = vec![];
        for seq in 1..=2 {
            store.enqueue(vec![item(Class::Critical, 10)]).await.expect("enqueue");
            levels.push(store.call_again(level, false).await.expect("caller"));
            levels.push(store.call_again(level, true).await.expect("alone"));
            assert_eq!(store.ack(vec![seq]).await.expect("ack"), 1);
        }
        (levels, store.stats())
    })
}

#[test]
fn with_synchronous_full_only_deletes_of_delivered_rows_alone_commit_without_an_fsync() {
    let (levels, stats) = sync_levels(Synchronous::Full);
    // FULL (2) for callers, NORMAL (1) for deletes alone, and back each time.
    assert_eq!(levels, [2, 1, 2, 1]);
    // The enqueues and the callers synced; the lone level checks and the deletes did not.
    assert_eq!((stats.commits, stats.synced_commits), (8, 4));
}

#[test]
fn with_synchronous_normal_no_commit_waits_for_the_disk() {
    let (levels, stats) = sync_levels(Synchronous::Normal);
    assert_eq!(levels, [1, 1, 1, 1]);
    assert_eq!((stats.commits, stats.synced_commits), (8, 0));
}
