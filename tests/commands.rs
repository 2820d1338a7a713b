//! End to end: cloud commands over a real broker — results, repeats, errors, restarts,
//! remote configuration with validation and rollback.

mod common;

use common::site::{Site, WAIT};
use common::*;
use serde_json::{Value, json};

#[test]
fn a_repeated_command_id_is_answered_again_but_executed_once() {
    let s = Site::agent_only("repeat");
    let first = s.call("r-1", "agent.restart", json!({}));
    assert_eq!(first["status"], "ok");
    s.wait_started(2);
    s.send_raw(r#"{"id":"r-1","cmd":"agent.restart"}"#);
    let mut both = s.results("r-1", 2);
    // Each publish has its own place in the agent's sequence; the rest is the stored result.
    let seqs: Vec<Value> = both.iter_mut().filter_map(|r| r.as_object_mut()?.remove("seq")).collect();
    assert!(matches!(&seqs[..], [a, b] if a.as_i64() < b.as_i64()), "{seqs:?}");
    assert_eq!(both[0], both[1], "the repeat is the stored result, same result id");
    // A barrier: when this answer arrives, the repeat was handled long ago.
    assert_eq!(s.call("after", "agent.ping", json!({}))["status"], "ok");
    // And it came from the run that took the repeat (counters start again at each start):
    // a restart for the repeat would have ended that run before a later command.
    let status = s.agent_status();
    assert!(status["counters"]["telbridge_commands_repeated_total"].as_u64().is_some_and(|n| n >= 1), "{status}");
    assert_eq!(s.started_count(), 2, "restarted once, not twice");
}

#[test]
fn malformed_and_unknown_commands_get_error_results_and_the_agent_stays_up() {
    let s = Site::agent_only("errors");
    s.send_raw("{this is not json");
    let invalid = s.result("_invalid");
    assert_eq!(invalid["status"], "error");
    assert_eq!(invalid["error"]["code"], "bad_json");
    s.send_raw(r#"{"id":"no-cmd"}"#);
    assert_eq!(s.result("no-cmd")["error"]["code"], "bad_request");
    let unknown = s.call("u-1", "agent.fly", json!({}));
    assert_eq!(unknown["error"]["code"], "unknown_command");
    assert!(unknown["error"]["reason"].as_str().is_some_and(|r| r.contains("agent.ping")));
    let bad_args = s.call("l-1", "agent.log_level", json!({"level": "loud"}));
    assert_eq!(bad_args["error"]["code"], "bad_args");
    let ok = s.call("l-2", "agent.log_level", json!({"level": "warn"}));
    assert_eq!((ok["status"].as_str(), ok["data"]["level"].as_str()), (Some("ok"), Some("warn")));
    let status = s.call("st-1", "agent.status", json!({}));
    assert_eq!(status["data"]["log_level"], "warn");
    assert_eq!(status["data"]["mqtt"]["connected"], true);
    assert!(status["data"]["store"]["rows"].is_u64());
}

#[test]
fn a_command_sent_while_the_agent_is_down_is_executed_when_it_returns() {
    let mut s = Site::agent_only("offline-cmd");
    s.agent.kill();
    s.send_raw(r#"{"id":"late-1","cmd":"agent.ping"}"#);
    s.agent.restart();
    assert_eq!(s.result("late-1")["status"], "ok");
}

#[test]
fn config_set_with_an_invalid_config_is_refused_and_the_old_config_stays() {
    let s = Site::agent_only("badconf");
    let before = std::fs::read(&s.agent.config).expect("config");
    let toml = "[agent]\nid = \"badconf\"\n[mqtt]\nbogus_key = 1\n";
    let r = s.call("cs-1", "agent.config.set", json!({"toml": toml}));
    assert_eq!(r["error"]["code"], "invalid_config");
    assert!(r["error"]["reason"].as_str().is_some_and(|m| m.contains("bogus_key")), "{r}");
    let r = s.call("cs-2", "agent.config.set", json!({"toml": "[agent]\nid = \"a b\"\n"}));
    assert!(r["error"]["reason"].as_str().is_some_and(|m| m.starts_with("agent.id")), "{r}");
    assert_eq!(std::fs::read(&s.agent.config).expect("config"), before);
    // A barrier: a later command is answered, so the refusals were handled (without a restart).
    assert_eq!(s.call("p", "agent.ping", json!({}))["status"], "ok");
    assert_eq!(s.started_count(), 1);
}

#[test]
fn config_get_redacts_secrets_and_config_set_applies_an_edited_copy() {
    let s = Site::agent_only("goodconf");
    let got = s.call("g-1", "agent.config.get", json!({}));
    let mut config = got["data"]["config"].clone();
    assert_eq!(config["http"]["ingest_token"], "***");
    assert!(!got.to_string().contains(TOKEN));
    config["agent"]["log_level"] = "warn".into();
    let set = s.call("s-1", "agent.config.set", json!({"config": config}));
    assert_eq!(set["data"]["changed"], true, "{set}");
    s.wait_started(2);
    assert_eq!(s.call("st", "agent.status", json!({}))["data"]["log_level"], "warn");
    let file = std::fs::read_to_string(&s.agent.config).expect("config");
    assert!(file.contains("warn") && file.contains(TOKEN), "the token was kept, not replaced by ***");
    // The token still works after the round trip.
    assert_eq!(s.agent.post_events(&json!({"source": "app/x", "type": "still.ok"})).status, 200);
    assert!(!s.agent.log().contains(TOKEN), "secrets never reach the log");
}

#[test]
fn a_new_config_that_fails_to_start_is_rolled_back_and_reported() {
    let s = Site::agent_only("rollback");
    let before = std::fs::read_to_string(&s.agent.config).expect("config");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let busy = taken.local_addr().expect("addr").port();
    let broken = before.replace(&format!("127.0.0.1:{}", s.agent.http_port), &format!("127.0.0.1:{busy}"));
    let set = s.call("rb-1", "agent.config.set", json!({"toml": broken}));
    assert_eq!(set["status"], "ok", "valid on paper: {set}");
    let event = s.wait_event("config.rolled_back", "the rollback event", |_| true);
    assert!(event["reason"].as_str().is_some_and(|r| r.contains(&busy.to_string())), "{event}");
    assert_eq!(std::fs::read_to_string(&s.agent.config).expect("config"), before);
    s.wait_healthy(); // on its old port
    assert!(!s.dir.join("telbridge.toml.applying").exists());
    drop(taken);
}

#[test]
fn a_new_config_that_cannot_reach_the_broker_is_rolled_back_after_its_probation() {
    let mut s = Site::agent_only("rollback-mqtt");
    // Under systemd: a rollback in the same process is not a stop (systemd would kill it).
    let socket_path = s.dir.join("notify.sock");
    let socket = std::os::unix::net::UnixDatagram::bind(&socket_path).expect("bind");
    socket.set_read_timeout(Some(std::time::Duration::from_millis(100))).expect("timeout");
    s.agent.kill();
    s.agent = Agent::start_with_env(
        &s.agent.config.clone(),
        s.agent.http_port,
        &[("NOTIFY_SOCKET", socket_path.to_str().expect("path"))],
    );
    let before = std::fs::read_to_string(&s.agent.config).expect("config");
    // Valid on paper and started without an error, but no broker listens there: without
    // a trial the cloud could never reach the agent again to send a fix.
    let closed = free_port();
    let broken = before
        .replace(&format!("port = {}", s._broker.port), &format!("port = {closed}"))
        .replace("[agent]\n", "[agent]\nconfig_probation_secs = 2\n");
    assert_ne!(broken, before);
    let set = s.call("rbm-1", "agent.config.set", json!({"toml": broken}));
    assert_eq!(set["status"], "ok", "{set}");
    let event = s.wait_event("config.rolled_back", "the rollback event", |_| true);
    assert!(event["reason"].as_str().is_some_and(|r| r.contains("MQTT not connected within 2 s")), "{event}");
    assert_eq!(std::fs::read_to_string(&s.agent.config).expect("config"), before);
    assert!(!s.dir.join("telbridge.toml.applying").exists());
    let mut said = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = socket.recv(&mut buf) {
        said.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    assert!(
        said.iter().any(|m| m.contains("rolling back")) && !said.iter().any(|m| m.contains("STOPPING=1")),
        "{said:?}"
    );
    // A config that reaches the broker is kept, and a later failure is no longer a trial's.
    let fine = before.replace("log_level = \"debug\"", "log_level = \"info\"");
    assert_eq!(s.call("rbm-2", "agent.config.set", json!({"toml": fine}))["status"], "ok");
    wait_for(WAIT, "the trial to pass", || (!s.dir.join("telbridge.toml.applying").exists()).then_some(()));
    assert_eq!(std::fs::read_to_string(&s.agent.config).expect("config"), fine);
    assert_eq!(s.call("rbm-3", "agent.ping", json!({}))["status"], "ok");
}

/// The agent's threads named `name`.
fn threads_named(pid: u32, name: &str) -> usize {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).expect("tasks");
    tasks.flatten().filter(|t| std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim() == name)).count()
}

#[test]
fn a_new_config_that_fails_late_in_its_start_leaves_one_writer_and_one_relay() {
    let s = Site::agent_only("rollback-late");
    let before = std::fs::read_to_string(&s.agent.config).expect("config");
    // The callback listener is bound after the uplink started.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let busy = taken.local_addr().expect("addr").port();
    let broken = format!(
        "{before}\n[callbacks]\nlisten = \"127.0.0.1:{busy}\"\n[[qmsg]]\nname = \"a1\"\nurl = \"http://127.0.0.1:9/\"\n\
         entid = \"1\"\nuid = \"u\"\npwd = \"p1234\"\ncallback_secret = \"0123456789abcdef\"\npoll_secs = 0\n"
    );
    assert_eq!(s.call("late-1", "agent.config.set", json!({"toml": broken}))["status"], "ok");
    let event = s.wait_event("config.rolled_back", "the rollback event", |_| true);
    assert!(event["reason"].as_str().is_some_and(|r| r.contains("callbacks.listen")), "{event}");
    assert_eq!(std::fs::read_to_string(&s.agent.config).expect("config"), before);
    let pid = s.agent.pid().expect("pid");
    assert_eq!(threads_named(pid, "store-writer"), 1, "one writer");
    // One relay: every event once, and no second client taking the session over and over.
    let connects = s.agent.log().matches("mqtt connected").count();
    for i in 0..5 {
        let r = s.agent.post_events(&json!([{"source": "app", "type": "late.check", "data": {"i": i}}]));
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    }
    s.rec.wait_until(WAIT, "the events", |seen| seen.iter().filter(|m| m.topic.ends_with("/late.check")).count() >= 5);
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert_eq!(s.rec.on("/late.check").len(), 5, "each once");
    assert_eq!(s.agent.log().matches("mqtt connected").count(), connects, "{}", s.agent.log());
    drop(taken);
}

#[test]
fn a_remote_config_cannot_move_the_store_or_echo_a_secret_it_misplaces() {
    let s = Site::agent_only("config-refusals");
    let before = std::fs::read_to_string(&s.agent.config).expect("config");
    let moved = before.replace("store.db", "elsewhere.db");
    let r = s.call("cr-1", "agent.config.set", json!({"toml": moved}));
    assert_eq!(r["error"]["code"], "invalid_config", "{r}");
    assert!(r["error"]["reason"].as_str().is_some_and(|t| t.contains("store.path")), "{r}");
    // A new password under a misspelt key, and a token written as a number: the errors name
    // the place, never the values.
    for (id, text) in [
        ("cr-2", before.replace("[mqtt]\n", "[mqtt]\npasword = \"N3w-Broker-Pw\"\n")),
        ("cr-3", before.replace(&format!("ingest_token = \"{TOKEN}\""), "ingest_token = 987654321")),
    ] {
        let r = s.call(id, "agent.config.set", json!({"toml": text}));
        assert_eq!(r["error"]["code"], "invalid_config", "{r}");
        let shown = r.to_string();
        assert!(shown.contains("line"), "{shown}");
        assert!(!shown.contains("N3w-Broker-Pw") && !shown.contains("987654321"), "{shown}");
    }
    let logs = s.call("cr-4", "agent.logs", json!({}));
    assert!(!logs.to_string().contains("N3w-Broker-Pw") && !logs.to_string().contains("987654321"), "{logs}");
    assert_eq!(std::fs::read_to_string(&s.agent.config).expect("config"), before, "nothing written");
}

#[test]
fn a_command_the_store_cannot_take_yet_is_taken_and_answered_once_it_can_without_a_reconnect() {
    let s = Site::agent_only("cmd-store-fails");
    // The store refuses to record commands (as a failing disk would), then recovers.
    let db = rusqlite::Connection::open(s.dir.join("store.db")).expect("store");
    db.busy_timeout(std::time::Duration::from_secs(5)).expect("busy timeout");
    db.execute_batch("CREATE TRIGGER fail_cmd BEFORE INSERT ON inbox BEGIN SELECT RAISE(ABORT, 'injected'); END")
        .expect("trigger");
    let connects = s.agent.log().matches("mqtt connected").count();
    s.send("sf-1", "agent.ping", json!({}));
    wait_for(WAIT, "the refusal", || s.agent.log().contains("command not stored").then_some(()));
    assert!(s.rec.on("/res/sf-1").is_empty(), "not answered before it is stored");
    db.execute_batch("DROP TRIGGER fail_cmd").expect("drop trigger");
    assert_eq!(s.result("sf-1")["data"]["pong"], true);
    assert_eq!(s.agent.log().matches("mqtt connected").count(), connects, "on the same connection");
    assert_eq!(s.rec.on("/res/sf-1").len(), 1, "answered once");
}

#[test]
fn under_synchronous_normal_an_agent_killed_skips_the_numbers_it_may_have_lost_and_says_so() {
    let mut s = Site::agent_only("seq-skip");
    let config = std::fs::read_to_string(&s.agent.config).expect("config");
    let normal = config.replace("[store]\n", "[store]\nsynchronous = \"normal\"\n");
    std::fs::write(&s.agent.config, normal).expect("config");
    assert_eq!(s.agent.terminate(), Some(0));
    s.agent.restart();
    let seq = |r: &Value| r["seq"].as_i64().expect("seq");
    let before = seq(&s.call("seq-1", "agent.ping", json!({})));
    s.agent.restart(); // SIGKILL: under normal, what it relayed may not be on disk
    let skipped = s.wait_event("store.seq_skipped", "the skip", |_| true);
    assert_eq!(skipped["from"].as_i64(), Some(before + 1), "{skipped}");
    let after = seq(&s.call("seq-2", "agent.ping", json!({})));
    assert!(after > skipped["to"].as_i64().expect("to"), "{after} {skipped}");
    // A clean stop skips nothing.
    assert_eq!(s.agent.terminate(), Some(0));
    s.agent.restart();
    let next = seq(&s.call("seq-3", "agent.ping", json!({})));
    assert!(next > after && next < after + 10, "{after} {next}");
    assert_eq!(s.events("store.seq_skipped").len(), 1);
}

#[test]
fn commands_over_the_size_limit_are_answered_too_large_once_and_never_block_the_next() {
    let site = Site::start_with("cmd-big", "agent", "max_command_bytes = 65536", "");
    let ping = |id: &str, filler: usize| site.send(id, "agent.ping", json!({"x": "y".repeat(filler)}));
    // Over max_command_bytes but within what MQTT reads: refused by the dispatcher.
    ping("big-1", 100_000);
    // Over the MQTT packet limit too: without care the broker would redeliver it forever.
    ping("huge-1", 400_000);
    ping("small-1", 10);
    for id in ["big-1", "huge-1"] {
        let r = site.result(id);
        assert_eq!(r["error"]["code"], "too_large", "{id}: {r}");
        assert!(r["error"]["reason"].as_str().is_some_and(|t| t.contains("max_command_bytes")), "{r}");
    }
    assert_eq!(site.result("small-1")["data"]["pong"], true);
    // A barrier: a later command is answered over the same link, so a reconnect or a
    // redelivery caused by the huge one would have shown by then.
    assert_eq!(site.call("after", "agent.ping", json!({}))["status"], "ok");
    let (rec, agent) = (&site.rec, &site.agent);
    let connects = agent.log().matches("mqtt connected").count();
    assert!(connects <= 2, "one reconnect to read the huge one, no loop: {connects} connects\n{}", agent.log());
    assert_eq!(rec.on("/res/huge-1").len(), 1, "answered once");
}
