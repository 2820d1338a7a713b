//! The platform's callbacks to the customer's URLs (seed section 5): the CDR (5.1,
//! lines 238-257) and the call start (5.3, lines 311-324), each as a form body (the
//! default, "按 application/x-www-form-urlencoded 提交参数") or as JSON ("json 格式需联系运维
//! 配置"), and the queue that POSTs them in order, each retried until it is answered.
//!
//! Retries: the seed says nothing about the answer it expects from the customer's URL, nor
//! whether or how often it retries. The sim retries every `--callback-retry-ms` until the
//! receiver answers HTTP **200** (any body; any other status or a network error is retried),
//! so an agent that answers 200 only after it has stored the callback loses nothing.
//!
//! Vendor extras: both tables end with "其它参数 否 具体业务相关" (lines 257 and 324, other
//! parameters, business-specific). The sim adds two such fields to every callback:
//! `bindtype` (`axb` or `xa`) and `calldisplay` (the number the callee's phone showed, from
//! the binding's `display`), so an agent's "keep unknown fields" rule can be tested.

use hyper::Method;
use serde_json::{Map, Value};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::Notify;

/// A field's value: the seed's tables type each field `string` or `integer`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Val {
    Text(String),
    Int(i64),
}

/// One callback's fields, in the seed's table order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Fields(pub Vec<(String, Val)>);

/// Percent-encodes like Java's `URLEncoder.encode(s, "UTF-8")` (the seed's sample code is
/// Java): `A-Z a-z 0-9 . - * _` kept, space `+`, every other byte `%XX`.
pub fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'*' | b'_' => out.push(char::from(b)),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

impl Fields {
    fn text(&mut self, k: &str, v: &str) {
        self.0.push((k.into(), Val::Text(v.into())));
    }

    fn int(&mut self, k: &str, v: i64) {
        self.0.push((k.into(), Val::Int(v)));
    }

    /// `name=value&…` in order (UTF-8).
    pub fn form(&self) -> String {
        let pairs: Vec<String> = self
            .0
            .iter()
            .map(|(k, v)| match v {
                Val::Text(s) => format!("{}={}", url_encode(k), url_encode(s)),
                Val::Int(n) => format!("{}={n}", url_encode(k)),
            })
            .collect();
        pairs.join("&")
    }

    /// A JSON object: `integer` fields as numbers, `string` fields as strings.
    pub fn json(&self) -> Value {
        let map: Map<String, Value> = self
            .0
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    Val::Text(s) => Value::String(s.clone()),
                    Val::Int(n) => Value::from(*n),
                };
                (k.clone(), v)
            })
            .collect();
        Value::Object(map)
    }
}

/// One simulated call, everything both callbacks say about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub devid: String,
    pub appid: String,
    pub taskid: String,
    pub subid: String,
    pub caller: String,
    /// The X number.
    pub rcaller: String,
    pub callee: String,
    /// `answered` or a cause of the 5.2 table.
    pub result: String,
    /// Epoch seconds.
    pub begin: i64,
    pub ring: Option<i64>,
    pub answer: Option<i64>,
    pub release: i64,
    pub duration: i64,
    pub recording: Option<String>,
    pub user_data: Option<String>,
    /// "1 表示主叫， 2 表示被叫， 0 表示平台释放" (line 256), a `string`.
    pub releasedir: String,
    /// Vendor extras, after the seed's fields.
    pub extras: Vec<(String, String)>,
}

impl Call {
    /// Seed 5.1, in its table's order. `ringTime`, `answerTime`, `recording` and
    /// `userData` (all "否") are left out when there is none; `duration` ("缺省 0") and
    /// `releaseTime` always come.
    pub fn cdr(&self) -> Fields {
        let mut f = self.head();
        f.text("result", &self.result);
        f.int("beginTime", self.begin);
        if let Some(t) = self.ring {
            f.int("ringTime", t);
        }
        if let Some(t) = self.answer {
            f.int("answerTime", t);
        }
        f.int("releaseTime", self.release);
        f.int("duration", self.duration);
        if let Some(r) = &self.recording {
            f.text("recording", r);
        }
        if let Some(u) = &self.user_data {
            f.text("userData", u);
        }
        f.text("releasedir", &self.releasedir);
        self.tail(f)
    }

    /// Seed 5.3: `callTime` is the call's begin; `smsContent` ("短信内容", 否) is left out
    /// (a call carries no SMS).
    pub fn call_start(&self) -> Fields {
        let mut f = self.head();
        f.int("callTime", self.begin);
        if let Some(u) = &self.user_data {
            f.text("userData", u);
        }
        self.tail(f)
    }

    fn head(&self) -> Fields {
        let mut f = Fields::default();
        for (k, v) in [
            ("devid", &self.devid),
            ("appid", &self.appid),
            ("taskid", &self.taskid),
            ("subid", &self.subid),
            ("caller", &self.caller),
            ("rcaller", &self.rcaller),
            ("callee", &self.callee),
        ] {
            f.text(k, v);
        }
        f
    }

    fn tail(&self, mut f: Fields) -> Fields {
        for (k, v) in &self.extras {
            f.text(k, v);
        }
        f
    }
}

/// A body as sent: form by default, JSON when configured.
pub fn encode(fields: &Fields, json: bool) -> (&'static str, Vec<u8>) {
    if json {
        ("application/json;charset=utf-8", fields.json().to_string().into_bytes())
    } else {
        ("application/x-www-form-urlencoded", fields.form().into_bytes())
    }
}

struct Item {
    url: String,
    content_type: &'static str,
    body: Vec<u8>,
}

/// The callbacks waiting, delivered in order (a call's start before its CDR).
#[derive(Clone)]
pub struct Poster {
    queue: Arc<Mutex<VecDeque<Item>>>,
    wake: Arc<Notify>,
    attempts: Arc<AtomicUsize>,
    answered: Arc<AtomicUsize>,
    retry: Duration,
}

impl Poster {
    pub fn new(retry: Duration) -> Poster {
        Poster {
            queue: Arc::default(),
            wake: Arc::default(),
            attempts: Arc::default(),
            answered: Arc::default(),
            retry: retry.max(Duration::from_millis(1)),
        }
    }

    fn queue(&self) -> MutexGuard<'_, VecDeque<Item>> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `fields` for `url`.
    pub fn post(&self, url: &str, fields: &Fields, json: bool) {
        let (content_type, body) = encode(fields, json);
        self.queue().push_back(Item { url: url.into(), content_type, body });
        self.wake.notify_one();
    }

    /// (attempts, answered with 200, waiting).
    pub fn counts(&self) -> (usize, usize, usize) {
        (self.attempts.load(Ordering::Relaxed), self.answered.load(Ordering::Relaxed), self.queue().len())
    }

    /// Delivers forever: the head is retried until it is answered 200.
    pub async fn run(self) {
        loop {
            let head = self.queue().front().map(|i| (i.url.clone(), i.content_type, i.body.clone()));
            let Some((url, content_type, body)) = head else {
                self.wake.notified().await;
                continue;
            };
            self.attempts.fetch_add(1, Ordering::Relaxed);
            let headers = [("content-type", content_type)];
            let sent = crate::push::request(&url, Method::POST, &headers, body, Duration::from_secs(5)).await;
            match sent {
                Ok(r) if r.status == 200 => {
                    self.queue().pop_front();
                    self.answered.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                Ok(r) => log::info!("callback to {url} answered {}; retrying", r.status),
                Err(e) if e.starts_with("not an http") => {
                    log::warn!("dropping a callback: {e}");
                    self.queue().pop_front();
                    continue;
                }
                Err(e) => log::debug!("callback to {url} failed: {e}"),
            }
            tokio::time::sleep(self.retry).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call() -> Call {
        Call {
            devid: "10000000".into(),
            appid: "app1".into(),
            taskid: "t1".into(),
            subid: "s1".into(),
            caller: "13800000001".into(),
            rcaller: "17000000001".into(),
            callee: "13900000002".into(),
            result: "answered".into(),
            begin: 1_700_000_000,
            ring: Some(1_700_000_002),
            answer: Some(1_700_000_005),
            release: 1_700_000_035,
            duration: 30,
            recording: Some("http://h/sim/recordings/t1.wav".into()),
            user_data: Some("5L2g+5aW9/=".into()),
            releasedir: "1".into(),
            extras: vec![("bindtype".into(), "axb".into()), ("calldisplay".into(), "17000000001".into())],
        }
    }

    fn decoded_form(body: &str) -> Value {
        let map: Map<String, Value> = body
            .split('&')
            .map(|p| p.split_once('=').unwrap_or((p, "")))
            .map(|(k, v)| (crate::server::percent_decode(k), Value::String(crate::server::percent_decode(v))))
            .collect();
        Value::Object(map)
    }

    /// JSON with every value written as text, as a form carries it.
    fn as_text(v: &Value) -> Value {
        let map = v.as_object().cloned().unwrap_or_default();
        Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, Value::String(v.as_str().map_or_else(|| v.to_string(), str::to_string))))
                .collect(),
        )
    }

    #[test]
    fn callback_form_and_json_carry_the_same_fields() {
        for fields in [call().cdr(), call().call_start()] {
            assert_eq!(decoded_form(&fields.form()), as_text(&fields.json()));
        }
        let cdr = call().cdr().json();
        let names: Vec<&str> = cdr.as_object().map(|m| m.keys().map(String::as_str).collect()).unwrap_or_default();
        for name in [
            "devid",
            "appid",
            "taskid",
            "subid",
            "caller",
            "rcaller",
            "callee",
            "result",
            "beginTime",
            "ringTime",
            "answerTime",
            "releaseTime",
            "duration",
            "recording",
            "userData",
            "releasedir",
            "bindtype",
        ] {
            assert!(names.contains(&name), "{name}");
        }
        assert_eq!((cdr["beginTime"].as_i64(), cdr["releasedir"].as_str()), (Some(1_700_000_000), Some("1")));
    }

    #[test]
    fn the_form_body_keeps_the_seeds_order_and_escapes_user_data() {
        let form = call().call_start().form();
        assert_eq!(
            form,
            "devid=10000000&appid=app1&taskid=t1&subid=s1&caller=13800000001&rcaller=17000000001&\
             callee=13900000002&callTime=1700000000&userData=5L2g%2B5aW9%2F%3D&bindtype=axb&calldisplay=17000000001"
        );
        assert_eq!(url_encode("a b~*é"), "a+b%7E*%C3%A9");
    }

    #[test]
    fn an_unanswered_cdr_has_no_answer_time_or_recording() {
        let c = Call {
            result: "17".into(),
            ring: None,
            answer: None,
            duration: 0,
            recording: None,
            user_data: None,
            ..call()
        };
        let j = c.cdr().json();
        assert!(j.get("answerTime").is_none() && j.get("ringTime").is_none() && j.get("recording").is_none());
        assert!(j.get("userData").is_none());
        assert_eq!((j["result"].as_str(), j["duration"].as_i64()), (Some("17"), Some(0)));
    }
}
