//! End to end: the store on a tiny file system (a tmpfs mounted by the test) that fills
//! up. The agent refuses new events with 503 `disk_full`, gives its reserve back so the
//! delivered events can still be deleted, recovers when there is room, starts and relays
//! on a disk filled by someone else, and never re-sends a burst of delivered events.

mod common;

use common::*;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(60);

/// A tmpfs mounted for the test, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    /// Mounts `size` of tmpfs at `dir`, or says why it cannot.
    fn mount(dir: &Path, size: &str) -> Result<Tmpfs, String> {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .output()
            .map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
        }
        Ok(Tmpfs(dir.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Writes `path` until the file system has no room left.
fn fill(path: &Path) {
    let mut f = std::fs::File::create(path).expect("filler");
    let block = vec![0x5au8; 16 * 1024];
    while f.write_all(&block).is_ok() {}
    let small = [0x5au8; 512];
    while f.write_all(&small).is_ok() {}
    let _ = f.sync_all();
}

fn healthz(http: u16) -> Value {
    common::http::get(http, "/healthz").expect("healthz").json()
}

/// Ids of the test's events seen on the broker, every arrival counted.
fn arrived(seen: &[Seen]) -> Vec<String> {
    seen.iter()
        .filter(|m| m.topic.ends_with("/evt/app/d/sms.received"))
        .map(|m| m.json()["id"].as_str().unwrap_or("").to_string())
        .collect()
}

fn count(seen: &[Seen], suffix: &str) -> usize {
    seen.iter().filter(|m| m.topic.ends_with(suffix)).count()
}

#[test]
fn a_full_disk_refuses_new_events_delivers_the_stored_ones_and_the_agent_still_starts() {
    if std::env::var("TELBRIDGE_TEST_EXEC_WRAPPER").is_ok_and(|w| !w.is_empty()) {
        eprintln!("skipped under an exec wrapper: the host suite covers the store");
        return;
    }
    let dir = temp_dir("diskfull");
    let fs = match Tmpfs::mount(&dir.join("fs"), "3m") {
        Ok(fs) => fs,
        Err(e) => {
            eprintln!("skipped: cannot mount a tmpfs here (needs root): {e}");
            return;
        }
    };
    let mut broker = Mosquitto::start(&dir);
    let rec = Recorder::start(broker.port, "telbridge/v1/diskfull/#");
    broker.stop();
    let http = free_port();
    let config = write_config(&dir, "diskfull", broker.port, http, "", "");
    let text = std::fs::read_to_string(&config).expect("config").replace(
        &format!("path = \"{}\"", dir.join("store.db").display()),
        &format!("path = \"{}\"\nreserve_bytes = 262144", fs.0.join("store.db").display()),
    );
    std::fs::write(&config, text).expect("config");
    let mut agent = Agent::start(&config, http);
    assert!(fs.0.join("store.db.reserve").exists(), "the reserve is taken at start");

    // 1. Fill the disk with events while the broker is away.
    let pad = "p".repeat(1000);
    let mut accepted = Vec::new();
    let mut refusal = None;
    for batch in 0..2000 {
        let body: Vec<Value> = (0..10)
            .map(|i| json!({"source": "app/d", "type": "sms.received", "data": {"i": batch * 10 + i, "pad": pad}}))
            .collect();
        let r = agent.post_events(&Value::Array(body));
        match r.status {
            200 => accepted.extend(
                r.json()["events"]
                    .as_array()
                    .expect("events")
                    .iter()
                    .map(|e| e["id"].as_str().expect("id").to_string()),
            ),
            _ => {
                refusal = Some(r);
                break;
            }
        }
    }
    let refusal = refusal.expect("the disk filled up");
    // On a disk this small SQLite checkpoints every reserve's worth of WAL, as it always did
    // (on a roomy one, every 3 MiB).
    assert!(agent.log().contains("a tight disk: a checkpoint every 250 WAL frames"), "{}", agent.log());
    assert_eq!(refusal.status, 503, "{:?}", refusal.json());
    assert_eq!(refusal.json()["error"], "disk_full");
    assert!(accepted.len() > 500, "events were stored until the disk was full: {}", accepted.len());
    let h = healthz(http);
    assert_eq!((h["status"].as_str(), h["disk_full"].as_bool()), (Some("disk_full"), Some(true)), "{h}");
    assert!(!fs.0.join("store.db.reserve").exists(), "the reserve was given back");
    let refused = agent.post_events(&json!({"source": "app/d", "type": "sms.received", "data": {"late": true}}));
    assert_eq!(refused.json()["error"], "disk_full", "new events wait for room");

    // 2. The broker returns: everything accepted is delivered and deleted on the full disk,
    // the space comes back, and the alarms say so.
    broker.resume();
    let seen = rec.wait_until(WAIT, "every accepted event and the recovery", |s| {
        let ids: BTreeSet<String> = arrived(s).into_iter().collect();
        accepted.iter().all(|a| ids.contains(a)) && count(s, "/evt/agent/store.disk_recovered") >= 1
    });
    assert_eq!(count(&seen, "/evt/agent/store.disk_full"), 1, "one alarm");
    wait_for(WAIT, "the store drained", || (healthz(http)["store_rows"] == 0).then_some(()));
    assert_eq!(healthz(http)["status"], "ok");
    assert!(fs.0.join("store.db.reserve").exists(), "the reserve is taken again");
    assert_eq!(agent.post_events(&json!({"source": "app/d", "type": "sms.received", "data": {"i": -1}})).status, 200);
    wait_for(WAIT, "the store drained again", || (healthz(http)["store_rows"] == 0).then_some(()));

    // 3. Someone else fills the disk; the agent stops and starts on it: it must start,
    // relay its own events, refuse new ones once it has no room, and not send the
    // delivered ones again.
    fill(&fs.0.join("filler"));
    assert_eq!(agent.terminate(), Some(0), "a clean stop on a full disk\n{}", agent.log());
    let arrivals_before = arrived(&rec.all()).len();
    let delivered_before: BTreeSet<String> = arrived(&rec.all()).into_iter().collect();
    let started_before = count(&rec.all(), "/evt/agent/agent.started");
    agent.restart();
    rec.wait_until(WAIT, "agent.started after the restart on a full disk", |s| {
        count(s, "/evt/agent/agent.started") > started_before
    });
    let mut late = Vec::new();
    for i in 0..2000 {
        let r = agent
            .post_events(&json!({"source": "app/d", "type": "sms.received", "data": {"i": 100_000 + i, "pad": pad}}));
        if r.status != 200 {
            assert_eq!(r.json()["error"], "disk_full");
            break;
        }
        late.push(r.json()["events"][0]["id"].as_str().expect("id").to_string());
    }
    assert_eq!(healthz(http)["disk_full"], true);
    std::thread::sleep(Duration::from_secs(2));
    assert!(agent.is_running(), "still running: no restart loop\n{}", agent.log());
    let old_arrivals = arrived(&rec.all()).into_iter().filter(|id| delivered_before.contains(id)).count();
    assert_eq!(old_arrivals, arrivals_before, "no delivered event was sent again after the restart");

    // 4. Room again: everything taken on the full disk is delivered, new events are
    // taken, and the file is sound.
    std::fs::remove_file(fs.0.join("filler")).expect("free");
    wait_for(WAIT, "the disk recovered", || (healthz(http)["disk_full"] == false).then_some(()));
    rec.wait_until(WAIT, "the events taken after the restart", |s| {
        let ids: BTreeSet<String> = arrived(s).into_iter().collect();
        late.iter().all(|a| ids.contains(a))
    });
    assert_eq!(agent.post_events(&json!({"source": "app/d", "type": "sms.received", "data": {"i": -2}})).status, 200);
    assert_eq!(agent.terminate(), Some(0));
    let conn = rusqlite::Connection::open(fs.0.join("store.db")).expect("store");
    let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).expect("check");
    assert_eq!(check, "ok");
}
