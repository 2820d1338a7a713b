//! A whole site: a mosquitto broker, a recording subscriber (the cloud's side), and the
//! agent with one driver instance (or none: [`Site::agent_only`]), plus helpers to send
//! commands and wait for their results, the driver's events and the agent's restarts.

use super::{Agent, Mosquitto, Recorder, free_port, http, temp_dir, wait_for, write_config};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Duration;

pub const WAIT: Duration = Duration::from_secs(60);

/// The topic suffix of the event the agent publishes at each start.
const STARTED: &str = "/evt/agent/agent.started";

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
    /// Starts a broker, a recorder and an agent with no driver: commands go to `agent`.
    pub fn agent_only(name: &str) -> Site {
        Site::start(name, "agent", "")
    }

    /// Starts a broker, a recorder and an agent whose config ends with `driver_toml`.
    pub fn start(name: &str, target: &str, driver_toml: &str) -> Site {
        Site::start_with(name, target, "", driver_toml)
    }

    /// As [`Site::start`], with extra `[mqtt]` keys.
    pub fn start_with(name: &str, target: &str, mqtt_toml: &str, driver_toml: &str) -> Site {
        Site::start_on(name, target, free_port(), mqtt_toml, driver_toml)
    }

    /// As [`Site::start_with`], the agent's ingress on port `http` (one `driver_toml`
    /// already refers to, e.g. behind a forwarder).
    pub fn start_on(name: &str, target: &str, http: u16, mqtt_toml: &str, driver_toml: &str) -> Site {
        let dir = temp_dir(name);
        let broker = Mosquitto::start(&dir);
        let rec = Recorder::start(broker.port, &format!("telbridge/v1/{name}/#"));
        let agent = Agent::start(&write_config(&dir, name, broker.port, http, mqtt_toml, driver_toml), http);
        rec.wait_until(WAIT, "online", |s| {
            s.iter().any(|m| m.topic.ends_with("/status") && m.json()["state"] == "online")
        });
        Site { _broker: broker, rec, agent, name: name.to_string(), target: target.to_string(), dir }
    }

    /// Publishes a command to the driver without waiting for its result.
    pub fn send(&self, id: &str, cmd: &str, args: Value) {
        self.send_raw(&json!({"id": id, "cmd": cmd, "args": args}).to_string());
    }

    /// Publishes `payload` as it is (malformed ones included) on the target's command topic.
    pub fn send_raw(&self, payload: &str) {
        self.publish(&self.target, payload);
    }

    fn publish(&self, target: &str, payload: &str) {
        self.rec.command(&format!("telbridge/v1/{}/cmd/{target}", self.name), payload);
    }

    /// Sends a command to the driver and waits for its (first) result.
    pub fn call(&self, id: &str, cmd: &str, args: Value) -> Value {
        self.send(id, cmd, args);
        self.result(id)
    }

    /// Waits for the (first) result of command `id`.
    pub fn result(&self, id: &str) -> Value {
        self.results(id, 1).remove(0)
    }

    /// Waits until `n` results for `id` arrived (a repeated id is answered again); returns them all.
    pub fn results(&self, id: &str, n: usize) -> Vec<Value> {
        let suffix = format!("/res/{id}");
        let seen = self.rec.wait_until(WAIT, &format!("{n} result(s) for {id}"), |s| {
            s.iter().filter(|m| m.topic.ends_with(&suffix)).count() >= n
        });
        seen.iter().filter(|m| m.topic.ends_with(&suffix)).map(|m| m.json()).collect()
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

    /// A relayed file put together from its `chunk_kind` events (repeats dropped), once
    /// every chunk is in; the chunks' offsets and hashes are checked on the way.
    pub fn reassemble(&self, chunk_kind: &str, file_id: &str) -> Option<Vec<u8>> {
        use base64::Engine;
        let mut chunks: Vec<Value> = self.events(chunk_kind).into_iter().filter(|c| c["file_id"] == file_id).collect();
        chunks.sort_by_key(|c| c["index"].as_u64());
        chunks.dedup_by_key(|c| c["index"].as_u64());
        let count = chunks.first()?["count"].as_u64()? as usize;
        if chunks.len() < count {
            return None;
        }
        let mut out = Vec::new();
        for c in &chunks {
            assert_eq!(c["offset"].as_u64(), Some(out.len() as u64));
            out.extend(base64::engine::general_purpose::STANDARD.decode(c["data"].as_str()?).ok()?);
        }
        assert_eq!(chunks[0]["sha256"], chunks[count - 1]["sha256"]);
        Some(out)
    }

    /// The agent's own `agent.status` data.
    pub fn agent_status(&self) -> Value {
        let id = format!("status-{}", free_port());
        self.publish("agent", &json!({"id": id, "cmd": "agent.status"}).to_string());
        self.result(&id)["data"].clone()
    }

    /// How many `agent.started` events arrived so far (one per start, restarts included).
    pub fn started_count(&self) -> usize {
        self.rec.on(STARTED).len()
    }

    /// Waits until the agent announced its `n`th start and answers HTTP again.
    pub fn wait_started(&self, n: usize) {
        self.rec.wait_until(WAIT, &format!("start {n} of the agent"), |all| {
            all.iter().filter(|m| m.topic.ends_with(STARTED)).count() >= n
        });
        self.wait_healthy();
    }

    /// Waits until the agent answers `/healthz` with 200 on the port it was started with.
    pub fn wait_healthy(&self) {
        let port = self.agent.http_port;
        wait_for(WAIT, "the agent's /healthz", || (http::get(port, "/healthz").ok()?.status == 200).then_some(()));
    }

    /// The agent's SQLite store, opened read-only beside the running agent.
    pub fn db(&self) -> rusqlite::Connection {
        let path = self.dir.join("store.db");
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).expect("open store")
    }
}
