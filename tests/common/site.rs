//! A whole site for driver tests: a mosquitto broker, a recording subscriber (the cloud's
//! side), and the agent with one driver instance, plus helpers to send that instance
//! commands and wait for its events.

use super::{Agent, Mosquitto, Recorder, free_port, temp_dir, write_config};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Duration;

pub const WAIT: Duration = Duration::from_secs(60);

pub struct Site {
    pub _broker: Mosquitto,
    pub rec: Recorder,
    pub agent: Agent,
    /// The agent id.
    pub name: String,
    /// The driver instance, e.g. `goip/gw1`: its command target and event source.
    pub target: String,
    pub dir: PathBuf,
}

impl Site {
    /// Starts a broker, a recorder and an agent whose config ends with `driver_toml`.
    pub fn start(name: &str, target: &str, driver_toml: &str) -> Site {
        Site::start_with(name, target, "", driver_toml)
    }

    /// As [`Site::start`], with extra `[mqtt]` keys.
    pub fn start_with(name: &str, target: &str, mqtt_toml: &str, driver_toml: &str) -> Site {
        let dir = temp_dir(name);
        let broker = Mosquitto::start(&dir);
        let http = free_port();
        let rec = Recorder::start(broker.port, &format!("telbridge/v1/{name}/#"));
        let agent = Agent::start(&write_config(&dir, name, broker.port, http, mqtt_toml, driver_toml), http);
        rec.wait_until(WAIT, "online", |s| {
            s.iter().any(|m| m.topic.ends_with("/status") && m.json()["state"] == "online")
        });
        Site { _broker: broker, rec, agent, name: name.to_string(), target: target.to_string(), dir }
    }

    /// Publishes a command to the driver without waiting for its result.
    pub fn send(&self, id: &str, cmd: &str, args: Value) {
        let topic = format!("telbridge/v1/{}/cmd/{}", self.name, self.target);
        self.rec.command(&topic, &json!({"id": id, "cmd": cmd, "args": args}).to_string());
    }

    /// Sends a command to the driver and waits for its result.
    pub fn call(&self, id: &str, cmd: &str, args: Value) -> Value {
        self.send(id, cmd, args);
        self.result(id)
    }

    pub fn result(&self, id: &str) -> Value {
        let suffix = format!("/res/{id}");
        let seen =
            self.rec.wait_until(WAIT, &format!("the result of {id}"), |s| s.iter().any(|m| m.topic.ends_with(&suffix)));
        seen.iter().find(|m| m.topic.ends_with(&suffix)).map(|m| m.json()).expect("result")
    }

    /// The `data` of every event of `kind` from the driver so far.
    pub fn events(&self, kind: &str) -> Vec<Value> {
        self.rec.on(&format!("/evt/{}/{kind}", self.target)).iter().map(|m| m.json()["data"].clone()).collect()
    }

    /// Waits for an event of `kind` whose data satisfies `pred`, and returns its data.
    pub fn wait_event(&self, kind: &str, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let suffix = format!("/evt/{}/{kind}", self.target);
        let seen = self
            .rec
            .wait_until(WAIT, what, |s| s.iter().any(|m| m.topic.ends_with(&suffix) && pred(&m.json()["data"])));
        seen.iter()
            .filter(|m| m.topic.ends_with(&suffix))
            .map(|m| m.json()["data"].clone())
            .find(|d| pred(d))
            .expect("event")
    }

    /// The agent's own `agent.status` data.
    pub fn agent_status(&self) -> Value {
        let topic = format!("telbridge/v1/{}/cmd/agent", self.name);
        let id = format!("status-{}", free_port());
        self.rec.command(&topic, &json!({"id": id, "cmd": "agent.status"}).to_string());
        self.result(&id)["data"].clone()
    }

    /// The agent's SQLite store, opened read-only beside the running agent.
    pub fn db(&self) -> rusqlite::Connection {
        let path = self.dir.join("store.db");
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).expect("open store")
    }
}
