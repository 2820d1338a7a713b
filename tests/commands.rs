//! End to end: cloud commands over a real broker — results, repeats, errors, restarts,
//! remote configuration with validation and rollback.

mod common;

use common::*;
use serde_json::{Value, json};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(60);

struct Site {
    _broker: Mosquitto,
    rec: Recorder,
    agent: Agent,
    dir: std::path::PathBuf,
    http: u16,
}

fn site(name: &str) -> Site {
    let dir = temp_dir(name);
    let broker = Mosquitto::start(&dir);
    let http = free_port();
    let rec = Recorder::start(broker.port, &format!("telbridge/v1/{name}/#"));
    let agent = Agent::start(&write_config(&dir, name, broker.port, http, "", ""), http);
    rec.wait_until(WAIT, "online", |s| s.iter().any(|m| m.topic.ends_with("/status") && m.json()["state"] == "online"));
    Site { _broker: broker, rec, agent, dir, http }
}

impl Site {
    fn send(&self, payload: &str) {
        self.rec.command(&format!("telbridge/v1/{}/cmd/agent", self.name()), payload);
    }

    fn name(&self) -> String {
        let text = std::fs::read_to_string(&self.agent.config).expect("config");
        text.lines().find_map(|l| l.strip_prefix("id = \"")).and_then(|l| l.strip_suffix('"')).expect("id").to_string()
    }

    /// Sends a command and waits for its (first) result.
    fn call(&self, id: &str, cmd: &str, args: Value) -> Value {
        self.send(&json!({"id": id, "cmd": cmd, "args": args}).to_string());
        self.result(id, 1).remove(0)
    }

    /// Waits until `n` results for `id` arrived; returns them all.
    fn result(&self, id: &str, n: usize) -> Vec<Value> {
        let suffix = format!("/res/{id}");
        let seen = self.rec.wait_until(WAIT, &format!("{n} result(s) for {id}"), |s| {
            s.iter().filter(|m| m.topic.ends_with(&suffix)).count() >= n
        });
        seen.iter().filter(|m| m.topic.ends_with(&suffix)).map(|m| m.json()).collect()
    }

    /// Waits until the agent announced its `n`th start and answers HTTP again.
    fn wait_started(&self, n: usize) {
        self.rec.wait_until(WAIT, "the restart", |all| {
            all.iter().filter(|m| m.topic.ends_with("agent.started")).count() >= n
        });
        wait_for(WAIT, "the restarted agent", || {
            (common::http::get(self.http, "/healthz").ok()?.status == 200).then_some(())
        });
    }

    fn started_count(&self) -> usize {
        self.rec.on("/evt/agent/agent.started").len()
    }
}

#[test]
fn a_repeated_command_id_is_answered_again_but_executed_once() {
    let s = site("repeat");
    let first = s.call("r-1", "agent.restart", json!({}));
    assert_eq!(first["status"], "ok");
    s.wait_started(2);
    s.send(r#"{"id":"r-1","cmd":"agent.restart"}"#);
    let both = s.result("r-1", 2);
    assert_eq!(both[0], both[1], "the repeat is the stored result, same result id");
    // A barrier: when this answer arrives, the repeat was handled long ago.
    assert_eq!(s.call("after", "agent.ping", json!({}))["status"], "ok");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(s.started_count(), 2, "restarted once, not twice");
}

#[test]
fn malformed_and_unknown_commands_get_error_results_and_the_agent_stays_up() {
    let s = site("errors");
    s.send("{this is not json");
    let invalid = s.result("_invalid", 1);
    assert_eq!(invalid[0]["status"], "error");
    assert_eq!(invalid[0]["error"]["code"], "bad_json");
    s.send(r#"{"id":"no-cmd"}"#);
    assert_eq!(s.result("no-cmd", 1)[0]["error"]["code"], "bad_request");
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
    let mut s = site("offline-cmd");
    s.agent.kill();
    s.send(r#"{"id":"late-1","cmd":"agent.ping"}"#);
    s.agent.restart();
    assert_eq!(s.result("late-1", 1)[0]["status"], "ok");
}

#[test]
fn config_set_with_an_invalid_config_is_refused_and_the_old_config_stays() {
    let s = site("badconf");
    let before = std::fs::read(&s.agent.config).expect("config");
    let toml = "[agent]\nid = \"badconf\"\n[mqtt]\nbogus_key = 1\n";
    let r = s.call("cs-1", "agent.config.set", json!({"toml": toml}));
    assert_eq!(r["error"]["code"], "invalid_config");
    assert!(r["error"]["reason"].as_str().is_some_and(|m| m.contains("bogus_key")), "{r}");
    let r = s.call("cs-2", "agent.config.set", json!({"toml": "[agent]\nid = \"a b\"\n"}));
    assert!(r["error"]["reason"].as_str().is_some_and(|m| m.starts_with("agent.id")), "{r}");
    assert_eq!(std::fs::read(&s.agent.config).expect("config"), before);
    assert_eq!(s.started_count(), 1);
    assert_eq!(s.call("p", "agent.ping", json!({}))["status"], "ok");
}

#[test]
fn config_get_redacts_secrets_and_config_set_applies_an_edited_copy() {
    let s = site("goodconf");
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
    let s = site("rollback");
    let before = std::fs::read_to_string(&s.agent.config).expect("config");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let busy = taken.local_addr().expect("addr").port();
    let broken = before.replace(&format!("127.0.0.1:{}", s.http), &format!("127.0.0.1:{busy}"));
    let set = s.call("rb-1", "agent.config.set", json!({"toml": broken}));
    assert_eq!(set["status"], "ok", "valid on paper: {set}");
    let seen =
        s.rec.wait_until(WAIT, "the rollback event", |all| all.iter().any(|m| m.topic.ends_with("config.rolled_back")));
    let event = seen.iter().find(|m| m.topic.ends_with("config.rolled_back")).expect("event").json();
    assert!(event["data"]["reason"].as_str().is_some_and(|r| r.contains(&busy.to_string())), "{event}");
    assert_eq!(std::fs::read_to_string(&s.agent.config).expect("config"), before);
    wait_for(WAIT, "the agent on its old port", || {
        (common::http::get(s.http, "/healthz").ok()?.status == 200).then_some(())
    });
    assert!(!s.dir.join("telbridge.toml.applying").exists());
    drop(taken);
}

#[test]
fn commands_over_the_size_limit_are_answered_too_large_once_and_never_block_the_next() {
    let site = common::site::Site::start_with("cmd-big", "agent", "max_command_bytes = 65536", "");
    let (rec, agent) = (&site.rec, &site.agent);
    let topic = "telbridge/v1/cmd-big/cmd/agent";
    let command =
        |id: &str, filler: usize| json!({"id": id, "cmd": "agent.ping", "args": {"x": "y".repeat(filler)}}).to_string();
    // Over max_command_bytes but within what MQTT reads: refused by the dispatcher.
    rec.command(topic, &command("big-1", 100_000));
    // Over the MQTT packet limit too: without care the broker would redeliver it forever.
    rec.command(topic, &command("huge-1", 400_000));
    rec.command(topic, &command("small-1", 10));
    let result = |id: &str| {
        let suffix = format!("/res/{id}");
        rec.wait_until(WAIT, &format!("the result of {id}"), |s| s.iter().any(|m| m.topic.ends_with(&suffix)));
        let all: Vec<Value> = rec.on(&suffix).iter().map(|m| m.json()).collect();
        all
    };
    for id in ["big-1", "huge-1"] {
        let r = result(id);
        assert_eq!(r[0]["error"]["code"], "too_large", "{id}: {}", r[0]);
        assert!(r[0]["error"]["reason"].as_str().is_some_and(|t| t.contains("max_command_bytes")), "{}", r[0]);
    }
    assert_eq!(result("small-1")[0]["data"]["pong"], true);
    std::thread::sleep(Duration::from_secs(2));
    let connects = agent.log().matches("mqtt connected").count();
    assert!(connects <= 2, "one reconnect to read the huge one, no loop: {connects} connects\n{}", agent.log());
    assert_eq!(rec.on("/res/huge-1").len(), 1, "answered once");
}
