//! The service integration: the systemd unit verifies, and the agent speaks systemd's
//! notification protocol (ready, watchdog, stopping) over a real Unix datagram socket.

mod common;

use common::*;
use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

#[test]
fn the_systemd_unit_passes_systemd_analyze_verify() {
    let dir = temp_dir("unit");
    let unit =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/systemd/telbridge.service")).expect("unit");
    assert!(unit.contains("Type=notify") && unit.contains("WatchdogSec=") && unit.contains("StateDirectory=telbridge"));
    // verify checks that ExecStart exists: point it at the binary under test.
    let path = dir.join("telbridge.service");
    assert!(unit.contains("ExecStart=/var/lib/telbridge/bin/telbridge run"), "started through the update symlink");
    let unit = unit
        .replace("/var/lib/telbridge/bin/telbridge", env!("CARGO_BIN_EXE_telbridge"))
        .replace("/usr/bin/telbridge", env!("CARGO_BIN_EXE_telbridge"));
    std::fs::write(&path, unit).expect("write");
    let out = std::process::Command::new("systemd-analyze").arg("verify").arg(&path).output().expect("systemd-analyze");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && !text.contains("telbridge.service:"), "{text}");
}

/// Collects the datagrams the agent sends to `NOTIFY_SOCKET` until `until` is seen.
fn receive_until(socket: &UnixDatagram, until: &str, timeout: Duration) -> Vec<String> {
    let deadline = Instant::now() + timeout;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        if let Ok(n) = socket.recv(&mut buf) {
            let msg = String::from_utf8_lossy(&buf[..n]).to_string();
            let done = msg.contains(until);
            got.push(msg);
            if done {
                return got;
            }
        }
    }
    panic!("no {until} within {timeout:?}; got {got:?}");
}

#[test]
fn the_agent_notifies_ready_feeds_the_watchdog_and_says_stopping() {
    let dir = temp_dir("notify");
    let socket_path = dir.join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).expect("bind");
    socket.set_read_timeout(Some(Duration::from_millis(200))).expect("timeout");
    let http = free_port();
    let config = write_config(&dir, "notify", free_port(), http, "", "");
    let env = [("NOTIFY_SOCKET", socket_path.to_str().expect("path")), ("WATCHDOG_USEC", "400000")];
    let mut agent = Agent::start_with_env(&config, http, &env);
    let ready = receive_until(&socket, "READY=1", Duration::from_secs(20));
    assert!(ready.last().is_some_and(|m| m.contains("STATUS=")), "{ready:?}");
    let pings = receive_until(&socket, "WATCHDOG=1", Duration::from_secs(5));
    assert!(pings.iter().any(|m| m == "WATCHDOG=1"));
    assert_eq!(agent.terminate(), Some(0));
    receive_until(&socket, "STOPPING=1", Duration::from_secs(5));
}

#[test]
fn the_openwrt_init_script_is_valid_shell_for_procd() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/cross/openwrt/telbridge.init");
    let text = std::fs::read_to_string(path).expect("init script");
    assert!(text.starts_with("#!/bin/sh /etc/rc.common"));
    for needle in ["USE_PROCD=1", "procd_set_param respawn", "run -c \"$CONF\"", "check-config -c \"$CONF\""] {
        assert!(text.contains(needle), "missing {needle}");
    }
    let out = std::process::Command::new("sh").arg("-n").arg(path).output().expect("sh");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}
