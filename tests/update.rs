//! End to end with remote self-update: the real agent binary started through a symlink (as
//! the shipped systemd unit starts it), a copy restamped with another version, signed with
//! `telbridge keygen`/`sign` and served over HTTP by the test. Applied, it reports the new
//! version and `agent.update.done`; a copy that fails at start, or one that never connects,
//! is rolled back by itself; bad signatures, wrong hashes, another architecture, an
//! untrusted key and a replayed older manifest are refused with nothing changed on disk;
//! SIGKILL during the download or the swap leaves a working agent.

mod common;

use common::*;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(60);

fn skip_under_wrapper(test: &str) -> bool {
    if std::env::var("TELBRIDGE_TEST_EXEC_WRAPPER").is_ok_and(|w| !w.is_empty()) {
        eprintln!("SKIPPED {test}: under an exec wrapper (qemu-user) the agent cannot exec another emulated binary");
        return true;
    }
    false
}

fn tool(args: &[&str]) -> String {
    let out = agent_command().args(args).output().expect("telbridge tool");
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Serves files by path; `delay` between 64 KiB pieces.
fn serve(files: Vec<(String, Vec<u8>)>, delay: Duration) -> u16 {
    serve_gated(files, delay, Arc::new(AtomicBool::new(true)))
}

/// [`serve`], answering only once `open` is set (the request is read and held until then).
fn serve_gated(files: Vec<(String, Vec<u8>)>, delay: Duration, open: Arc<AtomicBool>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let files = Arc::new(files);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (files, open) = (files.clone(), open.clone());
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut line = String::new();
                let _ = reader.read_line(&mut line);
                let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                        break;
                    }
                }
                while !open.load(Ordering::Acquire) {
                    std::thread::sleep(Duration::from_millis(10));
                }
                let mut out = stream;
                let Some((_, body)) = files.iter().find(|(p, _)| *p == path) else {
                    let _ = out.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                    return;
                };
                let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
                let _ = out.write_all(head.as_bytes());
                for piece in body.chunks(64 * 1024) {
                    if out.write_all(piece).is_err() {
                        return;
                    }
                    std::thread::sleep(delay);
                }
            });
        }
    });
    port
}

/// A site whose agent runs as `{dir}/bin/telbridge` → `{dir}/bin/telbridge-0.1.0`.
struct UpdateSite {
    dir: PathBuf,
    broker: Mosquitto,
    rec: Recorder,
    agent: Agent,
    link: PathBuf,
    key: PathBuf,
    name: String,
}

impl UpdateSite {
    fn start(name: &str, extra: &str) -> UpdateSite {
        let dir = temp_dir(name);
        let key = dir.join("signing.pk8");
        let public = tool(&["keygen", "--key", key.to_str().expect("key")]);
        let bin = dir.join("bin");
        std::fs::create_dir_all(&bin).expect("bin");
        let original = bin.join(format!("telbridge-{}", env!("CARGO_PKG_VERSION")));
        std::fs::copy(env!("CARGO_BIN_EXE_telbridge"), &original).expect("copy");
        let link = bin.join("telbridge");
        std::os::unix::fs::symlink(&original, &link).expect("symlink");
        let broker = Mosquitto::start(&dir);
        let rec = Recorder::start(broker.port, &format!("telbridge/v1/{name}/#"));
        let http = free_port();
        let update = format!(
            "[update]\npublic_keys = [\"{public}\"]\nbinary = \"{}\"\ndir = \"{}\"\nprobation_secs = 15\nmax_starts = 2\nmax_bytes = 536870912\n{extra}",
            link.display(),
            dir.join("update").display()
        );
        let config = write_config(&dir, name, broker.port, http, "", &update);
        let agent = Agent::start_exe(&link, &config, http);
        let site = UpdateSite { dir, broker, rec, agent, link, key, name: name.to_string() };
        site.wait_started(1);
        site
    }

    fn command(&self, id: &str, cmd: &str, args: Value) -> Value {
        self.rec.command(
            &format!("telbridge/v1/{}/cmd/agent", self.name),
            &json!({"id": id, "cmd": cmd, "args": args}).to_string(),
        );
        let suffix = format!("/res/{id}");
        let seen = self.rec.wait_until(WAIT, id, |s| s.iter().any(|m| m.topic.ends_with(&suffix)));
        seen.iter().find(|m| m.topic.ends_with(&suffix)).map(|m| m.json()).expect("result")
    }

    fn events(&self, kind: &str) -> Vec<Value> {
        self.rec.on(&format!("/evt/agent/{kind}")).iter().map(|m| m.json()["data"].clone()).collect()
    }

    fn wait_event(&self, kind: &str, n: usize) -> Vec<Value> {
        let suffix = format!("/evt/agent/{kind}");
        self.rec.wait_until(WAIT, kind, |s| s.iter().filter(|m| m.topic.ends_with(&suffix)).count() >= n);
        self.events(kind)
    }

    /// Waits for the `n`th `agent.started`; the versions so far.
    fn wait_started(&self, n: usize) -> Vec<String> {
        self.wait_event("agent.started", n).iter().map(|d| d["version"].as_str().unwrap_or("").to_string()).collect()
    }

    /// A copy of the agent reporting `version`, signed; (manifest, signature, bytes).
    fn release(&self, version: &str, fail_start: bool) -> (String, String, Vec<u8>) {
        let file = self.dir.join(format!("release-{version}"));
        let mut args = vec!["restamp", "--out", file.to_str().expect("path"), "--version", version];
        if fail_start {
            args.push("--fail-start");
        }
        tool(&args);
        self.sign(&file, version, &self.key)
    }

    fn sign(&self, file: &Path, version: &str, key: &Path) -> (String, String, Vec<u8>) {
        let signed: Value = serde_json::from_str(&tool(&[
            "sign",
            "--key",
            key.to_str().expect("key"),
            "--file",
            file.to_str().expect("file"),
            "--version",
            version,
        ]))
        .expect("sign output");
        let m = signed["manifest"].as_str().expect("manifest").to_string();
        (m, signed["signature"].as_str().expect("signature").to_string(), std::fs::read(file).expect("read"))
    }

    /// Sends the update to `release` served from here, without waiting for its result.
    fn send_update(&self, release: (String, String, Vec<u8>)) {
        self.send_update_from(release, Arc::new(AtomicBool::new(true)));
    }

    /// Sends the update to `release`, stopping the broker while the download is held: the
    /// new version then never connects, however fast it starts.
    fn send_update_offline(&mut self, release: (String, String, Vec<u8>)) {
        let open = Arc::new(AtomicBool::new(false));
        self.send_update_from(release, open.clone());
        wait_for(WAIT, "the download to start", || self.agent.log().contains("downloading").then_some(()));
        self.broker.stop();
        open.store(true, Ordering::Release);
    }

    fn send_update_from(&self, release: (String, String, Vec<u8>), open: Arc<AtomicBool>) {
        let (manifest, signature, bytes) = release;
        let port = serve_gated(vec![("/t".into(), bytes)], Duration::ZERO, open);
        let args = json!({"url": format!("http://127.0.0.1:{port}/t"), "manifest": manifest, "signature": signature});
        self.rec.command(
            &format!("telbridge/v1/{}/cmd/agent", self.name),
            &json!({"id": "u1", "cmd": "agent.update", "args": args}).to_string(),
        );
    }

    /// Sends the update to `release`; asserts it is applied.
    fn update_to(&self, release: (String, String, Vec<u8>)) {
        self.send_update(release);
        let suffix = "/res/u1";
        let seen = self.rec.wait_until(WAIT, "u1", |s| s.iter().any(|m| m.topic.ends_with(suffix)));
        let r = seen.iter().find(|m| m.topic.ends_with(suffix)).map(|m| m.json()).expect("result");
        assert_eq!(r["data"]["restarting"], true, "{r}");
    }

    /// A site whose agent swapped in 0.2.0 while the broker was away (stopped during the
    /// download): the new version runs on probation and cannot connect. With the binary
    /// the link named before.
    fn swapped_offline(name: &str) -> (UpdateSite, PathBuf) {
        let mut s = UpdateSite::start(name, "");
        let before = s.target();
        let release = s.release("0.2.0", false);
        s.send_update_offline(release);
        wait_for(WAIT, "the swap", || (s.target() != before).then_some(()));
        (s, before)
    }

    fn target(&self) -> PathBuf {
        std::fs::read_link(&self.link).expect("link")
    }
}

impl Drop for UpdateSite {
    /// The copies are the size of a debug build (~90 MB each): not kept.
    fn drop(&mut self) {
        self.agent.kill();
        for sub in ["bin", "update"] {
            let _ = std::fs::remove_dir_all(self.dir.join(sub));
        }
        for e in std::fs::read_dir(&self.dir).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with("release-") || name == "foreign" {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

#[test]
fn an_update_is_applied_reported_and_the_new_version_runs_in_the_same_process() {
    if skip_under_wrapper("update applied") {
        return;
    }
    let mut s = UpdateSite::start("upd-apply", "");
    // Under systemd (Type=notify): the hand-overs must not read as the service stopping,
    // which systemd ends with SIGKILL after TimeoutStopSec.
    let socket_path = s.dir.join("notify.sock");
    let socket = std::os::unix::net::UnixDatagram::bind(&socket_path).expect("bind");
    socket.set_read_timeout(Some(Duration::from_millis(200))).expect("timeout");
    let said = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let heard = said.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        loop {
            if let Ok(n) = socket.recv(&mut buf) {
                heard.lock().expect("lock").push(String::from_utf8_lossy(&buf[..n]).into_owned());
            }
        }
    });
    s.agent.kill();
    let env = [("NOTIFY_SOCKET", socket_path.to_str().expect("path"))];
    s.agent = Agent::start_exe_with_env(&s.link, &s.agent.config.clone(), s.agent.http_port, &env);
    let pid = s.agent.pid();
    let (manifest, signature, bytes) = s.release("0.2.0", false);
    let port = serve(vec![("/telbridge".into(), bytes)], Duration::ZERO);
    let url = format!("http://127.0.0.1:{port}/telbridge");
    let r = s.command("u1", "agent.update", json!({"url": url, "manifest": manifest, "signature": signature}));
    assert_eq!(r["data"]["restarting"], true, "{r}\n{}", s.agent.log());
    assert_eq!(s.wait_event("agent.update.applied", 1)[0]["to"], "0.2.0");
    let done = s.wait_event("agent.update.done", 1);
    assert_eq!((done[0]["from"].as_str(), done[0]["to"].as_str()), (Some(env!("CARGO_PKG_VERSION")), Some("0.2.0")));
    let versions = s.wait_started(3);
    assert_eq!(versions.last().map(String::as_str), Some("0.2.0"), "{versions:?}");
    assert!(s.target().ends_with("telbridge-0.2.0"), "{:?}", s.target());
    assert_eq!(s.agent.pid(), pid, "the same process throughout (exec), as a service manager expects");
    let status = s.command("st", "agent.status", json!({}));
    assert_eq!(status["data"]["version"], "0.2.0");
    assert!(!s.dir.join("update/probation.json").exists());
    let said = said.lock().expect("lock").clone();
    assert!(said.iter().filter(|m| m.contains("READY=1")).count() >= 2, "ready before and after: {said:?}");
    assert!(!said.iter().any(|m| m.contains("STOPPING=1")), "{said:?}");
    // The same release again: already running.
    let again = s.command("u2", "agent.update", json!({"url": url, "manifest": manifest, "signature": signature}));
    assert_eq!(again["error"]["code"], "refused", "{again}");
}

#[test]
fn bad_signatures_hashes_architectures_keys_and_replays_are_refused_and_nothing_changes() {
    // Everything here is refused before the new binary would run: it runs under qemu too.
    let s = UpdateSite::start("upd-refuse", "");
    let before = s.target();
    let (manifest, signature, bytes) = s.release("0.2.0", false);
    // Another architecture: the same file with another ELF machine, signed properly.
    let mut foreign = bytes.clone();
    let machine = if u16::from_le_bytes([foreign[18], foreign[19]]) == 8 { 62u16 } else { 8u16 };
    foreign[18..20].copy_from_slice(&machine.to_le_bytes());
    let foreign_file = s.dir.join("foreign");
    std::fs::write(&foreign_file, &foreign).expect("foreign");
    let (foreign_manifest, foreign_sig, _) = s.sign(&foreign_file, "0.2.0", &s.key);
    // An untrusted key.
    let other_key = s.dir.join("other.pk8");
    tool(&["keygen", "--key", other_key.to_str().expect("key")]);
    let (_, untrusted_sig, _) = s.sign(&s.dir.join("release-0.2.0"), "0.2.0", &other_key);
    // A replayed older signed release.
    let (old_manifest, old_sig, old_bytes) = s.release("0.0.9", false);
    let port = serve(
        vec![("/new".into(), bytes.clone()), ("/foreign".into(), foreign), ("/old".into(), old_bytes)],
        Duration::ZERO,
    );
    let url = |p: &str| format!("http://127.0.0.1:{port}{p}");
    let mut tampered_sig = signature.clone().into_bytes();
    tampered_sig[10] = if tampered_sig[10] == b'A' { b'B' } else { b'A' };
    let wrong_sha = {
        let m: Value = serde_json::from_str(&manifest).expect("m");
        let mut m = m.clone();
        m["sha256"] = json!("0".repeat(64));
        m.to_string()
    };
    let (wrong_sha_sig, _) = {
        let f = s.dir.join("wrong-sha.json");
        std::fs::write(&f, &wrong_sha).expect("write");
        // Sign that exact manifest text with the trusted key through the library.
        (sign_text(&s.key, &wrong_sha), ())
    };
    let cases = [
        (
            "bad signature",
            json!({"url": url("/new"), "manifest": manifest, "signature": String::from_utf8(tampered_sig).expect("utf8")}),
            "refused",
        ),
        ("untrusted key", json!({"url": url("/new"), "manifest": manifest, "signature": untrusted_sig}), "refused"),
        ("wrong sha-256", json!({"url": url("/new"), "manifest": wrong_sha, "signature": wrong_sha_sig}), "bad_file"),
        (
            "wrong architecture",
            json!({"url": url("/foreign"), "manifest": foreign_manifest, "signature": foreign_sig}),
            "wrong_architecture",
        ),
        ("replayed older", json!({"url": url("/old"), "manifest": old_manifest, "signature": old_sig}), "refused"),
    ];
    for (i, (what, args, code)) in cases.iter().enumerate() {
        let r = s.command(&format!("r{i}"), "agent.update", args.clone());
        assert_eq!(r["error"]["code"], *code, "{what}: {r}");
    }
    assert_eq!(s.target(), before, "the started binary is untouched");
    let left: Vec<String> = std::fs::read_dir(s.dir.join("update"))
        .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "nothing left in the update dir: {left:?}");
    assert!(s.events("agent.update.applied").is_empty());
    assert_eq!(s.wait_started(1), [env!("CARGO_PKG_VERSION")]);
}

/// Signs `text` with the PKCS#8 key at `key` (the `sign` tool signs files; a test needs a
/// tampered manifest signed properly).
fn sign_text(key: &Path, text: &str) -> String {
    telbridge::update::manifest::sign(&std::fs::read(key).expect("key"), text).expect("sign")
}

#[test]
fn a_version_that_fails_at_start_is_rolled_back_and_the_previous_one_reports() {
    if skip_under_wrapper("update rollback") {
        return;
    }
    let s = UpdateSite::start("upd-crash", "");
    let before = s.target();
    s.update_to(s.release("0.3.0", true));
    let back = s.wait_event("agent.update.rolled_back", 1);
    assert_eq!(back[0]["to"], "0.3.0");
    assert!(back[0]["reason"].as_str().is_some_and(|r| r.contains("0.3.0")), "{back:?}");
    let versions = s.wait_started(2);
    assert_eq!(versions.last().map(String::as_str), Some(env!("CARGO_PKG_VERSION")), "{versions:?}");
    assert_eq!(s.target(), before, "the previous binary is back");
    assert!(s.events("agent.update.done").is_empty());
    assert!(!s.dir.join("update/telbridge-0.3.0").exists(), "the failed download is deleted");
}

#[test]
fn a_new_version_that_keeps_failing_without_its_watcher_is_rolled_back_at_a_later_start() {
    if skip_under_wrapper("update unwatched") {
        return;
    }
    let mut s = UpdateSite::start("upd-unwatched", "");
    let before = s.target();
    let config = s.agent.config.clone();
    s.agent.kill();
    // What a watcher killed outright (a power cut) leaves: the new version in place, on
    // probation after one start, and a service manager that starts it again and again.
    let (_, _, bytes) = s.release("0.3.0", true);
    let update = s.dir.join("update");
    std::fs::create_dir_all(&update).expect("update dir");
    let new = update.join("telbridge-0.3.0");
    std::fs::write(&new, bytes).expect("new binary");
    std::fs::set_permissions(&new, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("mode");
    let tmp = s.dir.join("bin").join("next");
    std::os::unix::fs::symlink(&new, &tmp).expect("symlink");
    std::fs::rename(&tmp, &s.link).expect("swap");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_millis() as u64;
    let marker = json!({"cmd_id": "u0", "from": env!("CARGO_PKG_VERSION"), "to": "0.3.0",
        "installed": {"binary": s.link, "previous": before, "link": true}, "config": config, "stage": "trial",
        "started_ms": now, "deadline_ms": now + 600_000, "starts": 1, "max_starts": 2, "reason": null});
    std::fs::write(update.join("probation.json"), marker.to_string()).expect("marker");
    let out = wrapped_command(&s.link.display().to_string())
        .args(["run", "-c", config.to_str().expect("config")])
        .output()
        .expect("run");
    assert!(!out.status.success(), "the second start fails as the first did");
    assert_eq!(s.target(), new, "a start is left");
    // The third start is past max_starts: it puts the previous version back and becomes it.
    s.agent = Agent::start_exe(&s.link, &config, s.agent.http_port);
    assert_eq!(s.target(), before, "the previous binary is back");
    let back = s.wait_event("agent.update.rolled_back", 1);
    assert!(back[0]["reason"].as_str().is_some_and(|r| r.contains("without its watcher")), "{back:?}");
    let status = s.command("st", "agent.status", json!({}));
    assert_eq!(status["data"]["version"], env!("CARGO_PKG_VERSION"), "{status}");
}

#[test]
fn a_version_that_never_connects_is_rolled_back_within_its_probation() {
    if skip_under_wrapper("update never connects") {
        return;
    }
    // The broker stays away for longer than the new version's probation.
    let (mut s, before) = UpdateSite::swapped_offline("upd-noconnect");
    wait_for(Duration::from_secs(40), "the rollback", || (s.target() == before).then_some(()));
    s.broker.resume();
    let back = s.wait_event("agent.update.rolled_back", 1);
    assert!(back[0]["reason"].as_str().is_some_and(|r| r.contains("not healthy")), "{back:?}");
    let versions = s.wait_started(2);
    assert_eq!(versions.last().map(String::as_str), Some(env!("CARGO_PKG_VERSION")), "{versions:?}");
}

#[test]
fn sigkill_during_the_download_or_the_swap_leaves_a_working_agent() {
    if skip_under_wrapper("update sigkill") {
        return;
    }
    let mut s = UpdateSite::start("upd-kill", "");
    let before = s.target();
    let (manifest, signature, bytes) = s.release("0.2.0", false);
    let slow = serve(vec![("/t".into(), bytes.clone())], Duration::from_millis(200));
    s.rec.command(
        &format!("telbridge/v1/{}/cmd/agent", s.name),
        &json!({"id": "k1", "cmd": "agent.update",
                "args": {"url": format!("http://127.0.0.1:{slow}/t"), "manifest": manifest, "signature": signature}})
        .to_string(),
    );
    wait_for(WAIT, "the download to start", || s.agent.log().contains("downloading").then_some(()));
    std::thread::sleep(Duration::from_millis(500));
    s.agent.kill();
    assert_eq!(s.target(), before);
    s.agent = Agent::start_exe(&s.link, &s.agent.config.clone(), s.agent.http_port);
    let versions = s.wait_started(2);
    assert_eq!(versions.last().map(String::as_str), Some(env!("CARGO_PKG_VERSION")), "old, working");

    // Killed at the swap: as soon as the update is applied.
    let fast = serve(vec![("/t".into(), bytes)], Duration::ZERO);
    s.rec.command(
        &format!("telbridge/v1/{}/cmd/agent", s.name),
        &json!({"id": "k2", "cmd": "agent.update",
                "args": {"url": format!("http://127.0.0.1:{fast}/t"), "manifest": manifest, "signature": signature}})
        .to_string(),
    );
    wait_for(WAIT, "the swap", || (s.target() != before).then_some(()));
    s.agent.kill();
    s.agent = Agent::start_exe(&s.link, &s.agent.config.clone(), s.agent.http_port);
    let versions = s.wait_started(3);
    let last = versions.last().cloned().unwrap_or_default();
    assert!(last == "0.2.0" || last == env!("CARGO_PKG_VERSION"), "old or new, never none: {versions:?}");
    let status = s.command("st", "agent.status", json!({}));
    assert_eq!(status["data"]["version"], last.as_str());
}

/// The processes whose command line names `config` (the agent, a watcher, its child).
fn processes_with(config: &std::path::Path) -> Vec<u32> {
    let needle = config.to_string_lossy().into_owned();
    let mut found = vec![];
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else { continue };
        let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        // A zombie has an empty command line: it is gone.
        if String::from_utf8_lossy(&cmdline).contains(&needle) {
            found.push(pid);
        }
    }
    found
}

#[test]
fn a_watcher_killed_outright_takes_the_new_version_on_probation_with_it() {
    if skip_under_wrapper("update watcher killed") {
        return;
    }
    // The new version stays on probation, not healthy.
    let (mut s, _) = UpdateSite::swapped_offline("upd-orphan");
    let config = s.agent.config.clone();
    wait_for(WAIT, "the new version on probation", || s.agent.log().contains("on probation").then_some(()));
    s.agent.kill();
    // Nothing of it runs on: not the new version, holding the port and the store.
    wait_for(WAIT, "the watcher's child to stop", || processes_with(&config).is_empty().then_some(()));
    s.broker.resume();
    s.agent = Agent::start_exe(&s.link, &config, s.agent.http_port);
    let status = s.command("st", "agent.status", json!({}));
    let version = status["data"]["version"].as_str().unwrap_or_default().to_string();
    assert!(version == "0.2.0" || version == env!("CARGO_PKG_VERSION"), "{status}");
}

#[test]
fn a_new_version_started_by_an_older_watcher_runs_and_one_whose_watcher_is_gone_does_not() {
    let dir = temp_dir("upd-oldwatcher");
    let broker = Mosquitto::start(&dir);
    let http = free_port();
    let config = write_config(&dir, "upd-oldwatcher", broker.port, http, "", "");
    // A watcher from an older release names no pid: the new version runs all the same.
    let mut agent = Agent::start_with_env(&config, http, &[("TELBRIDGE_UPDATE_WATCHED", "1")]);
    assert!(agent.is_running(), "{}", agent.log());
    agent.kill();
    // A watcher that is not its parent (any more): the new version does not start.
    let out = agent_command()
        .args(["run", "-c", config.to_str().expect("config")])
        .env("TELBRIDGE_UPDATE_WATCHED", "1")
        .env("TELBRIDGE_UPDATE_WATCHER_PID", "1")
        .output()
        .expect("run");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("the update watcher (pid 1) is gone"), "{stderr}");
}
