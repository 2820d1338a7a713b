//! Vendor callbacks: the rules every cloud vendor's callbacks follow, written once.
//!
//! A vendor account's callbacks arrive on the **callback listener** (`[callbacks]`, the one
//! the tunnel exposes; nothing else is served there) at `/{vendor}/{name}/{secret}/{kind}`,
//! by GET or POST. For every request, in this order:
//! 1. before the body is read: the secret path segment (compared in constant time) and the
//!    kind — 404 for either, so a wrong secret learns nothing; then the source address
//!    against the account's `allow_from` (the connection's address, or the last
//!    `X-Forwarded-For` entry when `callbacks.trust_forwarded_for` is set) — 403;
//! 2. the query string and the body (form or JSON; UTF-8 or GBK, see [`decode`]) become
//!    [`Fields`] — 400 when they cannot;
//! 3. the vendor's handler turns them into events and commits them (its de-duplication key
//!    makes a repeated callback a [`Taken::Duplicate`]) — only then does the vendor get its
//!    success answer. They go past `store.max_bytes` (no vendor promises to send a refused
//!    callback again: see [`crate::store::Db::enqueue_past_bound`]); a store that cannot take
//!    them (a full disk, an I/O error) answers 503, for a vendor that retries.
//!
//! Nothing is stored from a refused request. Every outcome is counted per route in
//! `/metrics` as `telbridge_callbacks_total{route="vendor/name/kind",result="…"}`.

pub mod decode;

pub use crate::http::cidr::{self, Cidr};
pub use decode::{Fields, decode};

use crate::command::BoxFuture;
use crate::http::ingest::{constant_time_eq, store_unavailable};
use crate::http::{PeerAddr, Response, Router, error};
use crate::metrics::Metrics;
use crate::store::StoreError;
use hyper::{Method, StatusCode};
use std::net::IpAddr;
use std::sync::Arc;

/// What a vendor's handler did with a callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    Stored,
    /// Seen before (a vendor retry, or a push after the poll got it): stored once.
    Duplicate,
}

/// Why a callback was not taken.
#[derive(Debug)]
pub enum Refusal {
    /// The fields do not make a callback of this kind: 400, nothing stored.
    Bad(String),
    /// The store cannot take it now: 503, the vendor retries.
    Store(StoreError),
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Self {
        Refusal::Store(e)
    }
}

/// A vendor's handler of one kind of callback.
pub type Handler = Arc<dyn Fn(Fields) -> BoxFuture<Result<Taken, Refusal>> + Send + Sync>;

/// A vendor's answer to a callback it refuses (status and reason).
pub type Refuse = fn(StatusCode, &str) -> Response;

/// One vendor account's callback endpoint.
pub struct Endpoint {
    vendor: &'static str,
    name: String,
    secret: String,
    allow: Vec<Cidr>,
    trust_forwarded_for: bool,
    metrics: Metrics,
    /// How a refusal of a decoded request (400, 503) is written when the vendor expects
    /// its own form; the agent's error JSON otherwise.
    refuse: Option<Refuse>,
}

impl Endpoint {
    /// `allow_from` entries that do not parse are skipped (the config check refuses them).
    pub fn new(
        vendor: &'static str,
        name: &str,
        secret: &str,
        allow_from: &[String],
        trust_forwarded_for: bool,
        metrics: Metrics,
    ) -> Endpoint {
        let allow = allow_from.iter().filter_map(|a| Cidr::parse(a)).collect();
        Endpoint {
            vendor,
            name: name.to_string(),
            secret: secret.to_string(),
            allow,
            trust_forwarded_for,
            metrics,
            refuse: None,
        }
    }

    /// Refusals written in the vendor's own form (the callcenter's `{"result":{"error":…}}`).
    pub fn refusing_with(mut self, refuse: Refuse) -> Endpoint {
        self.refuse = Some(refuse);
        self
    }

    fn count(&self, kind: &str, result: &str) {
        let route = format!("{}/{}/{kind}", self.vendor, self.name);
        self.metrics.inc(&format!("telbridge_callbacks_total{{route=\"{route}\",result=\"{result}\"}}"));
    }

    /// The address the callback comes from.
    fn source(&self, parts: &hyper::http::request::Parts) -> Option<IpAddr> {
        // The proxy in front adds the address it saw last: the last entry of the last
        // line (earlier ones are whatever the client wrote).
        if self.trust_forwarded_for
            && let Some(v) = parts.headers.get_all("x-forwarded-for").iter().next_back().and_then(|v| v.to_str().ok())
        {
            return v.rsplit(',').next()?.trim().parse().ok();
        }
        parts.extensions.get::<PeerAddr>().map(|a| a.0.ip())
    }

    /// The kind a request line names, if its secret is right and the kind is served.
    fn kind_of<'a>(&self, path: &'a str, kinds: &[&str]) -> Option<&'a str> {
        let rest = path.strip_prefix(&format!("/{}/{}/", self.vendor, self.name))?;
        let (secret, kind) = rest.split_once('/')?;
        (constant_time_eq(secret.as_bytes(), self.secret.as_bytes()) && kinds.contains(&kind)).then_some(kind)
    }

    /// Adds the endpoint's routes (GET and POST, every kind in `handlers`) to the callback
    /// listener's router. `ok` is the vendor's success answer.
    pub fn routes(self: Arc<Self>, router: &mut Router, ok: fn() -> Response, handlers: Vec<(&'static str, Handler)>) {
        let kinds: Arc<Vec<&'static str>> = Arc::new(handlers.iter().map(|(k, _)| *k).collect());
        let handlers = Arc::new(handlers);
        let prefix = format!("/{}/{}/", self.vendor, self.name);
        for method in [Method::GET, Method::POST] {
            let (ep, ks) = (self.clone(), kinds.clone());
            let guard: crate::http::router::Guard = Arc::new(move |parts| {
                let Some(kind) = ep.kind_of(parts.uri.path(), &ks) else {
                    ep.count("-", "unauthorized");
                    return Some(error(StatusCode::NOT_FOUND, "not_found", "no such path"));
                };
                match ep.source(parts) {
                    Some(ip) if cidr::allowed(&ep.allow, ip) => None,
                    source => {
                        log::warn!("{}/{}: callback from {source:?} refused: not in allow_from", ep.vendor, ep.name);
                        ep.count(kind, "forbidden");
                        Some(error(StatusCode::FORBIDDEN, "forbidden", "source address not allowed"))
                    }
                }
            });
            let (ep, ks, hs) = (self.clone(), kinds.clone(), handlers.clone());
            router.prefix_guarded(method, &prefix, guard, move |req| {
                let (ep, ks, hs) = (ep.clone(), ks.clone(), hs.clone());
                async move {
                    let kind = ep.kind_of(req.uri().path(), &ks).unwrap_or("-");
                    let Some((_, handler)) = hs.iter().find(|(k, _)| *k == kind) else {
                        return error(StatusCode::NOT_FOUND, "not_found", "no such path");
                    };
                    let content_type = req.headers().get(hyper::header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
                    let fields = match decode(req.uri().query().unwrap_or(""), content_type, req.body()) {
                        Ok(f) => f,
                        Err(why) => return ep.refuse(kind, &why),
                    };
                    match handler(fields).await {
                        Ok(Taken::Stored) => {
                            ep.count(kind, "stored");
                            ok()
                        }
                        Ok(Taken::Duplicate) => {
                            ep.count(kind, "duplicate");
                            ok()
                        }
                        Err(Refusal::Bad(why)) => ep.refuse(kind, &why),
                        Err(Refusal::Store(e)) => {
                            ep.count(kind, "unavailable");
                            let answer = store_unavailable(&e, &ep.metrics);
                            match ep.refuse {
                                Some(refuse) => refuse(answer.status(), &e.to_string()),
                                None => answer,
                            }
                        }
                    }
                }
            });
        }
    }

    fn refuse(&self, kind: &str, why: &str) -> Response {
        log::warn!("{}/{}: {kind} callback refused: {why}", self.vendor, self.name);
        self.count(kind, "bad");
        match self.refuse {
            Some(refuse) => refuse(StatusCode::BAD_REQUEST, why),
            None => error(StatusCode::BAD_REQUEST, "bad_callback", why),
        }
    }
}
