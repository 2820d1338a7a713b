//! The bound on the store file's growth between checkpoints (on a full disk a checkpoint
//! has only the reserve's room): while a backlog builds up, after a crash, after the file
//! was shrunk, and with the writer's WAL hook replaced.

use super::*;

/// The reserve in these tests: a checkpoint may grow the file by this much at most.
const RESERVE: u64 = 256 * 1024;

/// A store in `dir` with [`RESERVE`] and room for a backlog of 64 MiB.
fn with_reserve(dir: &Path) -> StoreConfig {
    StoreConfig { reserve_bytes: RESERVE, ..config(dir, 64 << 20) }
}

/// What the next checkpoint would add to the store file: on a full disk, the reserve's room.
async fn pending_growth(store: &Store, path: &Path) -> u64 {
    let pages: u64 =
        store.call(|db| Ok(db.conn().query_row("PRAGMA page_count", [], |r| r.get(0))?)).await.expect("pages");
    (pages * PAGE_SIZE as u64).saturating_sub(std::fs::metadata(path).expect("file").len())
}

/// The most a checkpoint would have grown the file by while `calls` calls of `rows` critical
/// events of `size` bytes were stored (nothing delivered).
async fn growth_while_storing(store: &Store, path: &Path, calls: usize, rows: usize, size: usize) -> u64 {
    let mut largest = 0;
    for _ in 0..calls {
        store.enqueue((0..rows).map(|_| item(Class::Critical, size)).collect()).await.expect("enqueue");
        largest = largest.max(pending_growth(store, path).await);
    }
    largest
}

#[test]
fn growth_a_crash_left_in_the_wal_counts_against_the_reserve_after_the_restart() {
    let dir = temp_dir("growth-crash");
    let before = with_reserve(&dir);
    let copy = temp_dir("growth-crash-after");
    let after = StoreConfig { path: copy.join("t.db"), ..before.clone() };
    rt().block_on(async {
        let (store, _w) = Store::open(&before).expect("open");
        // Growth short of the reserve: still only in the WAL.
        store.enqueue((0..1000).map(|_| item(Class::Critical, 100)).collect()).await.expect("enqueue");
        assert!(pending_growth(&store, &before.path).await > RESERVE / 2);
        // The power goes: the files as they are on disk.
        for suffix in ["", "-wal"] {
            let name = |d: &Path| d.join(format!("t.db{suffix}"));
            std::fs::copy(name(&dir), name(&copy)).expect("copy");
        }
    });
    rt().block_on(async {
        let (store, _w) = Store::open(&after).expect("reopen");
        // 20 calls of about 15 KiB each.
        let largest = growth_while_storing(&store, &after.path, 20, 100, 100).await;
        assert!(largest <= RESERVE + 32 * 1024, "a checkpoint would grow the file by {largest} bytes");
    });
}

#[test]
fn a_growing_store_is_checkpointed_before_it_outgrows_the_reserve() {
    let dir = temp_dir("growth");
    rt().block_on(async {
        let config = with_reserve(&dir);
        let (store, _w) = Store::open(&config).expect("open");
        // A backlog builds up: 4 MiB in commits of about 40 KiB.
        let largest = growth_while_storing(&store, &config.path, 100, 40, 1000).await;
        assert!(largest <= RESERVE + 64 * 1024, "a checkpoint would grow the file by {largest} bytes");
        assert_eq!(store.stats().ledger.rows, 4000);
    });
}

#[test]
fn growth_after_the_file_was_shrunk_counts_from_its_new_size() {
    let dir = temp_dir("growth-shrunk");
    rt().block_on(async {
        let config = with_reserve(&dir);
        let (store, _w) = Store::open(&config).expect("open");
        // A 6 MiB backlog, then delivered: the outbox empties and its free pages are given
        // back to the file system.
        let mut seqs = Vec::new();
        for _ in 0..150 {
            for stored in store.enqueue((0..40).map(|_| item(Class::Critical, 1000)).collect()).await.expect("enqueue")
            {
                let Enqueued::Stored(seq) = stored else { panic!("not stored: {stored:?}") };
                seqs.push(seq);
            }
        }
        let grown = std::fs::metadata(&config.path).expect("file").len();
        assert!(grown > 4 << 20, "the backlog reached the file: {grown} bytes");
        for page in seqs.chunks(500) {
            store.ack(page.to_vec()).await.expect("ack");
        }
        // Given back after the last caller is answered.
        let size = || std::fs::metadata(&config.path).expect("file").len();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while size() > 2 << 20 && std::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert!(size() < 2 << 20, "the free pages were given back: {} bytes", size());
        // A backlog builds up again.
        let largest = growth_while_storing(&store, &config.path, 60, 40, 1000).await;
        assert!(largest <= RESERVE + 64 * 1024, "a checkpoint would grow the file by {largest} bytes");
    });
}

#[test]
fn growth_stays_bounded_when_something_on_the_connection_sets_sqlites_own_checkpoints() {
    let dir = temp_dir("growth-pragma");
    rt().block_on(async {
        let config = with_reserve(&dir);
        let (store, _w) = Store::open(&config).expect("open");
        // The pragma replaces the writer's WAL hook with SQLite's own.
        store.call(|db| Ok(db.conn().pragma_update(None, "wal_autocheckpoint", 100_000)?)).await.expect("pragma");
        let largest = growth_while_storing(&store, &config.path, 100, 40, 1000).await;
        assert!(largest <= RESERVE + 64 * 1024, "a checkpoint would grow the file by {largest} bytes");
    });
}

#[test]
fn growth_in_a_wal_started_afresh_is_counted_whole() {
    let dir = temp_dir("growth-restart");
    rt().block_on(async {
        let config = with_reserve(&dir);
        let (store, _w) = Store::open(&config).expect("open");
        // Commits of about 40 KiB until the writer checkpoints (the WAL then ~300 frames).
        let mut grew = 0;
        loop {
            store.enqueue((0..40).map(|_| item(Class::Critical, 1000)).collect()).await.expect("enqueue");
            let pending = pending_growth(&store, &config.path).await;
            if pending < grew {
                break;
            }
            grew = pending;
            assert!(grew <= RESERVE + 64 * 1024, "no checkpoint came: {grew} bytes pending");
        }
        // One commit longer than the WAL was: SQLite starts the WAL afresh with it, so the
        // WAL is longer by less than the commit appended.
        let largest = growth_while_storing(&store, &config.path, 1, 400, 1000).await;
        assert!(largest <= RESERVE + 64 * 1024, "a checkpoint would grow the file by {largest} bytes");
    });
}
