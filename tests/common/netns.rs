//! A private network namespace joined to this one by a veth pair, for tests of a link that
//! dies silently: children started in it (a broker, a simulator) are reached at
//! [`Netns::inside`]; [`Netns::go_silent`] makes nftables inside drop every packet to or from
//! the veth (no reset, no ICMP: the path just stops) and [`Netns::speak_again`] lifts that.
//! The addresses are a /30 of 10.231.0.0/16 picked per process and namespace; no traffic
//! leaves the machine. Dropping the guard kills whatever still runs inside and deletes the
//! namespace and the veth pair.

use std::net::{Ipv4Addr, Shutdown, TcpListener, TcpStream};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The nftables table that silences the namespace; loopback inside keeps working.
const SILENCE: &str = "table inet tb {\n\
    chain in { type filter hook input priority 0; policy drop; iif \"lo\" accept; }\n\
    chain out { type filter hook output priority 0; policy drop; oif \"lo\" accept; }\n}\n";

/// Refuses every connection into the namespace (but loopback); what it opens itself, and
/// the replies to that, pass.
const NO_INBOUND: &str = "table inet tbin {\n\
    chain in { type filter hook input priority 0; policy accept; iif \"lo\" accept; \
    ct state established,related accept; ct state new drop; }\n}\n";

/// A namespace and its veth pair; deleted on drop.
pub struct Netns {
    /// The namespace's name (for `ip netns exec`).
    pub name: String,
    /// The address of the veth end in this (the root) namespace.
    pub outside: Ipv4Addr,
    /// The address of the veth end inside the namespace: where its children listen.
    pub inside: Ipv4Addr,
    /// The root-side veth device (deleting it deletes its peer too).
    veth: String,
}

/// Runs `ip ARGS`; the error says what failed and why.
fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip").args(args).output().map_err(|e| format!("ip: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("ip {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()))
    }
}

impl Netns {
    /// Creates a namespace with a veth pair; `Err` says why this machine cannot (not root,
    /// no netns support, nft missing): the caller skips.
    pub fn create() -> Result<Netns, String> {
        if std::env::var("TELBRIDGE_TEST_EXEC_WRAPPER").is_ok_and(|w| !w.is_empty()) {
            return Err("running under an exec wrapper (qemu): no namespaces there".into());
        }
        let uid = Command::new("id").arg("-u").output().map_err(|e| format!("id: {e}"))?;
        if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
            return Err("not root: network namespaces need root".into());
        }
        let nft = Command::new("nft").arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status();
        if !nft.is_ok_and(|s| s.success()) {
            return Err("nft is missing (apt-get install nftables)".into());
        }
        // One /30 per namespace: index n covers 10.231.(4n / 256).(4n % 256) + 0..3. A
        // name taken (another run, or one killed before cleaning up) moves on to the next.
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let base = std::process::id() as usize * 4;
        for _ in 0..32 {
            let n = (base + NEXT.fetch_add(1, Ordering::SeqCst)) % 16384;
            let name = format!("tb{n}");
            match ip(&["netns", "add", &name]) {
                Ok(()) => {}
                Err(e) if e.contains("exists") => continue,
                Err(e) => return Err(format!("cannot create a network namespace: {e}")),
            }
            let [a, b] = [(4 * n / 256) as u8, (4 * n % 256) as u8];
            let mut ns = Netns {
                name: name.clone(),
                outside: Ipv4Addr::new(10, 231, a, b + 1),
                inside: Ipv4Addr::new(10, 231, a, b + 2),
                veth: String::new(),
            };
            let (host, peer) = (format!("{name}h"), format!("{name}n"));
            if let Err(e) = ip(&["link", "add", &host, "type", "veth", "peer", "name", &peer]) {
                if e.contains("exists") {
                    continue; // dropping `ns` deletes the namespace just made
                }
                return Err(format!("cannot create a veth pair: {e}"));
            }
            ns.veth = host.clone();
            let (outside, inside) = (format!("{}/30", ns.outside), format!("{}/30", ns.inside));
            let steps: [&[&str]; 6] = [
                &["link", "set", &peer, "netns", &name],
                &["addr", "add", &outside, "dev", &host],
                &["link", "set", &host, "up"],
                &["-n", &name, "addr", "add", &inside, "dev", &peer],
                &["-n", &name, "link", "set", &peer, "up"],
                &["-n", &name, "link", "set", "lo", "up"],
            ];
            for step in steps {
                ip(step).map_err(|e| format!("cannot set up the veth pair: {e}"))?;
            }
            let nft = ns.run("nft", &["list", "ruleset"]);
            if !nft.status.success() {
                return Err(format!("nftables does not work here: {}", String::from_utf8_lossy(&nft.stderr).trim()));
            }
            return Ok(ns);
        }
        Err("no free namespace name in 32 tries".into())
    }

    /// A command that runs `program` inside the namespace.
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, program]);
        c
    }

    /// Runs `program ARGS` inside the namespace and waits for it.
    pub fn run(&self, program: &str, args: &[&str]) -> Output {
        self.command(program).args(args).stdin(Stdio::null()).output().expect("ip netns exec")
    }

    /// Forwards connections made to `outside:PORT` (the port returned) to `127.0.0.1:to`:
    /// the way from the namespace to a listener of this one bound to loopback only (the
    /// agent's ingress, for a device's pushes). It lives as long as the test process.
    pub fn forward_to_loopback(&self, to: u16) -> u16 {
        let listener = TcpListener::bind((self.outside, 0)).expect("bind the veth address");
        let port = listener.local_addr().expect("addr").port();
        std::thread::spawn(move || {
            for inbound in listener.incoming().flatten() {
                let Ok(outbound) = TcpStream::connect(("127.0.0.1", to)) else { continue };
                for (mut from, mut to) in
                    [(inbound.try_clone().expect("clone"), outbound.try_clone().expect("clone")), (outbound, inbound)]
                {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(Shutdown::Write);
                    });
                }
            }
        });
        port
    }

    /// From now on every packet into or out of the namespace is dropped without a word.
    pub fn go_silent(&self) {
        use std::io::Write;
        let mut nft = self.command("nft").args(["-f", "-"]).stdin(Stdio::piped()).spawn().expect("ip netns exec nft");
        nft.stdin.take().expect("stdin").write_all(SILENCE.as_bytes()).expect("nft rules");
        assert!(nft.wait().expect("nft").success(), "nft refused the rules");
    }

    /// From now on nothing can connect into the namespace; connections it makes still work.
    pub fn refuse_inbound(&self) {
        use std::io::Write;
        let mut nft = self.command("nft").args(["-f", "-"]).stdin(Stdio::piped()).spawn().expect("ip netns exec nft");
        nft.stdin.take().expect("stdin").write_all(NO_INBOUND.as_bytes()).expect("nft rules");
        assert!(nft.wait().expect("nft").success(), "nft refused the rules");
    }

    /// The path returns: the rules are removed.
    pub fn speak_again(&self) {
        let out = self.run("nft", &["delete", "table", "inet", "tb"]);
        assert!(out.status.success(), "nft delete: {}", String::from_utf8_lossy(&out.stderr));
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Whatever still runs inside was started by this test (a broker or simulator whose
        // own guard did not end it first).
        if let Ok(out) = Command::new("ip").args(["netns", "pids", &self.name]).output() {
            for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                let _ = Command::new("kill").args(["-KILL", pid]).status();
            }
        }
        if !self.veth.is_empty() {
            let _ = ip(&["link", "del", &self.veth]);
        }
        let _ = ip(&["netns", "del", &self.name]);
    }
}
