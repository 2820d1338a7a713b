//! The hyper (HTTP/1.1) server. For each request, in this order:
//! 1. the route is found from the request line (404, 405), and its guard checks the headers
//!    (401 for a wrong token or secret) — before a byte of the body is read;
//! 2. a body announced larger than `http.max_body_bytes` is refused (413) unread; a route
//!    without a guard takes no body (one sent is left unread, the connection closed);
//! 3. the body's bytes are reserved from a budget shared by every request
//!    (`http.max_buffered_bytes`); when it is spent the request is answered 503 `busy` with
//!    `Retry-After` instead of being buffered;
//! 4. the body is read within `http.max_body_bytes` (413) and `http.request_timeout_ms` (408);
//! 5. what reading it may take (`parse_cost`) is reserved from the same budget, waiting up
//!    to `http.request_timeout_ms` for it (then 503 `busy`); a request that needs more than
//!    the budget runs alone, and one that needs more than [`ALONE_MAX`] times it is
//!    answered 413 `too_complex`.
//!
//! A request refused before its body is read gets `Connection: close`. At most
//! `http.max_connections` connections are served at once; more wait in the listen queue.
//! On stop the listener closes first, then open requests finish.

use super::router::{Response, Router, error};
use http_body_util::{BodyExt, Limited};
use hyper::StatusCode;
use hyper::body::Incoming;
use hyper::header::{CONNECTION, CONTENT_LENGTH, HeaderValue, RETRY_AFTER, TRANSFER_ENCODING};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Limits applied before any handler runs.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_body_bytes: usize,
    pub request_timeout: Duration,
    /// Body bytes buffered by all requests together, at most.
    pub max_buffered_bytes: usize,
    /// Connections served at once, at most.
    pub max_connections: usize,
}

/// The most a request line and headers may take (also the connection's read buffer).
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

/// The address a request's connection came from (in the request's extensions, for guards
/// that check an allow-list).
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub std::net::SocketAddr);

/// A response to a request whose body is left unread: the connection closes after it.
fn closing(mut resp: Response) -> Response {
    resp.headers_mut().insert(CONNECTION, HeaderValue::from_static("close"));
    resp
}

/// Finds the route, checks the headers, reserves the body's bytes, reads it, then runs the
/// handler.
async fn handle(
    router: Arc<Router>,
    limits: Limits,
    budget: Arc<Semaphore>,
    alone: Arc<tokio::sync::Mutex<()>>,
    peer: std::net::SocketAddr,
    req: hyper::Request<Incoming>,
) -> Response {
    let (mut parts, body) = req.into_parts();
    parts.extensions.insert(PeerAddr(peer));
    let route = match router.find(&parts.method, parts.uri.path()) {
        Ok(route) => route,
        Err(miss) => return closing(miss.response()),
    };
    if let Some(refusal) = route.refuse(&parts) {
        return closing(refusal);
    }
    if !route.guarded() {
        // Routes that anyone may call (health, metrics, the tunnel's probe) take no body: one
        // sent is never read (the connection closes after the reply), so it holds none of the
        // budget the guarded routes share.
        let sent = parts.headers.get(CONTENT_LENGTH).is_some_and(|v| v.as_bytes() != b"0")
            || parts.headers.contains_key(TRANSFER_ENCODING);
        let resp = route.run(hyper::Request::from_parts(parts, hyper::body::Bytes::new())).await;
        return if sent { closing(resp) } else { resp };
    }
    let announced = parts.headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    if announced.is_some_and(|n| n > limits.max_body_bytes) {
        let reason = format!("the body is larger than {} bytes", limits.max_body_bytes);
        return closing(error(StatusCode::PAYLOAD_TOO_LARGE, "too_large", &reason));
    }
    // A chunked body of unknown length reserves the most it may be.
    let reserve = announced.unwrap_or(limits.max_body_bytes).min(limits.max_body_bytes);
    let mut reserved = match u32::try_from(reserve).ok().and_then(|n| budget.clone().try_acquire_many_owned(n).ok()) {
        Some(permit) => permit,
        None => return closing(busy()),
    };
    let collected =
        tokio::time::timeout(limits.request_timeout, Limited::new(body, limits.max_body_bytes).collect()).await;
    let bytes = match collected {
        Err(_) => {
            return error(StatusCode::REQUEST_TIMEOUT, "timeout", "the request body took too long");
        }
        Ok(Err(e)) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                &format!("the body is larger than {} bytes", limits.max_body_bytes),
            );
        }
        Ok(Err(e)) => return error(StatusCode::BAD_REQUEST, "bad_body", &e.to_string()),
        Ok(Ok(c)) => c.to_bytes(),
    };
    // A chunked body reserved the most it could be: what it did not take goes back.
    drop(reserved.split(reserve.saturating_sub(bytes.len())));
    let reserve = reserved.num_permits();
    // What the handler may take to read the body (see `parse_cost`) is reserved too.
    let query = parts.uri.query().unwrap_or_default().as_bytes();
    let copies = route.value_copies();
    let _parsing = match reserve_parse(&budget, &alone, &limits, reserve, (&bytes, query), copies).await {
        Ok(permit) => permit,
        Err(refusal) => {
            log::warn!("http request from {peer} refused after its body was read: {refusal:?}");
            return refusal.response(&limits);
        }
    };
    route.run(hyper::Request::from_parts(parts, bytes)).await
}

/// How many times the budget one request's reading may take, alone, at most: a request that
/// needs more is refused (413 `too_complex`). (An ordinary batch of 1 MiB for the ingest
/// needs about twice the default budget.)
pub const ALONE_MAX: usize = 4;

/// Why a read body's handler was not run.
#[derive(Debug)]
enum ParseRefusal {
    /// Reading it would take more than [`ALONE_MAX`] times the budget.
    TooComplex(usize),
    /// The budget did not free up within the request timeout.
    Busy,
}

impl ParseRefusal {
    fn response(&self, limits: &Limits) -> Response {
        match self {
            ParseRefusal::TooComplex(need) => {
                let reason = format!(
                    "reading this body would take up to {need} bytes of memory, more than {ALONE_MAX} times \
                     this listener's max_buffered_bytes ({}); send fewer or smaller values per request",
                    limits.max_buffered_bytes
                );
                error(StatusCode::PAYLOAD_TOO_LARGE, "too_complex", &reason)
            }
            ParseRefusal::Busy => busy(),
        }
    }
}

/// Reserves what reading `body` and `query` may take (besides the `reserved` bytes the body
/// holds).
///
/// Little is taken if free, else the request is told to come back (503 `busy`): it holds
/// its body's bytes, so it must not wait for others' (two could wait for each other). Much
/// (a quarter of the budget or more), which would seldom find that much free between the
/// others, waits for it up to the request timeout — one such request at a time (a second is
/// told busy), so no two waiters hold what the other waits for. One that needs more than
/// the rest of the budget waits for all of it and runs alone: the memory of all requests
/// stays within [`ALONE_MAX`] times the budget.
async fn reserve_parse(
    budget: &Arc<Semaphore>,
    alone: &tokio::sync::Mutex<()>,
    limits: &Limits,
    reserved: usize,
    (body, query): (&[u8], &[u8]),
    copies: usize,
) -> Result<tokio::sync::OwnedSemaphorePermit, ParseRefusal> {
    // A callback reads the query string's fields too.
    let bound = |bytes| super::parse_cost::parse_bound(bytes, copies);
    let need = bound(body).saturating_add(bound(query));
    let total = limits.max_buffered_bytes.min(Semaphore::MAX_PERMITS);
    if need > total.saturating_mul(ALONE_MAX) {
        return Err(ParseRefusal::TooComplex(need));
    }
    let rest = total.saturating_sub(reserved);
    let take = u32::try_from(need.min(rest)).map_err(|_| ParseRefusal::TooComplex(need))?;
    if let Ok(permit) = budget.clone().try_acquire_many_owned(take) {
        return Ok(permit);
    }
    if need < total / 4 && need <= rest {
        return Err(ParseRefusal::Busy);
    }
    let Ok(_first) = alone.try_lock() else { return Err(ParseRefusal::Busy) };
    match tokio::time::timeout(limits.request_timeout, budget.clone().acquire_many_owned(take)).await {
        Ok(Ok(permit)) => Ok(permit),
        _ => Err(ParseRefusal::Busy),
    }
}

/// 503 `busy` with `Retry-After: 1`: the budget for bodies is spent.
fn busy() -> Response {
    let mut resp = error(StatusCode::SERVICE_UNAVAILABLE, "busy", "too many request bodies in flight; retry");
    resp.headers_mut().insert(RETRY_AFTER, HeaderValue::from_static("1"));
    resp
}

/// Serves connections until `stop`; open requests finish (tracked by `tracker`).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    stop: CancellationToken,
    tracker: TaskTracker,
) {
    let router = Arc::new(router);
    let budget = Arc::new(Semaphore::new(limits.max_buffered_bytes.min(Semaphore::MAX_PERMITS)));
    let connections = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let alone = Arc::new(tokio::sync::Mutex::new(()));
    loop {
        // At the connection limit, stop accepting: new ones wait in the listen queue.
        let slot = tokio::select! {
            _ = stop.cancelled() => break,
            slot = connections.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            _ = stop.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little, keep serving.
                    log::warn!("http accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let (router, budget, alone) = (router.clone(), budget.clone(), alone.clone());
        let stop = stop.clone();
        tracker.spawn(async move {
            let _slot = slot;
            let service = hyper::service::service_fn(move |req| {
                let (router, budget, alone) = (router.clone(), budget.clone(), alone.clone());
                async move { Ok::<_, std::convert::Infallible>(handle(router, limits, budget, alone, peer, req).await) }
            });
            // On the heap: the connection's state is large, and the task is moved a few times
            // as it is spawned and set when it ends (whole, as it is written to memory).
            let mut conn = Box::pin(
                hyper::server::conn::http1::Builder::new()
                    .timer(hyper_util::rt::TokioTimer::new())
                    .header_read_timeout(limits.request_timeout)
                    // A client that ends its side once its request is out still gets the
                    // reply, and a handler is never dropped half-way because its client left
                    // (hyper's default ends the connection, and so the handler, on EOF): what
                    // it committed is answered, and state it keeps beside the commit is updated.
                    .half_close(true)
                    // Request line and headers in at most 64 KiB (hyper's default: ~400 KiB
                    // per connection, before any guard has run); more is answered 431.
                    .max_header_size(MAX_HEAD_BYTES)
                    .max_buf_size(MAX_HEAD_BYTES)
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service),
            );
            let result = tokio::select! {
                r = conn.as_mut() => r,
                _ = stop.cancelled() => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = result {
                log::debug!("http connection from {peer}: {e}");
            }
        });
    }
}
