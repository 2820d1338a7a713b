//! The `telbridge-sim` binary (the workspace's `sim/` crate, built beside the tests by
//! `cargo test`) as a child process (also inside a [`Netns`]), and its control API.

use super::http;
use super::netns::Netns;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// A running simulator.
pub struct Sim {
    /// Where it listens: 127.0.0.1, or the namespace's veth address.
    pub host: String,
    pub port: u16,
    child: Child,
}

impl Sim {
    /// Starts `telbridge-sim goip` with `args` (on a port the OS picks unless `--listen`).
    pub fn goip(args: &[&str]) -> Sim {
        Sim::start("goip", args)
    }

    /// Starts `telbridge-sim goip` inside `netns`, on its veth address. Drop the simulator
    /// before the namespace.
    pub fn goip_in(netns: &Netns, args: &[&str]) -> Sim {
        let listen = format!("{}:0", netns.inside);
        let mut command = netns.command(&sim_binary());
        command.args(["goip", "--listen", &listen]).args(args);
        let mut sim = Sim::spawn(command);
        sim.host = netns.inside.to_string();
        sim
    }

    /// Starts `telbridge-sim privacy` with `args`.
    pub fn privacy(args: &[&str]) -> Sim {
        Sim::start("privacy", args)
    }

    /// Starts `telbridge-sim callcenter` with `args`.
    pub fn callcenter(args: &[&str]) -> Sim {
        Sim::start("callcenter", args)
    }

    /// Starts `telbridge-sim qmsg` with `args`.
    pub fn qmsg(args: &[&str]) -> Sim {
        Sim::start("qmsg", args)
    }

    /// Posts `body` to the simulator's control API at `path` (`/sim/mo`, `/sim/report`).
    pub fn control(&self, path: &str, body: &Value) -> Value {
        let r = http::post_json_at(&self.host, self.port, path, None, body).expect("sim control");
        assert_eq!(r.status, 200, "{path}: {}", String::from_utf8_lossy(&r.body));
        r.json()
    }

    /// Starts `telbridge-sim fax` with `args`.
    pub fn fax(args: &[&str]) -> Sim {
        Sim::start("fax", args)
    }

    fn start(kind: &str, args: &[&str]) -> Sim {
        let mut command = super::wrapped_command(&sim_binary());
        command.arg(kind).args(args);
        Sim::spawn(command)
    }

    fn spawn(mut command: Command) -> Sim {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn telbridge-sim");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("read the listening line");
        let port = line
            .trim()
            .strip_prefix("listening on ")
            .and_then(|a| a.rsplit(':').next())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected simulator output {line:?}"));
        Sim { host: "127.0.0.1".into(), port, child }
    }

    pub fn url(&self) -> String {
        format!("http://{}:{}", self.host, self.port)
    }

    pub fn state(&self) -> Value {
        http::get_at(&self.host, self.port, "/sim/state").expect("sim state").json()
    }

    /// A message arrives at the gateway on `port` from `from`.
    pub fn receive(&self, port: &str, from: &str, text: &str) {
        let body = json!({"port": port, "from": from, "text": text});
        let r = http::post_json_at(&self.host, self.port, "/sim/sms", None, &body).expect("inject sms");
        assert_eq!(r.status, 200);
    }

    pub fn reboot(&self) -> String {
        let r = http::post_json_at(&self.host, self.port, "/sim/reboot", None, &json!({})).expect("reboot");
        r.json()["ssrc"].as_str().expect("ssrc").to_string()
    }

    pub fn push_status(&self) {
        http::post_json_at(&self.host, self.port, "/sim/status", None, &json!({})).expect("status");
    }
}

/// `target/…/telbridge-sim`: the sim crate is a workspace member, so `cargo test` builds it
/// beside the agent (for the same target). A run of one test file (`cargo test --test goip`)
/// does not rebuild it: `cargo build -p telbridge-sim` first after changing `sim/`.
pub fn sim_binary() -> String {
    let bin = bin_dir().join("telbridge-sim");
    assert!(bin.is_file(), "{} is missing: run the tests with `cargo test` at the workspace root", bin.display());
    bin.display().to_string()
}

/// The folder of the binaries this `cargo test` built: the test executable lives in
/// `target/…/deps/`, the binaries one folder up.
fn bin_dir() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("test executable");
    exe.parent().and_then(|deps| deps.parent()).expect("target dir").to_path_buf()
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
