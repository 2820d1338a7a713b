//! Per-driver health, as shown by `agent.status`, `/healthz` and `/metrics`.

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

    /// Records whether `driver` answered. Returns the event to raise when that changed:
    /// `device.down` with the reason, or `device.up` (only after a `down`). `was_down`
    /// is the driver's own memory of the last event raised.
    pub fn transition(
        &self,
        driver: &str,
        up: bool,
        error: Option<String>,
        was_down: &mut bool,
    ) -> Option<(&'static str, serde_json::Value)> {
        let state = if up { State::Up } else { State::Down };
        let changed = self.set(driver, state, error.clone());
        match (changed, up, *was_down) {
            (true, false, _) => {
                *was_down = true;
                log::warn!("{driver} is down: {}", error.as_deref().unwrap_or(""));
                Some(("device.down", serde_json::json!({"reason": error})))
            }
            (true, true, true) => {
                *was_down = false;
                log::info!("{driver} is reachable again");
                Some(("device.up", serde_json::json!({})))
            }
            _ => None,
        }
    }

    /// [`Health::transition`], then the event (built by `event`) committed outside the
    /// store's bound: what every driver does after an exchange with its peer.
    pub async fn mark(
        &self,
        driver: &str,
        up: bool,
        error: Option<String>,
        was_down: &Mutex<bool>,
        store: &crate::store::Store,
        event: impl FnOnce(&'static str, serde_json::Value) -> crate::store::OutboxItem,
    ) {
        let raised = {
            let mut was_down = was_down.lock().unwrap_or_else(|e| e.into_inner());
            self.transition(driver, up, error, &mut was_down)
        };
        if let Some((kind, data)) = raised
            && let Err(e) = store.enqueue_unbounded(event(kind, data)).await
        {
            log::error!("{driver}: cannot record {kind}: {e}");
        }
    }

    pub fn snapshot(&self) -> BTreeMap<String, DriverHealth> {
        self.drivers.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}
