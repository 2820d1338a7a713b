//! What the agent reports of a gateway's port states, pure: a step from (what was seen,
//! now, a status push) to (the events to raise, what is seen after). The clock is passed
//! in; the caller commits the events and only then keeps the new state, so a push whose
//! events could not be stored changes nothing (the device pushes again).
//!
//! Rules: a `dev-status` raises `device.status` as critical on the first one after start
//! and on any port change, else as a telemetry snapshot every `snapshot_secs`; a port whose
//! state changed since the last push raises `port.status` (critical). A `port-status` push
//! raises its `port.status` and updates that port.

use super::ports::Port;
use super::push::{DevStatus, PortStatus, port_state_name};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// What the agent last saw of the device (memory only: a restart starts afresh, and the
/// first `dev-status` after it is reported in full).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Seen {
    pub ports: BTreeMap<Port, u16>,
    /// When the last `device.status` was raised (0 = never).
    pub last_status_ms: u64,
}

/// An event to raise: kind, data, and whether it is critical (else telemetry).
#[derive(Debug, Clone, PartialEq)]
pub struct Raise {
    pub kind: &'static str,
    pub data: Value,
    pub critical: bool,
}

/// A port status as events carry it: the device's fields plus port, code and meaning.
pub fn port_json(p: &PortStatus) -> Value {
    let mut data = Value::Object(p.extra.clone());
    data["port"] = json!(p.port.to_string());
    data["port_raw"] = json!(p.port_raw);
    data["code"] = json!(p.code);
    data["state"] = json!(port_state_name(p.code));
    data["reason"] = json!(p.reason);
    data
}

impl Seen {
    /// A `dev-status` push at `now_ms`.
    pub fn dev_status(&self, d: &DevStatus, now_ms: u64, snapshot_ms: u64) -> (Vec<Raise>, Seen) {
        let first = self.last_status_ms == 0;
        let changed: Vec<&PortStatus> = d.ports.iter().filter(|p| self.ports.get(&p.port) != Some(&p.code)).collect();
        let snapshot_due = now_ms.saturating_sub(self.last_status_ms) >= snapshot_ms;
        let mut raised: Vec<Raise> = changed
            .iter()
            .filter(|p| self.ports.contains_key(&p.port))
            .map(|p| Raise { kind: "port.status", data: port_json(p), critical: true })
            .collect();
        let reason = if first {
            Some(("first", true))
        } else if !changed.is_empty() {
            Some(("change", true))
        } else if snapshot_due {
            Some(("snapshot", false))
        } else {
            None
        };
        let mut next = self.clone();
        next.ports.extend(d.ports.iter().map(|p| (p.port, p.code)));
        if let Some((reason, critical)) = reason {
            let mut data = Value::Object(d.extra.clone());
            data["mac"] = json!(d.mac);
            data["max_ports"] = json!(d.max_ports);
            data["max_slots"] = json!(d.max_slots);
            data["ports"] = Value::Array(d.ports.iter().map(port_json).collect());
            data["reason"] = json!(reason);
            raised.push(Raise { kind: "device.status", data, critical });
            next.last_status_ms = now_ms;
        }
        (raised, next)
    }

    /// A `port-status` push.
    pub fn port_status(&self, p: &PortStatus) -> (Vec<Raise>, Seen) {
        let mut next = self.clone();
        next.ports.insert(p.port, p.code);
        (vec![Raise { kind: "port.status", data: port_json(p), critical: true }], next)
    }
}

#[cfg(test)]
mod tests {
    use super::super::push::{Push, parse_push};
    use super::*;

    fn dev(body: &str) -> DevStatus {
        let Push::DevStatus(d) = parse_push(body.as_bytes()).expect("parses") else { panic!("dev-status") };
        d
    }

    const TWO_PORTS: &str = r#"{"type":"dev-status","status":[{"port":"1A","st":3},{"port":"2A","st":3}]}"#;
    const ONE_CHANGED: &str = r#"{"type":"dev-status","status":[{"port":"1A","st":3},{"port":"2A","st":5}]}"#;

    #[test]
    fn the_first_status_is_reported_in_full_and_a_repeat_only_as_a_snapshot_when_due() {
        let (raised, seen) = Seen::default().dev_status(&dev(TWO_PORTS), 1_000, 60_000);
        assert_eq!(raised.len(), 1, "no port.status for ports never seen before");
        assert_eq!(
            (raised[0].kind, raised[0].critical, raised[0].data["reason"].as_str()),
            ("device.status", true, Some("first"))
        );
        let (again, same) = seen.dev_status(&dev(TWO_PORTS), 30_000, 60_000);
        assert!(again.is_empty(), "nothing changed, no snapshot due");
        assert_eq!(same, seen);
        let (snap, _) = seen.dev_status(&dev(TWO_PORTS), 61_000, 60_000);
        assert_eq!((snap[0].critical, snap[0].data["reason"].as_str()), (false, Some("snapshot")));
    }

    #[test]
    fn a_changed_port_raises_its_port_status_and_a_critical_device_status() {
        let (_, seen) = Seen::default().dev_status(&dev(TWO_PORTS), 1_000, 60_000);
        let (raised, next) = seen.dev_status(&dev(ONE_CHANGED), 2_000, 60_000);
        let kinds: Vec<_> = raised.iter().map(|r| (r.kind, r.data["port"].as_str().map(str::to_string))).collect();
        assert_eq!(kinds, [("port.status", Some("2A".into())), ("device.status", None)]);
        assert_eq!(raised[1].data["reason"], "change");
        assert_eq!(next.ports[&Port::new(2, 1)], 5);
        assert_eq!(next.last_status_ms, 2_000);
    }
}
