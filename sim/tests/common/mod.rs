//! Shared test helpers: a simulator or a push receiver served in-process on 127.0.0.1:0,
//! and a small client over the crate's own HTTP client.

#![allow(dead_code)]

use hyper::Method;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use telbridge_sim::push::{Reply, request};
use telbridge_sim::server::{Router, ok_json, serve};
use tokio::net::TcpListener;

/// Serves `router` on a free loopback port until the test's runtime ends; its base URL.
pub async fn start(router: Router) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(serve(listener, router, std::future::pending()));
    format!("http://{addr}")
}

pub async fn get(url: &str) -> Reply {
    request(url, Method::GET, &[], Vec::new(), Duration::from_secs(5)).await.expect("GET")
}

pub async fn post(url: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Reply {
    request(url, Method::POST, headers, body, Duration::from_secs(5)).await.expect("POST")
}

/// What a push receiver got: (path and query, JSON body).
pub type Received = Arc<Mutex<Vec<(String, Value)>>>;

/// A receiver that takes every POST with 200 and records it.
pub async fn receiver() -> (String, Received) {
    let got: Received = Arc::default();
    let mut router = Router::default();
    let g = got.clone();
    router.prefix(Method::POST, "/", move |req| {
        let g = g.clone();
        async move {
            let target = req.uri().path_and_query().map(|p| p.to_string()).unwrap_or_default();
            let body = serde_json::from_slice(req.body()).unwrap_or(Value::Null);
            g.lock().expect("lock").push((target, body));
            ok_json(&serde_json::json!({"code": 0}))
        }
    });
    (start(router).await, got)
}

/// Waits (up to 10 s) until `f` finds something in what was received.
pub async fn wait_for<T>(got: &Received, what: &str, f: impl Fn(&[(String, Value)]) -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(t) = f(&got.lock().expect("lock")) {
            return t;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}: {:?}", got.lock().expect("lock"));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
