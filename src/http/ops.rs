//! `GET /healthz` and `GET /metrics`: what an operator or a monitor looks at.

use super::{Response, json_response, text_response};
use crate::health::{Health, State};
use crate::metrics::{Metrics, render};
use crate::mqtt::LinkState;
use crate::store::Store;
use hyper::StatusCode;
use serde_json::json;
use tokio::sync::watch;

/// What the two routes read.
#[derive(Clone)]
pub struct Ops {
    pub store: Store,
    pub link: watch::Receiver<LinkState>,
    pub metrics: Metrics,
    pub health: Health,
}

impl Ops {
    /// 200 while the agent can accept and keep events (the uplink may be down: events
    /// are buffered); 503 when the last store commit failed.
    pub fn healthz(&self) -> Response {
        let s = self.store.stats();
        let link = self.link.borrow().clone();
        let store_ok = !s.failing && !s.disk_full;
        let status = match (s.disk_full, s.failing) {
            (true, _) => "disk_full",
            (false, true) => "store_error",
            (false, false) => "ok",
        };
        let body = json!({
            "status": status,
            "mqtt_connected": link.connected,
            "store_rows": s.ledger.rows,
            "store_full": s.ledger.full,
            "disk_full": s.disk_full,
            "drivers_down": self.health.snapshot().iter().filter(|(_, h)| h.state == State::Down).map(|(n, _)| n.clone()).collect::<Vec<_>>(),
        });
        let status = if store_ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
        json_response(status, &body)
    }

    pub fn metrics(&self) -> Response {
        let s = self.store.stats();
        let link = self.link.borrow().clone();
        let mut counters = self.metrics.snapshot();
        for (name, h) in self.health.snapshot() {
            counters.insert(format!("telbridge_driver_errors_total{{driver=\"{name}\"}}"), h.errors);
        }
        // Counted since start by the store (they reset with the process, as counters may).
        for (name, v) in [
            ("telbridge_store_evicted_total", s.ledger.evicted),
            ("telbridge_store_dropped_total", s.ledger.dropped),
            ("telbridge_store_refused_total", s.ledger.refused),
            ("telbridge_store_commit_errors_total", s.commit_errors),
            ("telbridge_store_commits_total", s.commits),
            ("telbridge_store_synced_commits_total", s.synced_commits),
        ] {
            counters.insert(name.to_string(), v);
        }
        let gauges = [
            ("telbridge_store_rows", s.ledger.rows),
            ("telbridge_store_bytes", s.ledger.bytes),
            ("telbridge_store_critical_rows", s.ledger.critical_rows),
            ("telbridge_store_file_bytes", s.file_bytes),
            ("telbridge_store_full", u64::from(s.ledger.full)),
            ("telbridge_store_disk_full", u64::from(s.disk_full)),
            ("telbridge_store_reserve_held", u64::from(s.reserve_held)),
            ("telbridge_mqtt_connected", u64::from(link.connected)),
        ];
        text_response(StatusCode::OK, "text/plain; version=0.0.4", render(&counters, &gauges, &self.metrics.gauges()))
    }
}
