//! The simulated call-center OpenAPI over real loopback HTTP, checked against the digest
//! (`callcenter-openapi.md`) and the seed: the md5 digest (case-insensitive) and the
//! timestamp window, batched requests judged one by one, API versions, agents and
//! click-to-call with its three signed notifications (retried with the same seq and
//! timestamp), tasks of up to 1000 callees, CDR and record paging, recordings, and the
//! control API's forged notifications and lost replies.

mod callcenter;

use callcenter::*;
use hyper::Method;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use telbridge_sim::callcenter::auth::{SEED_APIKEY, digest};
use telbridge_sim::callcenter::codes::*;
use telbridge_sim::callcenter::{Options, calls};
use telbridge_sim::push::request;

const LOGIN: &str = "/openapi/V2.0.6/AgentLogin";

#[tokio::test]
async fn the_digest_is_checked_without_case_and_stale_timestamps_are_refused() {
    let (base, _sim) = sim(Options::default()).await;
    let url = format!("{base}{LOGIN}");
    let req = json!({"seq": "1", "agent": "1000", "userData": "u1"});
    let ok = post(&url, &envelope(now(), "5271", "request", req.clone())).await.expect("reply").json();
    assert_eq!((ok["result"]["error"].as_i64(), ok["data"]["seq"].as_str()), (Some(0), Some("5271")));
    let resp = &ok["data"]["response"];
    assert_eq!(
        (resp["seq"].as_str(), resp["userData"].as_str(), resp["result"]["error"].as_i64()),
        (Some("1"), Some("u1"), Some(0))
    );

    let ts = now();
    let upper = digest("C2", &ts.to_string(), "7", SEED_APIKEY).to_uppercase();
    // seq and timestamp as JSON numbers, the digest in upper case.
    let body =
        json!({"authentication": {"customer": "C2", "timestamp": ts, "seq": 7, "digest": upper}, "request": req});
    let r = post(&url, &body).await.expect("reply").json();
    assert_eq!((r["result"]["error"].as_i64(), r["data"]["seq"].as_i64()), (Some(0), Some(7)));

    let mut wrong = envelope(now(), "8", "request", req.clone());
    wrong["authentication"]["digest"] = json!(digest("C2", "1", "8", SEED_APIKEY));
    let mut stranger = envelope(now(), "9", "request", req.clone());
    stranger["authentication"]["customer"] = json!("C3");
    for body in [wrong, stranger] {
        let r = post(&url, &body).await.expect("reply");
        assert_eq!((r.status, r.json()["result"]["error"].as_i64()), (200, Some(AUTH_FAILED)), "{}", r.json());
        assert!(r.json()["data"].is_null());
    }
    let stale = post(&url, &envelope(now() - 301_000, "10", "request", req.clone())).await.expect("reply").json();
    assert_eq!(stale["result"]["error"], STALE_TIMESTAMP);
    let future = post(&url, &envelope(now() + 301_000, "11", "request", req.clone())).await.expect("reply").json();
    assert_eq!(future["result"]["error"], STALE_TIMESTAMP);
    let fresh = post(&url, &envelope(now() - 290_000, "12", "request", req.clone())).await.expect("reply").json();
    assert_eq!(fresh["result"]["error"], 0);
    let s = state(&base).await;
    assert_eq!((s["refused"]["digest"].as_u64(), s["refused"]["stale"].as_u64()), (Some(2), Some(2)));
    assert_eq!(s["requests"]["AgentLogin"], 7);

    // The sim's clock skewed ahead refuses a correct client until it is set back.
    control(&base, "/sim/config", json!({"clock_skew_secs": 400})).await;
    assert_eq!(api_v(&base, 6, "AgentLogin", "request", req.clone()).await["result"]["error"], STALE_TIMESTAMP);
    control(&base, "/sim/config", json!({"clock_skew_secs": 0})).await;
    assert_eq!(api_v(&base, 6, "AgentLogin", "request", req).await["result"]["error"], 0);
}

#[tokio::test]
async fn batched_requests_are_answered_in_order_each_on_its_own() {
    let (base, _sim) = sim(Options::default()).await;
    let reqs = json!([
        {"seq": "1", "agent": "1000", "userData": "a"},
        {"seq": 2, "agent": "123456789"},
        {"seq": "3", "agent": 1001, "userData": "x".repeat(31)},
        {"agent": "1002"},
        {"seq": "5", "agent": "1003"},
        {"seq": "6", "agent": 1002, "userData": 42},
    ]);
    let reply = api_v(&base, 6, "AgentLogin", "requests", reqs).await;
    assert_eq!(reply["result"]["error"], 0);
    assert!(reply["data"].get("response").is_none());
    let r = reply["data"]["responses"].as_array().expect("responses").clone();
    let codes: Vec<i64> = r.iter().map(|x| x["result"]["error"].as_i64().expect("code")).collect();
    assert_eq!(codes, [0, BAD_FIELD, BAD_FIELD, MISSING_FIELD, NO_SUCH_AGENT, 0]);
    assert_eq!(
        (&r[0]["seq"], &r[0]["userData"], &r[1]["seq"], &r[5]["userData"]),
        (&json!("1"), &json!("a"), &json!(2), &json!(42))
    );
    assert!(r[2]["result"]["msg"].as_str().is_some_and(|m| m.contains("userData")));
    let s = state(&base).await;
    let work = |a: &str| s["agents"][a]["workStatus"].as_str().map(str::to_string);
    assert_eq!(
        (work("1000"), work("1001"), work("1002")),
        (Some("ONLINE".into()), Some("OFFLINE".into()), Some("ONLINE".into()))
    );
    let status = one(&base, "getAgentStatus", json!({"seq": "9", "agent": "1000"})).await;
    assert_eq!((status["workStatus"].as_str(), status["serverStatus"].as_str()), (Some("ONLINE"), Some("IDLE")));
    assert_eq!(code(&base, "AgentSetBusy", json!({"seq": "1", "agent": "1001"})).await, AGENT_STATE, "logged out");
    assert_eq!(code(&base, "AgentSetBusy", json!({"seq": "1", "agent": "1000"})).await, 0);
    assert_eq!(state(&base).await["agents"]["1000"]["workStatus"], "BUSY");
    assert_eq!(code(&base, "AgentSetIdle", json!({"seq": "1", "agent": "1000"})).await, 0);
    assert_eq!(code(&base, "AgentLogout", json!({"seq": "1", "agent": "1000"})).await, 0);
    assert_eq!(state(&base).await["agents"]["1000"]["workStatus"], "OFFLINE");
    let vv = json!({"seq": "1", "callee": "13800000000", "verifyCode": "1234", "playTimes": "6"});
    assert_eq!(code(&base, "VoiceVerify", vv).await, BAD_FIELD);
    let vv = json!({"seq": "1", "callee": "13800000000", "verifyCode": 12, "userData": "v".repeat(100)});
    assert_eq!(code(&base, "VoiceVerify", vv).await, BAD_FIELD, "verifyCode is 3-8 digits");
    let vv = json!({"seq": "1", "callee": "13800000000", "verifyCode": 123, "userData": "v".repeat(100)});
    assert_eq!(code(&base, "VoiceVerify", vv).await, 0, "VoiceVerify's userData may be 100 long");
}

#[tokio::test]
async fn versions_and_api_names_are_checked() {
    let (base, _sim) = sim(Options::default()).await;
    let req = json!({"seq": "1"});
    assert_eq!(api_v(&base, 4, "getAgentInfo", "request", req.clone()).await["result"]["error"], BAD_VERSION);
    let info = api_v(&base, 6, "getAgentInfo", "request", req.clone()).await;
    let data = info["data"]["response"]["data"].as_array().expect("data").clone();
    assert_eq!(data.len(), 3);
    assert_eq!((data[0]["staffNo"].as_str(), data[0]["id"].as_str()), (Some("1000"), Some("1")));
    let rec = json!({"seq": "1", "startKey": 0});
    assert_eq!(api_v(&base, 1, "getRecordsList", "request", rec.clone()).await["result"]["error"], BAD_VERSION);
    assert_eq!(api_v(&base, 4, "getRecordsList", "request", rec).await["result"]["error"], 0);
    let login = json!({"seq": "1", "agent": "1000"});
    for v in [1, 2, 3, 4, 6] {
        assert_eq!(api_v(&base, v, "AgentLogin", "request", login.clone()).await["result"]["error"], 0, "V2.0.{v}");
    }
    let five = api_v(&base, 5, "AgentLogin", "request", login.clone()).await;
    assert_eq!(five["result"]["error"], BAD_VERSION);
    assert!(five["result"]["msg"].as_str().is_some_and(|m| m.contains("V2.0.6")));
    assert_eq!(api_v(&base, 6, "AgentLoginX", "request", login.clone()).await["result"]["error"], NO_SUCH_API);
    let r = request(&format!("{base}{LOGIN}"), Method::GET, &[], Vec::new(), Duration::from_secs(5)).await;
    assert_eq!(r.expect("reply").status, 405);
    let junk = post(&format!("{base}{LOGIN}"), &json!("not an envelope")).await.expect("reply").json();
    assert_eq!(junk["result"]["error"], BAD_ENVELOPE);
    // The seed's request headers: Content-Type: application/json (a charset may follow).
    let body = envelope(now(), "1", "request", login).to_string().into_bytes();
    let url = format!("{base}{LOGIN}");
    for (ct, want) in [("text/plain", BAD_ENVELOPE), ("application/json; charset=utf-8", 0)] {
        let headers = [("content-type", ct)];
        let r = request(&url, Method::POST, &headers, body.clone(), Duration::from_secs(5)).await;
        assert_eq!(r.expect("reply").json()["result"]["error"], want, "{ct}");
    }
}

#[tokio::test]
async fn a_click_to_call_sends_callstart_callend_and_billing_signed_with_the_same_user_data() {
    let (cb, got) = receiver(vec![]).await;
    let opts = Options { notify_url: Some(format!("{cb}/notify")), call_ms: 300, ..Options::default() };
    let (base, sim) = sim(opts).await;
    let call = json!({"seq": "31", "agent": "1000", "callee": "13800000000", "userData": "order-42"});
    assert_eq!(code(&base, "CallNumber", call.clone()).await, AGENT_STATE, "not logged in");
    assert_eq!(code(&base, "AgentLogin", json!({"seq": "30", "agent": "1000"})).await, 0);
    let bad = json!({"seq": "1", "agent": "1000", "callee": "12"});
    assert_eq!(code(&base, "CallNumber", bad).await, BAD_FIELD);
    let resp = one(&base, "CallNumber", call.clone()).await;
    assert_eq!((resp["result"]["error"].as_i64(), resp["userData"].as_str()), (Some(0), Some("order-42")));
    let status = one(&base, "getAgentStatus", json!({"seq": "32", "agent": "1000"})).await;
    assert_eq!(status["serverStatus"], "CALL_OUT");
    assert_eq!(code(&base, "CallNumber", call).await, AGENT_STATE, "already in a call");
    let seen = wait_for(&got, 3).await;
    let types: Vec<&str> = seen.iter().map(|n| n["notify"]["type"].as_str().unwrap_or("")).collect();
    assert_eq!(types, ["callstart", "callend", "billing"]);
    let seqs: Vec<&str> = seen.iter().map(|n| n["authentication"]["seq"].as_str().unwrap_or("")).collect();
    assert!(seqs[0] != seqs[1] && seqs[1] != seqs[2], "a fresh seq each: {seqs:?}");
    for n in &seen {
        assert!(signed_ok(n), "{n}");
        assert_eq!((n["notify"]["userData"].as_str(), n["notify"]["seq"].as_str()), (Some("order-42"), Some("31")));
        assert_eq!(n["param"], json!({"debug": false, "lang": "en_US"}));
        let ts: i64 = n["authentication"]["timestamp"].as_str().and_then(|t| t.parse().ok()).expect("ts");
        assert!((ts - now()).abs() < 10_000);
    }
    let start = &seen[0]["notify"];
    for (k, v) in [("customer", "C2"), ("agent", "1000"), ("number", "13800000000"), ("call_type", "1")] {
        assert_eq!(start[k].as_str(), Some(v), "{k}");
    }
    let bill = &seen[2]["notify"];
    for k in ["startTime", "ringTime", "answerTime", "byeTime", "caller", "session", "service", "timeLength"] {
        assert!(bill[k].as_str().is_some_and(|v| !v.is_empty()), "{k}: {bill}");
    }
    assert_eq!(bill["callee"], "13800000000");
    let file = bill["recordFile"].as_str().expect("recordFile").to_string();
    assert!(file.starts_with("record/") && file.ends_with("/1.wav"), "{file}");

    let deadline = Instant::now() + Duration::from_secs(5);
    while sim.state()["notifications"].as_array().is_none_or(|n| n.iter().any(|e| e["delivered"] != true)) {
        assert!(Instant::now() < deadline, "{}", sim.state());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let s = sim.state();
    assert_eq!((s["cdrs"].as_u64(), s["records"].as_u64(), s["calls"].as_u64()), (Some(1), Some(1), Some(0)));
    assert_eq!(s["agents"]["1000"]["serverStatus"], "IDLE");
    let cdr = one(&base, "getCdrList", json!({"seq": "1", "agent": ["1000"], "serviceType": "5"})).await;
    assert_eq!((cdr["total"].as_str(), cdr["cdr"][0]["filename"].as_str()), (Some("1"), Some(file.as_str())));
    assert_eq!((cdr["cdr"][0]["result"].as_str(), cdr["cdr"][0]["releaseCause"].as_str()), (Some("1"), Some("200")));
    let wav = request(&format!("{base}/{file}"), Method::GET, &[], Vec::new(), Duration::from_secs(5)).await;
    let wav = wav.expect("recording");
    assert_eq!((wav.status, wav.body.len()), (200, 65_536));
    assert_eq!(wav.body, calls::recording(1, 65_536));
}

#[tokio::test]
async fn a_refused_notification_is_retried_with_the_same_seq_and_timestamp() {
    let (cb, got) = receiver(vec![(500, "oops"), (200, r#"{"result":{"error":1,"msg":"no"}}"#)]).await;
    let opts = Options { notify_url: Some(cb), notify_retry: Duration::from_millis(30), ..Options::default() };
    let (base, sim) = sim(opts).await;
    let create = json!({"seq": "1", "agent": "1001", "taskName": "t", "callees": ["13800000001"], "mode": 2,
        "userData": "task-u"});
    let task = one(&base, "CallTaskCreate", create).await;
    let id = task["taskID"].as_str().expect("taskID").to_string();
    let control_req = json!({"seq": "2", "taskID": id, "action": "start", "agent": "1001"});
    assert_eq!(one(&base, "CallTaskControl", control_req).await["taskID"].as_str(), Some(id.as_str()));
    let seen = wait_for(&got, 3).await;
    assert_eq!(seen[0]["authentication"], seen[1]["authentication"]);
    assert_eq!(seen[1], seen[2], "the same bytes on every retry");
    let n = &seen[2]["notify"];
    assert_eq!(
        (n["type"].as_str(), n["taskID"].as_str(), n["status"].as_str()),
        (Some("taskinfo"), Some(id.as_str()), Some("1"))
    );
    assert_eq!(
        (n["userData"].as_str(), n["staffNo"].as_str(), n["calleeAmount"].as_str()),
        (Some("task-u"), Some("1001"), Some("1"))
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    let entry = sim.state()["notifications"][0].clone();
    assert_eq!(
        (entry["delivered"].as_bool(), entry["tries"].as_u64(), entry["type"].as_str()),
        (Some(true), Some(3), Some("taskinfo"))
    );
    assert_eq!(state(&base).await["tasks"][0]["status"], "running");
    assert_eq!(code(&base, "CallTaskControl", json!({"seq": "3", "taskID": id, "action": "pause"})).await, BAD_FIELD);
    assert_eq!(
        code(&base, "CallTaskControl", json!({"seq": "3", "taskID": "99", "action": "stop"})).await,
        NO_SUCH_TASK
    );
}

#[tokio::test]
async fn hangup_ends_a_running_call_early() {
    let (cb, got) = receiver(vec![]).await;
    let opts = Options { notify_url: Some(cb), call_ms: 20_000, ..Options::default() };
    let (base, _sim) = sim(opts).await;
    assert_eq!(code(&base, "HangupCall", json!({"seq": "1", "agent": "1002"})).await, NO_CALL);
    assert_eq!(code(&base, "AgentLogin", json!({"seq": "1", "agent": "1002"})).await, 0);
    assert_eq!(code(&base, "CallNumber", json!({"seq": "2", "agent": "1002", "callee": "+8613800000000"})).await, 0);
    assert_eq!(code(&base, "AgentLogout", json!({"seq": "3", "agent": "1002"})).await, AGENT_STATE, "in a call");
    let t = Instant::now();
    assert_eq!(code(&base, "HangupCall", json!({"seq": "4", "agent": "1002"})).await, 0);
    let seen = wait_for(&got, 3).await;
    assert!(t.elapsed() < Duration::from_secs(5));
    assert_eq!(seen[1]["notify"]["type"], "callend");
    assert_eq!(
        (seen[2]["notify"]["userData"].as_str(), seen[2]["notify"]["timeLength"].as_str()),
        (Some(""), Some("1"))
    );
    assert_eq!(state(&base).await["agents"]["1002"]["serverStatus"], "IDLE");
}

#[tokio::test]
async fn tasks_take_up_to_1000_callees_and_report_errors_and_repeats() {
    let (base, _sim) = sim(Options::default()).await;
    let mut callees: Vec<Value> = (0..997).map(|i| json!(format!("1380000{i:04}"))).collect();
    callees.extend([json!("13800000000"), json!("bad"), json!(13_800_000_001u64)]);
    assert_eq!(callees.len(), 1000);
    let create =
        json!({"seq": "1", "agent": "1000", "taskName": "big", "callees": callees, "mode": "5", "multiplier": 2});
    let task = one(&base, "CallTaskCreate", create).await;
    assert_eq!(task["report"], json!({"total": "1000", "error": "1", "repeat": "2"}));
    let id = task["taskID"].as_str().expect("id").to_string();
    let mut more = callees.clone();
    more.push(json!("13900000000"));
    let over = json!({"seq": "2", "agent": "1000", "callees": more, "mode": 2});
    assert_eq!(code(&base, "CallTaskCreate", over).await, TOO_MANY_NUMBERS);
    let modes = [json!({"mode": 3}), json!({"mode": 2, "multiplier": 6}), json!({"callees": []})];
    for (extra, want) in modes.into_iter().zip([BAD_FIELD, BAD_FIELD, MISSING_FIELD]) {
        let mut req = json!({"seq": "3", "agent": "1000", "callees": ["13800000000"], "mode": 2});
        for (k, v) in extra.as_object().expect("obj") {
            req[k] = v.clone();
        }
        assert_eq!(code(&base, "CallTaskCreate", req).await, want);
    }
    let add =
        json!({"seq": "4", "taskID": id, "agent": "1000", "callees": ["13900000000", "13800000000", "13900000000"]});
    let added = one(&base, "CallTaskAddNumbers", add).await;
    assert_eq!(
        (added["taskID"].as_str(), &added["report"]),
        (Some(id.as_str()), &json!({"total": "3", "error": "0", "repeat": "2"}))
    );
    let other = json!({"seq": "5", "taskID": id, "agent": "1001", "callees": ["13900000001"]});
    assert_eq!(code(&base, "CallTaskAddNumbers", other).await, NO_SUCH_TASK);
    assert_eq!(
        one(&base, "CallTaskQuery", json!({"seq": "6", "agent": "1000"})).await["taskID"].as_str(),
        Some(id.as_str())
    );
    assert_eq!(code(&base, "CallTaskQuery", json!({"seq": "7", "agent": "1001"})).await, NO_SUCH_TASK);
    let t = state(&base).await["tasks"][0].clone();
    assert_eq!(
        (t["callees"].as_u64(), t["status"].as_str(), t["taskName"].as_str()),
        (Some(998), Some("created"), Some("big"))
    );
}

#[tokio::test]
async fn records_page_by_start_key_and_cdrs_filter_with_beijing_times() {
    let (base, _sim) = sim(Options { records_page: 3, ..Options::default() }).await;
    let added =
        control(&base, "/sim/cdr", json!({"count": 7, "agent": "1001", "startTime": "2026-12-01 10:00:00"})).await;
    assert_eq!(added["record_keys"].as_array().map(Vec::len), Some(7));
    assert_eq!(added["filenames"][0], "record/20261201/1.wav");
    control(
        &base,
        "/sim/cdr",
        json!({"count": 1, "agent": "1002", "startTime": "2026-12-02 10:00:00", "record": false, "timeLength": 90}),
    )
    .await;
    let mut keys = Vec::new();
    let mut start = json!(0);
    loop {
        let reply = api_v(&base, 6, "getRecordsList", "request", json!({"seq": "1", "startKey": start})).await;
        let page = reply["data"]["record"].as_array().expect("record beside response").clone();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 3);
        keys.extend(page.iter().map(|r| r["key"].as_str().expect("key").to_string()));
        start = page[page.len() - 1]["key"].clone();
    }
    assert_eq!(keys, ["1", "2", "3", "4", "5", "6", "7"], "startKey is exclusive");
    let batch = api_v(&base, 4, "getRecordsList", "requests", json!([{"seq": "1", "startKey": "6"}])).await;
    let rec = &batch["data"]["responses"][0]["record"];
    assert_eq!(
        (rec[0]["key"].as_str(), rec[0]["type"].as_str(), rec[0]["agent"].as_str()),
        (Some("7"), Some("1"), Some("1001"))
    );
    assert_eq!(code(&base, "getRecordsList", json!({"seq": "1"})).await, MISSING_FIELD);

    let q = |extra: Value| {
        let mut r = json!({"seq": "1", "agent": ["1001", "1002"], "serviceType": "5"});
        for (k, v) in extra.as_object().cloned().unwrap_or_default() {
            r[k] = v;
        }
        r
    };
    let all = one(&base, "getCdrList", q(json!({}))).await;
    let keys: Vec<&str> = all["cdr"].as_array().expect("cdr").iter().map(|c| c["key"].as_str().unwrap_or("")).collect();
    assert_eq!((all["total"].as_str(), keys), (Some("8"), vec!["8", "7", "6", "5", "4", "3", "2", "1"]));
    assert_eq!(all["cdr"][1]["answerTime"], "2026-12-01 10:00:00");
    let window = q(json!({"startTime": "2026-12-02 00:00:00", "endTime": "2026-12-02 23:59:59"}));
    assert_eq!(one(&base, "getCdrList", window).await["total"], "1");
    assert_eq!(one(&base, "getCdrList", q(json!({"timeLengthMin": 60}))).await["total"], "1");
    assert_eq!(one(&base, "getCdrList", q(json!({"agent": "1001", "timeLengthMax": "30"}))).await["total"], "7");
    assert_eq!(code(&base, "getCdrList", q(json!({"startTime": "1764554400"}))).await, BAD_FIELD);
    assert_eq!(code(&base, "getCdrList", q(json!({"serviceType": ""}))).await, MISSING_FIELD);
    assert_eq!(code(&base, "getCdrList", q(json!({"serviceType": "6"}))).await, BAD_FIELD);
    control(&base, "/sim/config", json!({"cdr_page": 2})).await;
    let capped = one(&base, "getCdrList", q(json!({}))).await;
    assert_eq!((capped["total"].as_str(), capped["cdr"].as_array().map(Vec::len)), (Some("8"), Some(2)));

    control(&base, "/sim/config", json!({"recording_bytes": 300_000})).await;
    let big = control(&base, "/sim/cdr", json!({"count": 1})).await;
    let file = big["filenames"][0].as_str().expect("file").to_string();
    let wav =
        request(&format!("{base}/{file}"), Method::GET, &[], Vec::new(), Duration::from_secs(5)).await.expect("wav");
    assert_eq!((wav.status, wav.body.len(), &wav.body[..4]), (200, 300_000, &b"RIFF"[..]));
    assert_eq!(wav.body, calls::recording(8, 300_000));
    let none =
        request(&format!("{base}/record/20261201/99.wav"), Method::GET, &[], vec![], Duration::from_secs(5)).await;
    assert_eq!(none.expect("reply").status, 404);
}

#[tokio::test]
async fn forged_stale_and_repeated_notifications_and_lost_replies() {
    let (cb, got) = receiver(vec![(200, r#"{"result":{"error":7,"msg":"bad digest"}}"#)]).await;
    let (base, sim) = sim(Options { notify_url: Some(cb.clone()), ..Options::default() }).await;
    let notify = json!({"type": "callin", "customer": "C2", "agent": "1000", "number": "13800000000",
        "call_type": "0", "seq": "1"});
    let sent =
        control(&base, "/sim/notify", json!({"notify": notify, "repeat": 2, "timestamp_offset_ms": -600_000})).await;
    let answers = sent["answers"].as_array().expect("answers").clone();
    assert_eq!(answers.len(), 2);
    assert_eq!((answers[0]["status"].as_u64(), answers[0]["body"]["result"]["error"].as_i64()), (Some(200), Some(7)));
    assert_eq!(answers[1]["body"]["result"]["error"], 0);
    let seen = wait_for(&got, 2).await;
    assert_eq!(seen[0], seen[1]);
    assert!(signed_ok(&seen[0]));
    let ts: i64 = sent["timestamp"].as_str().and_then(|t| t.parse().ok()).expect("ts");
    assert!((now() - 600_000 - ts).abs() < 5_000, "stale by ten minutes");
    assert_eq!(seen[0]["authentication"]["seq"], sent["seq"]);
    let forged =
        control(&base, "/sim/notify", json!({"notify": notify, "digest": "00", "url": format!("{cb}/x")})).await;
    assert_eq!(wait_for(&got, 3).await[2]["authentication"]["digest"], "00");
    assert_ne!(forged["seq"], sent["seq"]);
    let entries = sim.state()["notifications"].clone();
    assert_eq!((entries[0]["tries"].as_u64(), entries[0]["delivered"].as_bool()), (Some(2), Some(true)));

    control(&base, "/sim/config", json!({"fail_next": 1, "drop_next": 1})).await;
    let login = envelope(now(), "1", "request", json!({"seq": "1", "agent": "1000"}));
    let failed = post(&format!("{base}{LOGIN}"), &login).await.expect("reply");
    assert_eq!(failed.status, 500);
    assert_eq!(sim.state()["agents"]["1000"]["workStatus"], "OFFLINE", "not handled");
    assert!(post(&format!("{base}{LOGIN}"), &login).await.is_err(), "closed without a reply");
    let s = sim.state();
    assert_eq!(
        (s["agents"]["1000"]["workStatus"].as_str(), s["config"]["dropped"].as_u64()),
        (Some("ONLINE"), Some(1))
    );
}
