//! Brokers for tests: mosquitto as a child process (can be stopped and restarted, with
//! persistence; also inside a [`Netns`]) and rumqttd in-process (fast, lives as long as the
//! test binary).

use super::netns::Netns;
use super::{free_port, wait_for};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Mosquitto {
    /// Where it listens: 127.0.0.1, or the namespace's veth address.
    pub host: String,
    pub port: u16,
    dir: PathBuf,
    /// The namespace it runs in (`ip netns exec`), if any.
    netns: Option<String>,
    child: Option<Child>,
}

impl Mosquitto {
    /// Starts a private mosquitto on a free port with on-disk persistence in `dir`.
    pub fn start(dir: &std::path::Path) -> Mosquitto {
        Self::start_on(dir, free_port())
    }

    /// Starts on a given port (one an agent is already trying to reach).
    pub fn start_on(dir: &std::path::Path, port: u16) -> Mosquitto {
        Self::start_with(dir, port, "")
    }

    /// Starts with extra lines appended to the config (e.g. a TLS listener).
    pub fn start_with(dir: &std::path::Path, port: u16, extra: &str) -> Mosquitto {
        Self::start_at(dir, "127.0.0.1", port, extra, None)
    }

    /// Starts inside `netns`, listening on its veth address (port 1883: the namespace is
    /// the test's own). Drop the broker before the namespace.
    pub fn start_in_netns(dir: &std::path::Path, netns: &Netns) -> Mosquitto {
        Self::start_at(dir, &netns.inside.to_string(), 1883, "", Some(netns.name.clone()))
    }

    fn start_at(dir: &std::path::Path, host: &str, port: u16, extra: &str, netns: Option<String>) -> Mosquitto {
        let conf = dir.join("mosquitto.conf");
        std::fs::write(
            &conf,
            format!(
                // `user root`: as root, mosquitto would otherwise switch to the `mosquitto`
                // user and fail to write its persistence file here (ignored as non-root).
                "user root\nlistener {port} {host}\nallow_anonymous true\npersistence true\n\
                 persistence_location {}/\nautosave_interval 1\nmax_queued_messages 100000\nlog_type all\n{extra}",
                dir.display()
            ),
        )
        .expect("mosquitto.conf");
        let mut m = Mosquitto { host: host.to_string(), port, dir: dir.to_path_buf(), netns, child: None };
        m.resume();
        m
    }

    /// Starts it again on the same port (after [`Mosquitto::stop`]).
    pub fn resume(&mut self) {
        let log = std::fs::File::create(self.dir.join("mosquitto.log")).expect("log");
        let mut command = match &self.netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns, mosquitto_bin()]);
                c
            }
            None => Command::new(mosquitto_bin()),
        };
        let child = command
            .arg("-c")
            .arg(self.dir.join("mosquitto.conf"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("mosquitto is installed (apt-get install mosquitto)");
        self.child = Some(child);
        let addr = (self.host.as_str(), self.port);
        let log = self.dir.join("mosquitto.log");
        wait_for(Duration::from_secs(10), "mosquitto to listen", || {
            // A broker that exited (a port taken, a bad config) says why in its log.
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!("mosquitto exited ({status}): {}", std::fs::read_to_string(&log).unwrap_or_default());
            }
            TcpStream::connect(addr).ok()
        });
    }

    /// The broker's process id while it runs (0 when stopped).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    /// SIGTERM: mosquitto saves its sessions and exits.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
            let _ = child.wait();
        }
    }
}

/// The mosquitto binary: on PATH, or where Debian puts it (/usr/sbin is not always on PATH).
fn mosquitto_bin() -> &'static str {
    let on_path = Command::new("mosquitto").arg("-h").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok();
    if on_path { "mosquitto" } else { "/usr/sbin/mosquitto" }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Starts rumqttd in a background thread of this test process; returns its port.
pub fn start_rumqttd() -> u16 {
    let port = free_port();
    let text = format!(
        r#"
id = 0
[router]
max_connections = 100
max_outgoing_packet_count = 1000
max_segment_size = 10485760
max_segment_count = 10
[v4.1]
name = "v4"
listen = "127.0.0.1:{port}"
next_connection_delay_ms = 1
[v4.1.connections]
connection_timeout_ms = 60000
max_payload_size = 1048576
max_inflight_count = 1000
dynamic_filters = true
"#
    );
    let config: rumqttd::Config = toml::from_str(&text).expect("rumqttd config");
    std::thread::spawn(move || {
        let mut broker = rumqttd::Broker::new(config);
        let _ = broker.start();
    });
    wait_for(Duration::from_secs(10), "rumqttd to listen", || TcpStream::connect(("127.0.0.1", port)).ok());
    port
}
