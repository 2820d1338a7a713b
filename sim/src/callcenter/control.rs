//! The call-center simulator's control API (not the vendor's): `GET /sim/state`,
//! `POST /sim/config` (test switches and settings), `POST /sim/cdr` (CDRs and recordings
//! without a call or notifications) and `POST /sim/notify` (one notification sent at once,
//! possibly forged, stale or repeated, with the receiver's answers).

use super::Sim;
use super::auth::text;
use super::notify::{Entry, Stamp, post_once};
use super::state::{Finished, agent_phone};
use super::times;
use crate::server::{Request, Response, error, ok_json};
use hyper::StatusCode;
use serde_json::{Value, json};

/// A JSON field as text (a number written out).
fn field(body: &Value, key: &str) -> Option<String> {
    text(body.get(key)).and_then(Result::ok)
}

impl Sim {
    /// `GET /sim/state`.
    pub fn state(&self) -> Value {
        let now = self.now_ms();
        let notifications: Vec<Value> = self
            .notifier
            .entries()
            .into_iter()
            .map(|e| {
                json!({"type": e.kind, "seq": e.seq, "timestamp": e.timestamp, "url": e.url,
                    "delivered": e.delivered, "tries": e.tries, "gave_up": e.gave_up})
            })
            .collect();
        let inner = self.lock();
        let mut state = inner.platform.summary();
        let s = &inner.switches;
        let p = &inner.platform;
        state["notifications"] = Value::Array(notifications);
        state["now_ms"] = json!(now);
        state["config"] = json!({"drop_next": s.drop_next, "fail_next": s.fail_next, "dropped": s.dropped,
            "failed": s.failed, "clock_skew_secs": s.skew_ms / 1000, "max_skew_secs": s.max_skew_ms / 1000,
            "call_ms": s.call_ms, "notify_url": s.notify_url, "records_page": p.records_page,
            "cdr_page": p.cdr_page, "recording_bytes": p.recording_bytes});
        state
    }

    pub fn control(&self, req: &Request) -> Response {
        let body: Value = serde_json::from_slice(req.body()).unwrap_or(Value::Null);
        match req.uri().path() {
            "/sim/config" => {
                self.configure(&body);
                ok_json(&self.state())
            }
            "/sim/cdr" => match self.add_cdrs(&body) {
                Ok(v) => ok_json(&v),
                Err(why) => error(StatusCode::BAD_REQUEST, "bad_request", &why),
            },
            _ => error(StatusCode::NOT_FOUND, "not_found", "no such control"),
        }
    }

    fn configure(&self, body: &Value) {
        let mut inner = self.lock();
        let u = |k: &str| body.get(k).and_then(Value::as_u64);
        let s = &mut inner.switches;
        if let Some(v) = u("drop_next") {
            s.drop_next = v;
            s.drop_api = body.get("drop_api").and_then(Value::as_str).map(str::to_string);
        }
        if let Some(v) = u("fail_next") {
            s.fail_next = v;
        }
        if let Some(v) = body.get("clock_skew_secs").and_then(Value::as_i64) {
            s.skew_ms = v.saturating_mul(1000);
        }
        if let Some(v) = u("max_skew_secs") {
            s.max_skew_ms = i64::try_from(v.saturating_mul(1000)).unwrap_or(i64::MAX);
        }
        if let Some(v) = u("call_ms") {
            s.call_ms = v;
        }
        match body.get("notify_url") {
            Some(Value::String(url)) => s.notify_url = Some(url.clone()),
            Some(Value::Null) => s.notify_url = None,
            _ => {}
        }
        let p = &mut inner.platform;
        if let Some(v) = u("records_page").and_then(|v| usize::try_from(v).ok()) {
            p.records_page = v.max(1);
        }
        if let Some(v) = u("cdr_page").and_then(|v| usize::try_from(v).ok()) {
            p.cdr_page = v;
        }
        if let Some(v) = u("recording_bytes") {
            p.recording_bytes = v;
        }
    }

    /// `POST /sim/cdr {"count", "agent"?, "caller"?, "callee"?, "startTime"? (yyyy-MM-dd
    /// HH:mm:ss or epoch seconds), "timeLength"?, "record"?}` → `{"cdr_keys",
    /// "record_keys", "filenames"}`.
    fn add_cdrs(&self, body: &Value) -> Result<Value, String> {
        let count = body.get("count").and_then(Value::as_u64).unwrap_or(1);
        if count > 100_000 {
            return Err("count: at most 100000".into());
        }
        let agent = field(body, "agent").unwrap_or_else(|| "1000".into());
        let start_s = match field(body, "startTime") {
            None => self.now_ms().div_euclid(1000),
            Some(t) => match t.parse::<i64>() {
                Ok(secs) => secs,
                Err(_) => {
                    times::parse_datetime(&t).ok_or(format!("startTime {t:?}: yyyy-MM-dd HH:mm:ss or seconds"))?
                }
            },
        };
        let talk_s = body.get("timeLength").and_then(Value::as_i64).unwrap_or(30).max(0);
        let record = body.get("record").and_then(Value::as_bool).unwrap_or(true);
        let caller = field(body, "caller").unwrap_or_else(|| agent_phone(&agent));
        let callee = field(body, "callee").unwrap_or_else(|| "13800138000".into());
        let (mut cdr_keys, mut record_keys, mut filenames) = (Vec::new(), Vec::new(), Vec::new());
        let mut inner = self.lock();
        for _ in 0..count {
            let f = Finished {
                agent: agent.clone(),
                caller: caller.clone(),
                callee: callee.clone(),
                start_s,
                talk_s,
                record,
            };
            let (cdr, rec) = inner.platform.store(f);
            cdr_keys.push(cdr.key.to_string());
            if let Some(r) = rec {
                record_keys.push(r.key.to_string());
                filenames.push(r.filename);
            }
        }
        Ok(json!({"cdr_keys": cdr_keys, "record_keys": record_keys, "filenames": filenames}))
    }

    /// `POST /sim/notify {"notify", "url"?, "repeat"?, "digest"?, "timestamp_offset_ms"?,
    /// "customer"?, "seq"?}`: sends the notification `repeat` times (same seq and timestamp),
    /// no retries → `{"seq", "timestamp", "digest", "answers": [{"status", "body"}, …]}`.
    pub async fn forge(&self, req: &Request) -> Response {
        let body: Value = serde_json::from_slice(req.body()).unwrap_or(Value::Null);
        let Some(notify) = body.get("notify").filter(|n| n.is_object()) else {
            return error(StatusCode::BAD_REQUEST, "bad_request", "notify (an object) is required");
        };
        let (url, customer, apikey) = {
            let inner = self.lock();
            let url = field(&body, "url").or_else(|| inner.switches.notify_url.clone());
            (url, inner.platform.customer.clone(), inner.platform.apikey.clone())
        };
        let Some(url) = url else {
            return error(StatusCode::CONFLICT, "no_url", "no url given and no --notify-url configured");
        };
        let customer = field(&body, "customer").unwrap_or(customer);
        let seq = body.get("seq").and_then(Value::as_u64).unwrap_or_else(|| self.notifier.seq());
        let offset = body.get("timestamp_offset_ms").and_then(Value::as_i64).unwrap_or(0);
        let mut stamp = Stamp::signed(&customer, &apikey, seq, self.now_ms() + offset);
        if let Some(d) = field(&body, "digest") {
            stamp.digest = d;
        }
        let repeat = body.get("repeat").and_then(Value::as_u64).unwrap_or(1).clamp(1, 100);
        let full = stamp.body(notify);
        let mut answers = Vec::new();
        let mut delivered = false;
        for _ in 0..repeat {
            let (answer, ok) = post_once(&url, &full).await;
            delivered |= ok;
            answers.push(answer);
        }
        self.notifier.record(Entry {
            kind: notify.get("type").and_then(Value::as_str).unwrap_or("").to_string(),
            seq: stamp.seq.clone(),
            timestamp: stamp.timestamp.clone(),
            url: Some(url),
            delivered,
            tries: u32::try_from(repeat).unwrap_or(u32::MAX),
            gave_up: false,
        });
        ok_json(&json!({"seq": stamp.seq, "timestamp": stamp.timestamp, "digest": stamp.digest, "answers": answers}))
    }
}
