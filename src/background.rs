//! The agent's background jobs beside the connectors' tasks: the store watcher (its
//! ordered alarm queue), the systemd watchdog, the supervisor every connector task runs
//! under, and the hourly pruning of finished state.

use crate::agent::agent_event;
use crate::connectors::{self, Connector, Task};
use crate::event::now_ms;
use crate::store::{Raised, Store, StoreError};
use anyhow::anyhow;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// How long a connector task may take to end after the stop before it is aborted (within
/// the background step's time).
const TASK_STOP_TIMEOUT: Duration = Duration::from_secs(8);

/// How often an event the store could not take is tried again.
const RAISE_RETRY: Duration = Duration::from_secs(2);

/// Raises `agent/store.full` when the store starts refusing critical events and
/// `agent/store.recovered` when it has room again; `agent/store.disk_full` and
/// `agent/store.disk_recovered` the same for the file system. Alarms bypass the bound; one
/// that cannot be stored yet (a full disk) waits in order with the ones after it, so the
/// cloud never sees a recovery before the alarm it ends. `pending` holds the start's own
/// events the store could not take yet.
pub async fn watch_store(store: Store, agent: String, pending: Raised, stop: CancellationToken) {
    let mut stats = store.watch();
    let mut full = stats.borrow().ledger.full;
    // A disk found full while opening is reported too.
    let mut disk_full = false;
    stats.mark_changed();
    loop {
        // While the disk is full, an empty commit now and then lets the writer find out
        // whether there is room again, even when nothing else is written.
        let retry = disk_full || !pending.is_empty();
        tokio::select! {
            _ = stop.cancelled() => return,
            r = stats.changed() => if r.is_err() { return },
            _ = tokio::time::sleep(RAISE_RETRY), if retry => {
                if disk_full {
                    let _ = store.call(|_| Ok(())).await;
                }
            }
        }
        let s = stats.borrow_and_update().clone();
        if s.ledger.full != full {
            full = s.ledger.full;
            let kind = if full { "store.full" } else { "store.recovered" };
            let data = json!({"rows": s.ledger.rows, "bytes": s.ledger.bytes, "refused": s.ledger.refused});
            if full {
                log::error!("store full: critical events are being refused (503) until the uplink drains it");
            }
            pending.push(agent_event(&agent, kind, data));
        }
        if s.disk_full != disk_full {
            disk_full = s.disk_full;
            let kind = if disk_full { "store.disk_full" } else { "store.disk_recovered" };
            let data = json!({"rows": s.ledger.rows, "file_bytes": s.file_bytes, "reserve_held": s.reserve_held});
            pending.push(agent_event(&agent, kind, data));
        }
        if let Err(StoreError::Closed) = pending.flush(&store, "agent").await {
            return;
        }
    }
}

/// Pings systemd's watchdog at half its interval, but only after a round trip through the
/// store's writer succeeded: a stuck runtime or a dead writer stops the pings, and systemd
/// restarts the service.
pub async fn feed_watchdog(store: Store, interval: Duration, stop: CancellationToken) {
    let mut tick = tokio::time::interval(interval / 2);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        let alive = tokio::time::timeout(interval / 2, store.call(|_| Ok(()))).await;
        if matches!(alive, Ok(Ok(()))) {
            crate::notify::notify("WATCHDOG=1");
        } else {
            log::error!("store writer did not answer: withholding the watchdog ping");
        }
    }
}

/// Runs a connector's task; an error, a panic or an end before `stop` is reported on
/// `failed`, which stops the agent non-zero.
pub async fn supervise(task: Task, stop: CancellationToken, failed: mpsc::UnboundedSender<(String, anyhow::Error)>) {
    let Task { name, run } = task;
    let mut handle = tokio::spawn(run);
    let outcome = tokio::select! {
        outcome = &mut handle => outcome,
        _ = stop.cancelled() => match tokio::time::timeout(TASK_STOP_TIMEOUT, &mut handle).await {
            Ok(outcome) => outcome,
            Err(_) => {
                // A round still running (a long poll, an upload) must not outlive its agent.
                log::warn!("{name} did not stop in time: aborted");
                handle.abort();
                return;
            }
        },
    };
    if stop.is_cancelled() && matches!(outcome, Ok(Ok(()))) {
        return;
    }
    let why = match outcome {
        Ok(Ok(())) => anyhow!("it ended on its own"),
        Ok(Err(e)) => e,
        Err(e) => anyhow!("it panicked: {e}"),
    };
    log::error!("{name} failed: {why:#}");
    let _ = failed.send((name, why));
}

/// Forgets old de-duplication keys, finished commands and each connector's finished
/// state, hourly.
pub async fn prune_store(store: Store, connectors: Vec<Arc<dyn Connector>>, ttl_secs: u64, stop: CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        let cutoff = now_ms().saturating_sub(ttl_secs * 1000);
        let connectors = connectors.clone();
        let pruned = store
            .call(move |db| {
                let mut n = db.prune(cutoff)?;
                for c in &connectors {
                    n += c.prune(db, cutoff)?;
                }
                let live: Vec<String> = connectors.iter().map(|c| c.target().to_string()).collect();
                Ok(n + connectors::prune_retired(db, &live, cutoff)?)
            })
            .await;
        match pruned {
            Ok(n) if n > 0 => log::debug!("pruned {n} old dedup keys, commands and connector state"),
            Ok(_) => {}
            Err(e) => log::warn!("prune failed: {e}"),
        }
    }
}
