//! Routes by method and path (exact, or every path below a prefix), and the response
//! helpers handlers answer with. Connectors add their routes before the server starts.
//!
//! A route is found from the request line alone, and a route may carry a **guard** that
//! checks the headers (a bearer token, a secret in the path) before the server reads a byte
//! of the body: a request that cannot be authorised never costs its body's memory.

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Method, StatusCode};
use serde_json::json;
use std::future::Future;
use std::sync::Arc;

pub type Request = hyper::Request<Bytes>;
pub type Response = hyper::Response<Full<Bytes>>;
type RouteFn = Arc<dyn Fn(Request) -> crate::command::BoxFuture<Response> + Send + Sync>;
/// Checks a request's line and headers; `Some` is the refusal to answer at once.
pub type Guard = Arc<dyn Fn(&hyper::http::request::Parts) -> Option<Response> + Send + Sync>;

pub(super) struct Route {
    method: Method,
    path: String,
    /// Matches every path below `path` (which then ends with `/`).
    prefix: bool,
    guard: Option<Guard>,
    /// Copies of its body's values the handler may make while reading it (see `parse_cost`).
    value_copies: usize,
    run: RouteFn,
}

impl Route {
    /// The guard's refusal, if any (before the body is read).
    pub(super) fn refuse(&self, parts: &hyper::http::request::Parts) -> Option<Response> {
        self.guard.as_ref().and_then(|g| g(parts))
    }

    /// Whether a guard checks its requests: a route without one takes no body.
    pub(super) fn guarded(&self) -> bool {
        self.guard.is_some()
    }

    /// Copies of its body's values the handler may make while reading it.
    pub(super) fn value_copies(&self) -> usize {
        self.value_copies
    }

    pub(super) async fn run(&self, req: Request) -> Response {
        (self.run)(req).await
    }
}

/// Routes by method and path; drivers add theirs before the server starts.
#[derive(Default)]
pub struct Router {
    routes: Vec<Route>,
}

impl Router {
    /// Whether no route was added.
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    /// Adds a route for exactly `path`.
    pub fn route<F, Fut>(&mut self, method: Method, path: &str, f: F)
    where
        F: Fn(Request) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Response> + Send + 'static,
    {
        self.add(method, path, false, None, f);
    }

    /// Adds a route for exactly `path` whose `guard` checks the headers first.
    pub fn route_guarded<F, Fut>(&mut self, method: Method, path: &str, guard: Guard, f: F) -> Added<'_>
    where
        F: Fn(Request) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Response> + Send + 'static,
    {
        self.add(method, path, false, Some(guard), f);
        Added(self.routes.last_mut())
    }

    /// Adds a route for every path that starts with `prefix` (e.g. `/goip/`).
    pub fn prefix<F, Fut>(&mut self, method: Method, prefix: &str, f: F)
    where
        F: Fn(Request) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Response> + Send + 'static,
    {
        self.add(method, prefix, true, None, f);
    }

    /// Adds a prefix route whose `guard` checks the request line and headers first.
    pub fn prefix_guarded<F, Fut>(&mut self, method: Method, prefix: &str, guard: Guard, f: F)
    where
        F: Fn(Request) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Response> + Send + 'static,
    {
        self.add(method, prefix, true, Some(guard), f);
    }

    fn add<F, Fut>(&mut self, method: Method, path: &str, prefix: bool, guard: Option<Guard>, f: F)
    where
        F: Fn(Request) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Response> + Send + 'static,
    {
        let run: RouteFn = Arc::new(move |r| Box::pin(f(r)));
        let value_copies = super::parse_cost::VALUE_COPIES;
        self.routes.push(Route { method, path: path.to_string(), prefix, guard, value_copies, run });
    }

    /// The route for a request line, or why there is none.
    pub(super) fn find(&self, method: &Method, path: &str) -> Result<&Route, Miss> {
        let mut matching =
            self.routes.iter().filter(|r| if r.prefix { path.starts_with(&r.path) } else { path == r.path }).peekable();
        if matching.peek().is_none() {
            return Err(Miss::NoPath);
        }
        matching.find(|r| r.method == method).ok_or(Miss::OtherMethod)
    }
}

/// A route just added, to say more about it.
pub struct Added<'a>(Option<&'a mut Route>);

impl Added<'_> {
    /// Its handler moves its body's values where it keeps them, copying none (the ingest):
    /// reading a body reserves what its values take once, not twice.
    pub fn moves_values(self) {
        if let Some(route) = self.0 {
            route.value_copies = 1;
        }
    }
}

/// Why no route serves a request line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Miss {
    NoPath,
    OtherMethod,
}

impl Miss {
    /// 404 or 405.
    pub(super) fn response(self) -> Response {
        match self {
            Miss::NoPath => error(StatusCode::NOT_FOUND, "not_found", "no such path"),
            Miss::OtherMethod => {
                error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "method not allowed on this path")
            }
        }
    }
}

/// A JSON response.
pub fn json_response(status: StatusCode, body: &impl serde::Serialize) -> Response {
    json_bytes_response(status, serde_json::to_vec(body).unwrap_or_default())
}

/// A response whose body is JSON already written.
pub fn json_bytes_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut resp = hyper::Response::new(Full::new(Bytes::from(body)));
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
