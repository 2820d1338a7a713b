//! Status events raised when a connector's state in memory flips (`device.down`/`up`,
//! `tunnel.up`/`down`, `spool.full`/`recovered`). The flip happens first and is not undone
//! when the store call fails (a full disk, an I/O error): the event then waits here and is
//! stored, in the order raised, at the next flush — the connector flushes at every exchange
//! or state check — instead of being logged and lost, which would leave the cloud with an
//! `up` and no `down` before it.
//!
//! The caller pushes while it holds the lock under which it decided the flip, so two flips
//! deciding together queue their events in the order they decided; one flush runs at a
//! time, so no event is stored twice.

use crate::store::{OutboxItem, Store};
use std::collections::VecDeque;
use std::sync::Mutex;

/// Events waiting for the store, oldest first.
#[derive(Debug, Default)]
pub struct Raised {
    pending: Mutex<VecDeque<OutboxItem>>,
    flushing: tokio::sync::Mutex<()>,
}

impl Raised {
    /// Queues `item`; call while holding the lock under which the flip was decided.
    pub fn push(&self, item: OutboxItem) {
        self.lock().push_back(item);
    }

    /// Stores the waiting events in order; stops at the first that fails (it and those
    /// after it wait for the next flush).
    pub async fn flush(&self, store: &Store, source: &str) {
        if self.lock().is_empty() {
            return;
        }
        let _one = self.flushing.lock().await;
        loop {
            let Some(item) = self.lock().front().cloned() else { return };
            match store.enqueue_unbounded(item).await {
                // Only a flush takes from the front, and this one holds `flushing`.
                Ok(_) => drop(self.lock().pop_front()),
                Err(e) => {
                    log::error!("{source}: cannot record {} status events yet: {e}", self.lock().len());
                    return;
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
    use crate::config::StoreConfig;
    use crate::event::{Class, NewEvent};

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

    /// Makes every outbox insert on the writer's connection fail (`on`) or work again.
    async fn fail_inserts(store: &Store, on: bool) {
        let sql = if on {
            "CREATE TEMP TRIGGER fail_insert BEFORE INSERT ON outbox BEGIN SELECT RAISE(ABORT, 'injected'); END"
        } else {
            "DROP TRIGGER temp.fail_insert"
        };
        store.call(move |db| Ok(db.conn().execute(sql, [])?)).await.expect("trigger");
    }

    #[tokio::test]
    async fn events_the_store_refused_are_stored_in_order_at_the_next_flush() {
        let dir = std::env::temp_dir().join(format!("telbridge-raised-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let (store, _writer) =
            Store::open(&StoreConfig { path: dir.join("r.db"), ..StoreConfig::default() }).expect("open");
        let raised = Raised::default();
        fail_inserts(&store, true).await;
        raised.push(item("device.down"));
        raised.flush(&store, "goip/gw1").await;
        assert!(stored_types(&store).await.is_empty());
        raised.push(item("device.up"));
        raised.flush(&store, "goip/gw1").await;
        assert!(stored_types(&store).await.is_empty(), "nothing stored while inserts fail");
        fail_inserts(&store, false).await;
        raised.flush(&store, "goip/gw1").await;
        assert_eq!(stored_types(&store).await, ["evt/goip/gw1/device.down", "evt/goip/gw1/device.up"]);
        raised.flush(&store, "goip/gw1").await;
        assert_eq!(stored_types(&store).await.len(), 2, "each stored once");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
