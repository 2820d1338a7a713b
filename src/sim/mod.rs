//! Device and vendor simulators, run by the `telbridge-sim` binary: each serves the
//! vendor's API on loopback (or the LAN, for people trying telbridge without hardware)
//! and behaves as the spec digest says, crypto included. Tests drive them through a
//! small control API under `/sim/`.
//!
//! Common parts: [`Pusher`], a device-side queue that delivers pushes in order and
//! retries until the receiver answers 2xx (a real gateway buffers the same way).

pub mod fax;
pub mod goip;

use crate::http::client::{self, Url};
use serde_json::Value;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// Pushes waiting for delivery, in order.
#[derive(Clone, Default)]
pub struct Pusher {
    queue: Arc<Mutex<VecDeque<(String, Value)>>>,
    wake: Arc<Notify>,
    delivered: Arc<Mutex<u64>>,
}

impl Pusher {
    pub fn push(&self, url: String, body: Value) {
        self.queue.lock().unwrap_or_else(|e| e.into_inner()).push_back((url, body));
        self.wake.notify_one();
    }

    /// Pushes waiting, and delivered so far.
    pub fn counts(&self) -> (usize, u64) {
        let q = self.queue.lock().unwrap_or_else(|e| e.into_inner()).len();
        (q, *self.delivered.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Delivers forever: the head is retried every second until it gets a 2xx.
    pub async fn run(self) {
        loop {
            let head = self.queue.lock().unwrap_or_else(|e| e.into_inner()).front().cloned();
            let Some((url, body)) = head else {
                self.wake.notified().await;
                continue;
            };
            let ok = match Url::parse(&url) {
                Err(e) => {
                    log::warn!("dropping push to a bad url: {e}");
                    true
                }
                Ok(u) => {
                    let bytes = body.to_string().into_bytes();
                    let ct = Some("application/json;charset=utf-8");
                    let sent =
                        client::send(&u, hyper::Method::POST, &u.target, ct, Some(bytes), Duration::from_secs(5));
                    match sent.await {
                        Ok(r) if (200..300).contains(&r.status) => true,
                        Ok(r) => {
                            log::info!("push to {url} answered {}: {}", r.status, String::from_utf8_lossy(&r.body));
                            // A refusal (4xx) is final; a 5xx is retried like a network error.
                            r.status < 500
                        }
                        Err(e) => {
                            log::debug!("push to {url} failed: {e}");
                            false
                        }
                    }
                }
            };
            if ok {
                self.queue.lock().unwrap_or_else(|e| e.into_inner()).pop_front();
                *self.delivered.lock().unwrap_or_else(|e| e.into_inner()) += 1;
            } else {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}
