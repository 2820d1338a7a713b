//! End to end with the call-center connector: a real broker, the real agent binary, and
//! `telbridge-sim callcenter` (written from the vendor's digest, not from the connector),
//! its notifications arriving on the agent's callback listener over loopback.
#![cfg(feature = "callcenter")]

mod common;

use common::sim::Sim;
use common::site::{Site, WAIT};
use common::*;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

const SECRET: &str = "cc-s3cret-0123456789";

fn notify_url(cb: u16) -> String {
    format!("http://127.0.0.1:{cb}/callcenter/cc1/{SECRET}/notify")
}

fn sim(cb: u16, more: &[&str]) -> Sim {
    let url = notify_url(cb);
    let mut args = vec!["--notify-url", url.as_str(), "--call-ms", "200", "--notify-retry-ms", "300"];
    args.extend_from_slice(more);
    Sim::callcenter(&args)
}

/// A site whose `[[callcenter]]` account `cc1` talks to `sim`; notifications on port `cb`.
fn site(name: &str, sim: &Sim, cb: u16, extra: &str) -> Site {
    let toml = format!(
        "[callbacks]\nlisten = \"127.0.0.1:{cb}\"\n\
         [[callcenter]]\nname = \"cc1\"\nurl = \"{}\"\ncustomer = \"C2\"\n\
         apikey = \"E416D0F85DC0CB67C85E070A32D9F0123AFF4762\"\nagent = \"1000\"\n\
         callback_secret = \"{SECRET}\"\ncommand_retry_secs = 5\ntimeout_ms = 3000\n{extra}\n",
        sim.url()
    );
    Site::start(name, "callcenter/cc1", &toml)
}

/// How many distinct events (by id) the broker carried for each `key` of `kind`.
fn per_key(s: &Site, kind: &str, key: &str) -> BTreeMap<String, usize> {
    let mut ids: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for m in s.rec.on(&format!("/evt/callcenter/cc1/{kind}")) {
        let v = m.json();
        let k = v["data"][key].as_str().map(str::to_string).unwrap_or_else(|| v["data"][key].to_string());
        ids.entry(k).or_default().insert(v["id"].as_str().unwrap_or_default().to_string());
    }
    ids.into_iter().map(|(k, v)| (k, v.len())).collect()
}

fn requests(sim: &Sim, api: &str) -> u64 {
    sim.state()["requests"][api].as_u64().unwrap_or(0)
}

#[test]
fn click_to_call_reaches_the_cloud_as_start_end_and_billing_and_its_recording_arrives_whole() {
    let cb = free_port();
    let sim = sim(cb, &["--recording-bytes", "50000"]);
    let s = site("cc-call", &sim, cb, "records_poll_secs = 5\nfetch_recordings = true\nchunk_bytes = 8192");
    let login = s.call("login-1", "cc.agent.login", json!({}));
    assert_eq!(login["status"], "ok", "{login}");
    assert_eq!(sim.state()["agents"]["1000"]["workStatus"], "ONLINE");
    let status = s.call("status-1", "cc.agent.status", json!({}));
    assert_eq!(status["data"]["workStatus"], "ONLINE", "{status}");

    let call = s.call("call-1", "cc.call", json!({"callee": "13800000001", "userData": "order-7"}));
    assert_eq!(call["status"], "ok", "{call}");
    for kind in ["call.start", "call.end", "call.billing"] {
        let e = s.wait_event(kind, kind, |d| d["userData"] == "order-7");
        assert!(e["notify_seq"].is_string() && e["notify_timestamp"].is_string(), "{kind}: {e}");
    }
    let billing = s.events("call.billing");
    assert!(billing[0]["callee"].is_string() || billing[0]["caller"].is_string(), "{billing:?}");

    // The call's record is collected, its recording fetched and relayed in chunks.
    let listed = s.wait_event("recording.listed", "the call's record", |d| d["filename"].is_string());
    let key = listed["key"].as_str().expect("key").to_string();
    let rec = s.wait_event("recording", "the recording", |d| d["key"] == key.as_str());
    let file_id = rec["file"]["file_id"].as_str().expect("file id").to_string();
    let whole = wait_for(WAIT, "every chunk", || s.reassemble("recording.file", &file_id));
    assert_eq!(whole.len(), 50_000);
    let url = listed["url"].as_str().expect("url");
    let path = url.split_once("://").and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..])).expect("path");
    let served = common::http::get_at(&sim.host, sim.port, path).expect("the sim's file");
    assert_eq!(served.body, whole, "the bytes the platform serves");
    let ack = s.call("ack-1", "cc.recording.ack", json!({"file_id": file_id}));
    assert_eq!(ack["data"]["state"], "done", "{ack}");

    // A call for a seat that is not logged in is the platform's refusal, named.
    let refused = s.call("call-2", "cc.call", json!({"agent": "1001", "callee": "13800000002"}));
    assert_eq!(refused["error"]["code"], "refused", "{refused}");
    let bad = s.call("call-3", "cc.call", json!({"agent": "123456789", "callee": "1"}));
    assert_eq!(bad["error"]["code"], "bad_args", "{bad}");
}

#[test]
fn forged_stale_and_repeated_notifications_are_answered_as_the_platform_expects() {
    let cb = free_port();
    let sim = sim(cb, &[]);
    let s = site("cc-notify", &sim, cb, "max_skew_secs = 2\nmax_age_secs = 2");
    let send = |extra: Value| {
        let mut body = json!({"notify": {"type": "callin", "customer": "C2", "agent": "1000", "number": "139",
                                          "call type": "0", "seq": "9", "userData": "u1", "vendorX": "kept"}});
        if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
            b.extend(e);
        }
        sim.control("/sim/notify", &body)
    };
    let error_of = |answer: &Value| answer["body"]["result"]["error"].as_i64();

    let forged = send(json!({"digest": "0123456789abcdef0123456789abcdef"}));
    assert_ne!(error_of(&forged["answers"][0]), Some(0), "{forged}");
    let stale = send(json!({"timestamp_offset_ms": -600_000}));
    assert_ne!(error_of(&stale["answers"][0]), Some(0), "{stale}");
    let twice = send(json!({"repeat": 2}));
    let answers = twice["answers"].as_array().cloned().unwrap_or_default();
    assert_eq!(answers.len(), 2, "{twice}");
    for a in &answers {
        assert_eq!((a["status"].as_u64(), error_of(a)), (Some(200), Some(0)), "{twice}");
        assert_eq!(a["body"], json!({"result": {"error": 0, "msg": ""}}));
    }
    let e = s.wait_event("call.in", "the notification", |d| d["userData"] == "u1");
    assert_eq!((e["vendorX"].as_str(), e["call_type"].as_str()), (Some("kept"), Some("0")), "{e}");
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(s.events("call.in").len(), 1, "stored once, nothing from the forged or stale ones");
    let refused = s.rec.all().iter().filter(|m| m.topic.contains("/evt/callcenter/")).count();
    assert_eq!(refused, 1, "no other event at all");

    // A stored notification retried by the platform after the skew has passed (same seq and
    // timestamp) is answered success again and stores nothing; a new one that old is refused.
    let ts = now_ms().to_string();
    assert_eq!(post_signed(cb, "777001", &ts), (200, Some(0)));
    s.wait_event("call.out", "the notification relayed", |d| d["seq"] == "777001");
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(post_signed(cb, "777001", &ts), (200, Some(0)), "a retry of a stored one, past the skew");
    let (status, error) = post_signed(cb, "777002", &ts);
    assert_eq!(status, 400, "a new one that old");
    assert_ne!(error, Some(0));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(s.events("call.out").len(), 1, "stored once");

    // A notification without a type is a call event, every field kept.
    let untyped = send(json!({"notify": {"agent": "1000", "number": "139", "call_type": "1", "seq": "10"}}));
    assert_eq!(error_of(&untyped["answers"][0]), Some(0), "{untyped}");
    s.wait_event("call.event", "the untyped notification", |d| d["seq"] == "10");
}

fn now_ms() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_millis()
}

/// Posts a `callout` notification of `seq` at `ts`, signed as the platform signs it: the
/// HTTP status and the answer's `error`.
fn post_signed(cb: u16, seq: &str, ts: &str) -> (u16, Option<i64>) {
    use md5::{Digest, Md5};
    let sum = Md5::digest(format!("C2@{ts}@{seq}@E416D0F85DC0CB67C85E070A32D9F0123AFF4762").as_bytes());
    let digest: String = sum.iter().map(|b| format!("{b:02x}")).collect();
    let body = json!({"authentication": {"customer": "C2", "digest": digest, "seq": seq, "timestamp": ts},
                      "notify": {"type": "callout", "agent": "1000", "number": "137", "call_type": "1", "seq": seq},
                      "param": {"debug": false, "lang": "en_US"}});
    let r = common::http::post_json(cb, &format!("/callcenter/cc1/{SECRET}/notify"), None, &body).expect("post");
    (r.status, r.json()["result"]["error"].as_i64())
}

#[test]
fn a_notification_first_delivered_after_an_outage_is_stored_and_one_from_the_future_is_not() {
    let cb = free_port();
    let sim = sim(cb, &[]);
    let s = site("cc-late", &sim, cb, "");
    // The platform's first attempts found no agent; its retry an hour later keeps their
    // timestamp (the default max_age_secs is a day).
    let hour_ago = (now_ms() - 3_600_000).to_string();
    assert_eq!(post_signed(cb, "880001", &hour_ago), (200, Some(0)));
    s.wait_event("call.out", "the late notification", |d| d["seq"] == "880001");
    let stored = s.rec.on("/evt/callcenter/cc1/call.out");
    assert_eq!(stored[0].json()["extra"]["param"], json!({"debug": false, "lang": "en_US"}), "kept");
    let ahead = (now_ms() + 600_000).to_string();
    let (status, error) = post_signed(cb, "880002", &ahead);
    assert_eq!(status, 400, "ten minutes ahead: more than max_skew_secs (300)");
    assert_ne!(error, Some(0));
    let day_ago = (now_ms() - 25 * 3_600_000).to_string();
    assert_eq!(post_signed(cb, "880003", &day_ago).0, 400, "older than max_age_secs");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(s.events("call.out").len(), 1, "only the late one stored");
}

#[test]
fn a_task_of_2500_callees_is_one_creation_and_two_additions_and_a_lost_answer_makes_no_second_task() {
    let cb = free_port();
    let sim = sim(cb, &[]);
    let s = site("cc-task", &sim, cb, "");
    let callees: Vec<String> = (0..2500).map(|i| format!("1380{i:07}")).collect();
    let r = s.call("task-1", "cc.task.create", json!({"taskName": "t1", "callees": callees, "mode": 2}));
    assert_eq!(r["status"], "ok", "{r}");
    assert_eq!((requests(&sim, "CallTaskCreate"), requests(&sim, "CallTaskAddNumbers")), (1, 2));
    assert_eq!(r["data"]["requests"], json!({"create": 1, "add_numbers": 2}));
    assert_eq!(r["data"]["report"]["total"], 2500, "{r}");
    let tasks = sim.state()["tasks"].as_array().cloned().unwrap_or_default();
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0]["callees"], 2500);

    // The creation is taken but its answer lost: the retry finds the task, makes none.
    sim.control("/sim/config", &json!({"drop_api": "CallTaskCreate", "drop_next": 1}));
    let r = s.call("task-2", "cc.task.create", json!({"taskName": "t2", "callees": ["13900000001"], "mode": 5}));
    assert_eq!(r["status"], "ok", "{r}");
    assert_eq!(r["data"]["adopted"], true, "{r}");
    assert_eq!(sim.state()["tasks"].as_array().map(Vec::len), Some(2), "one task per command");
    let control = s.call("ctl-1", "cc.task.control", json!({"taskID": r["data"]["taskID"], "action": "start"}));
    assert_eq!(control["status"], "ok", "{control}");
    s.wait_event("task.info", "the task's notification", |d| d["taskID"] == r["data"]["taskID"]);
}

#[test]
fn cdrs_one_reply_cannot_hold_are_found_by_halving_the_window_and_a_second_still_too_full_is_reported() {
    let cb = free_port();
    let sim = sim(cb, &[]);
    sim.control("/sim/config", &json!({"cdr_page": 2}));
    let at = (now_ms() / 1000) as u64 - 20;
    // Three in one second (one more than a reply carries), two more a few seconds later
    // (the simulator's CDRs are click-to-call, service type 5).
    for (count, second) in [(3, at), (1, at + 3), (1, at + 6)] {
        sim.control("/sim/cdr", &json!({"count": count, "startTime": second.to_string()}));
    }
    let s = site("cc-cdr-full", &sim, cb, "cdr_poll_secs = 5\ncdr_lag_secs = 1\ncdr_service_types = [5]\n");
    let alarm = s.wait_event("cdr.incomplete", "the too-full second reported", |_| true);
    assert_eq!(alarm["service_types"], json!([{"serviceType": 5, "total": 3, "returned": 2}]), "{alarm}");
    wait_for(WAIT, "every CDR the platform returns", || (per_key(&s, "cdr.record", "key").len() == 4).then_some(()));
}

#[test]
fn cdr_and_records_collection_survives_a_restart_and_relays_each_record_once() {
    let cb = free_port();
    let sim = sim(cb, &[]);
    let extra = "cdr_poll_secs = 5\ncdr_lag_secs = 1\ncdr_service_types = [1, 5]\nrecords_poll_secs = 5\n";
    let mut s = site("cc-collect", &sim, cb, extra);
    sim.control("/sim/cdr", &json!({"count": 5, "serviceType": "5"}));
    wait_for(WAIT, "five CDRs and five records", || {
        (per_key(&s, "cdr.record", "key").len() == 5 && per_key(&s, "recording.listed", "key").len() == 5).then_some(())
    });
    s.agent.restart();
    sim.control("/sim/cdr", &json!({"count": 3, "serviceType": "1"}));
    wait_for(WAIT, "eight of each", || {
        (per_key(&s, "cdr.record", "key").len() == 8 && per_key(&s, "recording.listed", "key").len() == 8).then_some(())
    });
    std::thread::sleep(Duration::from_secs(6));
    for kind in ["cdr.record", "recording.listed"] {
        let counts = per_key(&s, kind, "key");
        assert_eq!(counts.len(), 8, "{kind}: {counts:?}");
        assert!(counts.values().all(|n| *n == 1), "{kind}: each key relayed once: {counts:?}");
    }
    assert!(requests(&sim, "getCdrList") >= 2 && requests(&sim, "getRecordsList") >= 2);
    let cursor: String = s
        .db()
        .query_row(
            "SELECT CAST(value AS TEXT) FROM kv WHERE scope = 'callcenter/cc1' AND key = 'records_cursor'",
            [],
            |r| r.get(0),
        )
        .expect("records cursor");
    let max_key = per_key(&s, "recording.listed", "key").keys().filter_map(|k| k.parse::<u64>().ok()).max();
    assert_eq!(cursor.parse::<u64>().ok(), max_key, "the committed cursor is the last key relayed");
}

#[test]
fn agent_logs_after_a_failed_command_return_its_error_lines_without_the_secret_and_diagnostics_are_bounded() {
    let cb = free_port();
    let sim = sim(cb, &[]);
    let s = site("cc-logs", &sim, cb, "");
    const APIKEY: &str = "E416D0F85DC0CB67C85E070A32D9F0123AFF4762";
    // A seat that is not one, carrying the account's secret: refused, and logged.
    let r = s.call("bad-seat", "cc.call", json!({"agent": APIKEY, "callee": "1"}));
    assert_eq!(r["error"]["code"], "bad_args", "{r}");
    assert!(!r.to_string().contains(APIKEY), "the result is scrubbed: {r}");
    let agent = |id: &str, cmd: &str, args: Value| {
        s.rec.command(
            &format!("telbridge/v1/{}/cmd/agent", s.name),
            &json!({"id": id, "cmd": cmd, "args": args}).to_string(),
        );
        s.result(id)
    };
    let logs = agent("logs-1", "agent.logs", json!({"contains": "bad-seat", "level": "info"}));
    let lines = logs["data"]["lines"].as_array().cloned().unwrap_or_default();
    assert!(!lines.is_empty(), "{logs}");
    assert!(
        lines.iter().any(|l| l["text"].as_str().is_some_and(|t| t.contains("failed") && t.contains("***"))),
        "{logs}"
    );
    assert!(!logs.to_string().contains(APIKEY), "no secret in the logs: {logs}");
    let warn = agent("logs-2", "agent.logs", json!({"level": "error"}));
    assert!(
        warn["data"]["lines"].as_array().is_some_and(|l| l.iter().all(|x| x["level"] == "error")),
        "filtered by level: {warn}"
    );
    let diag = agent("diag-1", "agent.diagnostics", json!({}));
    let d = &diag["data"];
    assert_eq!(d["version"], env!("CARGO_PKG_VERSION"), "{diag}");
    assert!(d["disk"]["available_bytes"].as_u64().is_some_and(|n| n > 0), "{diag}");
    assert!(d["memory"]["VmRSS_kb"].as_u64().is_some_and(|n| n > 0), "{diag}");
    assert!(d["last_errors"].get("callcenter/cc1").is_some(), "{diag}");
    assert_eq!(d["config"]["callcenter"][0]["apikey"], "***", "{diag}");
    assert!(!diag.to_string().contains(APIKEY));
}
