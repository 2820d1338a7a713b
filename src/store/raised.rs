//! Status events raised when a state in memory flips (`device.down`/`up`, `tunnel.up`/`down`,
//! `spool.full`/`recovered`, the agent's `store.*` alarms and its start events). The flip
//! happens first and is not undone when the store call fails (a full disk, an I/O error):
//! the event then waits here and is stored, in the order raised, at the next flush — its
//! owner flushes at every exchange, state check or retry tick — instead of being logged and
//! lost, which would leave the cloud with an `up` and no `down` before it.
//!
//! The caller pushes while it holds the lock under which it decided the flip, so two flips
//! deciding together queue their events in the order they decided; one flush runs at a
//! time, so no event is stored twice.
//!
//! At most [`MAX_PENDING`] wait (a device flapping while the store fails for hours must not
//! grow memory without bound): beyond, the oldest goes, and the log says so.

use super::{OutboxItem, Store, StoreError};
use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// Status events kept waiting at most.
pub const MAX_PENDING: usize = 256;

/// Events waiting for the store, oldest first.
#[derive(Debug, Default)]
pub struct Raised {
    pending: Mutex<VecDeque<OutboxItem>>,
    flushing: tokio::sync::Mutex<()>,
    /// The last flush failed: the next failures are not logged again.
    failing: AtomicBool,
}

impl Raised {
    /// Queues `item`; call while holding the lock under which the flip was decided.
    pub fn push(&self, item: OutboxItem) {
        let mut pending = self.lock();
        if pending.len() >= MAX_PENDING
            && let Some(gone) = pending.pop_front()
        {
            log::error!("{} status events wait for the store: the oldest ({}) is dropped", MAX_PENDING, gone.topic);
        }
        pending.push_back(item);
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Stores the waiting events in order; stops at the first that fails (it and those
    /// after it wait for the next flush) and returns its error.
    pub async fn flush(&self, store: &Store, source: &str) -> Result<(), StoreError> {
        if self.is_empty() {
            return Ok(());
        }
        let _one = self.flushing.lock().await;
        loop {
            let Some(item) = self.lock().front().cloned() else { return Ok(()) };
            let id = item.id.clone();
            match store.enqueue_unbounded(item).await {
                // Only a flush takes from the front, and this one holds `flushing`; a push
                // beyond MAX_PENDING drops the oldest, which may be this one (then storing it
                // was still right: the next at the front is newer).
                Ok(_) => {
                    let mut pending = self.lock();
                    if pending.front().is_some_and(|front| front.id == id) {
                        pending.pop_front();
                    }
                    if pending.is_empty() && self.failing.swap(false, Ordering::Relaxed) {
                        log::info!("{source}: the status events that waited for the store are stored");
                    }
                }
                Err(e) => {
                    if !self.failing.swap(true, Ordering::Relaxed) {
                        log::error!(
                            "{source}: cannot record {} status events yet (kept, in order): {e}",
                            self.lock().len()
                        );
                    }
                    return Err(e);
                }
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<OutboxItem>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Class, NewEvent};
    use crate::store::tests::open_temp;

    fn item(kind: &str) -> OutboxItem {
        OutboxItem::from_event(&NewEvent::new("goip/gw1", kind, serde_json::json!({}), Class::Critical), "site")
    }

    async fn stored_types(store: &Store) -> Vec<String> {
        store
            .call(|db| {
                let mut st = db.conn().prepare("SELECT topic FROM outbox ORDER BY seq")?;
                let rows = st.query_map([], |r| r.get::<_, String>(0))?.collect::<Result<Vec<_>, _>>()?;
                Ok(rows)
            })
            .await
            .expect("outbox")
    }

    #[test]
    fn at_most_max_pending_wait_and_the_oldest_goes_first() {
        let raised = Raised::default();
        let items: Vec<OutboxItem> = (0..=MAX_PENDING).map(|_| item("device.down")).collect();
        items.iter().cloned().for_each(|i| raised.push(i));
        let pending = raised.lock();
        assert_eq!(pending.len(), MAX_PENDING);
        assert_eq!(
            (pending.front().map(|i| &i.id), pending.back().map(|i| &i.id)),
            (Some(&items[1].id), Some(&items[MAX_PENDING].id))
        );
    }

    #[tokio::test]
    async fn events_the_store_refused_are_stored_in_order_at_the_next_flush() {
        let (store, _writer) = open_temp("raised");
        let raised = Raised::default();
        crate::store::fail_inserts_for_tests(&store, true).await;
        raised.push(item("device.down"));
        let _ = raised.flush(&store, "goip/gw1").await;
        assert!(stored_types(&store).await.is_empty());
        raised.push(item("device.up"));
        let _ = raised.flush(&store, "goip/gw1").await;
        assert!(stored_types(&store).await.is_empty(), "nothing stored while inserts fail");
        crate::store::fail_inserts_for_tests(&store, false).await;
        let _ = raised.flush(&store, "goip/gw1").await;
        assert_eq!(stored_types(&store).await, ["evt/goip/gw1/device.down", "evt/goip/gw1/device.up"]);
        let _ = raised.flush(&store, "goip/gw1").await;
        assert_eq!(stored_types(&store).await.len(), 2, "each stored once");
    }
}
