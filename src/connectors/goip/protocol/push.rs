//! The bodies a gateway pushes to the agent (spec sections 2, 4, 5), parsed leniently:
//! `dev-status`, `port-status`, `status-report`, `recv-sms`. Every variant the digest lists
//! is accepted (`st` or `status`, `"3 OK"` or `3`, `max-slot` or `max-slots`, numbers as
//! strings), and fields the agent does not interpret are kept in `extra`.

use super::ports::Port;
use super::sms::{ReceivedSms, StatusReport, parse_rows, parse_status_report};
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

/// One row of a push (an SMS, a port's entry, a task's report, a delivery record) that
/// could not be read. Every row stands alone: the good ones are taken, and this one is
/// relayed as sent with the reason, never dropped.
#[derive(Debug, Clone, PartialEq)]
pub struct OddRow {
    /// Where it was: `sms`, `status`, `rpts`, `sdr`, `fdr`.
    pub part: &'static str,
    pub row: Value,
    pub reason: String,
}

impl OddRow {
    pub fn new(part: &'static str, row: Value, e: &PushError) -> OddRow {
        OddRow { part, row, reason: e.to_string() }
    }
}

/// A parsed push.
#[derive(Debug, Clone, PartialEq)]
pub enum Push {
    DevStatus(DevStatus),
    PortStatus(PortStatus),
    StatusReport(StatusReport),
    /// The messages, the rows that could not be read, and the push's other fields.
    RecvSms(Vec<ReceivedSms>, Vec<OddRow>, Map<String, Value>),
}

/// A port's state (`st`): the code and the device's text.
#[derive(Debug, Clone, PartialEq)]
pub struct PortStatus {
    /// The port in its primary form, and as the device wrote it.
    pub port: Port,
    pub port_raw: String,
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
    /// Entries that could not be read, kept as sent.
    pub odd: Vec<OddRow>,
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

/// Older firmware posts `application/x-www-form-urlencoded` bodies: the JSON in one form
/// field (`data={…}`), or the push's fields as form keys (`type=recv-sms&sms=[[…]]`, a value
/// that is JSON taken as JSON). Returns the push as a JSON object.
pub fn form_to_json(body: &[u8]) -> Option<Value> {
    let text = std::str::from_utf8(body).ok()?.trim().replace('+', "%20");
    let pairs = crate::http::url::parse_query(&text);
    if let [(_, only)] = pairs.as_slice()
        && let Ok(v @ Value::Object(_)) = serde_json::from_str::<Value>(only)
    {
        return Some(v);
    }
    let map: Map<String, Value> = pairs
        .into_iter()
        .map(|(k, v)| {
            let value = match serde_json::from_str::<Value>(&v) {
                Ok(j @ (Value::Array(_) | Value::Object(_) | Value::Number(_))) => j,
                _ => Value::String(v),
            };
            (k, value)
        })
        .collect();
    map.contains_key("type").then_some(Value::Object(map))
}

/// A push's own fields larger than this (as JSON) go with its first event only.
pub const SHARED_FIELDS_MAX: usize = 2048;

/// The push's own fields (`extra`) for its event number `index`: every event carries them,
/// unless together they exceed [`SHARED_FIELDS_MAX`]; then only the first does, so that
/// copies cannot take each message past the payload limit.
pub fn shared_fields(extra: &Map<String, Value>, index: usize) -> Map<String, Value> {
    let small = || serde_json::to_vec(extra).is_ok_and(|v| v.len() <= SHARED_FIELDS_MAX);
    if index == 0 || small() { extra.clone() } else { Map::new() }
}

/// Parses any pushed body by its `type`: JSON, or (older firmware) a form.
pub fn parse_push(body: &[u8]) -> Result<Push, PushError> {
    let value: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => form_to_json(body).ok_or_else(|| PushError::BadJson(e.to_string()))?,
    };
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
            let (good, odd) = parse_rows(&items);
            // The count of this push's rows, not a field of each message (seed 004:
            // "sms_num 字符串 短信数").
            map.remove("sms_num");
            Ok(Push::RecvSms(good, odd, map))
        }
        _ => Err(PushError::UnknownType(kind)),
    }
}

fn parse_dev_status(mut map: Map<String, Value>) -> Result<DevStatus, PushError> {
    let items = match map.remove("status") {
        Some(Value::Array(items)) => items,
        None | Some(Value::Null) => Vec::new(),
        Some(_) => return Err(bad("status", "must be an array")),
    };
    let (mut ports, mut odd) = (Vec::new(), Vec::new());
    for item in items {
        let parsed = match &item {
            Value::Object(m) => parse_port_status(m.clone()),
            _ => Err(bad("status", "each entry must be an object")),
        };
        match parsed {
            Ok(p) => ports.push(p),
            Err(e) => odd.push(OddRow::new("status", item, &e)),
        }
    }
    let mac = map.get("mac").and_then(Value::as_str).map(str::to_string);
    let max_ports = map.get("max-ports").and_then(u64_of);
    let max_slots = map.get("max-slots").or_else(|| map.get("max-slot")).and_then(u64_of);
    Ok(DevStatus { mac, max_ports, max_slots, ports, odd, extra: map })
}

/// Parses one port status (a `port-status` push, or an entry of `dev-status`).
pub fn parse_port_status(mut map: Map<String, Value>) -> Result<PortStatus, PushError> {
    let port_raw = match map.remove("port") {
        Some(Value::String(s)) => s,
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err(PushError::Missing("port")),
    };
    let port = Port::parse(&port_raw).ok_or_else(|| bad("port", format!("{port_raw:?} is not a port")))?;
    let state = map.remove("st").or_else(|| map.remove("status")).ok_or(PushError::Missing("st"))?;
    let (code, reason) = parse_state(&state).ok_or_else(|| bad("st", format!("{state} is not a state")))?;
    Ok(PortStatus { port, port_raw, code, reason, extra: map })
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
    fn a_pushs_large_own_fields_go_with_its_first_event_only() {
        let small: Map<String, Value> = serde_json::from_str(r#"{"fw":"v3"}"#).expect("map");
        assert_eq!(shared_fields(&small, 5), small);
        let mut large = small.clone();
        large.insert("blob".into(), Value::String("x".repeat(SHARED_FIELDS_MAX)));
        assert_eq!((shared_fields(&large, 0), shared_fields(&large, 1)), (large.clone(), Map::new()));
    }

    #[test]
    fn a_device_status_with_the_seed_spellings_parses_and_keeps_extras() {
        let body = br#"{"type":"dev-status","seq":1,"expires":180,"mac":"00-30-f1-01-02-03","ip":"192.168.1.67",
            "ver":"1.1","max-ports":32,"max-slot":4,"status":[{"port":"1A","st":"3 OK","sig":15},
            {"port":"2.02","status":5,"bal":"0.00"}]}"#;
        let Push::DevStatus(d) = parse_push(body).expect("parses") else { panic!("dev-status") };
        assert_eq!((d.max_ports, d.max_slots, d.mac.as_deref()), (Some(32), Some(4), Some("00-30-f1-01-02-03")));
        assert_eq!(d.ports[0].port, Port::new(1, 1));
        assert_eq!((d.ports[0].code, d.ports[0].reason.as_deref()), (3, Some("OK")));
        assert_eq!(d.ports[0].extra["sig"], 15);
        assert_eq!((d.ports[1].port, d.ports[1].code, d.ports[1].reason.clone()), (Port::new(2, 2), 5, None));
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
    fn older_firmware_form_posts_are_read_like_json() {
        // Issue 10 item 6: form-encoded bodies were answered 400.
        let json_in_a_field = b"data=%7B%22type%22%3A%22port-status%22%2C%22port%22%3A%222B%22%2C%22st%22%3A3%7D";
        let Push::PortStatus(p) = parse_push(json_in_a_field).expect("json in a field") else { panic!("port-status") };
        assert_eq!((p.port.to_string(), p.code), ("2B".to_string(), 3));
        let fields =
            b"type=recv-sms&sms_num=1&sms=%5B%5B0%2C%221A%22%2C5%2C%2210010%22%2C%22139%22%2C%22aGk%3D%22%5D%5D";
        let Push::RecvSms(list, odd, _) = parse_push(fields).expect("fields as keys") else { panic!("recv-sms") };
        assert_eq!((list.len(), odd.len(), list[0].text.as_deref()), (1, 0, Some("hi")));
        let spaced = b"type=port-status&port=1A&st=3+OK";
        let Push::PortStatus(p) = parse_push(spaced).expect("+ is a space") else { panic!("port-status") };
        assert_eq!(p.reason.as_deref(), Some("OK"));
        assert!(parse_push(b"just some text").is_err(), "neither JSON nor a push form");
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
            (b"{\"type\":\"dev-status\",\"status\":7}", "`status`"),
            (b"{\"type\":\"port-status\",\"port\":\"1A\",\"st\":\"OK\"}", "`st`"),
        ] {
            let err = parse_push(body).expect_err("refused").to_string();
            assert!(err.contains(needle), "{err} should contain {needle}");
        }
        // One entry that is no object costs only itself.
        let Push::DevStatus(d) = parse_push(br#"{"type":"dev-status","status":[1,{"port":"1A","st":3}]}"#).expect("ok")
        else {
            panic!("dev-status")
        };
        assert_eq!((d.ports.len(), d.odd.len(), d.odd[0].part), (1, 1, "status"));
    }
}
