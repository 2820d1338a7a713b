//! What a commit promises: rows on disk after reopening, WAL mode, which commits wait for
//! an fsync, and when they reach the store file.

use super::*;
use std::time::Duration;

#[test]
fn committed_rows_survive_reopening_the_file() {
    let dir = temp_dir("reopen");
    rt().block_on(async {
        let (store, writer) = Store::open(&config(&dir, 1 << 20)).expect("open");
        let out = store.enqueue(vec![item(Class::Critical, 10), item(Class::Telemetry, 10)]).await.expect("enqueue");
        assert!(matches!(out[..], [Enqueued::Stored(1), Enqueued::Stored(2)]), "{out:?}");
        close(store, writer).await;
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

/// Reads the `synchronous` level the commit it is part of runs under.
fn level(db: &mut Db<'_>) -> Result<i64, StoreError> {
    Ok(db.conn().query_row("PRAGMA synchronous", [], |r| r.get::<_, i64>(0))?)
}

/// The levels of a caller's commit, then of one of deletes of delivered rows alone (each
/// with a probe that reads it), twice over; and the store's counts after.
fn sync_levels(synchronous: Synchronous) -> (Vec<i64>, StoreStats) {
    let dir = temp_dir("pace");
    rt().block_on(async {
        let (store, _w) = Store::open(&StoreConfig { synchronous, ..config(&dir, 1 << 20) }).expect("open");
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
fn with_synchronous_full_callers_commit_under_full_and_deletes_alone_under_normal() {
    let (levels, stats) = sync_levels(Synchronous::Full);
    // FULL (2) for callers, NORMAL (1) for deletes alone, and back each time.
    assert_eq!(levels, [2, 1, 2, 1]);
    // Only the enqueues waited for the disk: the probes wrote nothing, the deletes were lazy.
    assert_eq!((stats.commits, stats.synced_commits), (8, 2));
}

#[test]
fn with_synchronous_normal_no_commit_waits_for_the_disk() {
    let (levels, stats) = sync_levels(Synchronous::Normal);
    assert_eq!(levels, [1, 1, 1, 1]);
    assert_eq!((stats.commits, stats.synced_commits), (8, 0));
}

#[test]
fn a_delete_sharing_a_commit_with_a_caller_commits_under_full() {
    let dir = temp_dir("pace-mixed");
    rt().block_on(async {
        let (store, _w) = Store::open(&config(&dir, 1 << 20)).expect("open");
        store.enqueue(vec![item(Class::Critical, 10)]).await.expect("enqueue");
        // The writer is busy with a call while a delete and a caller queue up behind it.
        let (started_tx, started) = std::sync::mpsc::channel();
        let busy = tokio::spawn({
            let store = store.clone();
            async move {
                store
                    .call(move |_| {
                        let _ = started_tx.send(());
                        std::thread::sleep(Duration::from_millis(100));
                        Ok(())
                    })
                    .await
            }
        });
        tokio::task::spawn_blocking(move || started.recv()).await.expect("join").expect("started");
        let commits = store.stats().commits;
        let delete = tokio::spawn({
            let store = store.clone();
            async move { store.call_again(level, true).await }
        });
        tokio::task::yield_now().await;
        let caller = store.call_again(level, false).await.expect("caller");
        let delete = delete.await.expect("join").expect("delete");
        busy.await.expect("join").expect("busy");
        assert_eq!((delete, caller), (2, 2));
        assert_eq!(store.stats().commits, commits + 2, "the busy call's commit, then one for both");
    });
}

#[test]
fn deletes_wait_for_the_disk_again_once_unsynced_ones_are_a_second_old() {
    let dir = temp_dir("pace-bound");
    rt().block_on(async {
        let (store, _w) = Store::open(&config(&dir, 1 << 20)).expect("open");
        store.enqueue((0..3).map(|_| item(Class::Critical, 10)).collect()).await.expect("enqueue");
        assert_eq!(store.ack(vec![1]).await.expect("ack"), 1);
        let synced = store.stats().synced_commits;
        // No commit with callers comes to fsync that delete.
        tokio::time::sleep(super::writer::UNSYNCED_MAX + Duration::from_millis(100)).await;
        assert_eq!(store.call_again(level, true).await.expect("probe"), 2, "a probe that writes nothing");
        assert_eq!(store.ack(vec![2]).await.expect("ack"), 1);
        assert_eq!(store.stats().synced_commits, synced + 1, "the next delete waited for the disk");
        // That fsync covered the older delete: the next ones are lazy again.
        assert_eq!(store.call_again(level, true).await.expect("probe"), 1);
        assert_eq!(store.ack(vec![3]).await.expect("ack"), 1);
        assert_eq!(store.stats().synced_commits, synced + 1);
    });
}

#[test]
fn many_small_commits_reach_the_store_file_long_before_the_wal_is_3_mib() {
    let dir = temp_dir("rewrites");
    let config = config(&dir, 1 << 24);
    // The outbox's sequence as the store file alone (no WAL) holds it: what the last
    // checkpoint copied (read from a copy while the store is open: closing checkpoints).
    let in_file = || {
        let copy = dir.join("copy.db");
        std::fs::copy(&config.path, &copy).expect("copy");
        let conn = rusqlite::Connection::open(&copy).expect("open copy");
        let tables: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_sequence'", [], |r| r.get(0))
            .expect("tables");
        (tables > 0).then(|| {
            conn.query_row("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'", [], |r| r.get::<_, i64>(0))
                .expect("seq")
        })
    };
    rt().block_on(async {
        let (store, _w) = Store::open(&config).expect("open");
        // Commits of one small row each: ~2 KB of WAL each, far below SQLite's own interval.
        for n in 1..=600 {
            store.enqueue(vec![item(Class::Critical, 10)]).await.expect("enqueue");
            if n == 511 {
                assert_eq!(in_file(), None, "nothing checkpointed yet");
            }
        }
        assert_eq!(in_file(), Some(512), "checkpointed after 512 commits that changed rows");
        let wal = std::fs::metadata(wal_path(&config.path)).expect("wal").len();
        assert!(wal < writer::CHECKPOINT_BYTES as u64, "SQLite's own checkpoint did not come: {wal} bytes of WAL");
        drop(store);
    });
}

#[test]
fn large_commits_are_checkpointed_once_the_wal_is_3_mib_long() {
    let dir = temp_dir("wal-length");
    // No reserve: no checkpoint to bound the file's growth, only the one for the WAL's length.
    let config = StoreConfig { reserve_bytes: 0, ..config(&dir, 1 << 26) };
    rt().block_on(async {
        let (store, _w) = Store::open(&config).expect("open");
        // 5 MiB in 250 commits of 20 KiB: far fewer than 512 commits.
        let mut longest = 0;
        for _ in 0..250 {
            store.enqueue((0..20).map(|_| item(Class::Critical, 1000)).collect()).await.expect("enqueue");
            longest = longest.max(std::fs::metadata(wal_path(&config.path)).expect("wal").len());
        }
        // Without it the WAL grows to the writer's limit (4 MiB) before it is cut back.
        let most = writer::CHECKPOINT_BYTES as u64 + 64 * 1024;
        assert!(longest <= most, "the WAL grew to {longest} bytes (checkpointed at {most} at most)");
        let file = std::fs::metadata(&config.path).expect("store file").len();
        assert!(file > 2 << 20, "the store file holds what was checkpointed: {file} bytes");
        drop(store);
    });
}
