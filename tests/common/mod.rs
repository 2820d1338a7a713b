//! Test harness: real mosquitto and rumqttd brokers, the real `telbridge` binary as a
//! child process, a recording MQTT subscriber, and a minimal HTTP/1.1 client.
//! Everything binds 127.0.0.1 on ports the OS hands out.
#![allow(dead_code, unused_imports)]

pub mod broker;
pub mod gate;
pub mod http;
pub mod https;
pub mod netns;
pub mod proxy;
#[cfg(any(feature = "goip", feature = "wavefax", feature = "qmsg", feature = "privacy", feature = "callcenter"))]
pub mod sim;
pub mod site;
pub mod sshd;
pub mod tls;

use serde_json::Value;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use broker::{Mosquitto, start_rumqttd};

/// A port nobody listens on right now, for a server a test starts next. It is taken below the
/// kernel's ephemeral range (Linux: 32768–60999), where the OS would hand it to no outgoing
/// connection nor to another `bind(0)` before the server binds it; and one test process never
/// hands out the same port twice (its tests run side by side).
pub fn free_port() -> u16 {
    const LOW: u32 = 20_000;
    const SPAN: u32 = 12_000;
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    // Test binaries run one after another; a start that depends on the process keeps a later
    // one off the ports an earlier one's leftovers (a broker in TIME_WAIT) may hold.
    let start = std::process::id().wrapping_mul(7_919) % SPAN;
    loop {
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        assert!(n < SPAN, "no free test port left below the ephemeral range");
        let port = u16::try_from(LOW + (start + n) % SPAN).expect("port");
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// A fresh directory under the system temp dir.
pub fn temp_dir(name: &str) -> PathBuf {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("telbridge-it-{name}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Polls `f` every 20 ms until it returns Some or `timeout` passes.
pub fn wait_for<T>(timeout: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        // The poll interval: every wait in the tests comes down to this one sleep.
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub const TOKEN: &str = "test-token";

/// Writes an agent config; `extra` is appended TOML (extra tables or keys).
pub fn write_config(dir: &Path, agent: &str, mqtt_port: u16, http_port: u16, extra_mqtt: &str, extra: &str) -> PathBuf {
    let path = dir.join("telbridge.toml");
    let text = format!(
        "[agent]\nid = \"{agent}\"\nlog_level = \"debug\"\n\
         [mqtt]\nport = {mqtt_port}\nreconnect_min_ms = 100\nreconnect_max_ms = 500\n{extra_mqtt}\n\
         [store]\npath = \"{}\"\n\
         [http]\nlisten = \"127.0.0.1:{http_port}\"\ningest_token = \"{TOKEN}\"\n{extra}",
        dir.join("store.db").display()
    );
    std::fs::write(&path, text).expect("write config");
    path
}

/// Leaves the store of `dir` (the agent stopped) as a crash leaves command `id`: the `kv`
/// rows its run committed (`(scope, key, value)`), and the command recorded, never finished.
pub fn leave_as_crashed(dir: &Path, kv: &[(&str, &str, &Value)], target: &str, id: &str, name: &str, args: &Value) {
    let db = rusqlite::Connection::open(dir.join("store.db")).expect("store");
    for (scope, key, value) in kv {
        db.execute(
            "INSERT INTO kv (scope, key, value, updated_ms) VALUES (?1, ?2, ?3, 1)",
            rusqlite::params![scope, key, value.to_string().into_bytes()],
        )
        .expect("kv");
    }
    let body = serde_json::json!({"id": id, "cmd": name, "args": args}).to_string().into_bytes();
    db.execute(
        "INSERT INTO inbox (cmd_id, target, name, body, state, received_ms) VALUES (?1, ?2, ?3, ?4, 'received', 0)",
        rusqlite::params![id, target, name, body],
    )
    .expect("command");
}

/// A command that runs the agent binary; under `TELBRIDGE_TEST_EXEC_WRAPPER` (e.g.
/// `qemu-mipsel` when the tests themselves run under qemu) through that wrapper.
pub fn agent_command() -> Command {
    wrapped_command(env!("CARGO_BIN_EXE_telbridge"))
}

/// A command for one of the crate's binaries, through the exec wrapper if one is set.
pub fn wrapped_command(bin: &str) -> Command {
    match std::env::var("TELBRIDGE_TEST_EXEC_WRAPPER") {
        Ok(wrapper) if !wrapper.is_empty() => {
            let mut c = Command::new(wrapper);
            c.arg(bin);
            c
        }
        _ => Command::new(bin),
    }
}

/// The agent binary running as a child process.
pub struct Agent {
    pub config: PathBuf,
    pub http_port: u16,
    /// The program started (the test build's agent unless [`Agent::start_exe`]).
    exe: Option<PathBuf>,
    child: Option<Child>,
    log: PathBuf,
    env: Vec<(String, String)>,
}

impl Agent {
    pub fn start(config: &Path, http_port: u16) -> Agent {
        Self::start_with_env(config, http_port, &[])
    }

    /// Starts with extra environment variables.
    pub fn start_with_env(config: &Path, http_port: u16, env: &[(&str, &str)]) -> Agent {
        let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let log = config.with_extension("log");
        let mut agent = Agent { config: config.to_path_buf(), http_port, exe: None, child: None, log, env };
        agent.spawn();
        agent
    }

    /// Starts the agent binary at `exe` (a copy, or a symlink to one, as a service manager
    /// would start it).
    pub fn start_exe(exe: &Path, config: &Path, http_port: u16) -> Agent {
        Self::start_exe_with_env(exe, config, http_port, &[])
    }

    /// [`Agent::start_exe`] with extra environment variables.
    pub fn start_exe_with_env(exe: &Path, config: &Path, http_port: u16, env: &[(&str, &str)]) -> Agent {
        let log = config.with_extension("log");
        let mut agent = Agent {
            config: config.to_path_buf(),
            http_port,
            exe: Some(exe.to_path_buf()),
            child: None,
            log,
            env: env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        };
        agent.spawn();
        agent
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&self.log).expect("log file");
        let mut command = match &self.exe {
            Some(exe) => wrapped_command(&exe.display().to_string()),
            None => agent_command(),
        };
        let child = command
            .args(["run", "-c"])
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .arg(&self.config)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("spawn telbridge");
        self.child = Some(child);
        let port = self.http_port;
        // Answering at all is up (a full disk answers 503 and still relays).
        wait_for(Duration::from_secs(20), "the agent's /healthz", || http::get(port, "/healthz").ok());
    }

    /// SIGKILL: no flush, no goodbye.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM and wait for a clean exit; returns the exit code.
    pub fn terminate(&mut self) -> Option<i32> {
        let mut child = self.child.take()?;
        let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
        let status = child.wait().expect("wait");
        status.code()
    }

    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// The agent's log so far, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Posts events to `/v1/events`.
    pub fn post_events(&self, body: &Value) -> http::Reply {
        http::post_json(self.http_port, "/v1/events", Some(TOKEN), body).expect("post")
    }

    /// The child's process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn is_running(&mut self) -> bool {
        self.child.as_mut().is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One message seen by the [`Recorder`].
#[derive(Debug, Clone)]
pub struct Seen {
    pub topic: String,
    pub payload: Vec<u8>,
    pub retain: bool,
}

impl Seen {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.payload).unwrap_or(Value::Null)
    }
}

/// A subscriber on a persistent session that records every message it receives.
#[derive(Clone)]
pub struct Recorder {
    pub seen: Arc<Mutex<Vec<Seen>>>,
    pub client: rumqttc::Client,
}

impl Recorder {
    pub fn start(port: u16, filter: &str) -> Recorder {
        Self::start_at("127.0.0.1", port, filter)
    }

    /// Subscribes to a broker at `host` (e.g. one inside a [`netns::Netns`]).
    pub fn start_at(host: &str, port: u16, filter: &str) -> Recorder {
        let mut opts = rumqttc::MqttOptions::new(format!("recorder-{}", free_port()), host, port);
        opts.set_clean_session(false).set_keep_alive(Duration::from_secs(5)).set_max_packet_size(1 << 20, 1 << 20);
        let (client, mut connection) = rumqttc::Client::new(opts, 100);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let filter = filter.to_string();
        let sub = client.clone();
        let sink = seen.clone();
        std::thread::spawn(move || {
            for event in connection.iter() {
                match event {
                    Ok(rumqttc::Event::Incoming(rumqttc::Packet::ConnAck(_))) => {
                        let _ = sub.try_subscribe(filter.clone(), rumqttc::QoS::AtLeastOnce);
                    }
                    Ok(rumqttc::Event::Incoming(rumqttc::Packet::SubAck(_))) => {
                        let _ = ready_tx.send(());
                    }
                    Ok(rumqttc::Event::Incoming(rumqttc::Packet::Publish(p))) => {
                        let seen = Seen { topic: p.topic.clone(), payload: p.payload.to_vec(), retain: p.retain };
                        sink.lock().expect("lock").push(seen);
                    }
                    Ok(_) => {}
                    Err(rumqttc::ConnectionError::RequestsDone) => return,
                    // Broker away (a test stopped it): rumqttc reconnects on the next
                    // iteration; this backoff keeps it from spinning meanwhile.
                    Err(_) => std::thread::sleep(Duration::from_millis(100)),
                }
            }
        });
        ready_rx.recv_timeout(Duration::from_secs(10)).expect("recorder subscribed");
        Recorder { seen, client }
    }

    pub fn all(&self) -> Vec<Seen> {
        self.seen.lock().expect("lock").clone()
    }

    /// Messages on topics ending with `suffix`.
    pub fn on(&self, suffix: &str) -> Vec<Seen> {
        self.all().into_iter().filter(|s| s.topic.ends_with(suffix)).collect()
    }

    /// Waits until `pred` holds for the messages seen so far.
    pub fn wait_until(&self, timeout: Duration, what: &str, pred: impl Fn(&[Seen]) -> bool) -> Vec<Seen> {
        wait_for(timeout, what, || {
            let all = self.all();
            pred(&all).then_some(all)
        })
    }

    /// Publishes a command at QoS 1.
    pub fn command(&self, topic: &str, payload: &str) {
        self.client.publish(topic, rumqttc::QoS::AtLeastOnce, false, payload.as_bytes().to_vec()).expect("publish");
    }
}
