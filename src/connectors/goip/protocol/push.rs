//! The bodies a gateway pushes to the agent (spec sections 2, 4, 5), parsed leniently:
//! `dev-status`, `port-status`, `status-report`, `recv-sms`. Every variant the digest lists
//! is accepted (`st` or `status`, `"3 OK"` or `3`, `max-slot` or `max-slots`, numbers as
//! strings), and fields the agent does not interpret are kept in `extra`.

use super::ports::Port;
use super::sms::{ReceivedSms, StatusReport, parse_received, parse_status_report};
use crate::connectors::lenient::u64_of;
use serde_json::{Map, Value};

/// Why a pushed body was refused (the route answers 400 with this reason).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PushError {
    #[error("body is not a JSON object: {0}")]
    BadJson(String),
    #[error("unknown push type {0:?}")]
    UnknownType(String),
    #[error("`{0}` is missing")]
    Missing(&'static str),
    #[error("`{field}`: {reason}")]
    Bad { field: &'static str, reason: String },
}

pub(crate) fn bad(field: &'static str, reason: impl Into<String>) -> PushError {
    PushError::Bad { field, reason: reason.into() }
}

/// A parsed push.
#[derive(Debug, Clone, PartialEq)]
pub enum Push {
    DevStatus(DevStatus),
    PortStatus(PortStatus),
    StatusReport(StatusReport),
    RecvSms(Vec<ReceivedSms>),
}

/// A port's state (`st`): the code and the device's text.
#[derive(Debug, Clone, PartialEq)]
pub struct PortStatus {
    pub port: Port,
    pub code: u16,
    pub reason: Option<String>,
    /// Every other field (`bal`, `opr`, `sn`, `imei`, `imsi`, `iccid`, `sig`, …), as sent.
    pub extra: Map<String, Value>,
}

/// The periodic device status.
#[derive(Debug, Clone, PartialEq)]
pub struct DevStatus {
    pub mac: Option<String>,
    pub max_ports: Option<u64>,
    pub max_slots: Option<u64>,
    pub ports: Vec<PortStatus>,
    pub extra: Map<String, Value>,
}

/// The meaning of a port state code (spec section 2).
pub fn port_state_name(code: u16) -> &'static str {
    match code {
        0 => "no SIM",
        1 => "idle SIM",
        2 => "registering",
        3 => "registered",
        4 => "in call",
        5 => "no balance or alarm",
        6 => "registration failed",
        7 => "SIM locked by device",
        8 => "SIM blocked by operator",
        9 => "SIM read error",
        11 => "card detected",
        12 => "user locked",
        13 => "port inter-calling",
        14 => "waiting inter-call",
        15 => "accessing network",
        16 => "module timeout",
        _ => "unknown",
    }
}

/// Parses any pushed body by its `type`.
pub fn parse_push(body: &[u8]) -> Result<Push, PushError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| PushError::BadJson(e.to_string()))?;
    let Value::Object(mut map) = value else { return Err(PushError::BadJson("not an object".into())) };
    let kind = match map.remove("type") {
        Some(Value::String(t)) => t,
        Some(_) => return Err(bad("type", "must be a string")),
        None => return Err(PushError::Missing("type")),
    };
    match kind.as_str() {
        "dev-status" => parse_dev_status(map).map(Push::DevStatus),
        "port-status" => parse_port_status(map).map(Push::PortStatus),
        "status-report" => parse_status_report(map).map(Push::StatusReport),
        "recv-sms" => {
            let list = map.remove("sms").ok_or(PushError::Missing("sms"))?;
            let Value::Array(items) = list else { return Err(bad("sms", "must be an array")) };
            items.iter().map(parse_received).collect::<Result<Vec<_>, _>>().map(Push::RecvSms)
        }
        _ => Err(PushError::UnknownType(kind)),
    }
}

fn parse_dev_status(mut map: Map<String, Value>) -> Result<DevStatus, PushError> {
    let ports = match map.remove("status") {
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|v| match v {
                Value::Object(m) => parse_port_status(m),
                _ => Err(bad("status", "each entry must be an object")),
            })
            .collect::<Result<Vec<_>, _>>()?,
        None | Some(Value::Null) => Vec::new(),
        Some(_) => return Err(bad("status", "must be an array")),
    };
    let mac = map.get("mac").and_then(Value::as_str).map(str::to_string);
    let max_ports = map.get("max-ports").and_then(u64_of);
    let max_slots = map.get("max-slots").or_else(|| map.get("max-slot")).and_then(u64_of);
    Ok(DevStatus { mac, max_ports, max_slots, ports, extra: map })
}

/// Parses one port status (a `port-status` push, or an entry of `dev-status`).
pub fn parse_port_status(mut map: Map<String, Value>) -> Result<PortStatus, PushError> {
    let port = match map.remove("port") {
        Some(Value::String(s)) => Port::parse(&s).ok_or_else(|| bad("port", format!("{s:?} is not a port")))?,
        Some(Value::Number(n)) => {
            Port::parse(&n.to_string()).ok_or_else(|| bad("port", format!("{n} is not a port")))?
        }
        _ => return Err(PushError::Missing("port")),
    };
    let state = map.remove("st").or_else(|| map.remove("status")).ok_or(PushError::Missing("st"))?;
    let (code, reason) = parse_state(&state).ok_or_else(|| bad("st", format!("{state} is not a state")))?;
    Ok(PortStatus { port, code, reason, extra: map })
}

/// `"3 OK"` → (3, Some("OK")); `3` or `"3"` → (3, None).
fn parse_state(v: &Value) -> Option<(u16, Option<String>)> {
    match v {
        Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()).map(|c| (c, None)),
        Value::String(s) => {
            let s = s.trim();
            let (code, reason) = s.split_once(' ').map_or((s, None), |(c, r)| (c, Some(r.trim().to_string())));
            code.parse().ok().map(|c| (c, reason.filter(|r| !r.is_empty())))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_status_with_the_seed_spellings_parses_and_keeps_extras() {
        let body = br#"{"type":"dev-status","seq":1,"expires":180,"mac":"00-30-f1-01-02-03","ip":"192.168.1.67",
            "ver":"1.1","max-ports":32,"max-slot":4,"status":[{"port":"1A","st":"3 OK","sig":15},
            {"port":"2.02","status":5,"bal":"0.00"}]}"#;
        let Push::DevStatus(d) = parse_push(body).expect("parses") else { panic!("dev-status") };
        assert_eq!((d.max_ports, d.max_slots, d.mac.as_deref()), (Some(32), Some(4), Some("00-30-f1-01-02-03")));
        assert_eq!(d.ports[0].port, Port { port: 1, slot: 1 });
        assert_eq!((d.ports[0].code, d.ports[0].reason.as_deref()), (3, Some("OK")));
        assert_eq!(d.ports[0].extra["sig"], 15);
        assert_eq!((d.ports[1].port, d.ports[1].code, d.ports[1].reason.clone()), (Port { port: 2, slot: 2 }, 5, None));
        assert_eq!(d.extra["ip"], "192.168.1.67");
    }

    #[test]
    fn a_port_status_accepts_a_string_number_state_and_keeps_new_firmware_fields() {
        let body = br#"{"type":"port-status","port":"2B","seq":1,"st":"3","opr":"46000 China Mobile","led":1}"#;
        let Push::PortStatus(p) = parse_push(body).expect("parses") else { panic!("port-status") };
        assert_eq!((p.port.to_string(), p.code), ("2B".to_string(), 3));
        assert_eq!(p.extra["led"], 1);
        assert_eq!(port_state_name(p.code), "registered");
    }

    #[test]
    fn bad_pushes_are_refused_with_the_reason() {
        for (body, needle) in [
            (&b"{\"type\":\"port-status\",\"port\":\"2B\"}"[..], "`st` is missing"),
            (b"{\"type\":\"port-status\",\"port\":\"ZZ\",\"st\":3}", "`port`"),
            (b"{\"type\":\"weather\"}", "unknown push type"),
            (b"{\"st\":3}", "`type` is missing"),
            (b"[1,2]", "not an object"),
            (b"{\"type\":\"recv-sms\",\"sms\":{}}", "`sms`"),
            (b"{\"type\":\"dev-status\",\"status\":[1]}", "`status`"),
            (b"{\"type\":\"port-status\",\"port\":\"1A\",\"st\":\"OK\"}", "`st`"),
        ] {
            let err = parse_push(body).expect_err("refused").to_string();
            assert!(err.contains(needle), "{err} should contain {needle}");
        }
    }
}
