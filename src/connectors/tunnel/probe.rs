//! The end-to-end probe: every `probe_secs` (and as soon as the transport comes up) the
//! agent chooses a random nonce, requests `{public_url}/_probe/{nonce}` — from the outside
//! in, through the tunnel — and counts the tunnel up only when the callback listener's
//! answer, the nonce itself, comes back. The listener answers `/_probe/…` only for a nonce
//! the agent is waiting for (404 otherwise), so nothing else can pass for the agent.

use super::Tunnel;
use crate::config::TunnelConfig;
use crate::http::client::{Client, Reach, Url};
use crate::http::{Router, error, text_response};
use hyper::{Method, StatusCode};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

const PREFIX: &str = "/_probe/";
/// Nonces waited for at once, at most (the oldest is forgotten).
const PENDING: usize = 4;

/// The nonces the agent waits for, and the client that asks for them.
pub struct Probes {
    pending: Mutex<Vec<(String, Instant)>>,
    client: Client,
    timeout: Duration,
}

impl Probes {
    pub fn new(cfg: &TunnelConfig) -> anyhow::Result<Probes> {
        Ok(Probes {
            pending: Mutex::new(Vec::new()),
            client: Client::new(Reach::Internet, ""),
            timeout: Duration::from_millis(cfg.probe_timeout_ms),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(String, Instant)>> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A fresh nonce, waited for until [`Probes::done`].
    fn start(&self) -> String {
        let nonce = crate::event::random_hex::<16>();
        let mut p = self.lock();
        if p.len() >= PENDING {
            p.remove(0);
        }
        p.push((nonce.clone(), Instant::now()));
        nonce
    }

    fn done(&self, nonce: &str) {
        self.lock().retain(|(n, _)| n != nonce);
    }

    /// Whether `nonce` is one the agent waits for (and not older than the timeout).
    pub fn expects(&self, nonce: &str) -> bool {
        let limit = self.timeout + Duration::from_secs(1);
        self.lock().iter().any(|(n, at)| n.as_bytes() == nonce.as_bytes() && at.elapsed() <= limit)
    }

    /// One probe through `public_url`: the round trip, or why it failed.
    async fn probe(&self, public_url: &str) -> Result<Duration, String> {
        let nonce = self.start();
        let url = format!("{}{PREFIX}{nonce}", public_url.trim_end_matches('/'));
        let url = Url::parse(&url).map_err(|e| e.to_string());
        let started = Instant::now();
        let answer = match url {
            Ok(url) => self.client.get(&url, 256, self.timeout).await.map_err(|e| e.to_string()),
            Err(e) => Err(e),
        };
        self.done(&nonce);
        let reply = answer?;
        if reply.status != 200 {
            return Err(format!("{public_url} answered HTTP {} (not this agent's listener?)", reply.status));
        }
        if reply.body.as_ref() != nonce.as_bytes() {
            return Err(format!("{public_url} answered, but not with this agent's nonce"));
        }
        Ok(started.elapsed())
    }
}

/// `GET /_probe/{nonce}` on the callback listener.
pub fn route(t: Arc<Tunnel>, router: &mut Router) {
    router.prefix(Method::GET, PREFIX, move |req| {
        let t = t.clone();
        async move {
            let nonce = req.uri().path().strip_prefix(PREFIX).unwrap_or("");
            if t.probes.expects(nonce) {
                text_response(StatusCode::OK, "text/plain", nonce.to_string())
            } else {
                error(StatusCode::NOT_FOUND, "not_found", "no such path")
            }
        }
    });
}

/// Tries after the transport came up before the tunnel is called down: an external client
/// may take a moment to set up its forward (0.5, 1, 2, 4 s apart).
const SETTLE_TRIES: u32 = 5;

/// Until `stop`: a probe every `probe_secs`, and soon after the transport comes up.
pub async fn run(t: &Tunnel, stop: CancellationToken) -> anyhow::Result<()> {
    let every = Duration::from_secs(t.cfg.probe_secs);
    loop {
        let settling = tokio::select! {
            _ = stop.cancelled() => return Ok(()),
            _ = tokio::time::sleep(every) => false,
            _ = t.probe_now.notified() => true,
        };
        let tries = if settling { SETTLE_TRIES } else { 1 };
        for i in 0..tries {
            if settling {
                tokio::select! {
                    _ = stop.cancelled() => return Ok(()),
                    _ = tokio::time::sleep(Duration::from_millis(if i == 0 { 200 } else { 250 << i })) => {}
                }
            }
            let verdict = t.probes.probe(&t.cfg.public_url).await;
            if verdict.is_ok() || i + 1 == tries {
                t.probed(verdict).await;
                break;
            }
        }
    }
}
