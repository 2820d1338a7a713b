//! Helpers of the call-center simulator's HTTP tests: a sim served on 127.0.0.1:0, signed
//! vendor calls, the control API, and a notification receiver that can refuse its first
//! answers.

#![allow(dead_code)]

use hyper::{Method, StatusCode};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use telbridge_sim::callcenter::auth::{SEED_APIKEY, digest};
use telbridge_sim::callcenter::{Options, Sim};
use telbridge_sim::push::{Reply, request};
use telbridge_sim::server::{Router, serve, text_response};
use telbridge_sim::util::now_ms;
use tokio::net::TcpListener;

pub const JSON: (&str, &str) = ("content-type", "application/json");

/// Serves `router` on a free loopback port; its base URL.
pub async fn start(router: Router) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(serve(listener, router, std::future::pending()));
    format!("http://{addr}")
}

pub async fn sim(opts: Options) -> (String, Sim) {
    let sim = Sim::new(opts);
    sim.spawn();
    (start(sim.router()).await, sim)
}

/// A signed body for `C2` at `ts` with `seq`.
pub fn envelope(ts: i64, seq: &str, key: &str, request: Value) -> Value {
    let d = digest("C2", &ts.to_string(), seq, SEED_APIKEY);
    json!({"authentication": {"customer": "C2", "timestamp": ts.to_string(), "seq": seq, "digest": d, "agent": "1000"},
        "param": {"debug": "true", "lang": "en_US"}, key: request})
}

pub fn now() -> i64 {
    i64::try_from(now_ms()).expect("now")
}

pub async fn post(url: &str, body: &Value) -> Result<Reply, String> {
    request(url, Method::POST, &[JSON], body.to_string().into_bytes(), Duration::from_secs(5)).await
}

/// `POST {base}/openapi/V2.0.{v}/{api}` with a fresh, correct authentication → the reply.
pub async fn api_v(base: &str, v: u32, api: &str, key: &str, req: Value) -> Value {
    let body = envelope(now(), "100", key, req);
    let r = post(&format!("{base}/openapi/V2.0.{v}/{api}"), &body).await.expect("reply");
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    r.json()
}

/// One request to `api` in V2.0.6 → its `response` (the outer result must be 0).
pub async fn one(base: &str, api: &str, req: Value) -> Value {
    let reply = api_v(base, 6, api, "request", req).await;
    assert_eq!(reply["result"]["error"], 0, "{reply}");
    reply["data"]["response"].clone()
}

/// `response.result.error` of one request.
pub async fn code(base: &str, api: &str, req: Value) -> i64 {
    one(base, api, req).await["result"]["error"].as_i64().expect("error code")
}

pub async fn control(base: &str, path: &str, body: Value) -> Value {
    post(&format!("{base}{path}"), &body).await.expect("control").json()
}

pub async fn state(base: &str) -> Value {
    request(&format!("{base}/sim/state"), Method::GET, &[], Vec::new(), Duration::from_secs(5))
        .await
        .expect("state")
        .json()
}

/// What a receiver got: JSON bodies in order.
pub type Got = Arc<Mutex<Vec<Value>>>;

/// A receiver answering the planned (status, body) pairs first, then 200
/// `{"result":{"error":0,"msg":""}}`.
pub async fn receiver(plan: Vec<(u16, &'static str)>) -> (String, Got) {
    let got: Got = Arc::default();
    let plan = Arc::new(Mutex::new(plan.into_iter().collect::<std::collections::VecDeque<_>>()));
    let mut router = Router::default();
    let g = got.clone();
    router.prefix(Method::POST, "/", move |req| {
        let (g, plan) = (g.clone(), plan.clone());
        async move {
            g.lock().expect("lock").push(serde_json::from_slice(req.body()).unwrap_or(Value::Null));
            let (status, body) =
                plan.lock().expect("lock").pop_front().unwrap_or((200, r#"{"result":{"error":0,"msg":""}}"#));
            text_response(StatusCode::from_u16(status).expect("status"), "application/json", body.to_string())
        }
    });
    (start(router).await, got)
}

/// Waits (up to 10 s) until `got` holds at least `n` bodies; a copy of them.
pub async fn wait_for(got: &Got, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let seen = got.lock().expect("lock").clone();
        if seen.len() >= n {
            return seen;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {n} notifications: {seen:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Checks a notification's signature as a customer would.
pub fn signed_ok(body: &Value) -> bool {
    let a = &body["authentication"];
    let s = |k: &str| a[k].as_str().unwrap_or_default().to_string();
    a["customer"] == "C2" && s("digest") == digest("C2", &s("timestamp"), &s("seq"), SEED_APIKEY)
}
