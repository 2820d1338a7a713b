//! The device side of pushes: a queue delivered in order, the head retried every second
//! until the receiver answers 2xx (a 4xx is final, a 5xx or a network error is retried),
//! the way a gateway buffers its reports through a receiver's restart. Also the small
//! HTTP/1.1 client (hyper) the queue and the tests use.

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
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

/// `http://authority/target` split into the authority (`host:port`, port 80 added when
/// missing) for connecting, the authority as written (for `Host`), and the target.
pub fn split_url(url: &str) -> Result<(String, String, String), String> {
    let rest = url.strip_prefix("http://").ok_or_else(|| format!("not an http:// url: {url:?}"))?;
    let cut = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, target) = rest.split_at(cut);
    if authority.is_empty() {
        return Err(format!("no host in {url:?}"));
    }
    let target = if target.starts_with('?') {
        format!("/{target}")
    } else if target.is_empty() {
        "/".to_string()
    } else {
        target.to_string()
    };
    let has_port = authority.rsplit_once(':').is_some_and(|(_, p)| p.bytes().all(|b| b.is_ascii_digit()))
        && !authority.ends_with(']');
    let connect = if has_port { authority.to_string() } else { format!("{authority}:80") };
    Ok((connect, authority.to_string(), target))
}

/// One HTTP/1.1 request on a fresh connection, the whole exchange within `timeout`.
pub async fn request(
    url: &str,
    method: Method,
    headers: &[(&str, &str)],
    body: Vec<u8>,
    timeout: Duration,
) -> Result<Reply, String> {
    let (connect, host, target) = split_url(url)?;
    let exchange = async move {
        let stream = tokio::net::TcpStream::connect(&connect).await.map_err(|e| format!("connect {connect}: {e}"))?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                log::debug!("client connection: {e}");
            }
        });
        let mut builder = hyper::Request::builder().method(method).uri(target).header(hyper::header::HOST, host);
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let req = builder.body(Full::new(Bytes::from(body))).map_err(|e| format!("request: {e}"))?;
        let resp = sender.send_request(req).await.map_err(|e| format!("send: {e}"))?;
        let (parts, incoming) = resp.into_parts();
        let body = incoming.collect().await.map_err(|e| format!("reply body: {e}"))?.to_bytes().to_vec();
        Ok(Reply { status: parts.status.as_u16(), headers: parts.headers, body })
    };
    tokio::time::timeout(timeout, exchange).await.map_err(|_| format!("no answer within {timeout:?}"))?
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_connect_address_host_and_target() {
        let s = |u: &str| split_url(u).expect(u);
        assert_eq!(
            s("http://127.0.0.1:8080/a/b?x=1"),
            ("127.0.0.1:8080".into(), "127.0.0.1:8080".into(), "/a/b?x=1".into())
        );
        assert_eq!(s("http://example/"), ("example:80".into(), "example".into(), "/".into()));
        assert_eq!(s("http://h:1?q"), ("h:1".into(), "h:1".into(), "/?q".into()));
        assert!(split_url("https://h/").is_err());
        assert!(split_url("http:///x").is_err());
    }
}
