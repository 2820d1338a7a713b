//! The local HTTP ingress: one hyper (HTTP/1.1) server that devices push to, vendor
//! callbacks arrive at, and LAN applications relay events through.
//!
//! Drivers add routes to a [`Router`]. The server reads every body completely, within
//! `http.max_body_bytes` (413 beyond) and `http.request_timeout_ms` (408 beyond), before
//! a handler sees it. Handlers answer 2xx only after what they accepted is committed to
//! the store. On stop the listener closes first, then open requests finish.

pub mod client;
pub mod ingest;
pub mod ops;
pub mod url;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, StatusCode};
use serde_json::{Value, json};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub type Request = hyper::Request<Bytes>;
pub type Response = hyper::Response<Full<Bytes>>;
type RouteFn = Arc<dyn Fn(Request) -> crate::command::BoxFuture<Response> + Send + Sync>;

struct Route {
    method: Method,
    path: String,
    /// Matches every path below `path` (which then ends with `/`).
    prefix: bool,
    run: RouteFn,
}

/// Routes by method and path; drivers add theirs before the server starts.
#[derive(Default)]
pub struct Router {
    routes: Vec<Route>,
}

impl Router {
    /// Adds a route for exactly `path`.
    pub fn route<F, Fut>(&mut self, method: Method, path: &str, f: F)
    where
        F: Fn(Request) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Response> + Send + 'static,
    {
        self.add(method, path, false, f);
    }

    /// Adds a route for every path that starts with `prefix` (e.g. `/goip/`).
    pub fn prefix<F, Fut>(&mut self, method: Method, prefix: &str, f: F)
    where
        F: Fn(Request) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Response> + Send + 'static,
    {
        self.add(method, prefix, true, f);
    }

    fn add<F, Fut>(&mut self, method: Method, path: &str, prefix: bool, f: F)
    where
        F: Fn(Request) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Response> + Send + 'static,
    {
        let run: RouteFn = Arc::new(move |r| Box::pin(f(r)));
        self.routes.push(Route { method, path: path.to_string(), prefix, run });
    }

    async fn dispatch(&self, req: Request) -> Response {
        let path = req.uri().path();
        let matching: Vec<&Route> =
            self.routes.iter().filter(|r| if r.prefix { path.starts_with(&r.path) } else { path == r.path }).collect();
        if matching.is_empty() {
            return error(StatusCode::NOT_FOUND, "not_found", "no such path");
        }
        match matching.into_iter().find(|r| r.method == req.method()) {
            Some(route) => (route.run)(req).await,
            None => error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "method not allowed on this path"),
        }
    }
}

/// A JSON response.
pub fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut resp = hyper::Response::new(Full::new(Bytes::from(body.to_string())));
    *resp.status_mut() = status;
    resp.headers_mut().insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static("application/json"));
    resp
}

/// A JSON error body: `{"error": code, "reason": reason}`.
pub fn error(status: StatusCode, code: &str, reason: &str) -> Response {
    json_response(status, &json!({"error": code, "reason": reason}))
}

/// A plain-text response.
pub fn text_response(status: StatusCode, content_type: &'static str, body: String) -> Response {
    let mut resp = hyper::Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut().insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static(content_type));
    resp
}

/// Limits applied before any handler runs.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_body_bytes: usize,
    pub request_timeout: Duration,
}

/// Reads the whole body within the limits, then routes.
async fn handle(router: Arc<Router>, limits: Limits, req: hyper::Request<Incoming>) -> Response {
    let (parts, body) = req.into_parts();
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
    router.dispatch(hyper::Request::from_parts(parts, bytes)).await
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
    loop {
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
        let router = router.clone();
        let stop = stop.clone();
        tracker.spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let router = router.clone();
                async move { Ok::<_, std::convert::Infallible>(handle(router, limits, req).await) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(limits.request_timeout)
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            tokio::pin!(conn);
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
