//! The demos as a new user runs them: each ends by itself with `DEMO_ONCE=1`, within a time
//! limit, and shows what it promises. They use the fixed demo ports (1883, 8080–8082), so they
//! run one after another in this one test. They run the binaries `cargo test` built
//! (`TELBRIDGE_BIN_DIR`): their own `cargo build` would build the dependencies again without the
//! dev-dependencies' features, minutes on a busy machine. Skipped under an exec wrapper (qemu):
//! the demos run host binaries. Built only with the drivers the demos show (GoIP, WaveFax).
#![cfg(all(feature = "goip", feature = "wavefax"))]

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs `script` with `DEMO_ONCE=1`; its exit status and output, or a panic past `limit`.
fn run_demo(script: &str, limit: Duration) -> (bool, String) {
    let out_file = common::temp_dir("demo").join("out.log");
    // telbridge-sim's path, checked to exist: its folder holds the agent's binary too.
    let sim = common::sim::sim_binary();
    let bin_dir = std::path::Path::new(&sim).parent().expect("bin dir").to_path_buf();
    let out = std::fs::File::create(&out_file).expect("log");
    let mut child = Command::new("bash")
        .arg(script)
        .env("DEMO_ONCE", "1")
        .env("TELBRIDGE_BIN_DIR", bin_dir)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null())
        .stdout(out.try_clone().expect("log"))
        .stderr(out)
        .spawn()
        .expect("spawn the demo");
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return (status.success(), std::fs::read_to_string(&out_file).unwrap_or_default());
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            let log = std::fs::read_to_string(&out_file).unwrap_or_default();
            panic!("{script} did not end within {limit:?} with DEMO_ONCE=1:\n{log}");
        }
        std::thread::sleep(Duration::from_millis(100)); // polling the child, not syncing
    }
}

#[test]
fn every_demo_ends_by_itself_when_asked_and_shows_its_events() {
    if std::env::var("TELBRIDGE_TEST_EXEC_WRAPPER").is_ok_and(|w| !w.is_empty()) {
        eprintln!("skipped under an exec wrapper: the demos run host binaries");
        return;
    }
    for (script, shows) in [
        ("scripts/demo.sh", "/status"),
        ("scripts/demo-goip.sh", "/sms.received"),
        ("scripts/demo-fax.sh", "/fax.deleted"),
    ] {
        let (ok, log) = run_demo(script, Duration::from_secs(180));
        assert!(ok, "{script} failed:\n{log}");
        assert!(log.contains(shows), "{script} should show {shows}:\n{log}");
    }
}
