//! Per-connector health, as shown by `agent.status`, `/healthz` and `/metrics`. Connectors
//! write it through their [`Peer`](crate::connectors::Peer), which also raises the events.

use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Starting,
    Up,
    Down,
}

#[derive(Debug, Clone, Serialize)]
pub struct DriverHealth {
    pub state: State,
    /// When the state last changed (RFC 3339).
    pub since: String,
    pub last_error: Option<String>,
    pub errors: u64,
    /// What the part says of itself beyond up/down (the tunnel: mode, probe, reconnects).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<serde_json::Value>,
}

/// Shared health table, keyed by driver instance (`goip/gw1`).
#[derive(Debug, Clone, Default)]
pub struct Health {
    drivers: Arc<Mutex<BTreeMap<String, DriverHealth>>>,
}

impl Health {
    /// Records a state; returns true when it changed (callers raise an event then).
    pub fn set(&self, driver: &str, state: State, error: Option<String>) -> bool {
        let mut map = self.drivers.lock().unwrap_or_else(|e| e.into_inner());
        let since = crate::event::format_rfc3339_ms(crate::event::now_ms());
        let entry = map.entry(driver.to_string()).or_insert(DriverHealth {
            state: State::Starting,
            since: since.clone(),
            last_error: None,
            errors: 0,
            detail: None,
        });
        let changed = entry.state != state;
        if changed {
            entry.state = state;
            entry.since = since;
        }
        if let Some(e) = error {
            entry.errors += 1;
            entry.last_error = Some(e);
        }
        changed
    }

    /// Records an error for `driver` without touching its state.
    pub fn note_error(&self, driver: &str, error: &str) {
        let mut map = self.drivers.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = map.get_mut(driver) {
            entry.errors += 1;
            entry.last_error = Some(error.to_string());
        }
    }

    /// Replaces `driver`'s detail.
    pub fn set_detail(&self, driver: &str, detail: serde_json::Value) {
        let mut map = self.drivers.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = map.get_mut(driver) {
            entry.detail = Some(detail);
        }
    }

    pub fn snapshot(&self) -> BTreeMap<String, DriverHealth> {
        self.drivers.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}
