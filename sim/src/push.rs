//! The device side of pushes: a queue delivered in order, the head retried every second
//! until the receiver answers 2xx (a 4xx is final, a 5xx or a network error is retried),
//! the way a gateway buffers its reports through a receiver's restart. Also the small
//! HTTP/1.1 client (ureq) the queue and the tests use.

use hyper::{HeaderMap, Method};
use serde_json::Value;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::Notify;

/// An answer to [`request`].
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// One HTTP/1.1 request (ureq, on the blocking pool), the whole exchange within
/// `timeout`; any status is an answer. Only `http://` (the simulators push over the LAN).
pub async fn request(
    url: &str,
    method: Method,
    headers: &[(&str, &str)],
    body: Vec<u8>,
    timeout: Duration,
) -> Result<Reply, String> {
    if !url.starts_with("http://") {
        return Err(format!("not an http:// url: {url:?}"));
    }
    let mut builder = hyper::Request::builder().method(method.clone()).uri(url);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let url = url.to_string();
    tokio::task::spawn_blocking(move || {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .proxy(None)
            .max_redirects(0)
            .max_idle_connections(0)
            .timeout_global(Some(timeout))
            .build();
        let agent = ureq::Agent::new_with_config(config);
        let sent = if body.is_empty() && method != Method::POST {
            builder.body(()).map_err(|e| format!("{url}: {e}")).and_then(|r| agent.run(r).map_err(|e| e.to_string()))
        } else {
            builder.body(body).map_err(|e| format!("{url}: {e}")).and_then(|r| agent.run(r).map_err(|e| e.to_string()))
        };
        let mut resp = sent.map_err(|e| format!("{url}: {e}"))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp
            .body_mut()
            .with_config()
            .limit(16 * 1024 * 1024)
            .read_to_vec()
            .map_err(|e| format!("reply body: {e}"))?;
        Ok(Reply { status, headers, body })
    })
    .await
    .map_err(|e| format!("request task: {e}"))?
}

/// Pushes waiting for delivery, in order, and the number delivered.
#[derive(Clone, Default)]
pub struct Pusher {
    /// Post form bodies (older firmware) instead of JSON.
    forms: bool,
    queue: Arc<Mutex<VecDeque<(String, Value)>>>,
    wake: Arc<Notify>,
    delivered: Arc<Mutex<u64>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A push as older firmware posts it: each top-level field a form key, a value that is not
/// a string written as JSON (`type=recv-sms&sms=[[…]]`).
pub fn form_body(body: &Value) -> String {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => char::from(b).to_string(),
                b' ' => "+".to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    let Some(map) = body.as_object() else { return String::new() };
    let pairs: Vec<String> = map
        .iter()
        .map(|(k, v)| {
            let text = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            format!("{}={}", enc(k), enc(&text))
        })
        .collect();
    pairs.join("&")
}

impl Pusher {
    /// Posts form bodies instead of JSON when `forms` is set.
    pub fn with_forms(mut self, forms: bool) -> Pusher {
        self.forms = forms;
        self
    }

    /// Queues a JSON body for `url`.
    pub fn push(&self, url: String, body: Value) {
        lock(&self.queue).push_back((url, body));
        self.wake.notify_one();
    }

    /// Pushes waiting, and delivered so far.
    pub fn counts(&self) -> (usize, u64) {
        (lock(&self.queue).len(), *lock(&self.delivered))
    }

    /// Delivers forever: the head is retried every second until it is taken.
    pub async fn run(self) {
        loop {
            let head = lock(&self.queue).front().cloned();
            let Some((url, body)) = head else {
                self.wake.notified().await;
                continue;
            };
            let (ct, bytes) = if self.forms {
                ("application/x-www-form-urlencoded", form_body(&body).into_bytes())
            } else {
                ("application/json;charset=utf-8", body.to_string().into_bytes())
            };
            let headers = [("content-type", ct)];
            let sent = request(&url, Method::POST, &headers, bytes, Duration::from_secs(5));
            let done = match sent.await {
                Ok(r) if (200..300).contains(&r.status) => true,
                Ok(r) => {
                    log::info!("push to {url} answered {}: {}", r.status, String::from_utf8_lossy(&r.body));
                    // A refusal (4xx) is final; a 5xx is retried like a network error.
                    r.status < 500
                }
                Err(e) if e.starts_with("not an http") || e.starts_with("no host") => {
                    log::warn!("dropping a push: {e}");
                    true
                }
                Err(e) => {
                    log::debug!("push to {url} failed: {e}");
                    false
                }
            };
            if done {
                lock(&self.queue).pop_front();
                *lock(&self.delivered) += 1;
            } else {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}
