//! `POST /v1/events`: the token-protected generic ingest for LAN applications.
//!
//! Body: one event object or an array of up to 1000. Each event:
//! `{"source":"app/x","type":"thing.happened","data":…,"class":"critical"|"telemetry",
//! "dedup_key":"…"}`; other fields are kept under `extra`. All events of a request are
//! stored in one transaction or none is; the reply (200) lists each event's id and fate
//! only after the commit. A full store answers 503 with `Retry-After`.

mod body;

pub use body::parse_events;

use super::router::json_bytes_response;
use super::{Request, Response, error};
use crate::event::{encode_envelope, json, new_id, now_ms};
use crate::metrics::Metrics;
use crate::store::{Enqueued, OutboxItem, Store, StoreError};
use hyper::StatusCode;

/// Events one request may carry, at most.
pub const MAX_BATCH: usize = 1000;

/// What the route needs.
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

#[cfg(test)]
mod tests {
    use super::*;

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
