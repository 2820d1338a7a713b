//! Routes by method and path (exact, or every path below a prefix), and the response
//! helpers handlers answer with. Connectors add their routes before the server starts.

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::{Method, StatusCode};
use serde_json::{Value, json};
use std::future::Future;
use std::sync::Arc;

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

    pub(super) async fn dispatch(&self, req: Request) -> Response {
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
