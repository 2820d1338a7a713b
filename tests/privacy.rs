//! End to end with the privacy-number connector: a real broker, the real agent binary,
//! and `telbridge-sim privacy` (written from the vendor's document, not from the
//! connector), its callbacks arriving on the agent's callback listener over loopback.
#![cfg(feature = "privacy")]

mod common;

use common::sim::Sim;
use common::site::{Site, WAIT};
use common::*;
use serde_json::{Value, json};
use std::time::Duration;

const SECRET: &str = "cb-s3cret-0123456789";

fn callback_args(cb: u16) -> Vec<String> {
    vec![
        "--cdr-url".into(),
        format!("http://127.0.0.1:{cb}/privacy/p1/{SECRET}/cdr"),
        "--call-start-url".into(),
        format!("http://127.0.0.1:{cb}/privacy/p1/{SECRET}/call_start"),
    ]
}

fn sim(cb: u16, more: &[&str]) -> Sim {
    let mut args = callback_args(cb);
    args.extend(more.iter().map(|s| s.to_string()));
    Sim::privacy(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

/// A site whose `[[privacy]]` account `p1` talks to `sim`; callbacks on port `cb`.
fn site(name: &str, sim: &Sim, cb: u16, extra: &str) -> Site {
    let toml = format!(
        "[callbacks]\nlisten = \"127.0.0.1:{cb}\"\n\
         [[privacy]]\nname = \"p1\"\nurl = \"{}\"\ndevid = \"10000000\"\nauthkey = \"key1\"\nappid = \"app1\"\n\
         callback_secret = \"{SECRET}\"\ncommand_retry_secs = 5\n{extra}\n",
        sim.url()
    );
    Site::start(name, "privacy/p1", &toml)
}

fn bindings(sim: &Sim) -> Vec<Value> {
    sim.state()["bindings"].as_array().cloned().unwrap_or_default()
}

const USER_DATA: &str = "b3JkZXI9Nzc="; // base64 of "order=77"

#[test]
fn a_call_through_a_binding_reaches_the_cloud_with_its_user_data_command_id_and_recording() {
    let cb = free_port();
    let sim = sim(cb, &[]);
    let s = site("privacy-call", &sim, cb, "fetch_recordings = true\nchunk_bytes = 8192\ntimeout_ms = 5000");
    let args = json!({"x": "17000000001", "a": "13800000001", "b": "13900000002", "ttl": 600, "record": true,
                      "user_data": USER_DATA});
    let bound = s.call("bind-1", "privacy.bind_axb", args);
    assert_eq!(bound["status"], "ok", "{bound}");
    let subid = bound["data"]["subid"].as_str().expect("subid").to_string();
    assert_eq!(bindings(&sim).len(), 1);

    // The vendor is busy (429) at the first download: the recording is fetched again later.
    sim.control("/sim/config", &json!({"busy_recordings": 1}));
    let r = common::http::post_json_at(
        &sim.host,
        sim.port,
        "/sim/call",
        None,
        &json!({"x": "17000000001", "caller": "13800000001", "result": "answered", "duration": 42,
                "recording": true, "recording_bytes": 50000}),
    )
    .expect("call");
    assert_eq!(r.status, 200, "{:?}", r.json());
    let call = r.json();
    let started = s.wait_event("call.started", "call.started", |d| d["subid"] == subid.as_str());
    assert_eq!((started["cmd_id"].as_str(), started["user_data"].as_str()), (Some("bind-1"), Some(USER_DATA)));
    let cdr = s.wait_event("call.cdr", "call.cdr", |d| d["subid"] == subid.as_str());
    assert_eq!((cdr["cmd_id"].as_str(), cdr["user_data_text"].as_str()), (Some("bind-1"), Some("order=77")));
    assert_eq!((cdr["answered"].as_bool(), cdr["duration"].as_i64()), (Some(true), Some(42)));

    let rec = s.wait_event("call.recording", "the recording", |d| d["taskid"] == call["taskid"]);
    assert_eq!(rec["file"]["sha256"], call["recording_sha256"], "{rec}");
    let file_id = rec["file"]["file_id"].as_str().expect("file id").to_string();
    let whole = wait_for(WAIT, "every chunk", || s.reassemble("call.recording.file", &file_id));
    assert_eq!(whole.len(), 50_000);
    let ack = s.call("ack-1", "privacy.recording.ack", json!({"file_id": file_id}));
    assert_eq!(ack["data"]["state"], "done", "{ack}");
    let (state, data): (String, Option<i64>) = s
        .db()
        .query_row("SELECT state, length(data) FROM spool WHERE file_id = ?1", [&file_id], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .expect("spool row");
    assert_eq!(state, "done");
    assert!(data.unwrap_or(0) == 0, "the file leaves the spool after the ack");

    // A JSON callback gives the same event as a form one.
    let json_call = common::http::post_json_at(
        &sim.host,
        sim.port,
        "/sim/call",
        None,
        &json!({"x": "17000000001", "caller": "13900000002", "result": "17", "json": true}),
    )
    .expect("json call");
    assert_eq!(json_call.status, 200);
    let busy = s.wait_event("call.cdr", "the JSON CDR", |d| d["result"] == "17");
    assert_eq!((busy["result_meaning"].as_str(), busy["cmd_id"].as_str()), (Some("user busy"), Some("bind-1")));
    let keys = |v: &Value| v.as_object().map(|m| m.keys().cloned().collect::<Vec<_>>()).unwrap_or_default();
    assert_eq!(keys(&busy), keys(&cdr), "same fields by JSON and by form");

    let released = s.call("rel-1", "privacy.release_axb", json!({"subid": subid}));
    assert_eq!(released["status"], "ok", "{released}");
    let again = s.call("rel-2", "privacy.release_axb", json!({"subid": subid}));
    assert_eq!(again["error"]["code"], "already_ended", "{again}");
}

#[test]
fn a_bind_whose_reply_was_lost_or_whose_agent_was_killed_makes_one_binding() {
    let cb = free_port();
    let sim = sim(cb, &[]);
    let mut s = site("privacy-once", &sim, cb, "timeout_ms = 2000");
    // The platform binds, then its answer is lost: the retry with the same reqid gets 1004.
    sim.control("/sim/config", &json!({"drop_next": 1}));
    let args = |x: &str| json!({"x": x, "a": "13800000001", "b": "13900000002", "ttl": 600});
    let r = s.call("once-1", "privacy.bind_axb", args("17000000001"));
    assert_eq!(r["status"], "ok", "{r}");
    assert!(r["data"]["note"].as_str().is_some_and(|n| n.contains("1004")), "{r}");
    assert_eq!(bindings(&sim).len(), 1, "one binding");

    // The agent dies while the platform holds its answer; restarted, it resumes the bind.
    sim.control("/sim/config", &json!({"slow_next": 1, "slow_ms": 30000}));
    s.send("once-2", "privacy.bind_axb", args("17000000002"));
    wait_for(WAIT, "the bind at the platform", || (bindings(&sim).len() == 2).then_some(()));
    s.agent.restart();
    let r = s.result("once-2");
    assert_eq!(r["status"], "ok", "{r}");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(bindings(&sim).len(), 2, "still one binding per command");
    let list = s.call("list-1", "privacy.bindings", json!({}));
    assert_eq!(list["data"]["bindings"].as_array().map(Vec::len), Some(2), "{list}");

    // A temporary failure (1500) is tried again with the same reqid: still one binding.
    sim.control("/sim/config", &json!({"fail_next": 1, "fail_code": 1500}));
    let r = s.call("once-3", "privacy.bind_axb", args("17000000003"));
    assert_eq!(r["status"], "ok", "{r}");
    assert!(r["data"]["subid"].is_string(), "the retry was the first that bound: {r}");
    assert_eq!(bindings(&sim).len(), 3);

    // A release whose answer is lost: the retry finds the binding gone (1300) and answers ok.
    let subid = r["data"]["subid"].as_str().expect("subid").to_string();
    sim.control("/sim/config", &json!({"drop_next": 1}));
    let released = s.call("once-rel", "privacy.release_axb", json!({"subid": subid}));
    assert_eq!(released["status"], "ok", "{released}");
    assert!(released["data"]["note"].as_str().is_some_and(|n| n.contains("1300")), "{released}");
    let state = sim.state();
    assert_eq!(state["requests"]["release_axb"], 2, "the release and its retry: {state}");
    assert!(bindings(&sim).iter().any(|b| b["subid"] == subid.as_str() && b["released"] == true));
    let again = s.call("once-rel-2", "privacy.release_axb", json!({"subid": subid}));
    assert_eq!(again["error"]["code"], "already_ended", "recorded as released: {again}");

    // A transfer whose TTL passes is reported.
    let xa = s.call("xa-1", "privacy.bind_xa", json!({"x": "17000000009", "a": "13800000001", "ttl": 1}));
    assert_eq!(xa["status"], "ok", "{xa}");
    let expired = s.wait_event("binding.expired", "the TTL to pass", |d| d["x"] == "17000000009");
    assert_eq!((expired["cmd_id"].as_str(), expired["state"].as_str()), (Some("xa-1"), Some("expired")));
}

#[test]
fn strangers_callbacks_store_nothing_and_a_skewed_clock_is_a_clear_auth_failure() {
    let cb = free_port();
    let sim = sim(cb, &["--clock-skew-secs", "240"]);
    let guarded = format!(
        "[[privacy]]\nname = \"p2\"\nurl = \"{}\"\ndevid = \"10000000\"\nauthkey = \"key1\"\nappid = \"app1\"\n\
         callback_secret = \"{SECRET}\"\nallow_from = [\"192.0.2.0/24\"]\n",
        sim.url()
    );
    let s = site("privacy-guard", &sim, cb, &guarded);
    let r = s.call("skew-1", "privacy.account", json!({}));
    assert_eq!(r["error"]["code"], "auth_failed", "{r}");
    assert!(r["error"]["reason"].as_str().is_some_and(|t| t.contains("clock") && t.contains("3 minutes")), "{r}");

    let cdr = "devid=10000000&appid=app1&taskid=T9&subid=S9&caller=1&rcaller=2&callee=3&result=answered&beginTime=1";
    let foreign = cdr.replace("devid=10000000", "devid=999");
    let post = |path: &str, body: &str| {
        common::http::request(
            cb,
            "POST",
            path,
            &[("Content-Type", "application/x-www-form-urlencoded")],
            body.as_bytes(),
        )
        .expect("post")
        .status
    };
    assert_eq!(post(&format!("/privacy/p1/{SECRET}/cdr"), &foreign), 400, "another account's devid");
    assert_eq!(post("/privacy/p1/wrong-secret-0000000/cdr", cdr), 404, "wrong secret");
    assert_eq!(post(&format!("/privacy/p2/{SECRET}/cdr"), cdr), 403, "outside the allow-list");
    assert_eq!(post(&format!("/privacy/p1/{SECRET}/cdr"), cdr), 200, "the real thing");
    assert_eq!(post(&format!("/privacy/p1/{SECRET}/cdr"), cdr), 200, "a platform retry, answered again");
    s.wait_event("call.cdr", "the good CDR", |d| d["taskid"] == "T9");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(s.rec.on("/evt/privacy/p1/call.cdr").len(), 1, "stored once, nothing from the refused ones");
    assert!(s.rec.on("/evt/privacy/p2/call.cdr").is_empty());
}

#[test]
fn a_bind_resumed_after_its_binding_was_committed_answers_from_it_and_binds_nothing() {
    let cb = free_port();
    let sim = sim(cb, &[]);
    let mut s = site("privacy-resume", &sim, cb, "");
    s.agent.kill();
    // As a crash leaves it: the binding made and committed, the command's result not.
    let binding = json!({"kind": "axb", "x": "17100000001", "a": "13800000001", "b": "13900000001",
                         "subid": "SUB-77", "reqid": "r-77", "ttl": 600, "expires_ms": 9_999_999_999_999u64,
                         "cmd_id": "bind-7", "state": "active", "created_ms": 1});
    let args = json!({"x": "17100000001", "a": "13800000001", "b": "13900000001", "ttl": 600});
    let tries = json!({"reqid": "r-77", "tries": 1});
    let kv = [("privacy/p1", "reqid/bind-7", &tries), ("privacy/p1", "axb/SUB-77", &binding)];
    leave_as_crashed(&s.dir, &kv, "privacy/p1", "bind-7", "privacy.bind_axb", &args);
    s.agent.restart();
    let r = s.result("bind-7");
    assert_eq!((r["status"].as_str(), r["data"]["subid"].as_str()), (Some("ok"), Some("SUB-77")), "{r}");
    assert!(bindings(&sim).is_empty(), "nothing bound again: {:?}", bindings(&sim));
    let listed = s.call("list-1", "privacy.bindings", json!({}));
    assert_eq!(listed["data"]["bindings"].as_array().map(Vec::len), Some(1), "{listed}");
}
