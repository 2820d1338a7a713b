//! The platform's notifications to the customer's URL (seed §17–§19, §21–§23, §25; digest
//! "Notifications"): a POSTed JSON `{"authentication": {customer, digest, seq, timestamp},
//! "notify": {…}, "param": {"debug": false, "lang": "en_US"}}`, signed like a request
//! (`md5hex(customer@timestamp@seq@apikey)`) with a fresh `seq` and the sim's clock. The
//! seed's reply section is `{"result": {"error": "", "msg": ""}}`; a notification counts as
//! delivered when the answer is HTTP 200 with JSON `result.error` 0 (number or `"0"`).
//! Otherwise it is retried every `--notify-retry-ms` with the SAME seq and timestamp (the
//! same bytes), up to 100 tries; notifications go out one at a time, in order.

use super::auth::digest;
use crate::push::{Reply, request};
use hyper::Method;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::Notify;

/// Tries of one notification before the sim gives up on it.
pub const MAX_TRIES: u32 = 100;

/// How one notification is signed and stamped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    pub customer: String,
    pub seq: String,
    pub timestamp: String,
    pub digest: String,
}

impl Stamp {
    /// A correct stamp for `customer`/`apikey`.
    pub fn signed(customer: &str, apikey: &str, seq: u64, timestamp_ms: i64) -> Stamp {
        let (seq, timestamp) = (seq.to_string(), timestamp_ms.to_string());
        let digest = digest(customer, &timestamp, &seq, apikey);
        Stamp { customer: customer.into(), seq, timestamp, digest }
    }

    /// The whole body. `seq` and `timestamp` are strings, as in the seed's examples
    /// (`"seq": "5271"`, `"timestamp": "1471918933001"`).
    pub fn body(&self, notify: &Value) -> Value {
        json!({"authentication": {"customer": self.customer, "digest": self.digest, "seq": self.seq,
            "timestamp": self.timestamp}, "notify": notify, "param": {"debug": false, "lang": "en_US"}})
    }
}

/// Whether an answer takes the notification: HTTP 200 and `result.error` 0.
pub fn accepted(reply: &Reply) -> bool {
    let body = reply.json();
    let error = &body["result"]["error"];
    reply.status == 200 && (error.as_i64() == Some(0) || error.as_str() == Some("0"))
}

/// One notification as `/sim/state` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub kind: String,
    pub seq: String,
    pub timestamp: String,
    pub url: Option<String>,
    pub delivered: bool,
    pub tries: u32,
    pub gave_up: bool,
}

struct Item {
    index: usize,
    url: String,
    body: Vec<u8>,
}

/// The notification queue and its log.
#[derive(Clone)]
pub struct Notifier {
    queue: Arc<Mutex<VecDeque<Item>>>,
    log: Arc<Mutex<Vec<Entry>>>,
    wake: Arc<Notify>,
    next_seq: Arc<Mutex<u64>>,
    retry: Duration,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Notifier {
    /// Sequence numbers start at `first_seq` (the sim passes its start time in ms, so a
    /// restarted sim does not repeat an earlier one's).
    pub fn new(retry: Duration, first_seq: u64) -> Notifier {
        Notifier {
            queue: Arc::default(),
            log: Arc::default(),
            wake: Arc::default(),
            next_seq: Arc::new(Mutex::new(first_seq)),
            retry: retry.max(Duration::from_millis(1)),
        }
    }

    /// A fresh `seq`.
    pub fn seq(&self) -> u64 {
        let mut n = lock(&self.next_seq);
        *n += 1;
        *n
    }

    /// Logs a notification; queues it when there is a URL. → its stamp.
    pub fn send(&self, url: Option<&str>, stamp: Stamp, notify: &Value) -> Stamp {
        let kind = notify.get("type").and_then(Value::as_str).unwrap_or("").to_string();
        let index = {
            let mut log = lock(&self.log);
            log.push(Entry {
                kind,
                seq: stamp.seq.clone(),
                timestamp: stamp.timestamp.clone(),
                url: url.map(str::to_string),
                delivered: false,
                tries: 0,
                gave_up: false,
            });
            log.len() - 1
        };
        if let Some(url) = url {
            let body = stamp.body(notify).to_string().into_bytes();
            lock(&self.queue).push_back(Item { index, url: url.into(), body });
            self.wake.notify_one();
        } else {
            log::info!("no notify URL: notification {} not sent", stamp.seq);
        }
        stamp
    }

    /// Logs a notification sent by `/sim/notify` (not queued).
    pub fn record(&self, entry: Entry) {
        lock(&self.log).push(entry);
    }

    /// The log, oldest first.
    pub fn entries(&self) -> Vec<Entry> {
        lock(&self.log).clone()
    }

    /// Delivers forever: the head is retried until taken or tried [`MAX_TRIES`] times.
    pub async fn run(self) {
        loop {
            let head = lock(&self.queue).front().map(|i| (i.index, i.url.clone(), i.body.clone()));
            let Some((index, url, body)) = head else {
                self.wake.notified().await;
                continue;
            };
            let headers = [("content-type", "application/json")];
            let sent = request(&url, Method::POST, &headers, body, Duration::from_secs(5)).await;
            let taken = match &sent {
                Ok(r) if accepted(r) => true,
                Ok(r) => {
                    log::info!("notification to {url} answered {}: {}", r.status, String::from_utf8_lossy(&r.body));
                    false
                }
                Err(e) => {
                    log::debug!("notification to {url} failed: {e}");
                    false
                }
            };
            let tries = {
                let mut log = lock(&self.log);
                let Some(e) = log.get_mut(index) else {
                    lock(&self.queue).pop_front();
                    continue;
                };
                e.tries += 1;
                e.delivered = taken;
                e.gave_up =
                    !taken && (e.tries >= MAX_TRIES || sent.as_ref().is_err_and(|e| e.starts_with("not an http")));
                if taken || e.gave_up {
                    lock(&self.queue).pop_front();
                    if e.gave_up {
                        log::warn!("giving up notification {} after {} tries", e.seq, e.tries);
                    }
                }
                e.tries
            };
            if !taken && tries < MAX_TRIES {
                tokio::time::sleep(self.retry).await;
            }
        }
    }
}

/// Posts `body` to `url` once → `{"status", "body"}` (`body` parsed when JSON), or
/// `{"status": 0, "error"}` when nothing came back.
pub async fn post_once(url: &str, body: &Value) -> (Value, bool) {
    let headers = [("content-type", "application/json")];
    match request(url, Method::POST, &headers, body.to_string().into_bytes(), Duration::from_secs(5)).await {
        Ok(r) => {
            let parsed = serde_json::from_slice::<Value>(&r.body)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&r.body).into_owned()));
            (json!({"status": r.status, "body": parsed}), accepted(&r))
        }
        Err(e) => (json!({"status": 0, "error": e}), false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::HeaderMap;

    #[test]
    fn stamps_are_signed_like_requests_and_answers_judged() {
        let s = Stamp::signed("C2", "E416D0F85DC0CB67C85E070A32D9F0123AFF4762", 5271, 1_471_918_933_001);
        assert_eq!(s.digest, "ae62e11cab746436b64a26f4ed8e41a3");
        let b = s.body(&json!({"type": "callstart"}));
        assert_eq!((b["authentication"]["seq"].as_str(), b["param"]["debug"].as_bool()), (Some("5271"), Some(false)));
        let reply = |status, body: &str| Reply { status, headers: HeaderMap::new(), body: body.as_bytes().to_vec() };
        assert!(accepted(&reply(200, r#"{"result":{"error":0,"msg":""}}"#)));
        assert!(accepted(&reply(200, r#"{"result":{"error":"0"}}"#)));
        assert!(!accepted(&reply(200, r#"{"result":{"error":1}}"#)));
        assert!(!accepted(&reply(500, r#"{"result":{"error":0}}"#)));
        assert!(!accepted(&reply(200, "ok")));
        let n = Notifier::new(Duration::from_millis(1), 10);
        assert_eq!((n.seq(), n.seq()), (11, 12));
    }
}
