//! The sshd harness itself (tests/common/sshd.rs): a real OpenSSH client keeps a remote
//! forward through the harness's sshd to an echo server of the test's own; killing the
//! daemon ends the client and closes the forwarded port, and a restart on the same port
//! takes a new client; with forwarding off the forward is refused while a login still
//! works; `PermitListen` limits the ports. Skipped, passing, where no sshd can run (see
//! [`Sshd::available`]).

mod common;

use common::sshd::{Sshd, SshdOptions};
use common::*;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(20);

/// True when sshd can run here; otherwise prints why the test is skipped.
fn sshd_or_skip(test: &str) -> bool {
    Sshd::available().inspect_err(|why| eprintln!("SKIPPED {test}: {why}")).is_ok()
}

/// A std echo server on 127.0.0.1 for the test's lifetime; returns its port.
fn echo_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind echo");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let Ok(mut from) = stream.try_clone() else { return };
                let mut to = stream;
                let _ = std::io::copy(&mut from, &mut to);
            });
        }
    });
    port
}

/// Sends a line to 127.0.0.1:`port` and expects it back.
fn echo_through(port: u16) -> Result<(), String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1)).map_err(|e| e.to_string())?;
    stream.set_read_timeout(Some(Duration::from_secs(3))).map_err(|e| e.to_string())?;
    let line = format!("echo via {port}\n");
    stream.write_all(line.as_bytes()).map_err(|e| e.to_string())?;
    let mut back = vec![0; line.len()];
    stream.read_exact(&mut back).map_err(|e| e.to_string())?;
    if back == line.as_bytes() { Ok(()) } else { Err(format!("echoed {:?}", String::from_utf8_lossy(&back))) }
}

fn accepts(port: u16) -> bool {
    TcpStream::connect_timeout(&SocketAddr::from(([127, 0, 0, 1], port)), Duration::from_millis(500)).is_ok()
}

/// An ssh client child, killed on drop; its output goes to a file.
struct Ssh {
    child: Option<Child>,
    log: PathBuf,
}

impl Ssh {
    fn spawn(args: &[String], log: &Path) -> Ssh {
        let file = std::fs::File::create(log).expect("ssh log");
        let child = Command::new(&args[0])
            .args(&args[1..])
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("log"))
            .stderr(file)
            .spawn()
            .expect("spawn ssh");
        Ssh { child: Some(child), log: log.to_path_buf() }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Its exit status once it has exited.
    fn exited(&mut self) -> Option<ExitStatus> {
        self.child.as_mut().and_then(|c| c.try_wait().expect("wait for ssh"))
    }

    /// Waits for it to exit; panics with its output after `timeout`.
    fn wait(&mut self, timeout: Duration, what: &str) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.exited() {
                return status;
            }
            assert!(Instant::now() < deadline, "ssh did not exit ({what}) within {timeout:?}:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until the echo comes back through `port`; panics if ssh exits meanwhile.
    fn wait_for_echo(&mut self, port: u16, sshd: &Sshd) {
        let started = Instant::now();
        wait_for(WAIT, "the echo through the remote forward", || {
            if let Some(status) = self.exited() {
                panic!("ssh exited ({status}) before the forward worked:\n{}\nsshd:\n{}", self.log(), sshd.log());
            }
            echo_through(port).ok()
        });
        eprintln!("forward on {port} echoed after {:?}", started.elapsed());
    }
}

impl Drop for Ssh {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[test]
fn remote_forward_dies_with_sshd_and_comes_back_after_restart() {
    if !sshd_or_skip("remote_forward_dies_with_sshd_and_comes_back_after_restart") {
        return;
    }
    let echo = echo_server();
    let forwarded = free_port();
    let mut sshd = Sshd::start(SshdOptions::default());
    assert!(sshd.host_fingerprint.starts_with("SHA256:"), "{}", sshd.host_fingerprint);
    assert!(sshd.known_hosts_line().starts_with(&format!("[127.0.0.1]:{} ssh-ed25519 AAAA", sshd.port)));
    let args = sshd.ssh_command(&format!("127.0.0.1:{forwarded}:127.0.0.1:{echo}"));
    eprintln!("sshd on {}:{} as {}; {}", sshd.host, sshd.port, sshd.user, args.join(" "));

    let mut ssh = Ssh::spawn(&args, &sshd.dir.join("ssh-1.log"));
    ssh.wait_for_echo(forwarded, &sshd);

    let killed = Instant::now();
    sshd.kill();
    eprintln!("kill() returned after {:?}", killed.elapsed());
    let status = ssh.wait(Duration::from_secs(10), "after sshd was killed");
    eprintln!("ssh exited ({status}) {:?} after the kill: {}", killed.elapsed(), ssh.log().trim());
    assert!(!status.success(), "ssh exited successfully after its server died");
    assert!(!accepts(forwarded), "port {forwarded} still accepts after sshd was killed");
    assert!(!accepts(sshd.port), "sshd's port {} still accepts after kill()", sshd.port);

    let port = sshd.port;
    sshd.restart();
    assert_eq!(sshd.port, port, "restart changed the port");
    let mut again = Ssh::spawn(&args, &sshd.dir.join("ssh-2.log"));
    again.wait_for_echo(forwarded, &sshd);
    assert!(again.exited().is_none(), "the second ssh exited:\n{}", again.log());
    drop(again);
    drop(ssh);
}

#[test]
fn forwarding_off_refuses_the_forward_but_not_the_login() {
    if !sshd_or_skip("forwarding_off_refuses_the_forward_but_not_the_login") {
        return;
    }
    let echo = echo_server();
    let forwarded = free_port();
    let sshd = Sshd::start(SshdOptions { allow_forwarding: false, ..SshdOptions::default() });

    let mut ssh = Ssh::spawn(
        &sshd.ssh_command(&format!("127.0.0.1:{forwarded}:127.0.0.1:{echo}")),
        &sshd.dir.join("ssh-fwd.log"),
    );
    let status = ssh.wait(WAIT, "with forwarding off");
    eprintln!("ssh -R exited ({status}): {}", ssh.log().trim());
    assert!(!status.success(), "ssh -R succeeded with AllowTcpForwarding no:\n{}", ssh.log());
    assert!(
        ssh.log().contains("forwarding failed"),
        "ssh failed for another reason:\n{}\nsshd:\n{}",
        ssh.log(),
        sshd.log()
    );
    assert!(!accepts(forwarded), "port {forwarded} accepts although forwarding is off");

    let mut login = Ssh::spawn(&sshd.ssh_exec_command("true"), &sshd.dir.join("ssh-true.log"));
    let status = login.wait(WAIT, "ssh … true");
    assert!(status.success(), "ssh … true failed ({status}):\n{}\nsshd:\n{}", login.log(), sshd.log());
}

#[test]
fn permit_listen_limits_the_forwarded_ports() {
    if !sshd_or_skip("permit_listen_limits_the_forwarded_ports") {
        return;
    }
    let echo = echo_server();
    let (allowed, other) = (free_port(), free_port());
    let opts = SshdOptions { extra: vec![format!("PermitListen 127.0.0.1:{allowed}")], ..SshdOptions::default() };
    let sshd = Sshd::start(opts);

    let mut refused =
        Ssh::spawn(&sshd.ssh_command(&format!("127.0.0.1:{other}:127.0.0.1:{echo}")), &sshd.dir.join("ssh-other.log"));
    let status = refused.wait(WAIT, "a forward PermitListen does not allow");
    assert!(!status.success(), "ssh -R on port {other} succeeded despite PermitListen:\n{}", refused.log());
    assert!(!accepts(other), "port {other} accepts although PermitListen does not allow it");

    let mut ssh = Ssh::spawn(
        &sshd.ssh_command(&format!("127.0.0.1:{allowed}:127.0.0.1:{echo}")),
        &sshd.dir.join("ssh-allowed.log"),
    );
    ssh.wait_for_echo(allowed, &sshd);
}
