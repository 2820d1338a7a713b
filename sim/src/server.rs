//! A small HTTP/1.1 server on hyper for the simulators: a router by method and exact
//! path or path prefix, whole bodies read before a handler runs (64 MiB at most, 413
//! beyond; 60 s at most, 408 beyond), a graceful stop, and [`hangup`]: a handler's way to
//! close the connection without answering (a lost reply). Also the response helpers and
//! the query-string parser the simulators share.

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// A request whose body has been read completely.
pub type Request = hyper::Request<Bytes>;
/// A response with its whole body.
pub type Response = hyper::Response<Full<Bytes>>;

/// The largest request body accepted.
pub const MAX_BODY_BYTES: usize = 64 << 20;
/// How long a request's headers and body may take to arrive.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

type Handler = Arc<dyn Fn(Request) -> Pin<Box<dyn Future<Output = Response> + Send>> + Send + Sync>;

struct Route {
    method: Method,
    path: String,
    /// Matches every path that starts with `path`.
    prefix: bool,
    run: Handler,
}

/// A simulator's control API (not part of the device's API): `GET /sim/state` and
/// `POST /sim/…`.
pub trait Controlled: Clone + Send + Sync + 'static {
    fn state(&self) -> Value;
    fn control(&self, req: &Request) -> Response;
}

/// Adds `sim`'s control API to `router`.
pub fn control_routes<S: Controlled>(router: &mut Router, sim: &S) {
    let s = sim.clone();
    router.route(Method::GET, "/sim/state", move |_| {
        let s = s.clone();
        async move { ok_json(&s.state()) }
    });
    let s = sim.clone();
    router.prefix(Method::POST, "/sim/", move |req| {
        let s = s.clone();
        async move { s.control(&req) }
    });
}

/// Routes by method and path. The first matching route wins; a path that matches only
/// with another method answers 405, an unknown path 404.
#[derive(Default)]
pub struct Router {
    routes: Vec<Route>,
}

impl Router {
    /// A route for exactly `path`.
    pub fn route<F, Fut>(&mut self, method: Method, path: &str, f: F)
    where
        F: Fn(Request) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Response> + Send + 'static,
    {
        self.add(method, path, false, f);
    }

    /// A route for every path starting with `prefix`.
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
        let run: Handler = Arc::new(move |req| Box::pin(f(req)));
        self.routes.push(Route { method, path: path.to_string(), prefix, run });
    }

    /// Answers one request.
    pub async fn dispatch(&self, req: Request) -> Response {
        let path = req.uri().path();
        let matches = |r: &&Route| if r.prefix { path.starts_with(&r.path) } else { path == r.path };
        let mut on_path = self.routes.iter().filter(matches).peekable();
        if on_path.peek().is_none() {
            return error(StatusCode::NOT_FOUND, "not_found", "no such path");
        }
        match on_path.find(|r| r.method == req.method()) {
            Some(route) => (route.run)(req).await,
            None => error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "method not allowed on this path"),
        }
    }
}

/// A JSON response.
pub fn json_response(status: StatusCode, body: &Value) -> Response {
    text_response(status, "application/json", body.to_string())
}

/// A 200 JSON response.
pub fn ok_json(body: &Value) -> Response {
    json_response(StatusCode::OK, body)
}

/// `{"error": code, "reason": reason}` with `status`.
pub fn error(status: StatusCode, code: &str, reason: &str) -> Response {
    json_response(status, &json!({"error": code, "reason": reason}))
}

/// A text body with its content type.
pub fn text_response(status: StatusCode, content_type: &'static str, body: String) -> Response {
    let mut resp = hyper::Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

/// Marks a response that must not be sent: the connection is closed instead.
#[derive(Debug, Clone, Copy)]
struct Hangup;

/// A "response" that closes the connection without a byte of reply, as when a reply is
/// lost on the way (the request has been acted upon).
pub fn hangup() -> Response {
    let mut resp = hyper::Response::new(Full::new(Bytes::new()));
    resp.extensions_mut().insert(Hangup);
    resp
}

/// Raw bytes with 200, or a 404 when there are none.
pub fn bytes_response(data: Option<Vec<u8>>) -> Response {
    match data {
        Some(data) => {
            let mut resp = hyper::Response::new(Full::new(Bytes::from(data)));
            resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
            resp
        }
        None => error(StatusCode::NOT_FOUND, "not_found", "no such file"),
    }
}

/// Percent-decodes one query component; `+` is a space (form encoding). Invalid escapes
/// are kept as they are; the bytes are read as UTF-8 (lossily).
pub fn percent_decode(s: &str) -> String {
    String::from_utf8_lossy(&percent_decode_bytes(s)).into_owned()
}

/// Percent-decodes one component to raw bytes; `+` is a space (form encoding). Invalid
/// escapes are kept as they are.
pub fn percent_decode_bytes(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = |c: u8| char::from(c).to_digit(16);
                if let (Some(h), Some(l)) = (b.get(i + 1).copied().and_then(hex), b.get(i + 2).copied().and_then(hex)) {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                out.push(b'%');
            }
            c => out.push(c),
        }
        i += 1;
    }
    out
}

/// The query string as name → value (decoded; a repeated name keeps its last value).
pub fn parse_query(query: &str) -> HashMap<String, String> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// The request's query, decoded.
pub fn query(req: &Request) -> HashMap<String, String> {
    parse_query(req.uri().query().unwrap_or(""))
}

/// Reads the whole body within the limits, then routes.
async fn handle(router: Arc<Router>, req: hyper::Request<Incoming>) -> Response {
    let (parts, body) = req.into_parts();
    let collected = tokio::time::timeout(REQUEST_TIMEOUT, Limited::new(body, MAX_BODY_BYTES).collect()).await;
    let bytes = match collected {
        Err(_) => return error(StatusCode::REQUEST_TIMEOUT, "timeout", "the request body took too long"),
        Ok(Err(e)) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => {
            let reason = format!("the body is larger than {MAX_BODY_BYTES} bytes");
            return error(StatusCode::PAYLOAD_TOO_LARGE, "too_large", &reason);
        }
        Ok(Err(e)) => return error(StatusCode::BAD_REQUEST, "bad_body", &e.to_string()),
        Ok(Ok(c)) => c.to_bytes(),
    };
    router.dispatch(hyper::Request::from_parts(parts, bytes)).await
}

/// Serves connections on `listener` until `stop` completes; then the listener closes and
/// open connections finish their current request.
pub async fn serve(listener: TcpListener, router: Router, stop: impl Future<Output = ()>) {
    let router = Arc::new(router);
    let (closing, closed) = tokio::sync::watch::channel(false);
    let mut conns = tokio::task::JoinSet::new();
    tokio::pin!(stop);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    log::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        while conns.try_join_next().is_some() {}
        let router = router.clone();
        let mut closed = closed.clone();
        conns.spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let router = router.clone();
                async move {
                    let resp = handle(router, req).await;
                    if resp.extensions().get::<Hangup>().is_some() {
                        // hyper closes the connection, writing nothing, on a service error.
                        return Err(std::io::Error::other("reply dropped on purpose"));
                    }
                    Ok(resp)
                }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(REQUEST_TIMEOUT)
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            tokio::pin!(conn);
            let result = tokio::select! {
                r = conn.as_mut() => r,
                _ = closed.changed() => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = result {
                log::debug!("connection from {peer}: {e}");
            }
        });
    }
    drop(listener);
    let _ = closing.send(true);
    while conns.join_next().await.is_some() {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_form_decoded() {
        let q = parse_query("faxnum=%2B86%2820%2987057352&name=a+b%20c&flag&bad=%zz&u=%E4%BD%A0");
        assert_eq!(q["faxnum"], "+86(20)87057352");
        assert_eq!(q["name"], "a b c");
        assert_eq!(q["flag"], "");
        assert_eq!(q["bad"], "%zz");
        assert_eq!(q["u"], "你");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%4"), "%4");
    }
}
