//! End to end with the QMsg connector: a real broker, the real agent binary, and the
//! `telbridge-sim qmsg` service (written from the vendor's document, not from the
//! connector), its pushes arriving on the agent's callback listener over loopback.
#![cfg(feature = "qmsg")]

mod common;

use common::sim::Sim;
use common::site::{Site, WAIT};
use common::*;
use serde_json::{Value, json};
use std::time::Duration;

const SECRET: &str = "cb-s3cret-0123456789";

/// A site whose `[[qmsg]]` account `acct1` talks to `sim`; callbacks on port `cb`.
/// `extra` ends the account's table (and may add more tables).
fn site(name: &str, sim: &Sim, cb: u16, extra: &str) -> Site {
    let timeout = if extra.contains("timeout_ms") { "" } else { "timeout_ms = 3000\n" };
    let toml = format!(
        "[callbacks]\nlisten = \"127.0.0.1:{cb}\"\n\
         [[qmsg]]\nname = \"acct1\"\nurl = \"{}\"\nentid = \"1234567\"\nuid = \"u1\"\npwd = \"p1\"\n\
         callback_secret = \"{SECRET}\"\n{timeout}command_retry_secs = 2\n{extra}\n",
        sim.url()
    );
    Site::start(name, "qmsg/acct1", &toml)
}

fn push_url(cb: u16, kind: &str) -> String {
    format!("http://127.0.0.1:{cb}/qmsg/acct1/{SECRET}/{kind}")
}

fn sent(sim: &Sim) -> Vec<Value> {
    sim.state()["sent"].as_array().cloned().unwrap_or_default()
}

#[test]
fn chinese_text_by_get_arrives_decoded_from_gbk_and_700_numbers_become_three_posts() {
    let sim = Sim::qmsg(&["--entid", "1234567", "--uid", "u1", "--pwd", "p1"]);
    let s = site("qmsg-send", &sim, free_port(), "poll_secs = 0\nbalance_low = 500");
    let r = s.call(
        "c-1",
        "sms.send",
        json!({"to": ["13800000001", "13800000002"], "text": "你好，世界 hello", "extno": "12"}),
    );
    assert_eq!(r["status"], "ok", "{r}");
    let first = &sent(&sim)[0];
    assert_eq!((first["method"].as_str(), first["msg"].as_str()), (Some("GET"), Some("你好，世界 hello")), "{first}");
    assert_eq!(first["mobs"], json!(["13800000001", "13800000002"]));
    assert_eq!(first["decode_errors"], false);
    assert_eq!(r["data"]["sendids"][0].as_str(), first["sendid"].as_str(), "the agent's sendid was used");

    let many: Vec<String> = (0..700).map(|i| format!("1390000{i:04}")).collect();
    let r = s.call("c-2", "sms.send", json!({"to": many, "text": "批量 bulk"}));
    assert_eq!(r["status"], "ok", "{r}");
    let state = sim.state();
    assert_eq!(state["requests"]["sendSms_post"], 3, "{state}");
    let posts: Vec<usize> = sent(&sim)[1..].iter().map(|s| s["mobs"].as_array().map_or(0, Vec::len)).collect();
    assert_eq!(posts, vec![300, 300, 100]);
    assert!(sent(&sim)[1..].iter().all(|s| s["msg"] == "批量 bulk" && s["method"] == "POST"));
    let balance = r["data"]["balance"].as_i64().expect("balance");
    assert_eq!(balance, 1000 - 702);
    // Raised once, by the first call that reported less than 500 (the second POST: 398).
    let low = s.wait_event("balance.low", "balance.low under 500", |_| true);
    assert_eq!((low["balance"].as_i64(), low["threshold"].as_i64()), (Some(398), Some(500)), "{low}");

    assert_eq!(s.events("balance.low").len(), 1, "once per crossing");
    let long = s.call("c-3", "sms.send", json!({"to": ["13800000001"], "text": "长".repeat(501)}));
    assert_eq!(long["error"]["code"], "bad_args", "{long}");
    assert_eq!(sent(&sim).len(), 4, "nothing sent for a text over 1000 bytes");

    // The account locked at the service: the send fails by name, and the account is down
    // until a send works again.
    sim.control("/sim/config", &json!({"status_code": 8}));
    let locked = s.call("c-4", "sms.send", json!({"to": ["13800000001"], "text": "x"}));
    assert_eq!(locked["error"]["code"], "account_locked", "{locked}");
    let down = s.wait_event("account.down", "account.down", |_| true);
    assert_eq!((down["stat_code"].as_i64(), down["reason"].as_str()), (Some(8), Some("account_locked")));
    sim.control("/sim/config", &json!({"status_code": null}));
    assert_eq!(s.call("c-5", "sms.send", json!({"to": ["13800000001"], "text": "x"}))["status"], "ok");
    s.wait_event("account.up", "account.up", |_| true);
}

#[test]
fn an_agent_killed_after_a_send_went_out_sends_nothing_twice_and_the_report_settles_it() {
    let cb = free_port();
    let sim = Sim::qmsg(&["--reply-delay-ms", "60000", "--push-report", &push_url(cb, "recvreport")]);
    let mut s = site("qmsg-kill", &sim, cb, "poll_secs = 0\ntimeout_ms = 30000");
    s.send("k-1", "sms.send", json!({"to": "13800000009", "text": "once only"}));
    let sendid = wait_for(WAIT, "the send at the service", || {
        sent(&sim).first().and_then(|s| s["sendid"].as_str().map(str::to_string))
    });
    // The service took it; its answer is held back. The agent dies waiting for it.
    s.agent.restart();
    let r = s.result("k-1");
    assert_eq!(r["error"]["code"], "send_uncertain", "{r}");
    assert!(r["error"]["reason"].as_str().is_some_and(|t| t.contains(&sendid)), "{r}");
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(sent(&sim).len(), 1, "the service got it once, like the real one it would send again");

    sim.control("/sim/report", &json!({"sendid": sendid, "mob": "13800000009", "status": "0"}));
    let report = s.wait_event("sms.report", "the report", |d| d["sendid"] == sendid.as_str());
    assert_eq!((report["cmd_id"].as_str(), report["delivered"].as_bool()), (Some("k-1"), Some(true)), "{report}");
    let resolved = s.wait_event("sms.send_resolved", "the send settled", |d| d["sendid"] == sendid.as_str());
    assert_eq!((resolved["cmd_id"].as_str(), resolved["sent"].as_bool()), (Some("k-1"), Some(true)));
}

#[test]
fn reports_and_messages_by_push_and_by_poll_reach_the_cloud_once() {
    push_and_poll_once("text");
}

#[test]
fn reports_and_messages_by_push_and_by_poll_reach_the_cloud_once_with_xml_replies() {
    push_and_poll_once("xml");
}

/// Reports pushed, and a message both pushed and fetched by getSms with `returnflag`,
/// reach the cloud once each.
fn push_and_poll_once(returnflag: &str) {
    let cb = free_port();
    let sim = Sim::qmsg(&[
        "--auto-report",
        "0",
        "--push-report",
        &push_url(cb, "recvreport"),
        "--push-mo",
        &push_url(cb, "recvmsg"),
    ]);
    let s =
        site(&format!("qmsg-once-{returnflag}"), &sim, cb, &format!("poll_secs = 3600\nreturnflag = \"{returnflag}\""));
    let r = s.call("r-1", "sms.send", json!({"to": ["13800000001", "13800000002"], "text": "hi"}));
    assert_eq!(r["status"], "ok", "{r}");
    let sendid = r["data"]["sendids"][0].as_str().expect("sendid").to_string();
    for to in ["13800000001", "13800000002"] {
        let rep = s.wait_event("sms.report", "a report per number", |d| d["to"] == to);
        assert_eq!((rep["sendid"].as_str(), rep["cmd_id"].as_str()), (Some(sendid.as_str()), Some("r-1")));
    }
    // The report's other fields are kept.
    for m in s.rec.on("/evt/qmsg/acct1/sms.report") {
        let e = m.json();
        assert_eq!((e["extra"]["appid"].as_str(), e["extra"]["entid"].as_str()), (Some("123"), Some("1234567")), "{e}");
    }

    // The same message pushed and then fetched by getSms: once in the cloud.
    sim.control("/sim/mo", &json!({"mob": "13912345678", "msg": "回复 yes, please ", "ext": "12", "push": true}));
    let mo = s.wait_event("sms.received", "the pushed message", |d| d["from"] == "13912345678");
    assert_eq!((mo["text"].as_str(), mo["via"].as_str()), (Some("回复 yes, please "), Some("push")));
    let poll = s.call("p-1", "sms.poll_now", json!({}));
    assert_eq!(poll["status"], "ok");
    wait_for(WAIT, "the poll", || (sim.state()["requests"]["getSms"].as_u64()? >= 1).then_some(()));
    // A message only the poll sees, as a barrier: once it is in, the poll was handled.
    sim.control("/sim/mo", &json!({"mob": "13900000077", "msg": "poll only", "push": false}));
    s.call("p-2", "sms.poll_now", json!({}));
    let polled = s.wait_event("sms.received", "the polled message", |d| d["from"] == "13900000077");
    assert_eq!(polled["via"], "poll");
    assert_eq!(s.events("sms.received").iter().filter(|d| d["from"] == "13912345678").count(), 1, "once");
    assert_eq!(s.events("sms.report").len(), 2, "each report once");
}

#[test]
fn callbacks_from_strangers_store_nothing_and_each_listener_serves_only_its_own_paths() {
    let cb = free_port();
    let sim = Sim::qmsg(&[]);
    let guarded = format!(
        "poll_secs = 0\n[[qmsg]]\nname = \"acct2\"\nurl = \"{}\"\nentid = \"1\"\nuid = \"u\"\npwd = \"p\"\n\
         callback_secret = \"{SECRET}\"\nallow_from = [\"192.0.2.0/24\"]\npoll_secs = 0\n",
        sim.url()
    );
    let s = site("qmsg-guard", &sim, cb, &guarded);
    let mo = "mob=13800000001&msg=hello&replytime=2026-12-01+10%3A00%3A00";
    let wrong = http::get(cb, &format!("/qmsg/acct1/not-the-secret/recvmsg?{mo}")).expect("wrong secret");
    assert_eq!(wrong.status, 404);
    let stranger = http::get(cb, &format!("/qmsg/acct2/{SECRET}/recvmsg?{mo}")).expect("outside the allow-list");
    assert_eq!(stranger.status, 403);
    let bad = http::get(cb, &format!("/qmsg/acct1/{SECRET}/recvmsg?msg=no-sender")).expect("no mob");
    assert_eq!(bad.status, 400);
    for path in ["/v1/events", "/healthz", "/metrics", "/goip/gw1/x/sms"] {
        assert_eq!(http::get(cb, path).expect("callback listener").status, 404, "{path} on the callback listener");
    }
    let main = http::get(s.agent.http_port, &format!("/qmsg/acct1/{SECRET}/recvmsg?{mo}")).expect("main listener");
    assert_eq!(main.status, 404, "callbacks are not served on the main listener");

    // A GBK push with the right secret, from an allowed place, is taken and decoded.
    let gbk = "mob=13800000005&msg=%C4%E3%BA%C3&replytime=2026-12-01+10%3A00%3A01&appid=9";
    let ok = http::get(cb, &format!("/qmsg/acct1/{SECRET}/recvmsg?{gbk}")).expect("good push");
    assert_eq!((ok.status, String::from_utf8_lossy(&ok.body).trim()), (200, "0"));
    let got = s.wait_event("sms.received", "the GBK push", |d| d["from"] == "13800000005");
    assert_eq!(got["text"], "你好");
    let all = s.rec.on("/evt/qmsg/acct1/sms.received");
    assert_eq!(all.len(), 1, "nothing stored from the refused requests");
    assert_eq!(all[0].json()["extra"]["charset"], "gbk");
    assert_eq!(all[0].json()["extra"]["appid"], "9");
    assert!(s.rec.on("/evt/qmsg/acct2/sms.received").is_empty());
    let metrics = String::from_utf8(http::get(s.agent.http_port, "/metrics").expect("metrics").body).expect("utf8");
    for line in [
        "telbridge_callbacks_total{route=\"qmsg/acct1/-\",result=\"unauthorized\"} 1",
        "telbridge_callbacks_total{route=\"qmsg/acct2/recvmsg\",result=\"forbidden\"} 1",
        "telbridge_callbacks_total{route=\"qmsg/acct1/recvmsg\",result=\"bad\"} 1",
        "telbridge_callbacks_total{route=\"qmsg/acct1/recvmsg\",result=\"stored\"} 1",
    ] {
        assert!(metrics.contains(line), "{line}\n{metrics}");
    }
}

/// Vendors are on the internet: the agent reaches them through the site's proxy
/// (`HTTPS_PROXY`/`HTTP_PROXY`, minus `NO_PROXY`); LAN devices never go through it.
#[cfg(feature = "goip")]
#[test]
fn a_vendor_is_reached_through_the_sites_proxy_and_a_lan_device_never_is() {
    let proxy = common::proxy::Proxy::start();
    let vendor = Sim::qmsg(&[]);
    let gateway = Sim::goip(&[]);
    let dir = temp_dir("qmsg-proxy");
    let broker = Mosquitto::start(&dir);
    let rec = Recorder::start(broker.port, "telbridge/v1/qmsg-proxy/#");
    let http = free_port();
    let toml = format!(
        "[[qmsg]]\nname = \"acct1\"\nurl = \"{}\"\nentid = \"1234567\"\nuid = \"u1\"\npwd = \"p1\"\npoll_secs = 0\n\
         [[goip]]\nname = \"gw1\"\nurl = \"{}\"\nusername = \"admin\"\npassword = \"admin\"\npush_secret = \"{SECRET}\"\n\
         timeout_ms = 2000\n",
        vendor.url(),
        gateway.url()
    );
    let config = write_config(&dir, "qmsg-proxy", broker.port, http, "", &toml);
    // The broker is reached directly (MQTT): NO_PROXY names it, as a site would.
    let env = [("HTTP_PROXY", proxy.url()), ("NO_PROXY", "mqtt.invalid".to_string())];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let _agent = Agent::start_with_env(&config, http, &env);
    rec.wait_until(WAIT, "online", |s| s.iter().any(|m| m.topic.ends_with("/status")));
    rec.command(
        "telbridge/v1/qmsg-proxy/cmd/qmsg/acct1",
        r#"{"id":"px-1","cmd":"sms.send","args":{"to":"13800000001","text":"via proxy"}}"#,
    );
    let seen = rec.wait_until(WAIT, "the send's result", |s| s.iter().any(|m| m.topic.ends_with("/res/px-1")));
    let result = seen.iter().find(|m| m.topic.ends_with("/res/px-1")).expect("result").json();
    assert_eq!(result["status"], "ok", "{result}");
    assert_eq!(sent(&vendor).len(), 1);
    rec.command("telbridge/v1/qmsg-proxy/cmd/goip/gw1", r#"{"id":"px-2","cmd":"device.stats","args":{}}"#);
    rec.wait_until(WAIT, "the gateway's answer", |s| s.iter().any(|m| m.topic.ends_with("/res/px-2")));
    let vendor_at = format!("127.0.0.1:{}", vendor.port);
    let tunnels = proxy.tunnels();
    assert!(tunnels.contains(&vendor_at), "the vendor through the proxy: {tunnels:?}");
    assert!(!tunnels.iter().any(|t| t.ends_with(&format!(":{}", gateway.port))), "never the gateway: {tunnels:?}");
}

#[test]
fn a_pushed_message_is_stored_while_the_store_is_full_and_arrives_when_the_broker_is_back() {
    // No vendor document promises a push refused with 503 comes again: it goes past the
    // store's bound (the LAN ingress is still told store_full).
    let dir = temp_dir("qmsg-full");
    let mut broker = Mosquitto::start(&dir);
    let rec = Recorder::start(broker.port, "telbridge/v1/qmsgfull/#");
    broker.stop();
    let (http, cb) = (free_port(), free_port());
    let sim = Sim::qmsg(&[]);
    let account = format!(
        "[callbacks]\nlisten = \"127.0.0.1:{cb}\"\n[[qmsg]]\nname = \"acct1\"\nurl = \"{}\"\nentid = \"1234567\"\n\
         uid = \"u1\"\npwd = \"p1\"\npoll_secs = 0\ncallback_secret = \"{SECRET}\"\n",
        sim.url()
    );
    let config = write_config(&dir, "qmsgfull", broker.port, http, "", &account);
    let text = std::fs::read_to_string(&config).expect("config").replace("[store]\n", "[store]\nmax_bytes = 65536\n");
    std::fs::write(&config, text).expect("config");
    let agent = Agent::start(&config, http);
    let pad = "x".repeat(900);
    let full = (0..200)
        .map(|i| agent.post_events(&json!({"source": "app/m", "type": "x.y", "data": {"i": i, "pad": pad}})).status)
        .find(|&status| status != 200);
    assert_eq!(full, Some(503), "the store filled up");
    let mo = "mob=13800000009&msg=late&replytime=2026-12-01+10%3A00%3A09";
    let pushed = http::get(cb, &format!("/qmsg/acct1/{SECRET}/recvmsg?{mo}")).expect("push");
    assert_eq!((pushed.status, String::from_utf8_lossy(&pushed.body).trim()), (200, "0"), "{}", agent.log());
    broker.resume();
    let seen = rec.wait_until(WAIT, "the pushed message", |s| {
        s.iter().any(|m| m.topic.ends_with("/sms.received") && m.json()["data"]["from"] == "13800000009")
    });
    assert_eq!(seen.iter().filter(|m| m.topic.ends_with("/sms.received")).count(), 1);
}

#[test]
fn a_send_resumed_after_a_crash_fails_as_its_refused_call_did_and_sends_nothing() {
    let cb = free_port();
    let sim = Sim::qmsg(&[]);
    let mut s = site("qmsg-resume", &sim, cb, "poll_secs = 0");
    s.agent.kill();
    // As a crash leaves it: the call refused (statCode 9) and saved, the result never committed.
    let batches = json!([{"sendid": "900001", "post": false, "mobs": ["13800000001"], "state": "refused", "stat": 9}]);
    let args = json!({"to": ["13800000001"], "text": "hi"});
    leave_as_crashed(&s.dir, &[("qmsg/acct1", "send/r-9", &batches)], "qmsg/acct1", "r-9", "sms.send", &args);
    s.agent.restart();
    let r = s.result("r-9");
    assert_eq!(
        (r["status"].as_str(), r["error"]["code"].as_str()),
        (Some("error"), Some("insufficient_balance")),
        "{r}"
    );
    assert!(sent(&sim).is_empty(), "nothing sent on resume");
}
