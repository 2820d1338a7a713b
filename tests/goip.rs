//! End to end with the GoIP driver: a real broker, the real agent binary, and the
//! `telbridge-sim goip` gateway, all over loopback. The cloud's side is the recorder.
// Needs the simulators, which need every driver.
#![cfg(feature = "goip")]

mod common;

use common::sim::Sim;
use common::site::{Site, WAIT};
use common::*;
use serde_json::{Value, json};
use std::time::Duration;

const SECRET: &str = "push-s3cret";

/// Starts a site whose `[[goip]]` device `gw1` is at `device_url`.
fn site(name: &str, device_url: &str, device_extra: &str) -> Site {
    // 2 s unless the test sets its own.
    let timeout = if device_extra.contains("timeout_ms") { "" } else { "timeout_ms = 2000\n" };
    let goip = format!(
        "[[goip]]\nname = \"gw1\"\nurl = \"{device_url}\"\nusername = \"admin\"\npassword = \"admin\"\n\
         push_secret = \"{SECRET}\"\n{timeout}{device_extra}\n"
    );
    Site::start(name, "goip/gw1", &goip)
}

fn texts_received(s: &Site) -> Vec<String> {
    s.events("sms.received").iter().filter_map(|d| d["text"].as_str().map(str::to_string)).collect()
}

#[test]
fn a_cloud_send_reaches_the_device_aes_encrypted_and_its_reports_accumulate_on_the_broker() {
    let sim = Sim::goip(&["--session-only", "--auth-order", "seq-path", "--send-interval-ms", "50"]);
    let s = site("goip-send", &sim.url(), "auth = \"session\"\ncipher = \"aes-ecb\"\nsr_cnt = 1\nsr_prd = 1");
    let to = ["13800000001", "13800000666", "13800000003"];
    let result = s.call("send-1", "sms.send", json!({"to": to, "text": "héllo 你好", "ports": "1-2"}));
    assert_eq!(result["status"], "ok", "{result}");
    let task = &result["data"]["tasks"][0];
    assert_eq!(task["status"], "accepted", "{result}");
    let tid = task["tid"].as_u64().expect("tid");

    // The device decrypted an AES-256-ECB body inside a session signed seq-before-path.
    let state = sim.state();
    let post = state["requests"]
        .as_array()
        .expect("requests")
        .iter()
        .find(|r| r["path"] == "/goip_post_sms.html")
        .cloned()
        .expect("the device got the send");
    assert_eq!((post["session"].as_bool(), post["cipher"].as_str()), (Some(true), Some("aes-ecb")));
    assert_eq!(post["body"]["tasks"][0]["sms"], "héllo 你好");
    assert_eq!(post["body"]["tasks"][0]["tid"].as_u64(), Some(tid));
    assert_eq!(post["body"]["tasks"][0]["from"], "1-2");
    assert_eq!(post["body"]["tasks"][0]["sdr"], 1, "success records are asked for by default");
    assert!(post["body"]["sr_url"].as_str().is_some_and(|u| u.ends_with(&format!("/goip/gw1/{SECRET}/sr"))));

    // The status subscription (a GET in the same session) works too.
    let status = s.wait_event("device.status", "device.status through the session", |_| true);
    assert_eq!(status["reason"], "first");
    let accepted = s.wait_event("sms.accepted", "sms.accepted", |d| d["tid"].as_u64() == Some(tid));
    assert_eq!(accepted["cmd_id"], "send-1");
    // Reports arrive one record at a time (sr_cnt = 1): the events carry them accumulated.
    let finished = s.wait_event("sms.finished", "sms.finished", |d| d["tid"].as_u64() == Some(tid));
    assert_eq!(finished["cmd_id"], "send-1");
    assert_eq!((finished["sent"].as_u64(), finished["failed"].as_u64()), (Some(2), Some(1)));
    let records = finished["records"].as_array().expect("records");
    assert_eq!(records.len(), 3, "{finished}");
    let failed: Vec<&Value> = records.iter().filter(|r| r["ok"] == false).collect();
    assert_eq!(failed.len(), 1);
    assert_eq!((failed[0]["number"].as_str(), failed[0]["reason"].as_str()), (Some("13800000666"), Some("6 Timeout")));
    let statuses = s.events("sms.status");
    assert!(statuses.len() >= 2, "several reports: {statuses:?}");
    assert!(statuses.iter().all(|d| d["new_records"].as_array().is_some_and(|r| r.len() <= 1)), "deltas of one");
    let last = statuses.iter().max_by_key(|d| d["records"].as_array().map_or(0, Vec::len)).expect("last");
    assert_eq!(last["records"].as_array().map(Vec::len), Some(3));
    assert_eq!(s.events("sms.finished").len(), 1, "finished once");
}

#[test]
fn a_sim_switch_command_comes_back_as_a_port_status_event() {
    let sim = Sim::goip(&[]);
    let s = site("goip-switch", &sim.url(), "");
    // The subscription's first device status arrives on its own.
    let status = s.wait_event("device.status", "device.status", |_| true);
    assert_eq!(status["ports"].as_array().map(Vec::len), Some(8));
    assert_eq!(status["max_slots"].as_u64(), Some(4), "max-slot spelling accepted");
    let r = s.call("sw-1", "device.command", json!({"op": "switch", "ports": "2.02"}));
    assert_eq!(r["status"], "ok", "{r}");
    let port = s.wait_event("port.status", "port.status for 2B", |d| d["port"] == "2B");
    assert_eq!((port["code"].as_u64(), port["state"].as_str()), (Some(3), Some("registered")));
    assert_eq!(port["imei"], "860000000000002", "device fields kept");
    let bad = s.call("sw-2", "device.command", json!({"op": "explode"}));
    assert_eq!((bad["status"].as_str(), bad["error"]["code"].as_str()), (Some("error"), Some("bad_args")));
    let stats = s.call("st-1", "device.stats", json!({"kind": "sms"}));
    assert_eq!(stats["data"]["stats"][0]["sent_ok"].as_u64(), Some(0), "any-case fields: {stats}");
}

#[test]
fn received_sms_reach_the_cloud_once_by_push_and_poll_across_an_agent_crash_and_a_device_reboot() {
    let sim = Sim::goip(&[]);
    let mut s = site("goip-recv", &sim.url(), "poll_sms_secs = 3600");
    wait_for(WAIT, "the sms_url subscription", || {
        sim.state()["sms_url"].as_str().filter(|u| !u.is_empty()).map(|_| ())
    });
    // The agent polls once at start (for what arrived while it was away); let that pass so
    // the next message takes the push path.
    wait_for(WAIT, "the start-up poll", || {
        sim.state()["requests"].as_array()?.iter().any(|r| r["path"] == "/goip_get_sms.html").then_some(())
    });
    sim.receive("1A", "10010", "first");
    let first = s.wait_event("sms.received", "the pushed SMS", |d| d["text"] == "first");
    assert_eq!(
        (first["via"].as_str(), first["port"].as_str(), first["from"].as_str()),
        (Some("push"), Some("1A"), Some("10010"))
    );
    // Poll sees it too: still one event.
    let polled = s.call("poll-1", "device.poll_now", json!({}));
    assert_eq!(polled["data"]["sms_seen"].as_u64(), Some(1), "{polled}");

    // The agent dies; a message arrives meanwhile; the device keeps pushing it.
    s.agent.kill();
    sim.receive("2B", "10086", "while down");
    // Part of the scenario: the device tries (and fails) to push while the agent is away.
    std::thread::sleep(Duration::from_millis(1500));
    s.agent.restart();
    s.wait_event("sms.received", "the SMS that came while down", |d| d["text"] == "while down");
    let polled = s.call("poll-2", "device.poll_now", json!({}));
    assert_eq!(polled["status"], "ok");

    // The device reboots: new ssrc, its store renumbered from 1. The cursor resets.
    sim.reboot();
    sim.receive("3C", "10010", "after reboot");
    let polled = s.call("poll-3", "device.poll_now", json!({}));
    assert_eq!(polled["status"], "ok", "{polled}");
    s.wait_event("sms.received", "the SMS after the reboot", |d| d["text"] == "after reboot");
    // A barrier: one more poll after everything settled.
    wait_for(WAIT, "the device's pushes delivered", || (sim.state()["pushes_queued"] == 0).then_some(()));
    s.call("poll-4", "device.poll_now", json!({}));
    let mut texts = texts_received(&s);
    texts.sort();
    assert_eq!(texts, ["after reboot", "first", "while down"], "each message exactly once");
}

#[test]
fn the_device_is_told_where_to_push_received_sms_in_the_seeds_form() {
    // Issue 10 item 8: `op=set` in a JSON body is no command a strict device knows (seed
    // §5.1.3); the agent sends it in the URL, and the device takes the sms_url.
    let sim = Sim::goip(&[]);
    let s = site("goip-smsurl", &sim.url(), "");
    let url = wait_for(WAIT, "the sms_url set", || {
        sim.state()["sms_url"].as_str().filter(|u| !u.is_empty()).map(str::to_string)
    });
    assert!(url.starts_with("http://127.0.0.1:") && url.ends_with("/sms"), "{url}");
    assert!(!s.agent.log().contains("refused sms_url"), "{}", s.agent.log());
}

#[test]
fn older_firmware_form_pushes_and_every_port_name_reach_the_cloud_and_an_odd_row_is_relayed_as_sent() {
    // Issue 10 items 2, 3, 6: form-encoded bodies were refused; SIM-pool names and slots past
    // Z were refused or garbled; one odd row lost its whole push.
    let sim = Sim::goip(&["--form-pushes"]);
    let s = site("goip-forms", &sim.url(), "poll_sms_secs = 0");
    // No poll: the messages come by push only, once the agent has told the device where.
    wait_for(WAIT, "the sms_url set", || sim.state()["sms_url"].as_str().filter(|u| !u.is_empty()).map(drop));
    for (port, text) in [("12.sp256.101", "from the pool"), ("4.28", "slot 28"), ("x?y", "odd port")] {
        sim.receive(port, "10010", text);
    }
    let pooled = s.wait_event("sms.received", "the pool's message", |d| d["text"] == "from the pool");
    assert_eq!((pooled["port"].as_str(), pooled["port_raw"].as_str()), (Some("12.sp256.101"), Some("12.sp256.101")));
    let past_z = s.wait_event("sms.received", "slot 28", |d| d["text"] == "slot 28");
    assert_eq!(past_z["port"], "4.28");
    let odd = s.wait_event("push.unreadable_row", "the odd row", |_| true);
    assert_eq!((odd["push"].as_str(), odd["row"][1].as_str()), (Some("recv-sms"), Some("x?y")), "{odd}");
    assert!(odd["reason"].as_str().is_some_and(|r| r.contains("not a port")), "{odd}");
    wait_for(WAIT, "every push taken", || (sim.state()["pushes_queued"] == 0).then_some(()));
    assert_eq!(texts_received(&s).len(), 2, "the odd row is no message, and nothing is lost");
}

#[test]
fn a_password_a_device_echoes_back_never_reaches_the_log_an_event_or_a_result() {
    // Issue 18 item 4: plain auth puts the password in the URL; a gateway whose error text
    // echoes the request line carried it into the log, device.down and command results.
    let sim = Sim::goip(&["--echo-requests"]);
    let goip = format!(
        "[[goip]]\nname = \"gw1\"\nurl = \"{}\"\nusername = \"admin\"\npassword = \"wr0ng-pa55 word\"\n\
         push_secret = \"{SECRET}\"\ntimeout_ms = 2000\ncommand_retry_secs = 1\n",
        sim.url()
    );
    let s = Site::start("goip-echo", "goip/gw1", &goip);
    let down = s.wait_event("device.down", "device.down", |_| true);
    let reason = down["reason"].as_str().expect("reason");
    assert!(reason.contains("Invalid User: POST") && reason.contains("password=***"), "echoed, masked: {reason}");
    let r = s.call("stats-1", "device.stats", json!({}));
    assert_eq!(r["error"]["code"], "auth_failed", "{r}");
    for leak in ["wr0ng-pa55 word", "wr0ng-pa55%20word"] {
        assert!(
            s.rec.all().iter().all(|m| !String::from_utf8_lossy(&m.payload).contains(leak)),
            "{leak} on the broker"
        );
        assert!(!s.agent.log().contains(leak), "{leak} in the log");
    }
    assert!(s.agent.log().contains("password=***"), "the log still says what happened");
}

#[test]
fn a_delivery_report_is_its_own_event() {
    let sim = Sim::goip(&["--send-interval-ms", "20"]);
    let s = site("goip-dr", &sim.url(), "");
    let r = s.call("dr-1", "sms.send", json!({"to": "13900000001", "text": "report me", "options": {"dr": 1}}));
    assert_eq!(r["data"]["tasks"][0]["status"], "accepted", "{r}");
    let report = s.wait_event("sms.report", "the delivery report", |d| d["to"] == "13900000001");
    assert_eq!((report["is_report"].as_bool(), report["report_code"].as_i64()), (Some(true), Some(0)));
    assert!(s.events("sms.received").is_empty(), "a report is not a received SMS");
}

#[test]
fn a_send_interrupted_by_a_crash_is_not_sent_twice() {
    // The device accepts the task, then takes 5 s to answer: the agent dies in between (and
    // its second try, after the restart, is given three times that).
    let sim = Sim::goip(&["--post-delay-ms", "5000", "--send-interval-ms", "20"]);
    let mut s = site("goip-crash", &sim.url(), "timeout_ms = 15000");
    s.send("crash-1", "sms.send", json!({"to": "13700000001", "text": "once"}));
    wait_for(WAIT, "the device to accept the task", || (sim.state()["tasks"].as_array()?.len() == 1).then_some(()));
    s.agent.kill();
    s.agent.restart();
    let result = s.result("crash-1");
    let task = &result["data"]["tasks"][0];
    assert_eq!((task["status"].as_str(), task["code"].as_u64()), (Some("accepted"), Some(13)), "{result}");
    let state = sim.state();
    let posts =
        state["requests"].as_array().expect("log").iter().filter(|r| r["path"] == "/goip_post_sms.html").count();
    assert_eq!(posts, 2, "sent again after the crash, with the same tid");
    assert_eq!(state["tasks"].as_array().map(Vec::len), Some(1), "one task on the device");
    s.wait_event("sms.finished", "the task to finish", |d| d["cmd_id"] == "crash-1");
    assert_eq!(sim.state()["tasks"][0]["sent"].as_u64(), Some(1), "the SMS went out once");
}

#[test]
fn pushes_with_a_wrong_secret_or_device_are_refused_and_bad_bodies_explained() {
    let sim = Sim::goip(&[]);
    let s = site("goip-auth", &sim.url(), "poll_sms_secs = 0");
    let port = s.agent.http_port;
    let body = json!({"type": "recv-sms", "sms_num": 1, "sms": [[0, "1A", 1, "10010", "x", "aGk="]]});
    let r = common::http::post_json(port, "/goip/gw1/wrong/sms", None, &body).expect("post");
    assert_eq!(r.status, 401);
    let r = common::http::post_json(port, "/goip/gw9/whatever/sms", None, &body).expect("post");
    assert_eq!(r.status, 404);
    for (bad, needle) in [
        (json!({"type": "weather"}), "unknown push type"),
        (json!({"type": "port-status", "port": "2B"}), "`st` is missing"),
    ] {
        let r = common::http::post_json(port, &format!("/goip/gw1/{SECRET}/status"), None, &bad).expect("post");
        assert_eq!(r.status, 400);
        assert!(r.json()["reason"].as_str().is_some_and(|t| t.contains(needle)), "{}", r.json());
    }
    let truncated = common::http::request(port, "POST", &format!("/goip/gw1/{SECRET}/sms"), &[], b"{\"type\":\"recv-s")
        .expect("post");
    assert_eq!(truncated.status, 400);
    // A short row is no reason to refuse the push: it is relayed as sent, the device answered.
    let short = json!({"type": "recv-sms", "sms": [[0, "1A"]]});
    let r = common::http::post_json(port, &format!("/goip/gw1/{SECRET}/sms"), None, &short).expect("post");
    assert_eq!(r.status, 200);
    let odd = s.wait_event("push.unreadable_row", "the short row", |_| true);
    assert!(odd["reason"].as_str().is_some_and(|t| t.contains("6 expected")), "{odd}");
    let r = common::http::post_json(port, &format!("/goip/gw1/{SECRET}/sms"), None, &body).expect("post");
    assert_eq!((r.status, r.json()["code"].as_u64()), (200, Some(0)));
    s.wait_event("sms.received", "the good push", |d| d["text"] == "hi");
    assert_eq!(s.events("sms.received").len(), 1, "the refused pushes stored nothing");
    s.rec.wait_until(WAIT, "3 push.rejected", |all| {
        all.iter().filter(|m| m.topic.ends_with("push.rejected")).count() == 3
    });
}

#[test]
fn an_unreachable_device_raises_down_then_up_and_a_command_waits_for_it() {
    let port = free_port();
    let s = site("goip-down", &format!("http://127.0.0.1:{port}"), "poll_sms_secs = 1\ncommand_retry_secs = 30");
    let down = s.wait_event("device.down", "device.down", |_| true);
    assert!(down["reason"].as_str().is_some_and(|r| r.contains("unreachable")), "{down}");
    let status = s.agent_status();
    assert_eq!(status["drivers"]["goip/gw1"]["state"], "down", "{status}");
    s.send("wait-1", "sms.send", json!({"to": "1", "text": "x"}));
    // Part of the scenario: the command has to wait for the device, which comes back later.
    std::thread::sleep(Duration::from_secs(1));
    let _sim = Sim::goip(&["--listen", &format!("127.0.0.1:{port}")]);
    s.wait_event("device.up", "device.up", |_| true);
    assert_eq!(s.result("wait-1")["data"]["tasks"][0]["status"], "accepted");
}

#[test]
fn a_session_the_device_forgot_is_reopened_and_the_command_retried_once() {
    let sim = Sim::goip(&["--session-only", "--auth-order", "seq-path"]);
    let s = site("goip-session", &sim.url(), "auth = \"session\"\ncipher = \"rc4\"\npoll_sms_secs = 0");
    let first = s.call("stats-1", "device.stats", json!({"kind": "call"}));
    assert_eq!(first["status"], "ok", "{first}");
    sim.reboot();
    assert_eq!(sim.state()["sessions"], 0, "the reboot closed every session");
    let again = s.call("stats-2", "device.stats", json!({"kind": "call", "ports": "1-2"}));
    assert_eq!(again["status"], "ok", "{again}");
    assert_eq!(again["data"]["stats"][0]["nc"], "0/0");
    assert_eq!(sim.state()["sessions"], 1, "one new session");
    let set = s.call("set-1", "device.command", json!({"op": "set", "params": {"sms_url": "http://127.0.0.1:9/x"}}));
    assert_eq!(set["data"]["sms_url"], "http://127.0.0.1:9/x", "{set}");
    // A body command (set has none, seed §5.1.3) goes rc4-encrypted.
    let lock = s.call("lock-1", "device.command", json!({"op": "lock", "ports": "1A"}));
    assert_eq!(lock["status"], "ok", "{lock}");
    let posted = sim.state()["requests"]
        .as_array()
        .expect("log")
        .iter()
        .rev()
        .find(|r| r["path"] == "/goip_send_cmd.html")
        .cloned();
    let posted = posted.expect("the lock reached the device");
    assert_eq!(posted["cipher"], "rc4", "{posted}");
    assert_eq!(posted["body"]["op"], "lock", "an rc4 body decrypted by the device: {posted}");
}
