//! Deleting the rows the broker acknowledged, off the publishing path, and the set of
//! those not deleted yet (a new connection must not send them again).

use crate::metrics::Metrics;
use crate::store::Store;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

/// The sequence numbers of rows acknowledged by the broker and not yet deleted; their count
/// is the gauge `telbridge_outbox_delivered_rows`.
#[derive(Debug, Clone)]
pub(super) struct Delivered {
    seqs: Arc<Mutex<BTreeSet<i64>>>,
    metrics: Metrics,
}

impl Delivered {
    pub(super) fn new(metrics: Metrics) -> Delivered {
        Delivered { seqs: Arc::default(), metrics }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeSet<i64>> {
        self.seqs.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn add(&self, seqs: &[i64]) {
        let mut set = self.lock();
        set.extend(seqs);
        self.metrics.set("telbridge_outbox_delivered_rows", set.len() as u64);
    }

    /// Rows the broker acknowledged: delivered, and their delete goes to the store (one
    /// batch).
    pub(super) fn hand_over(&self, batch: Vec<i64>, deletes: &mpsc::UnboundedSender<Vec<i64>>) {
        if !batch.is_empty() {
            self.add(&batch);
            let _ = deletes.send(batch);
        }
    }

    fn remove(&self, seqs: &[i64]) {
        let mut set = self.lock();
        for seq in seqs {
            set.remove(seq);
        }
        self.metrics.set("telbridge_outbox_delivered_rows", set.len() as u64);
    }

    /// A copy (rows only this task adds: none joins while the copy is in use).
    pub(super) fn snapshot(&self) -> BTreeSet<i64> {
        let set = self.lock();
        if set.is_empty() { BTreeSet::new() } else { set.clone() }
    }
}

/// How long deletes that failed (a full disk) wait before they are tried again.
const DELETE_RETRY: Duration = Duration::from_secs(2);
/// Acknowledged rows taken into one delete call, at most.
const DELETE_BATCH: usize = 2000;
/// Rows per delete call on a full disk (each its own commit unless the writer groups them).
const DELETE_CHUNK: usize = 250;

/// Deletes acknowledged rows in batches, off the publishing path. Deletes that fail (a
/// full disk, an I/O error) are kept and tried again with the next batch or after
/// [`DELETE_RETRY`]: a delivered row left behind would count against the bound and be
/// sent again on the next connection.
pub(super) async fn delete_acked(
    store: Store,
    mut batches: mpsc::UnboundedReceiver<Vec<i64>>,
    delivered: Delivered,
    metrics: Metrics,
) {
    let mut failed: Vec<i64> = Vec::new();
    let mut open = true;
    while open {
        let mut batch = if failed.is_empty() {
            match batches.recv().await {
                Some(batch) => batch,
                None => break,
            }
        } else {
            // The relay stopping closes the channel: then one last try.
            tokio::select! {
                b = batches.recv() => b.unwrap_or_else(|| { open = false; Vec::new() }),
                _ = tokio::time::sleep(DELETE_RETRY) => Vec::new(),
            }
        };
        // What has already arrived goes along, but nothing waits for more: a delivered row
        // still in the store is sent again after a crash, so the delete goes at once. Under
        // load it joins the writer's next commit with the new events anyway (the writer
        // takes every queued job), which is where the commits are saved.
        while batch.len() < DELETE_BATCH {
            match batches.try_recv() {
                Ok(more) => batch.extend(more),
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => {
                    open = false;
                    break;
                }
            }
        }
        let retrying = !failed.is_empty();
        batch.append(&mut failed);
        // One call (one job in the writer's next commit) while there is room; on a full disk
        // in bounded pieces, each its own commit: each must fit the reserve's room, and one
        // that fails must not hold the others back (nor grow with every retry).
        let piece_len = if store.stats().disk_full { DELETE_CHUNK } else { batch.len().max(1) };
        let mut done = 0;
        for piece in batch.chunks(piece_len) {
            match store.ack(piece.to_vec()).await {
                Ok(_) => {
                    done += piece.len();
                    metrics.add("telbridge_events_out_total", piece.len() as u64);
                    delivered.remove(piece);
                }
                Err(e) => {
                    let left = batch.len() - done;
                    if !open {
                        // Left in the store: sent again after the restart, a duplicate, not a loss.
                        log::error!("cannot delete {left} acknowledged rows before stopping: {e}");
                    } else {
                        if !retrying {
                            log::error!("cannot delete {left} acknowledged rows (trying again): {e}");
                        }
                        failed = batch[done..].to_vec();
                    }
                    break;
                }
            }
        }
        if retrying && failed.is_empty() {
            log::info!("deleted acknowledged rows after an earlier failure");
        }
    }
}
