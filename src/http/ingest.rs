//! `POST /v1/events`: the token-protected generic ingest for LAN applications.
//!
//! Body: one event object or an array of up to 1000. Each event:
//! `{"source":"app/x","type":"thing.happened","data":…,"class":"critical"|"telemetry",
//! "dedup_key":"…"}`; other fields are kept under `extra`. All events of a request are
//! stored in one transaction or none is; the reply (200) lists each event's id and fate
//! only after the commit. A full store answers 503 with `Retry-After`.

use super::router::json_bytes_response;
use super::{Request, Response, error};
use crate::event::{Class, NewEvent, encode_envelope, json, new_id, now_ms};
use crate::metrics::Metrics;
use crate::mqtt::topics::{is_event_type, is_source};
use crate::store::{Enqueued, OutboxItem, Store, StoreError};
use hyper::StatusCode;
use serde_json::{Map, Value};

/// Events one request may carry, at most.
pub const MAX_BATCH: usize = 1000;

/// What the route needs.
#[derive(Clone)]
pub struct Ingest {
    pub store: Store,
    pub agent: String,
    pub token: String,
    pub max_payload_bytes: usize,
    pub metrics: Metrics,
}

impl Ingest {
    /// The token check, run on the headers before the body is read.
    pub fn guard(&self) -> super::router::Guard {
        let token = self.token.clone();
        std::sync::Arc::new(move |parts: &hyper::http::request::Parts| {
            (!bearer_matches(&parts.headers, &token)).then(|| {
                error(StatusCode::UNAUTHORIZED, "unauthorized", "a valid `Authorization: Bearer <token>` is required")
            })
        })
    }

    pub async fn handle(&self, req: Request) -> Response {
        if !bearer_matches(req.headers(), &self.token) {
            return error(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "a valid `Authorization: Bearer <token>` is required",
            );
        }
        let events = match parse_events(req.body()) {
            Ok(events) => events,
            Err(reason) => return error(StatusCode::BAD_REQUEST, "bad_event", &reason),
        };
        let mut ids = Vec::with_capacity(events.len());
        let mut items = Vec::with_capacity(events.len());
        for (i, event) in events.iter().enumerate() {
            let id = new_id();
            let payload = encode_envelope(event, &id, now_ms(), &self.agent);
            if payload.len() > self.max_payload_bytes {
                let reason = format!("event {i} is {} bytes, more than mqtt.max_payload_bytes", payload.len());
                return error(StatusCode::PAYLOAD_TOO_LARGE, "too_large", &reason);
            }
            let dedup_key = event.dedup_key.as_ref().map(|k| format!("ingest:{}:{k}", event.source));
            items.push(OutboxItem {
                id: id.clone(),
                topic: event.topic_suffix(),
                payload,
                class: event.class,
                dedup_key,
            });
            ids.push(id);
        }
        let n = items.len() as u64;
        match self.store.enqueue(items).await {
            Ok(outcomes) => {
                self.metrics.add("telbridge_events_in_total", n);
                let fates = ids.iter().zip(&outcomes).map(|(id, o)| match o {
                    Enqueued::Stored(_) => (Some(id.as_str()), "stored"),
                    Enqueued::Duplicate(first) => (Some(first.as_str()), "duplicate"),
                    Enqueued::Dropped => (None, "dropped"),
                });
                json_bytes_response(StatusCode::OK, reply(fates, outcomes.len()))
            }
            Err(e) => store_unavailable(&e, &self.metrics),
        }
    }
}

/// The reply to a stored request: `{"events":[{"id":…,"status":…},…]}`, one per event of
/// `count`: its id (none when dropped) and what became of it. Written directly, as the
/// envelopes are (`event::json`).
fn reply<'a>(fates: impl Iterator<Item = (Option<&'a str>, &'a str)>, count: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + count * 64);
    out.extend_from_slice(b"{\"events\":[");
    for (i, (id, status)) in fates.enumerate() {
        out.extend_from_slice(if i == 0 { b"{\"id\":" } else { b",{\"id\":" });
        match id {
            Some(id) => json::push_str(&mut out, id),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"status\":");
        json::push_str(&mut out, status);
        out.push(b'}');
    }
    out.extend_from_slice(b"]}");
    out
}

/// Whether `headers` carry `Authorization: Bearer <token>` (compared in constant time).
fn bearer_matches(headers: &hyper::HeaderMap, token: &str) -> bool {
    let given = headers
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    constant_time_eq(given.as_bytes(), token.as_bytes())
}

/// The 503 every ingress answers when the store cannot take an event.
pub fn store_unavailable(e: &StoreError, metrics: &Metrics) -> Response {
    metrics.inc("telbridge_ingress_refused_total");
    let (code, reason) = match e {
        StoreError::Full => ("store_full", "the store is full of undelivered events; retry later".to_string()),
        StoreError::DiskFull => ("disk_full", "the agent's disk is full; retry later".to_string()),
        other => ("store_unavailable", format!("the event could not be stored: {other}")),
    };
    let mut resp = error(StatusCode::SERVICE_UNAVAILABLE, code, &reason);
    resp.headers_mut().insert(hyper::header::RETRY_AFTER, hyper::header::HeaderValue::from_static("30"));
    resp
}

/// Compares secrets without leaking where they differ through timing.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Parses the body into events, or says what is wrong with which one.
///
/// The body is read straight into each event's fields (no map of the whole object, no
/// string for the names the agent knows): the same result as reading it into a
/// `serde_json::Value` first (the tests compare both), for ~15 % of a batched event's work.
pub fn parse_events(body: &[u8]) -> Result<Vec<NewEvent>, String> {
    let list = match serde_json::from_slice(body).map_err(|e| format!("body is not JSON: {e}"))? {
        Body::List(list) => list,
        Body::One(fields) => vec![Some(fields)],
        Body::Other => return Err("body must be an event object or an array of them".into()),
    };
    if list.is_empty() || list.len() > MAX_BATCH {
        return Err(format!("a request carries 1 to {MAX_BATCH} events"));
    }
    list.into_iter()
        .enumerate()
        .map(|(i, fields)| {
            let event = fields.ok_or_else(|| "must be an object".to_string()).and_then(Fields::into_event);
            event.map_err(|e| format!("event {i}: {e}"))
        })
        .collect()
}

/// One event object's fields as they came: those the agent reads, and the rest (kept).
/// A name given twice keeps its last value, as a JSON object read into a map does.
#[derive(Default)]
struct Fields {
    source: Option<Value>,
    kind: Option<Value>,
    class: Option<Value>,
    dedup_key: Option<Value>,
    data: Option<Value>,
    extra: Map<String, Value>,
}

impl Fields {
    fn insert(&mut self, name: std::borrow::Cow<'_, str>, value: Value) {
        let slot = match &*name {
            "source" => &mut self.source,
            "type" => &mut self.kind,
            "class" => &mut self.class,
            "dedup_key" => &mut self.dedup_key,
            "data" => &mut self.data,
            _ => {
                self.extra.insert(name.into_owned(), value);
                return;
            }
        };
        *slot = Some(value);
    }

    fn into_event(self) -> Result<NewEvent, String> {
        let source = text(self.source, "source")?.ok_or("`source` is required")?;
        if !is_source(&source) || source == "agent" || source.starts_with("agent/") {
            return Err("`source` must be 1-4 levels of A-Z a-z 0-9 . _ - and not `agent`".into());
        }
        let kind = text(self.kind, "type")?.ok_or("`type` is required")?;
        if !is_event_type(&kind) {
            return Err("`type` must be 1-64 characters of a-z 0-9 . _ -".into());
        }
        let class = match text(self.class, "class")?.as_deref() {
            None | Some("critical") => Class::Critical,
            Some("telemetry") => Class::Telemetry,
            Some(other) => {
                return Err(format!("`class` must be critical or telemetry, not {other:?}"));
            }
        };
        let dedup_key = text(self.dedup_key, "dedup_key")?;
        if dedup_key.as_ref().is_some_and(|k| k.is_empty() || k.len() > 200) {
            return Err("`dedup_key` must be 1-200 characters".into());
        }
        let mut event = NewEvent::new(source, kind, self.data.unwrap_or(Value::Null), class);
        event.dedup_key = dedup_key;
        event.extra = self.extra;
        Ok(event)
    }
}

/// A field that must be text when given (`null` counts as not given).
fn text(value: Option<Value>, name: &str) -> Result<Option<String>, String> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(format!("`{name}` must be a string")),
    }
}

/// A request body: a list of events (`None` for an element that is not an object), one
/// event, or something else.
enum Body {
    List(Vec<Option<Fields>>),
    One(Fields),
    Other,
}

/// Reads any JSON value: an object's fields, or (with `None`, the value skipped) anything else.
struct ObjectOrNot;

impl<'de> serde::de::Visitor<'de> for ObjectOrNot {
    type Value = Option<Fields>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut fields = Fields::default();
        while let Some(Name(name)) = map.next_key()? {
            fields.insert(name, map.next_value()?);
        }
        Ok(Some(fields))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

impl<'de> serde::Deserialize<'de> for Body {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Top;
        impl<'de> serde::de::Visitor<'de> for Top {
            type Value = Body;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any JSON value")
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Body, A::Error> {
                let mut list = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(MAX_BATCH));
                while let Some(Element(item)) = seq.next_element()? {
                    list.push(item);
                }
                Ok(Body::List(list))
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Body, A::Error> {
                Ok(ObjectOrNot.visit_map(map)?.map_or(Body::Other, Body::One))
            }

            fn visit_bool<E>(self, _: bool) -> Result<Body, E> {
                Ok(Body::Other)
            }

            fn visit_i64<E>(self, _: i64) -> Result<Body, E> {
                Ok(Body::Other)
            }

            fn visit_u64<E>(self, _: u64) -> Result<Body, E> {
                Ok(Body::Other)
            }

            fn visit_f64<E>(self, _: f64) -> Result<Body, E> {
                Ok(Body::Other)
            }

            fn visit_str<E>(self, _: &str) -> Result<Body, E> {
                Ok(Body::Other)
            }

            fn visit_unit<E>(self) -> Result<Body, E> {
                Ok(Body::Other)
            }
        }
        d.deserialize_any(Top)
    }
}

/// An element of the list: an event object's fields, or `None`.
struct Element(Option<Fields>);

impl<'de> serde::Deserialize<'de> for Element {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ObjectOrNot).map(Element)
    }
}

/// A field's name, borrowed from the body unless it had escapes.
struct Name<'de>(std::borrow::Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Name<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Text;
        impl<'de> serde::de::Visitor<'de> for Text {
            type Value = Name<'de>;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a field name")
            }

            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Name<'de>, E> {
                Ok(Name(std::borrow::Cow::Borrowed(s)))
            }

            fn visit_str<E>(self, s: &str) -> Result<Name<'de>, E> {
                Ok(Name(std::borrow::Cow::Owned(s.to_owned())))
            }

            fn visit_string<E>(self, s: String) -> Result<Name<'de>, E> {
                Ok(Name(std::borrow::Cow::Owned(s)))
            }
        }
        d.deserialize_str(Text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_event_or_an_array_parses_and_unknown_fields_are_kept() {
        let one = parse_events(br#"{"source":"pbx/1","type":"cdr.new","data":{"a":1},"vendor":7}"#).expect("one");
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].extra["vendor"], 7);
        assert_eq!(one[0].class, Class::Critical);
        let two =
            parse_events(br#"[{"source":"a","type":"x"},{"source":"b","type":"y","class":"telemetry"}]"#).expect("two");
        assert_eq!(two[1].class, Class::Telemetry);
    }

    #[test]
    fn bad_events_are_refused_with_the_index_and_field() {
        for (body, needle) in [
            (&b"[]"[..], "1 to"),
            (br#"{"type":"x"}"#, "event 0: `source`"),
            (br#"[{"source":"a","type":"x"},{"source":"a/+","type":"x"}]"#, "event 1: `source`"),
            (br#"{"source":"agent","type":"x"}"#, "`source`"),
            (br#"{"source":"a","type":"Bad Type"}"#, "`type`"),
            (br#"{"source":"a","type":"x","class":"urgent"}"#, "`class`"),
            (br#"{"source":1,"type":"x"}"#, "`source` must be a string"),
            (b"nope", "not JSON"),
        ] {
            let err = parse_events(body).expect_err("refused");
            assert!(err.contains(needle), "{err} should mention {needle}");
        }
    }

    /// The reading this replaces: the body into a `serde_json::Value`, then its fields.
    fn via_value(body: &[u8]) -> Result<Vec<NewEvent>, String> {
        let value: Value = serde_json::from_slice(body).map_err(|e| format!("body is not JSON: {e}"))?;
        let list = match value {
            Value::Array(list) => list,
            obj @ Value::Object(_) => vec![obj],
            _ => return Err("body must be an event object or an array of them".into()),
        };
        if list.is_empty() || list.len() > MAX_BATCH {
            return Err(format!("a request carries 1 to {MAX_BATCH} events"));
        }
        let event = |value: Value| {
            let Value::Object(map) = value else { return Err("must be an object".to_string()) };
            let mut fields = Fields::default();
            map.into_iter().for_each(|(name, value)| fields.insert(name.into(), value));
            fields.into_event()
        };
        list.into_iter().enumerate().map(|(i, v)| event(v).map_err(|e| format!("event {i}: {e}"))).collect()
    }

    #[test]
    fn bodies_read_as_reading_them_into_a_value_first_would() {
        let many = format!("[{}]", vec![r#"{"source":"a","type":"x"}"#; MAX_BATCH + 1].join(","));
        let deep = format!("{{\"source\":\"a\",\"type\":\"x\",\"data\":{}1{}}}", "[".repeat(200), "]".repeat(200));
        let bodies: Vec<&[u8]> = vec![
            br#"{"source":"pbx/1","type":"cdr.new","data":{"a":[1,2.5,null,true,"s"]},"vendor":7,"class":"telemetry"}"#,
            br#"[{"source":"a","type":"x","dedup_key":"k"},{"source":"b","type":"y","data":"text"}]"#,
            br#"{"source":"a","source":"b","type":"x","v":1,"v":2,"data":1,"data":{"z":0}}"#,
            br#"{"sour\u0063e":"a","type":"x","\u0076endor":"kept","data":null}"#,
            br#"{"source":"a","type":"x","class":null,"dedup_key":null,"extra":{"deep":[{}]}}"#,
            br#"[{"source":"a","type":"x"},3,"s",null,true,[{"source":"a"}],{"source":"a","type":"x"}]"#,
            br#"[{"source":"a","type":"x"},{"source":7,"type":"x"}]"#,
            br#"{"source":"a","type":"x","class":1}"#,
            br#"{"source":"a","type":"x","class":"urgent"}"#,
            br#"{"source":"a","type":"x","dedup_key":""}"#,
            br#"{"source":"agent/x","type":"x"}"#,
            br#"{"type":"x"}"#,
            br#"{"source":"a"}"#,
            br#"{"source":"a","type":"Bad Type"}"#,
            b"[]",
            b"{}",
            b"[1]",
            b"\"text\"",
            b"12",
            b"null",
            b"true",
            b"",
            b"nope",
            br#"{"source":"a","type":"x""#,
            br#"{"source":"a","type":"x"} trailing"#,
            br#"[{"source":"a","type":"x"},]"#,
            br#"{"source":"a","type":"x","data":"\ud800"}"#,
            many.as_bytes(),
            deep.as_bytes(),
        ];
        // Each kind of value where an event should be, after a good one.
        let not_objects: Vec<String> =
            ["3", "-3", "2.5", "1e400", "\"s\"", "\"\\u0073\"", "null", "true", "false", "[]", "[{}]"]
                .iter()
                .map(|v| format!(r#"[{{"source":"a","type":"x"}},{v}]"#))
                .collect();
        for body in bodies.into_iter().chain(not_objects.iter().map(|b| b.as_bytes())) {
            let (direct, reference) = (parse_events(body), via_value(body));
            assert_eq!(format!("{direct:?}"), format!("{reference:?}"), "{}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn the_reply_is_what_serde_json_writes() {
        let fates = [(Some("0190-a"), "stored"), (None, "dropped"), (Some("x\"y"), "duplicate")];
        let expected = serde_json::json!({"events": [
            {"id": "0190-a", "status": "stored"}, {"id": null, "status": "dropped"}, {"id": "x\"y", "status": "duplicate"},
        ]});
        let written = reply(fates.into_iter(), fates.len());
        assert_eq!(String::from_utf8(written).expect("utf8"), expected.to_string());
        assert_eq!(reply(std::iter::empty(), 0), br#"{"events":[]}"#);
    }

    #[test]
    fn tokens_compare_equal_only_when_identical() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
