//! The simulated privacy-number platform over real loopback HTTP, checked against the
//! digest (`privacy-number.md`) and the seed: Keytime auth and its 401s (the sim's clock
//! skewed too), AXB and XA bindings with the seed's codes, a repeated `reqid` answered
//! 1004, lost and slow replies after the binding is made, TTL expiry, and simulated calls
//! whose call-start and CDR callbacks are retried until answered 200.

mod common;

use common::start;
use hyper::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use telbridge_sim::privacy::auth::header;
use telbridge_sim::privacy::{Options, Sim};
use telbridge_sim::push::{Reply, request};
use telbridge_sim::server::{Router, parse_query, text_response};
use telbridge_sim::util::now_ms;

const FORM: (&str, &str) = ("content-type", "application/x-www-form-urlencoded");
const X: &str = "17000000001";
const A: &str = "13800000001";
const B: &str = "13900000002";

async fn sim(opts: Options) -> (String, Sim) {
    let sim = Sim::new(opts);
    sim.spawn();
    (start(sim.router()).await, sim)
}

fn auth_at(ts: u64) -> String {
    header("10000000", "key1", ts)
}

/// A vendor call with a correct, fresh header.
async fn call(method: Method, url: &str, body: &str) -> Result<Reply, String> {
    let auth = auth_at(now_ms());
    let mut headers = vec![("authorization", auth.as_str())];
    if !body.is_empty() {
        headers.push(FORM);
    }
    request(url, method, &headers, body.as_bytes().to_vec(), Duration::from_secs(5)).await
}

async fn ok(method: Method, url: &str, body: &str) -> Value {
    let r = call(method, url, body).await.expect("reply");
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    r.json()
}

async fn control(base: &str, path: &str, body: Value) -> Value {
    let headers = [("content-type", "application/json")];
    request(&format!("{base}{path}"), Method::POST, &headers, body.to_string().into_bytes(), Duration::from_secs(5))
        .await
        .expect("control")
        .json()
}

fn axb(reqid: &str, extra: &str) -> String {
    format!("appid=app1&anum={A}&bnum={B}&reqid={reqid}&ttl=600{extra}")
}

/// What a callback receiver got: (path, content type, body), answering 500 to the first
/// `refuse` requests and 200 after.
type Got = Arc<Mutex<Vec<(String, String, String)>>>;

async fn receiver(refuse: usize) -> (String, Got) {
    let got: Got = Arc::default();
    let mut router = Router::default();
    let g = got.clone();
    router.prefix(Method::POST, "/", move |req| {
        let g = g.clone();
        async move {
            let mut list = g.lock().expect("lock");
            let ct = req.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
            list.push((req.uri().path().to_string(), ct, String::from_utf8_lossy(req.body()).into_owned()));
            let status = if list.len() > refuse { StatusCode::OK } else { StatusCode::INTERNAL_SERVER_ERROR };
            text_response(status, "application/json", "{\"error\":0}".into())
        }
    });
    (start(router).await, got)
}

async fn wait_until(what: &str, f: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn keytime_auth_refuses_bad_headers_and_stale_times_with_401() {
    let (base, sim) = sim(Options { balance: 12.5, ..Options::default() }).await;
    let url = format!("{base}/api/v1/account/status");
    let status = ok(Method::GET, &url, "").await;
    assert_eq!(
        (status["error"].as_u64(), status["state"].as_u64(), status["balance"].as_f64()),
        (Some(0), Some(1), Some(12.5))
    );
    for key in ["role", "overdraft", "createTime", "updateTime", "reason"] {
        assert!(status.get(key).is_some(), "{key}");
    }
    let now = now_ms();
    let get = |h: String| {
        let url = url.clone();
        async move { request(&url, Method::GET, &[("authorization", &h)], Vec::new(), Duration::from_secs(5)).await }
    };
    let stale = auth_at(now - 181_000);
    let wrong_key = header("10000000", "key2", now);
    let wrong_dev = header("10000001", "key1", now);
    for h in [stale, wrong_key, wrong_dev, "Keytime 10000000".to_string()] {
        let r = get(h.clone()).await.expect("reply");
        assert_eq!((r.status, r.json()["error"].as_u64()), (401, Some(1101)), "{h}");
    }
    let none = request(&url, Method::GET, &[], Vec::new(), Duration::from_secs(5)).await.expect("reply");
    assert_eq!(none.status, 401);
    assert_eq!(get(auth_at(now - 170_000)).await.expect("reply").status, 200, "within three minutes");
    let state = sim.state();
    assert_eq!((state["requests"]["unauthorized"].as_u64(), state["requests"]["account"].as_u64()), (Some(5), Some(2)));
}

#[tokio::test]
async fn a_sim_clock_ahead_refuses_a_correct_agent_until_it_is_set_back() {
    let (base, _sim) = sim(Options { clock_skew_secs: 240, ..Options::default() }).await;
    let url = format!("{base}/api/v1/account/status");
    assert_eq!(call(Method::GET, &url, "").await.expect("reply").status, 401);
    assert_eq!(control(&base, "/sim/config", json!({"clock_skew_secs": 0})).await["config"]["clock_skew_secs"], 0);
    assert_eq!(call(Method::GET, &url, "").await.expect("reply").status, 200);
}

#[tokio::test]
async fn an_axb_binding_is_made_released_and_a_repeated_reqid_answers_1004() {
    let (base, sim) = sim(Options::default()).await;
    let bind_url = format!("{base}/igw/service/uc/interline/{X}");
    let user_data = "5L2g5aW9L+S4lueVjA=="; // base64 of UTF-8 "你好/世界"
    let first = ok(Method::PUT, &bind_url, &axb("r1", "&userData=5L2g5aW9L%2BS4lueVjA%3D%3D&record=1")).await;
    assert_eq!((first["error"].as_u64(), first["reason"].as_str()), (Some(0), Some("成功")));
    let subid = first["subid"].as_str().expect("subid").to_string();
    let again = ok(Method::PUT, &bind_url, &axb("r1", "")).await;
    assert_eq!(again["error"], 1004);
    assert!(again.get("subid").is_none(), "off by default: the seed does not promise it");
    let b = &sim.state()["bindings"][0];
    assert_eq!(
        (b["kind"].as_str(), b["subid"].as_str(), b["userData"].as_str()),
        (Some("axb"), Some(subid.as_str()), Some(user_data))
    );
    assert_eq!((b["bnum"].as_str(), b["ttl"].as_u64(), b["released"].as_bool()), (Some(B), Some(600), Some(false)));

    // Parameters of a DELETE are read from the URL only (seed lines 167-168).
    let release = format!("{base}/igw/service/uc/interline?appid=app1&subid={subid}");
    let in_body =
        call(Method::DELETE, &format!("{base}/igw/service/uc/interline"), &format!("appid=app1&subid={subid}")).await;
    assert_eq!(in_body.expect("reply").json()["error"], 1002);
    assert_eq!(ok(Method::DELETE, &release, "").await["error"], 0);
    assert_eq!(ok(Method::DELETE, &release, "").await["error"], 1300, "released already");
    assert_eq!(sim.state()["bindings"][0]["released"], true);

    // A PUT body that is not a form is not read; a path of no call answers 1001.
    let auth = auth_at(now_ms());
    let headers = [("authorization", auth.as_str()), ("content-type", "text/plain")];
    let r = request(&bind_url, Method::PUT, &headers, axb("r2", "").into_bytes(), Duration::from_secs(5)).await;
    assert_eq!(r.expect("reply").json()["error"], 1002);
    assert_eq!(ok(Method::PUT, &format!("{bind_url}/transfer/more"), &axb("r3", "")).await["error"], 1001);
    let long = format!("appid=app1&anum={}&bnum={B}&reqid=r4&ttl=5", "1".repeat(25));
    assert_eq!(ok(Method::PUT, &bind_url, &long).await["error"], 1002);
    let counts = sim.state()["requests"].clone();
    assert_eq!(
        (counts["bind_axb"].as_u64(), counts["release_axb"].as_u64(), counts["unmapped"].as_u64()),
        (Some(4), Some(3), Some(1))
    );
}

#[tokio::test]
async fn a_dropped_reply_still_binds_and_the_retry_with_the_same_reqid_answers_1004() {
    let (base, sim) = sim(Options { subid_on_duplicate: true, ..Options::default() }).await;
    let bind_url = format!("{base}/igw/service/uc/interline/{X}");
    control(&base, "/sim/config", json!({"drop_next": 1})).await;
    assert!(call(Method::PUT, &bind_url, &axb("r1", "")).await.is_err(), "the connection closes without a reply");
    let state = sim.state();
    assert_eq!((state["bindings"].as_array().map(Vec::len), state["requests"]["dropped"].as_u64()), (Some(1), Some(1)));
    let retry = ok(Method::PUT, &bind_url, &axb("r1", "")).await;
    assert_eq!(
        (retry["error"].as_u64(), retry["subid"].as_str()),
        (Some(1004), state["bindings"][0]["subid"].as_str())
    );

    control(&base, "/sim/config", json!({"slow_ms": 400, "slow_next": 1})).await;
    let t = Instant::now();
    let slow = ok(Method::PUT, &format!("{base}/igw/service/uc/interline/17000000002"), &axb("r2", "")).await;
    assert!(t.elapsed() >= Duration::from_millis(400) && slow["error"] == 0);

    control(&base, "/sim/config", json!({"fail_next": 1})).await;
    let xa = format!("{base}/igw/service/uc/interline/17000000003/transfer");
    assert_eq!(ok(Method::PUT, &xa, &format!("appid=app1&anum={A}&reqid=r3")).await["error"], 1500);
    assert_eq!(
        ok(Method::PUT, &xa, &format!("appid=app1&anum={A}&reqid=r3")).await["error"],
        0,
        "not taken when refused"
    );
}

#[tokio::test]
async fn calls_send_call_start_then_cdr_retried_until_200_with_a_served_recording() {
    let (cb, got) = receiver(2).await;
    let opts = Options {
        cdr_url: Some(format!("{cb}/cdr")),
        call_start_url: Some(format!("{cb}/start")),
        callback_retry: Duration::from_millis(20),
        ..Options::default()
    };
    let (base, sim) = sim(opts).await;
    let bind_url = format!("{base}/igw/service/uc/interline/{X}");
    let subid =
        ok(Method::PUT, &bind_url, &axb("r1", "&record=1&display=1,0&userData=a%2Bb%3D%3D+x")).await["subid"].clone();
    let placed =
        control(&base, "/sim/call", json!({"x": X, "caller": A, "duration": 42, "recording_bytes": 300_000})).await;
    assert_eq!((&placed["subid"], placed["callee"].as_str()), (&subid, Some(B)));
    let taskid = placed["taskid"].as_str().expect("taskid").to_string();
    wait_until("both callbacks", || sim.state()["callbacks"]["answered"] == 2).await;
    let seen = got.lock().expect("lock").clone();
    assert_eq!(seen.iter().map(|s| s.0.as_str()).collect::<Vec<_>>(), ["/start", "/start", "/start", "/cdr"]);
    assert_eq!(sim.state()["callbacks"]["attempts"], 4);
    assert!(seen.iter().all(|s| s.1 == "application/x-www-form-urlencoded"));
    let cdr = parse_query(&seen[3].2);
    for (k, v) in [
        ("devid", "10000000"),
        ("appid", "app1"),
        ("caller", A),
        ("rcaller", X),
        ("callee", B),
        ("result", "answered"),
        ("duration", "42"),
        ("userData", "a+b== x"),
        ("releasedir", "1"),
        ("bindtype", "axb"),
        ("calldisplay", A),
        ("taskid", &taskid),
    ] {
        assert_eq!(cdr.get(k).map(String::as_str), Some(v), "{k}");
    }
    assert_eq!(cdr.get("subid").map(String::as_str), subid.as_str());
    let start = parse_query(&seen[2].2);
    assert_eq!(
        (start.get("callTime"), start.get("userData").map(String::as_str)),
        (cdr.get("beginTime"), Some("a+b== x"))
    );
    let url = cdr["recording"].clone();
    assert_eq!(Some(url.as_str()), placed["recording_url"].as_str());
    let wav = request(&url, Method::GET, &[], Vec::new(), Duration::from_secs(5)).await.expect("recording");
    assert_eq!((wav.status, wav.body.len()), (200, 300_000));
    assert_eq!(
        Some(telbridge_sim::util::hex(&Sha256::digest(&wav.body))).as_deref(),
        placed["recording_sha256"].as_str()
    );

    // The other way, B→A, answered as JSON on request; not recorded when told so.
    let back = control(&base, "/sim/call", json!({"x": X, "caller": B, "result": 17, "json": true})).await;
    assert_eq!((back["callee"].as_str(), &back["recording_url"]), (Some(A), &Value::Null));
    wait_until("the JSON callbacks", || sim.state()["callbacks"]["answered"] == 4).await;
    let seen = got.lock().expect("lock").clone();
    let j: Value = serde_json::from_str(&seen[5].2).expect("JSON CDR");
    assert!(seen[5].1.starts_with("application/json"));
    assert_eq!(
        (j["result"].as_str(), j["duration"].as_i64(), j["calldisplay"].as_str()),
        (Some("17"), Some(0), Some(X))
    );
    assert!(j["beginTime"].is_i64() && j.get("answerTime").is_none() && j.get("recording").is_none());
    let stranger = json!({"x": X, "caller": "1"}).to_string().into_bytes();
    let r = request(&format!("{base}/sim/call"), Method::POST, &[], stranger, Duration::from_secs(5)).await;
    assert_eq!(r.expect("reply").status, 404);
}

#[tokio::test]
async fn an_xa_transfer_routes_anyone_to_a_and_bindings_expire_on_the_sims_clock() {
    let (cb, got) = receiver(0).await;
    let opts = Options { cdr_url: Some(format!("{cb}/cdr")), json_callbacks: true, ..Options::default() };
    let (base, sim) = sim(opts).await;
    let xa = format!("{base}/igw/service/uc/interline/{X}/transfer");
    assert_eq!(
        ok(Method::PUT, &xa, &format!("appid=app1&anum={A}&reqid=x1&ttl=0&display=1")).await,
        json!({"error": 0, "reason": "成功"})
    );
    let short = format!("{base}/igw/service/uc/interline/17000000009");
    assert_eq!(ok(Method::PUT, &short, &format!("appid=app1&anum={A}&bnum={B}&reqid=r1&ttl=60")).await["error"], 0);
    // An hour later by the sim's clock (the agent's timestamps are then an hour old: the
    // signature check is not what this tests, so the call is made through the control API).
    control(&base, "/sim/config", json!({"clock_skew_secs": 3600})).await;
    let placed = control(&base, "/sim/call", json!({"x": X, "caller": "13700000000"})).await;
    assert_eq!(placed["callee"].as_str(), Some(A), "ttl 0 is forever");
    let gone = json!({"x": "17000000009", "caller": A}).to_string().into_bytes();
    let r = request(&format!("{base}/sim/call"), Method::POST, &[], gone, Duration::from_secs(5)).await.expect("reply");
    assert_eq!(r.status, 404, "the AXB's 60 s are over");
    let state = sim.state();
    assert_eq!(
        (state["bindings"][0]["expires_ms"].clone(), state["bindings"][1]["expired"].as_bool()),
        (Value::Null, Some(true))
    );
    wait_until("the CDR", || sim.state()["callbacks"]["answered"] == 1).await;
    let cdr: Value = serde_json::from_str(&got.lock().expect("lock")[0].2).expect("json");
    assert_eq!(
        (cdr["bindtype"].as_str(), cdr["calldisplay"].as_str(), cdr["subid"].as_str()),
        (Some("xa"), Some("13700000000"), state["bindings"][0]["subid"].as_str())
    );
    control(&base, "/sim/config", json!({"clock_skew_secs": 0})).await;
    let release = format!("{xa}?appid=app1");
    assert_eq!(ok(Method::DELETE, &release, "").await["error"], 0);
    assert_eq!(ok(Method::DELETE, &release, "").await["error"], 1300);
}
