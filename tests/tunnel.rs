//! End to end with the outbound tunnel: a real OpenSSH `sshd` started by the test on
//! loopback (tests/common/sshd.rs), a real broker and the real agent binary. Vendor
//! callbacks POSTed to the server's forwarded port reach the agent and become events; the
//! tunnel comes back by itself after sshd dies; nothing but callbacks is reachable through
//! it; a wrong host key, a forward the server refuses and a key others can read are
//! refused and said; the command mode supervises OpenSSH's `ssh -N -R` and leaves no child.
//! Skipped, saying why, where no sshd can run.

mod common;

use common::site::{Site, WAIT};
use common::sshd::{Sshd, SshdOptions};
use common::*;
use serde_json::{Value, json};
use std::time::Duration;

const SECRET: &str = "cb-s3cret-0123456789";

fn sshd_or_skip(test: &str) -> bool {
    if std::env::var("TELBRIDGE_TEST_EXEC_WRAPPER").is_ok_and(|w| !w.is_empty()) {
        eprintln!(
            "SKIPPED {test}: under an exec wrapper (qemu) the agent's SSH client runs emulated; covered on the host"
        );
        return false;
    }
    Sshd::available().inspect_err(|why| eprintln!("SKIPPED {test}: {why}")).is_ok()
}

/// The tables of a site with a privacy account (callbacks only) and a tunnel.
fn tables(cb: u16, tunnel: &str) -> String {
    format!(
        "[callbacks]\nlisten = \"127.0.0.1:{cb}\"\n\
         [[privacy]]\nname = \"p1\"\nurl = \"http://127.0.0.1:9\"\ndevid = \"10000000\"\nauthkey = \"key1\"\n\
         appid = \"app1\"\ncallback_secret = \"{SECRET}\"\n\
         [tunnel]\nprobe_secs = 5\nprobe_timeout_ms = 2000\nreconnect_min_ms = 200\nreconnect_max_ms = 1000\n{tunnel}\n"
    )
}

fn ssh_tunnel(sshd: &Sshd, remote_port: u16, host_key: &str) -> String {
    format!(
        "mode = \"ssh\"\npublic_url = \"http://127.0.0.1:{remote_port}\"\nserver = \"127.0.0.1:{}\"\nuser = \"{}\"\n\
         key_file = \"{}\"\nhost_key = \"{host_key}\"\nremote_port = {remote_port}\nkeepalive_secs = 1\nkeepalive_max = 2\n",
        sshd.port,
        sshd.user,
        sshd.client_key.display()
    )
}

/// The tunnel's events so far, `tunnel.up` / `tunnel.down`, in order.
fn changes(s: &Site, mode: &str) -> Vec<String> {
    s.rec
        .all()
        .iter()
        .filter(|m| m.topic.contains(&format!("/evt/tunnel/{mode}/tunnel.")))
        .map(|m| m.json()["type"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn wait_changes(s: &Site, mode: &str, n: usize, what: &str) -> Vec<Value> {
    let suffix = format!("/evt/tunnel/{mode}/tunnel.");
    let seen = s.rec.wait_until(WAIT, what, |all| all.iter().filter(|m| m.topic.contains(&suffix)).count() >= n);
    seen.iter().filter(|m| m.topic.contains(&suffix)).map(|m| m.json()).collect()
}

fn post_cdr(port: u16, taskid: &str) -> u16 {
    let body = format!(
        "devid=10000000&appid=app1&taskid={taskid}&subid=S1&caller=1&rcaller=2&callee=3&result=answered&beginTime=1"
    );
    common::http::request(
        port,
        "POST",
        &format!("/privacy/p1/{SECRET}/cdr"),
        &[("Content-Type", "application/x-www-form-urlencoded")],
        body.as_bytes(),
    )
    .map(|r| r.status)
    .unwrap_or(0)
}

#[test]
fn a_callback_through_the_ssh_tunnel_becomes_an_event_and_the_tunnel_survives_sshd_dying() {
    if !sshd_or_skip("ssh tunnel") {
        return;
    }
    let mut sshd = Sshd::start(SshdOptions::default());
    let (cb, remote) = (free_port(), free_port());
    let s = Site::start("tunnel-ssh", "tunnel/ssh", &tables(cb, &ssh_tunnel(&sshd, remote, &sshd.host_fingerprint)));
    let up = wait_changes(&s, "ssh", 1, "tunnel.up");
    assert_eq!(up[0]["type"], "tunnel.up", "{up:?}\n{}", s.agent.log());
    assert!(up[0]["data"]["last_probe_rtt_ms"].is_u64(), "{up:?}");

    // A vendor's callback arrives at the server's port and reaches the cloud.
    assert_eq!(post_cdr(remote, "T1"), 200);
    s.rec.wait_until(WAIT, "the CDR", |all| {
        all.iter().any(|m| m.topic.ends_with("/evt/privacy/p1/call.cdr") && m.json()["data"]["taskid"] == "T1")
    });
    // Nothing but the callback listener is reachable through the tunnel.
    let through = |method: &str, path: &str| {
        common::http::request(remote, method, path, &[("Authorization", &format!("Bearer {TOKEN}"))], b"{}")
            .map(|r| r.status)
            .unwrap_or(0)
    };
    for (method, path) in [
        ("GET", "/metrics"),
        ("GET", "/healthz"),
        ("POST", "/v1/events"),
        ("POST", "/goip/gw1/sms"),
        ("GET", "/_probe/guess"),
    ] {
        assert_eq!(through(method, path), 404, "{method} {path} through the tunnel");
    }
    assert_eq!(common::http::get(s.agent.http_port, "/metrics").expect("metrics").status, 200, "on the main listener");
    let metrics =
        String::from_utf8_lossy(&common::http::get(s.agent.http_port, "/metrics").expect("m").body).to_string();
    assert!(metrics.contains("telbridge_tunnel_up{mode=\"ssh\"} 1"), "{metrics}");

    // sshd dies: the tunnel goes down; sshd is back: the tunnel comes back by itself.
    sshd.kill();
    let down = wait_changes(&s, "ssh", 2, "tunnel.down");
    assert_eq!(down[1]["type"], "tunnel.down");
    assert!(down[1]["data"]["last_error"].is_string(), "{down:?}");
    sshd.restart();
    wait_changes(&s, "ssh", 3, "tunnel.up again");
    assert_eq!(changes(&s, "ssh"), ["tunnel.up", "tunnel.down", "tunnel.up"]);
    assert_eq!(post_cdr(remote, "T2"), 200, "the same public port works again");
    let status = s.call("st-1", "tunnel.status", json!({}));
    assert_eq!(
        (status["data"]["up"].as_bool(), status["data"]["mode"].as_str()),
        (Some(true), Some("ssh")),
        "{status}"
    );
    assert!(status["data"]["reconnects"].as_u64() >= Some(1), "{status}");
    let health = common::http::get(s.agent.http_port, "/healthz").expect("healthz").json();
    assert_eq!(health["drivers_down"], json!([]), "{health}");
    s.rec.command(
        &format!("telbridge/v1/{}/cmd/agent", s.name),
        &json!({"id": "st-2", "cmd": "agent.status", "args": {}}).to_string(),
    );
    let agent = s.result("st-2");
    assert_eq!(agent["data"]["drivers"]["tunnel/ssh"]["detail"]["up"], true, "{agent}");

    // tunnel.restart: the session is torn down and made again.
    let r = s.call("re-1", "tunnel.restart", json!({}));
    assert_eq!(r["data"]["restarting"], true, "{r}");
    wait_changes(&s, "ssh", 5, "down and up after the restart");
    assert_eq!(changes(&s, "ssh"), ["tunnel.up", "tunnel.down", "tunnel.up", "tunnel.down", "tunnel.up"]);
}

#[test]
fn a_wrong_host_key_and_a_refused_forward_keep_the_tunnel_down_and_say_why() {
    if !sshd_or_skip("refusals") {
        return;
    }
    let sshd = Sshd::start(SshdOptions::default());
    let (cb, remote) = (free_port(), free_port());
    // The client's own key is a valid key, but not the server's.
    let s = Site::start("tunnel-hostkey", "tunnel/ssh", &tables(cb, &ssh_tunnel(&sshd, remote, &sshd.client_pub)));
    let down = wait_changes(&s, "ssh", 1, "tunnel.down");
    let why = down[0]["data"]["last_error"].as_str().unwrap_or_default().to_string();
    assert!(why.contains("host key mismatch") && why.contains(&sshd.host_fingerprint), "{why}");
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(changes(&s, "ssh"), ["tunnel.down"], "never up");
    let health = common::http::get(s.agent.http_port, "/healthz").expect("healthz").json();
    assert_eq!(health["drivers_down"], json!(["tunnel/ssh"]), "{health}");
    drop(s);

    // sshd takes the login but refuses the forward: the probe never comes back.
    let refusing = Sshd::start(SshdOptions { allow_forwarding: false, ..SshdOptions::default() });
    let (cb, remote) = (free_port(), free_port());
    let s = Site::start(
        "tunnel-noforward",
        "tunnel/ssh",
        &tables(cb, &ssh_tunnel(&refusing, remote, &refusing.host_fingerprint)),
    );
    let down = wait_changes(&s, "ssh", 1, "tunnel.down");
    let why = down[0]["data"]["last_error"].as_str().unwrap_or_default().to_string();
    assert!(why.contains("refused the remote forward") || why.contains("probe"), "{why}");
    std::thread::sleep(Duration::from_secs(6));
    assert_eq!(changes(&s, "ssh"), ["tunnel.down"], "never up");
    assert!(refusing.log().contains("Accepted publickey"), "the login itself was taken");
}

#[test]
fn a_key_file_others_can_read_stops_the_agent_at_start_with_a_clear_message() {
    if !sshd_or_skip("key mode") {
        return;
    }
    let sshd = Sshd::start(SshdOptions::default());
    let dir = temp_dir("tunnel-keymode");
    let key = dir.join("key");
    std::fs::copy(&sshd.client_key, &key).expect("copy key");
    std::process::Command::new("chmod").args(["640", key.to_str().expect("path")]).status().expect("chmod");
    let tunnel = ssh_tunnel(&sshd, free_port(), &sshd.host_fingerprint)
        .replace(&sshd.client_key.display().to_string(), &key.display().to_string());
    let config = write_config(&dir, "keymode", free_port(), free_port(), "", &tables(free_port(), &tunnel));
    let out = agent_command().args(["run", "-c"]).arg(&config).output().expect("run");
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("readable by group or others") && text.contains("chmod 600"), "{text}");
}

/// The pid the agent logged for the n-th start of its tunnel command.
fn command_pid(s: &Site, n: usize) -> u32 {
    wait_for(WAIT, "the tunnel command's start", || {
        let log = s.agent.log();
        let pids: Vec<u32> = log
            .lines()
            .filter_map(|l| l.split("tunnel command started (pid ").nth(1))
            .filter_map(|rest| rest.trim_end_matches(')').parse().ok())
            .collect();
        pids.get(n).copied()
    })
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit(')').next().map(|r| r.trim_start().starts_with('Z')))
        .is_some_and(|zombie| !zombie)
}

#[test]
fn the_command_mode_supervises_openssh_restarts_it_and_leaves_no_child_behind() {
    if !sshd_or_skip("command mode") {
        return;
    }
    let sshd = Sshd::start(SshdOptions::default());
    let (cb, remote) = (free_port(), free_port());
    let mut argv = sshd.ssh_command(&format!("127.0.0.1:{remote}:127.0.0.1:{cb}"));
    argv.insert(1, "-v".into()); // its debug lines go to the agent's log
    let tunnel = format!(
        "mode = \"command\"\npublic_url = \"http://127.0.0.1:{remote}\"\ncommand = {}\nstop_timeout_ms = 2000\n",
        serde_json::to_string(&argv).expect("argv")
    );
    let mut s = Site::start("tunnel-command", "tunnel/command", &tables(cb, &tunnel));
    wait_changes(&s, "command", 1, "tunnel.up");
    assert_eq!(changes(&s, "command"), ["tunnel.up"], "{}", s.agent.log());
    assert_eq!(post_cdr(remote, "C1"), 200);

    // The child is killed: the agent notices, starts it again, and the tunnel comes back.
    let first = command_pid(&s, 0);
    std::process::Command::new("kill").args(["-9", &first.to_string()]).status().expect("kill");
    wait_changes(&s, "command", 3, "down and up again");
    assert_eq!(changes(&s, "command"), ["tunnel.up", "tunnel.down", "tunnel.up"]);
    let second = command_pid(&s, 1);
    assert_ne!(first, second);
    assert!(s.agent.log().contains("tunnel command: debug1:"), "the child's output is in the agent's log");
    assert_eq!(post_cdr(remote, "C2"), 200);

    // SIGTERM to the agent: it stops its child and waits for it.
    assert_eq!(s.agent.terminate(), Some(0));
    assert!(!alive(second), "the tunnel command outlived the agent");
    assert!(!alive(first));
}

#[test]
fn a_callback_reaches_an_agent_that_accepts_no_inbound_connection_only_through_its_own_tunnel() {
    if !sshd_or_skip("no inbound") {
        return;
    }
    let netns = match common::netns::Netns::create() {
        Ok(n) => n,
        Err(why) => {
            eprintln!("SKIPPED no inbound: {why}");
            return;
        }
    };
    let dir = temp_dir("tunnel-netns");
    let broker = Mosquitto::start(&dir);
    let rec = Recorder::start(broker.port, "telbridge/v1/netns-agent/#");
    let mqtt = netns.forward_to_loopback(broker.port);
    // sshd outside the namespace; the forward listens on the veth address (as a public
    // server's would on its public side).
    let sshd = Sshd::start(SshdOptions {
        listen: netns.outside.to_string(),
        extra: vec!["GatewayPorts clientspecified".into()],
        ..SshdOptions::default()
    });
    let (cb, remote, http) = (free_port(), free_port(), free_port());
    let tunnel = format!(
        "mode = \"ssh\"\npublic_url = \"http://{out}:{remote}\"\nserver = \"{out}:{}\"\nuser = \"{}\"\nkey_file = \"{}\"\n\
         host_key = \"{}\"\nremote_bind = \"{out}\"\nremote_port = {remote}\n",
        sshd.port,
        sshd.user,
        sshd.client_key.display(),
        sshd.host_fingerprint,
        out = netns.outside
    );
    // The callback listener listens on every address of the namespace: only the rules keep
    // strangers out.
    let config = write_config(
        &dir,
        "netns-agent",
        mqtt,
        http,
        "",
        &tables(cb, &tunnel).replace(&format!("127.0.0.1:{cb}"), &format!("0.0.0.0:{cb}")),
    );
    let text = std::fs::read_to_string(&config)
        .expect("config")
        .replace("[mqtt]\n", &format!("[mqtt]\nhost = \"{}\"\n", netns.outside));
    std::fs::write(&config, text).expect("config");
    netns.refuse_inbound();
    let log = std::fs::File::create(dir.join("agent.log")).expect("log");
    let mut agent = netns
        .command(env!("CARGO_BIN_EXE_telbridge"))
        .args(["run", "-c"])
        .arg(&config)
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .spawn()
        .expect("agent in the namespace");
    let agent_log = || std::fs::read_to_string(dir.join("agent.log")).unwrap_or_default();
    rec.wait_until(WAIT, "tunnel.up", |all| all.iter().any(|m| m.topic.ends_with("/evt/tunnel/ssh/tunnel.up")));

    // Straight in: refused (dropped), although the listener is there.
    let direct = std::net::TcpStream::connect_timeout(&(netns.inside, cb).into(), Duration::from_secs(2));
    assert!(direct.is_err(), "the namespace takes no inbound connection");
    // Through the agent's own outbound SSH connection: the callback arrives.
    let body = "devid=10000000&appid=app1&taskid=N1&subid=S1&caller=1&rcaller=2&callee=3&result=answered&beginTime=1";
    let r = common::http::request_to(
        &netns.outside.to_string(),
        remote,
        "POST",
        &format!("/privacy/p1/{SECRET}/cdr"),
        &[("Content-Type", "application/x-www-form-urlencoded")],
        body.as_bytes(),
    )
    .expect("post through the tunnel");
    assert_eq!(r.status, 200, "{}", agent_log());
    rec.wait_until(WAIT, "the CDR", |all| {
        all.iter().any(|m| m.topic.ends_with("/evt/privacy/p1/call.cdr") && m.json()["data"]["taskid"] == "N1")
    });
    let _ = agent.kill();
    let _ = agent.wait();
}

#[test]
fn a_tunnel_commands_token_reaches_the_child_and_never_a_result_or_the_log() {
    // The token given through the environment (as cloudflared's TUNNEL_TOKEN), and another
    // written on the command line after a flag that names it.
    let cb = free_port();
    let tunnel = "[tunnel]\nmode = \"command\"\nprobe_secs = 0\n\
        command = [\"sh\", \"-c\", \"echo token from env: $TUNNEL_TOKEN, argument: $2; sleep 60\", \"sh\", \"--token\", \"ArgTok-0123456789\"]\n\
        env = { TUNNEL_TOKEN = \"EnvTok-0123456789\" }\n";
    let tables = tables(cb, "").split("[tunnel]").next().unwrap_or_default().to_string() + tunnel;
    let s = Site::start("tunnel-secret", "tunnel/command", &tables);
    let said = wait_for(WAIT, "the command's line", || {
        let log = s.agent.log();
        log.lines().find(|l| l.contains("token from env:")).map(str::to_string)
    });
    assert!(said.contains("token from env: ***, argument: ***"), "the child got both, the log neither: {said}");
    let agent = |id: &str, cmd: &str, args: Value| {
        let topic = format!("telbridge/v1/{}/cmd/agent", s.name);
        s.rec.command(&topic, &json!({"id": id, "cmd": cmd, "args": args}).to_string());
        s.result(id)
    };
    let shown = agent("get-1", "agent.config.get", json!({}));
    let diag = agent("diag-1", "agent.diagnostics", json!({}));
    for text in [shown.to_string(), diag.to_string(), s.agent.log()] {
        assert!(!text.contains("EnvTok-0123456789") && !text.contains("ArgTok-0123456789"), "{text}");
    }
    // What agent.config.get shows can be sent back: the secrets keep their values.
    let back = agent("set-1", "agent.config.set", json!({"config": shown["data"]["config"]}));
    assert_eq!(back["data"]["changed"], false, "{back}");
}
