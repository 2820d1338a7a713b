//! The built `telbridge-sim` binary: usage at every level, and the `listening on ADDR`
//! first line the agent's end-to-end tests read, with a live server behind it.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_telbridge-sim");

/// One test spawns at a time: under qemu-user a fork while another of the process's
/// threads is busy can leave the child hung before its exec.
static SPAWNING: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    SPAWNING.lock().unwrap_or_else(|e| e.into_inner())
}

/// The binary as a command; under `TELBRIDGE_TEST_EXEC_WRAPPER` (e.g. `qemu-mipsel` when the
/// tests themselves run under qemu) through that wrapper.
fn sim() -> Command {
    match std::env::var("TELBRIDGE_TEST_EXEC_WRAPPER") {
        Ok(wrapper) if !wrapper.is_empty() => {
            let mut c = Command::new(wrapper);
            c.arg(BIN);
            c
        }
        _ => Command::new(BIN),
    }
}

#[test]
fn help_prints_usage_and_exits_0_at_every_level() {
    let _turn = one_at_a_time();
    let levels = [
        &["--help"][..],
        &["-h"],
        &["goip", "--help"],
        &["fax", "--help"],
        &["qmsg", "--help"],
        &["privacy", "--help"],
        &["callcenter", "--help"],
        &["callcenter", "--agents", "8000", "--help"],
        &["goip", "--ports", "2", "--help"],
    ];
    for args in levels {
        let out = sim().args(args).output().expect("run");
        assert!(out.status.success(), "{args:?}: {out:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.starts_with("usage: telbridge-sim goip")
                && text.contains("telbridge-sim fax")
                && text.contains("telbridge-sim qmsg")
                && text.contains("telbridge-sim privacy")
                && text.contains("telbridge-sim callcenter [--listen ADDR] [--customer C] [--apikey KEY]"),
            "{args:?}: {text}"
        );
    }
    let out = sim().args(["goip", "--ports"]).output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--ports needs a value"));
    let out = sim().args(["callcenter", "--agents", "123456789"]).output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--agents"));
}

#[test]
fn each_simulator_prints_its_address_first_and_serves_there() {
    let _turn = one_at_a_time();
    for kind in ["goip", "fax", "qmsg", "privacy", "callcenter"] {
        let mut child = sim()
            .args([kind, "--listen", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("line");
        let addr = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("{line:?}")).to_string();
        let port: u16 = addr.strip_prefix("127.0.0.1:").and_then(|p| p.parse().ok()).expect("port");
        assert_ne!(port, 0);
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("rt");
        let state = rt.block_on(async {
            let url = format!("http://{addr}/sim/state");
            telbridge_sim::push::request(&url, hyper::Method::GET, &[], vec![], std::time::Duration::from_secs(5)).await
        });
        // Its blocking-pool thread ends before the next fork.
        rt.shutdown_timeout(std::time::Duration::from_secs(5));
        let _ = child.kill();
        let _ = child.wait();
        let state = state.expect("state");
        assert_eq!(state.status, 200);
        let key = match kind {
            "goip" => "ssrc",
            "fax" => "logins",
            "privacy" => "bindings",
            "callcenter" => "agents",
            _ => "balance",
        };
        assert!(state.json().get(key).is_some(), "{kind}: {:?}", state.json());
    }
}
