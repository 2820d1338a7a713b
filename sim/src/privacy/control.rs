//! The privacy simulator's control API: `GET /sim/state`, `POST /sim/config` (the test
//! switches and the account) and `POST /sim/call` (a phone call through a binding, which
//! queues the call-start and CDR callbacks).

use super::Sim;
use super::calls::{self, Ask, DEFAULT_RECORDING_BYTES, MAX_RECORDING_BYTES};
use crate::server::{Request, Response, error, ok_json};
use crate::util::random_hex;
use hyper::StatusCode;
use hyper::header::HOST;
use serde_json::{Value, json};

/// A JSON field as text (a number written out).
fn text(body: &Value, key: &str) -> Option<String> {
    match body.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl Sim {
    /// `GET /sim/state`.
    pub fn state(&self) -> Value {
        let now = self.now_ms();
        let (attempts, answered, waiting) = self.poster.counts();
        let inner = self.lock();
        let bindings: Vec<Value> = inner.platform.bindings.iter().map(|b| b.to_json(now)).collect();
        let r = &inner.requests;
        let s = &inner.switches;
        json!({
            "now_ms": now,
            "bindings": bindings,
            "requests": {"bind_axb": r.bind_axb, "release_axb": r.release_axb, "bind_xa": r.bind_xa,
                "release_xa": r.release_xa, "account": r.account, "unmapped": r.unmapped,
                "unauthorized": r.unauthorized, "dropped": r.dropped, "slowed": r.slowed},
            "callbacks": {"attempts": attempts, "answered": answered, "waiting": waiting},
            "config": {"slow_ms": s.slow_ms, "slow_next": s.slow_next, "drop_next": s.drop_next,
                "fail_next": s.fail_next, "fail_code": s.fail_code, "clock_skew_secs": s.skew_ms / 1000},
            "account": inner.platform.account_status(),
            "calls": inner.calls,
        })
    }

    pub fn control(&self, req: &Request) -> Response {
        let body: Value = serde_json::from_slice(req.body()).unwrap_or(Value::Null);
        match req.uri().path() {
            "/sim/config" => {
                self.configure(&body);
                ok_json(&self.state())
            }
            "/sim/call" => {
                let host = req.headers().get(HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1").to_string();
                match self.place_call(&body, &host) {
                    Ok(v) => ok_json(&v),
                    Err((status, code, why)) => error(status, code, &why),
                }
            }
            _ => error(StatusCode::NOT_FOUND, "not_found", "no such control"),
        }
    }

    fn configure(&self, body: &Value) {
        let mut inner = self.lock();
        let u = |k: &str| body.get(k).and_then(Value::as_u64);
        let s = &mut inner.switches;
        if let Some(v) = u("slow_ms") {
            s.slow_ms = v;
        }
        if let Some(v) = u("slow_next") {
            s.slow_next = v;
        }
        if let Some(v) = u("drop_next") {
            s.drop_next = v;
        }
        if let Some(v) = u("fail_next") {
            s.fail_next = v;
        }
        if let Some(v) = u("busy_recordings") {
            s.busy_recordings = v;
        }
        if let Some(v) = u("fail_code").and_then(|c| u32::try_from(c).ok()) {
            s.fail_code = v;
        }
        if let Some(v) = body.get("clock_skew_secs").and_then(Value::as_i64) {
            s.skew_ms = v.saturating_mul(1000);
        }
        let a = &mut inner.platform.account;
        if let Some(v) = body.get("balance").and_then(Value::as_f64) {
            a.balance = v;
        }
        if let Some(v) = body.get("overdraft").and_then(Value::as_f64) {
            a.overdraft = v;
        }
        if let Some(v) = u("account_state").and_then(|c| u32::try_from(c).ok()) {
            a.state = v;
        }
    }

    /// `POST /sim/call`: finds the binding through `x` and the caller, queues the call-start
    /// then the CDR callback, and answers `{"taskid","subid","callee","recording_url",
    /// "recording_sha256","callbacks"}`.
    fn place_call(&self, body: &Value, host: &str) -> Result<Value, (StatusCode, &'static str, String)> {
        let (Some(x), Some(caller)) = (text(body, "x"), text(body, "caller")) else {
            return Err((StatusCode::BAD_REQUEST, "bad_request", "x and caller are required".into()));
        };
        let result = text(body, "result").unwrap_or_else(|| "answered".into());
        let answered = result == "answered";
        let ask = Ask {
            caller,
            duration: body.get("duration").and_then(Value::as_i64).unwrap_or(if answered { 30 } else { 0 }),
            result,
            recording: body.get("recording").and_then(Value::as_bool),
            releasedir: text(body, "releasedir"),
        };
        let json = body.get("json").and_then(Value::as_bool).unwrap_or(self.opts.json_callbacks);
        let size = body.get("recording_bytes").and_then(Value::as_u64).unwrap_or(DEFAULT_RECORDING_BYTES);
        let now_s = self.now_ms().div_euclid(1000);
        let taskid = random_hex::<8>();
        let (call, recording) = {
            let mut inner = self.lock();
            let Some((i, callee)) = inner.platform.route(&x, &ask.caller, now_s * 1000) else {
                let why = format!("no active binding routes {} to {x}", ask.caller);
                return Err((StatusCode::NOT_FOUND, "no_binding", why));
            };
            let b = inner.platform.bindings[i].clone();
            let recording = calls::recorded(&b, &ask).then(|| {
                let size = size.min(MAX_RECORDING_BYTES);
                inner.recordings.insert(taskid.clone(), size);
                let url = format!("http://{host}/sim/recordings/{taskid}.wav");
                (url, calls::sha256_hex(&calls::recording(&taskid, size)))
            });
            inner.calls += 1;
            let (devid, appid) = (inner.platform.account.devid.clone(), inner.platform.account.appid.clone());
            let url = recording.as_ref().map(|r| r.0.clone());
            (calls::call(&devid, &appid, &b, &callee, &ask, &taskid, now_s, url), recording)
        };
        let mut queued = 0;
        if let Some(url) = &self.opts.call_start_url {
            self.poster.post(url, &call.call_start(), json);
            queued += 1;
        }
        if let Some(url) = &self.opts.cdr_url {
            self.poster.post(url, &call.cdr(), json);
            queued += 1;
        }
        let (url, sha) = recording.unzip();
        Ok(json!({"taskid": taskid, "subid": call.subid, "callee": call.callee, "recording_url": url,
            "recording_sha256": sha, "callbacks": queued, "cdr": call.cdr().json(),
            "call_start": call.call_start().json()}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_fields_are_read_as_text_whether_strings_or_numbers() {
        let b = json!({"x": 17000000001u64, "result": "17", "caller": null});
        assert_eq!(text(&b, "x").as_deref(), Some("17000000001"));
        assert_eq!(text(&b, "result").as_deref(), Some("17"));
        assert_eq!(text(&b, "caller"), None);
    }
}
