//! The MQTT uplink: relays the outbox in order, receives commands, keeps the status topic.
//!
//! Two tasks share one connection. The **poll task** ([`poller`]) owns rumqttc's event loop, turns
//! packet ids into outbox rows with the [`Correlator`](correlator::Correlator), forwards
//! acknowledged rows and incoming commands, and backs off (exponentially, with jitter)
//! after errors. The **publish task** ([`relay`]) reads the outbox in sequence order and
//! keeps at most `mqtt.inflight` rows un-acknowledged; a row is deleted only after its
//! PUBACK. On every new connection it starts again from the oldest row still in the
//! store (rumqttc's own re-send queue is emptied, see `link`), so the first arrivals stay
//! in order and nothing is lost; the cloud drops repeats by event id or `seq`.

mod correlator;
mod deleter;
mod link;
mod poller;
mod relay;
mod strikes;
pub mod topics;

pub use crate::tls::{TlsError, client_config};
pub use link::{AckToken, LinkClient};
pub use relay::{Incoming, LinkState, Uplink, spawn};

use std::time::Duration;

/// Why the uplink stopped.
#[derive(Debug, thiserror::Error)]
pub enum MqttError {
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error(transparent)]
    Client(#[from] link::ClientError),
    #[error("store: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("the connection task stopped unexpectedly")]
    LoopGone,
}

/// The wait before reconnect attempt `attempt` (1-based): doubling from `min` up to
/// `max`, then scaled by a jitter factor in [0.5, 1.0) from `random`.
pub fn backoff_delay(attempt: u32, min: Duration, max: Duration, random: u32) -> Duration {
    let exp = min.saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
    let capped = exp.min(max);
    let jitter = 0.5 + f64::from(random) / (f64::from(u32::MAX) + 1.0) / 2.0;
    capped.mul_f64(jitter)
}

/// The retained status payload: `online` on connect, `offline` as last will and at stop.
pub fn status_payload(state: &str, agent: &str, reason: Option<&str>, ts_ms: Option<u64>) -> Vec<u8> {
    let mut v = serde_json::json!({
        "state": state,
        "agent": agent,
        "version": crate::version::version(),
    });
    if let Some(reason) = reason {
        v["reason"] = reason.into();
    }
    if let Some(ms) = ts_ms {
        v["ts"] = crate::event::format_rfc3339_ms(ms).into();
    }
    v.to_string().into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter_between_half_and_full() {
        let (min, max) = (Duration::from_millis(500), Duration::from_secs(60));
        assert_eq!(backoff_delay(1, min, max, 0), Duration::from_millis(250));
        assert_eq!(backoff_delay(3, min, max, 0), Duration::from_millis(1000));
        assert!(backoff_delay(3, min, max, u32::MAX) <= Duration::from_millis(2000));
        assert_eq!(backoff_delay(30, min, max, 0), Duration::from_secs(30));
    }

    #[test]
    fn status_payload_names_state_agent_and_version() {
        let v: serde_json::Value =
            serde_json::from_slice(&status_payload("offline", "a", Some("shutdown"), None)).expect("json");
        assert_eq!(v["state"], "offline");
        assert_eq!(v["reason"], "shutdown");
        assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    }
}
