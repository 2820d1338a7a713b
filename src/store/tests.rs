//! Store behaviour on real SQLite files: durability, the bound's policy, failures.

use super::*;
use crate::event::Class;

fn config(dir: &Path, max_bytes: u64) -> StoreConfig {
    StoreConfig { path: dir.join("t.db"), max_bytes, ..StoreConfig::default() }
}

fn item(class: Class, size: usize) -> OutboxItem {
    OutboxItem {
        id: crate::event::new_id(),
        topic: "evt/t/x".into(),
        payload: vec![b'x'; size],
        class,
        dedup_key: None,
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime")
}

/// A store on a fresh file, for tests elsewhere in the crate (connector state).
pub(crate) fn open_temp(name: &str) -> (Store, WriterHandle) {
    Store::open(&config(&temp_dir(name), 1 << 20)).expect("open")
}

pub(crate) fn temp_dir(name: &str) -> std::path::PathBuf {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let dir =
        std::env::temp_dir().join(format!("telbridge-{name}-{}-{}-{n}", std::process::id(), crate::event::now_ms()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

mod durability;
mod growth;
mod sequence;

/// Closes the store and waits for its writer to close the file.
async fn close(store: Store, writer: WriterHandle) {
    drop(store);
    tokio::task::spawn_blocking(move || writer.join()).await.expect("join");
}

async fn seqs(store: &Store) -> Vec<i64> {
    let rows = store.outbox_after(0, 1000).await.expect("rows");
    rows.iter().map(|r| r.seq).collect()
}

/// A store file as a 4 KiB-page build left it, with `rows` outbox rows of `size` bytes.
fn old_store(dir: &Path, rows: usize, size: usize) -> StoreConfig {
    let config = config(dir, 1 << 30);
    let mut conn = rusqlite::Connection::open(&config.path).expect("open");
    conn.pragma_update(None, "page_size", 4096).expect("page size");
    conn.pragma_update(None, "auto_vacuum", "INCREMENTAL").expect("auto_vacuum");
    conn.query_row("PRAGMA journal_mode = WAL", [], |_| Ok(())).expect("wal");
    migrations::migrate(&mut conn).expect("migrate");
    for _ in 0..rows {
        conn.execute(
            "INSERT INTO outbox (topic, payload, class, created_ms, bytes) VALUES ('evt/t/x', ?1, 0, 0, ?2)",
            rusqlite::params![vec![b'x'; size], size as i64],
        )
        .expect("row");
    }
    config
}

fn page_size(path: &Path) -> i64 {
    let conn = rusqlite::Connection::open(path).expect("open");
    conn.query_row("PRAGMA page_size", [], |r| r.get(0)).expect("page size")
}

#[test]
fn a_small_store_from_an_older_build_gets_small_pages_at_start_and_keeps_its_rows() {
    let dir = temp_dir("reshape");
    let config = old_store(&dir, 50, 300);
    assert_eq!(page_size(&config.path), 4096);
    rt().block_on(async {
        let (store, w) = Store::open(&config).expect("open");
        assert_eq!(seqs(&store).await, (1..=50).collect::<Vec<_>>());
        assert_eq!(store.enqueue(vec![item(Class::Critical, 10)]).await.expect("enqueue"), vec![Enqueued::Stored(51)]);
        drop(store);
        w.join();
    });
    assert_eq!(page_size(&config.path), PAGE_SIZE);
    let conn = rusqlite::Connection::open(&config.path).expect("open");
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).expect("mode");
    assert_eq!(mode, "wal");
}

#[test]
fn a_large_store_keeps_its_page_size_until_a_start_finds_it_small() {
    let dir = temp_dir("reshape-large");
    let config = old_store(&dir, 5000, 1000);
    rt().block_on(async {
        let (store, _w) = Store::open(&config).expect("open");
        assert_eq!(store.stats().ledger.rows, 5000);
    });
    assert_eq!(page_size(&config.path), 4096);
}

#[test]
fn a_full_store_evicts_telemetry_oldest_first_and_refuses_critical_events() {
    let dir = temp_dir("bound");
    let row = 1000 + 7 + ROW_OVERHEAD; // payload + topic + overhead
    rt().block_on(async {
        let (store, _w) = Store::open(&config(&dir, 4 * row)).expect("open");
        let stored = store
            .enqueue(vec![item(Class::Telemetry, 1000), item(Class::Critical, 1000), item(Class::Telemetry, 1000)])
            .await
            .expect("fits");
        assert_eq!(stored.len(), 3);
        // More critical events: the telemetry rows make room, the oldest first.
        store.enqueue(vec![item(Class::Critical, 1000)]).await.expect("fits exactly");
        store.enqueue(vec![item(Class::Critical, 1000)]).await.expect("evicts seq 1");
        let order = seqs(&store).await;
        assert_eq!(order, vec![2, 3, 4, 5], "telemetry 1 evicted first");
        store.enqueue(vec![item(Class::Critical, 1000)]).await.expect("evicts seq 3");
        let order = seqs(&store).await;
        assert_eq!(order, vec![2, 4, 5, 6]);
        // Only critical rows left: critical refused, telemetry dropped, nothing lost.
        let err = store.enqueue(vec![item(Class::Critical, 1000)]).await.expect_err("full");
        assert!(matches!(err, StoreError::Full));
        let mut keyed = item(Class::Telemetry, 10);
        keyed.dedup_key = Some("meter:7".into());
        assert_eq!(store.enqueue(vec![keyed.clone()]).await.expect("dropped"), vec![Enqueued::Dropped]);
        let stats = store.stats().ledger;
        assert_eq!((stats.rows, stats.critical_rows, stats.evicted, stats.refused, stats.dropped), (4, 4, 2, 1, 1));
        assert!(stats.full);
        // Delivery frees room again; the dropped event's key does not make its next try a
        // "duplicate" of an event that was never stored.
        store.ack(vec![2, 4]).await.expect("ack");
        assert!(!store.stats().ledger.full);
        let again = store.enqueue(vec![keyed]).await.expect("stored");
        assert!(matches!(again[0], Enqueued::Stored(_)), "{again:?}");
        store.enqueue(vec![item(Class::Critical, 1000)]).await.expect("room again");
    });
}

#[test]
fn a_vendors_callback_goes_past_the_bound_after_telemetry_is_evicted() {
    let dir = temp_dir("past");
    let row = 1000 + 7 + ROW_OVERHEAD;
    rt().block_on(async {
        let (store, _w) = Store::open(&config(&dir, 2 * row)).expect("open");
        let past = |class| store.enqueue_past_bound(vec![item(class, 1000)]);
        store.enqueue(vec![item(Class::Critical, 1000), item(Class::Telemetry, 1000)]).await.expect("fits");
        // The telemetry row makes room first.
        assert_eq!(past(Class::Critical).await.expect("room"), vec![Enqueued::Stored(3)]);
        assert_eq!(seqs(&store).await, vec![1, 3]);
        assert!(!store.stats().ledger.full);
        // Then past the bound: the store counts as full, and the bounded path is refused.
        assert_eq!(past(Class::Critical).await.expect("past"), vec![Enqueued::Stored(4)]);
        assert!(store.stats().ledger.full, "over its bound, the store counts as full");
        assert!(matches!(store.enqueue(vec![item(Class::Critical, 1000)]).await, Err(StoreError::Full)));
        // Telemetry is still dropped, never stored past it.
        assert_eq!(past(Class::Telemetry).await.expect("dropped"), vec![Enqueued::Dropped]);
        // Up to twice the bound, not beyond.
        assert_eq!(past(Class::Critical).await.expect("twice the bound"), vec![Enqueued::Stored(5)]);
        let err = past(Class::Critical).await.expect_err("beyond twice the bound");
        assert!(matches!(err, StoreError::Full), "{err:?}");
        assert_eq!(seqs(&store).await, vec![1, 3, 4, 5]);
    });
}

#[test]
fn a_refused_batch_stores_none_of_its_events() {
    let dir = temp_dir("atomic");
    rt().block_on(async {
        let (store, _w) = Store::open(&config(&dir, 3000)).expect("open");
        let err = store
            .enqueue(vec![item(Class::Critical, 1000), item(Class::Critical, 1000), item(Class::Critical, 1000)])
            .await
            .expect_err("third does not fit");
        assert!(matches!(err, StoreError::Full));
        assert!(store.outbox_after(0, 10).await.expect("rows").is_empty());
        assert_eq!(store.stats().ledger.bytes, 0);
    });
}

#[test]
fn a_repeated_dedup_key_is_stored_once() {
    let dir = temp_dir("dedup");
    rt().block_on(async {
        let (store, _w) = Store::open(&config(&dir, 1 << 20)).expect("open");
        let mut a = item(Class::Critical, 5);
        a.dedup_key = Some("sms:gw1:42".into());
        let a_id = a.id.clone();
        let first = store.enqueue(vec![a.clone()]).await.expect("first");
        let retry = OutboxItem { id: "another-id".into(), ..a };
        let second = store.enqueue(vec![retry]).await.expect("second");
        assert!(matches!(first[0], Enqueued::Stored(_)));
        assert_eq!(second, vec![Enqueued::Duplicate(a_id)]);
        assert_eq!(store.outbox_after(0, 10).await.expect("rows").len(), 1);
    });
}

#[test]
fn concurrent_callers_are_group_committed_and_all_answered() {
    let dir = temp_dir("group");
    rt().block_on(async {
        let (store, _w) = Store::open(&config(&dir, 1 << 24)).expect("open");
        let tasks: Vec<_> = (0..200)
            .map(|_| {
                let s = store.clone();
                tokio::spawn(async move { s.enqueue(vec![item(Class::Critical, 100)]).await })
            })
            .collect();
        for t in tasks {
            t.await.expect("task").expect("enqueue");
        }
        assert_eq!(store.stats().ledger.rows, 200);
        assert_eq!(store.outbox_after(0, 1000).await.expect("rows").len(), 200);
    });
}

#[test]
fn a_call_that_fails_after_writing_undoes_only_its_own_rows_in_a_shared_commit() {
    let dir = temp_dir("undo");
    rt().block_on(async {
        let (store, _w) = Store::open(&config(&dir, 1 << 24)).expect("open");
        let tasks: Vec<_> = (0..200)
            .map(|i| {
                let s = store.clone();
                tokio::spawn(async move {
                    s.call(move |db| {
                        db.enqueue(&item(Class::Critical, 100))?;
                        if i % 2 == 1 {
                            return Err(StoreError::Invalid(format!("call {i} fails after its insert")));
                        }
                        Ok(i)
                    })
                    .await
                })
            })
            .collect();
        let mut kept = 0;
        for t in tasks {
            match t.await.expect("task") {
                Ok(i) => {
                    assert_eq!(i % 2, 0);
                    kept += 1;
                }
                Err(e) => assert!(e.to_string().contains("fails after its insert"), "{e}"),
            }
        }
        assert_eq!(kept, 100);
        let stats = store.stats();
        assert_eq!((stats.ledger.rows, stats.commit_errors), (100, 0));
        assert!(stats.commits < 200, "200 calls in {} commits", stats.commits);
        let rows = store.outbox_after(0, 1000).await.expect("rows");
        assert_eq!(rows.len(), 100);
        // The undone rows' numbers are given out again: the sequence stays gap-free.
        assert!(rows.iter().enumerate().all(|(i, r)| r.seq == i as i64 + 1));
    });
}

#[test]
fn a_disk_full_error_fails_the_callers_keeps_earlier_data_and_refuses_new_events_until_room() {
    let dir = temp_dir("diskfull");
    rt().block_on(async {
        let (store, _w) = Store::open(&config(&dir, 1 << 30)).expect("open");
        store.enqueue(vec![item(Class::Critical, 100)]).await.expect("first");
        // Cap the file at its current size: the next growth fails like a full disk.
        let pages: i64 =
            store.call(|db| Ok(db.conn().query_row("PRAGMA page_count", [], |r| r.get(0))?)).await.expect("pages");
        store
            .call(move |db| Ok(db.conn().query_row(&format!("PRAGMA max_page_count = {pages}"), [], |_| Ok(()))?))
            .await
            .expect("cap");
        let big: Vec<OutboxItem> = (0..50).map(|_| item(Class::Critical, 4000)).collect();
        let err = store.enqueue(big).await.expect_err("disk full");
        assert!(matches!(err, StoreError::DiskFull), "{err:?}");
        assert!(store.stats().disk_full);
        // The store still works and still holds the first row.
        let rows = store.outbox_after(0, 100).await.expect("rows");
        assert_eq!(rows.len(), 1);
        assert_eq!(store.stats().ledger.rows, 1);
        store
            .call(|db| Ok(db.conn().query_row("PRAGMA max_page_count = 1000000", [], |_| Ok(()))?))
            .await
            .expect("uncap");
        // Until the writer finds room again (the reserve taken back, a few seconds on),
        // new events are refused; alarms, results and deletes still commit.
        let refused = store.enqueue(vec![item(Class::Critical, 4000)]).await.expect_err("still refused");
        assert!(matches!(refused, StoreError::DiskFull), "{refused:?}");
        let callback = store.enqueue_past_bound(vec![item(Class::Critical, 100)]).await.expect_err("a callback too");
        assert!(matches!(callback, StoreError::DiskFull), "{callback:?}");
        let Enqueued::Stored(alarm) = store.enqueue_unbounded(item(Class::Critical, 100)).await.expect("alarm") else {
            panic!("the alarm is stored")
        };
        assert_eq!(store.ack(vec![alarm]).await.expect("delete"), 1);
        assert!(store.stats().disk_full);
    });
}

#[test]
fn a_command_is_recorded_once_and_its_result_is_queued_with_it() {
    let dir = temp_dir("inbox");
    rt().block_on(async {
        let (store, _w) = Store::open(&config(&dir, 1 << 20)).expect("open");
        let begin = |id: &'static str| store.call(move |db| db.command_begin(id, "agent", "agent.ping", b"{}"));
        assert_eq!(begin("c1").await.expect("new"), CommandStart::New);
        assert_eq!(begin("c1").await.expect("again"), CommandStart::InProgress);
        let pending = store.call(|db| db.commands_pending()).await.expect("pending");
        assert_eq!(pending.len(), 1);
        let result = OutboxItem {
            id: "r".into(),
            topic: "res/c1".into(),
            payload: b"{\"id\":\"r\"}".to_vec(),
            class: Class::Critical,
            dedup_key: None,
        };
        store.call(move |db| db.command_finish("c1", &result)).await.expect("finish");
        assert_eq!(begin("c1").await.expect("done"), CommandStart::Done(b"{\"id\":\"r\"}".to_vec()));
        let rows = store.outbox_after(0, 10).await.expect("rows");
        assert_eq!(rows[0].topic, "res/c1");
        assert!(store.call(|db| db.commands_pending()).await.expect("none").is_empty());
    });
}

#[test]
fn the_file_gives_its_space_back_once_the_outbox_is_drained() {
    // Issue 18 item 7: the file stayed at its peak (25 MB after 100k events) after a drain.
    let dir = temp_dir("shrink");
    rt().block_on(async {
        let (store, writer) = Store::open(&config(&dir, 64 << 20)).expect("open");
        for _ in 0..40 {
            let batch: Vec<OutboxItem> = (0..100).map(|_| item(Class::Critical, 2048)).collect();
            store.enqueue(batch).await.expect("enqueue");
        }
        let peak = file_bytes(&dir.join("t.db"));
        loop {
            let page = seqs(&store).await;
            if page.is_empty() {
                break;
            }
            store.ack(page).await.expect("ack");
        }
        // The space is given back right after the commit that drained the outbox (its
        // callers are answered first); the next call on the writer comes after it.
        store.call(|_| Ok(())).await.expect("barrier");
        let after = file_bytes(&dir.join("t.db"));
        println!("store file at its peak {peak} bytes, after the drain {after} bytes");
        assert!(after * 4 < peak, "space given back: {peak} -> {after}");
        drop(store);
        writer.join();
    });
}

#[test]
fn acknowledged_runs_are_deleted_as_ranges_and_only_the_acknowledged_rows_go() {
    let dir = temp_dir("ranges");
    rt().block_on(async {
        let (store, _writer) = Store::open(&config(&dir, 1 << 20)).expect("open");
        let items: Vec<OutboxItem> =
            (0..10).map(|i| item(if i % 3 == 0 { Class::Critical } else { Class::Telemetry }, 10)).collect();
        store.enqueue(items).await.expect("enqueue");
        // Two runs (2-4, 7-8), a single (10), out of order, one repeated, one unknown.
        assert_eq!(store.ack(vec![8, 3, 2, 4, 10, 7, 3, 99]).await.expect("ack"), 6);
        assert_eq!(seqs(&store).await, vec![1, 5, 6, 9]);
        let ledger = store.stats().ledger;
        assert_eq!(
            (ledger.rows, ledger.critical_rows),
            (4, 1),
            "the ledger follows the deleted rows (critical: seqs 1, 4, 7, 10)"
        );
        let file = rusqlite::Connection::open(dir.join("t.db")).expect("open");
        let bytes: i64 = file.query_row("SELECT sum(bytes) FROM outbox", [], |r| r.get(0)).expect("sum");
        assert_eq!(ledger.bytes, bytes as u64, "the ledger counts the bytes of the rows left in the file");
    });
}

#[test]
fn the_rows_the_relay_takes_from_memory_are_exactly_the_committed_ones() {
    let dir = temp_dir("tail");
    rt().block_on(async {
        // Room for about 20 rows of 100 bytes: telemetry is evicted on the way.
        let (store, _writer) = Store::open(&config(&dir, 4000)).expect("open");
        let (mut cursor, mut from_memory) = (0i64, 0);
        for round in 0..12 {
            let class = if round % 4 == 3 { Class::Critical } else { Class::Telemetry };
            let good = store.enqueue((0..3).map(|_| item(class, 100)).collect());
            // A call that writes a row, then fails: its row never reaches the relay.
            let bad = store.call(|db| {
                db.enqueue(&item(Class::Critical, 100))?;
                Err::<(), _>(StoreError::Invalid("changed its mind".into()))
            });
            let (good, bad) = tokio::join!(good, bad);
            good.expect("enqueue");
            assert!(bad.is_err());
            if round % 5 == 4 {
                // A delete of rows not taken yet (as after a reconnect).
                let newest = store.stats().ledger.last_seq;
                store.ack(vec![newest]).await.expect("ack");
            }
            let served = store.tail.lock().expect("tail").take_after(cursor, 0).is_some();
            from_memory += usize::from(served);
            let want = store.call(move |db| db.outbox_after(cursor, 1000)).await.expect("sqlite");
            let got = store.outbox_after(cursor, 1000).await.expect("rows");
            assert_eq!(got, want, "round {round}, after {cursor} (from memory: {served})");
            cursor = got.last().map_or(cursor, |r| r.seq);
        }
        assert!(store.stats().ledger.evicted > 0, "telemetry was evicted on the way");
        assert!(from_memory >= 6, "most reads came from memory: {from_memory} of 12");
    });
}

#[test]
fn enqueues_sharing_a_commit_without_savepoints_lose_only_the_refused_ones_and_count_each_once() {
    let dir = temp_dir("again");
    rt().block_on(async {
        let (store, _w) = Store::open(&config(&dir, 50_000)).expect("open");
        // Every third call writes its first event, then its second does not fit (Full):
        // the batch is rolled back and run again, a savepoint each.
        let tasks: Vec<_> = (0..150)
            .map(|i| {
                let s = store.clone();
                let mut items = vec![item(Class::Critical, 100)];
                if i % 3 == 2 {
                    items.push(item(Class::Critical, 60_000));
                }
                tokio::spawn(async move { (i, s.enqueue(items).await) })
            })
            .collect();
        let mut stored = Vec::new();
        for t in tasks {
            match t.await.expect("task") {
                (i, Ok(out)) => {
                    assert_ne!(i % 3, 2, "call {i} did not fit");
                    stored.extend(out);
                }
                (i, Err(e)) => assert!(i % 3 == 2 && matches!(e, StoreError::Full), "call {i}: {e}"),
            }
        }
        let stats = store.stats();
        assert_eq!((stats.ledger.rows, stats.ledger.refused, stats.commit_errors), (100, 50, 0));
        assert!(stats.commits < 150, "150 calls in {} commits", stats.commits);
        let mut answered: Vec<i64> =
            stored.iter().map(|e| if let Enqueued::Stored(seq) = e { *seq } else { 0 }).collect();
        answered.sort_unstable();
        assert_eq!(answered, (1..=100).collect::<Vec<_>>(), "each caller was told its own row's number");
        let rows = store.call(|db| db.outbox_after(0, 1000)).await.expect("rows");
        assert_eq!(rows.iter().map(|r| r.seq).collect::<Vec<_>>(), answered, "and those rows are the ones on disk");
    });
}
