//! A real OpenSSH server for tests of SSH tunnels: `sshd -D` as a child process on a port the
//! OS hands out (or a given one), with its own ed25519 host key, a client key it accepts for
//! the user the tests run as, and its own config, all in a temp dir. [`Sshd::kill`] kills
//! the daemon and every session it forked (established forwards die with them) and
//! [`Sshd::restart`] brings it back on the same port with the same keys. It listens on
//! 127.0.0.1 unless told otherwise (e.g. a namespace's veth address); it works as root and
//! as an ordinary user (then it can only log in that user). [`Sshd::available`] says why a
//! machine cannot run one (no OpenSSH installed: `scripts/lib.sh` `ensure_sshd`); the
//! caller skips.

use super::{free_port, temp_dir};
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a start may take until sshd answers with its banner.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a (re)start retries while the port is still held (`Address already in use`).
const BIND_RETRY: Duration = Duration::from_secs(5);
/// How long [`Sshd::kill`] waits for the processes to die and the port to close.
const KILL_TIMEOUT: Duration = Duration::from_secs(10);

/// What to start.
#[derive(Debug, Clone)]
pub struct SshdOptions {
    /// The address to listen on: `127.0.0.1` by default, or e.g. a namespace's veth address.
    pub listen: String,
    /// The port; `None` picks a free one.
    pub port: Option<u16>,
    /// `AllowTcpForwarding remote` (true, the default) or `no`.
    pub allow_forwarding: bool,
    /// More `sshd_config` lines. They come before the harness's own lines, so they win (sshd
    /// keeps the first value of a keyword), except a `Match` block (from a line starting with
    /// `Match` on), which goes at the end. E.g. `PermitListen 127.0.0.1:5000` allows remote
    /// forwards to listen on that port only.
    pub extra: Vec<String>,
}

impl Default for SshdOptions {
    fn default() -> Self {
        SshdOptions { listen: "127.0.0.1".into(), port: None, allow_forwarding: true, extra: Vec::new() }
    }
}

/// A running sshd (or one killed, until [`Sshd::restart`]); killed on drop.
pub struct Sshd {
    /// Where clients connect: the listen address (a wildcard one becomes loopback).
    pub host: String,
    pub port: u16,
    /// The user the tests run as (`id -un`): the one who logs in.
    pub user: String,
    /// The temp dir holding keys, config, log and pid file.
    pub dir: PathBuf,
    /// The client's ed25519 private key (mode 0600, no passphrase).
    pub client_key: PathBuf,
    /// The client's public key, an OpenSSH line (`ssh-ed25519 AAAA… comment`).
    pub client_pub: String,
    /// The server's ed25519 host public key: `ssh-ed25519 AAAA…` (no comment).
    pub host_pub: String,
    /// The host key's fingerprint as `ssh-keygen -lf` prints it: `SHA256:…`.
    pub host_fingerprint: String,
    child: Option<Child>,
    options: SshdOptions,
    bins: Bins,
    config: PathBuf,
    log: PathBuf,
    known_hosts: PathBuf,
}

/// The OpenSSH programs, by absolute path (sshd refuses to run by a relative one).
#[derive(Clone)]
struct Bins {
    sshd: PathBuf,
    ssh: PathBuf,
    keygen: PathBuf,
}

impl Sshd {
    /// `Err(reason)` when this machine cannot run one: no sshd, ssh or ssh-keygen, a user
    /// sshd would not let in or run nothing for (no such shell, a `nologin` shell, an
    /// account locked with `!`), or a config sshd refuses (`sshd -t`, e.g. no privilege
    /// separation user). The caller prints the reason and skips.
    pub fn available() -> Result<(), String> {
        let bins = Bins::find()?;
        login_user()?;
        // A dry run: a host key and the config, checked by `sshd -t`.
        let dir = temp_dir("sshd-check");
        let result = (|| {
            let key = dir.join("ssh_host_ed25519_key");
            keygen(&bins, &key, "telbridge-test-check")?;
            let config = write_config(&dir, &SshdOptions::default(), free_port());
            validate(&bins, &config)
        })();
        let _ = std::fs::remove_dir_all(&dir);
        result
    }

    /// Generates the keys, writes the config, starts `sshd -D -e -f CONFIG` and returns once
    /// it answers with its SSH banner. Panics with the reason when it cannot.
    pub fn start(opts: SshdOptions) -> Sshd {
        let bins = Bins::find().unwrap_or_else(|why| panic!("sshd cannot run here: {why}"));
        let user = login_user().unwrap_or_else(|why| panic!("sshd cannot run here: {why}"));
        let dir = temp_dir("sshd");
        let host_key = dir.join("ssh_host_ed25519_key");
        let client_key = dir.join("client_ed25519");
        keygen(&bins, &host_key, "telbridge-test-host").unwrap_or_else(|e| panic!("{e}"));
        keygen(&bins, &client_key, "telbridge-test-client").unwrap_or_else(|e| panic!("{e}"));
        let client_pub = read_trimmed(&client_key.with_extension("pub"));
        let host_line = read_trimmed(&host_key.with_extension("pub"));
        let host_pub = host_line.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
        let out = Command::new(&bins.keygen).arg("-lf").arg(host_key.with_extension("pub")).output();
        let out = out.expect("run ssh-keygen -lf");
        assert!(out.status.success(), "ssh-keygen -lf: {}", String::from_utf8_lossy(&out.stderr));
        let host_fingerprint = String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .nth(1)
            .filter(|f| f.starts_with("SHA256:"))
            .unwrap_or_else(|| panic!("ssh-keygen -lf printed no SHA256 fingerprint"))
            .to_string();
        std::fs::write(dir.join("authorized_keys"), format!("{client_pub}\n")).expect("write authorized_keys");

        let mut sshd = Sshd {
            host: connect_host(&opts.listen),
            port: 0,
            user,
            dir: dir.clone(),
            client_key,
            client_pub,
            host_pub,
            host_fingerprint,
            child: None,
            options: opts,
            bins,
            config: dir.join("sshd_config"),
            log: dir.join("sshd.log"),
            known_hosts: dir.join("known_hosts"),
        };
        // A port picked here may be taken by someone else before sshd binds it: then
        // another one is picked (a given port is retried for a few seconds instead).
        for attempt in 1.. {
            sshd.port = sshd.options.port.unwrap_or_else(free_port);
            let config = write_config(&sshd.dir, &sshd.options, sshd.port);
            if let Err(why) = validate(&sshd.bins, &config) {
                panic!("sshd refuses the config {}: {why}", config.display());
            }
            std::fs::write(&sshd.known_hosts, format!("{}\n", sshd.known_hosts_line())).expect("write known_hosts");
            match sshd.spawn() {
                Ok(()) => break,
                Err(why) if sshd.options.port.is_none() && attempt < 5 => {
                    eprintln!("sshd harness: port {} taken ({why}); picking another", sshd.port);
                }
                Err(why) => panic!("sshd cannot bind {}:{}: {why}\n{}", sshd.options.listen, sshd.port, sshd.log()),
            }
        }
        sshd
    }

    /// SIGKILLs the daemon and every process it forked (the per-connection sessions, which
    /// call setsid and so leave its process group: found through their parent links in
    /// /proc), so established forwards die too; returns once they are gone and the port is
    /// closed. Nothing happens when it is not running.
    pub fn kill(&mut self) {
        if let Err(why) = self.kill_all() {
            panic!("{why}\n{}", self.log());
        }
    }

    /// Starts it again: the same port, keys and config (retrying for a few seconds while the
    /// port is still held).
    pub fn restart(&mut self) {
        self.kill();
        if let Err(why) = self.spawn() {
            panic!("sshd cannot bind {}:{} again: {why}\n{}", self.options.listen, self.port, self.log());
        }
    }

    /// The line for a known_hosts file: `[127.0.0.1]:PORT ssh-ed25519 AAAA…`.
    pub fn known_hosts_line(&self) -> String {
        if self.port == 22 {
            format!("{} {}", self.host, self.host_pub)
        } else {
            format!("[{}]:{} {}", self.host, self.port, self.host_pub)
        }
    }

    /// What sshd wrote (its stderr, all starts so far), for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// An OpenSSH client command line that logs in to this server with `client_key` and
    /// keeps the remote forward `remote_forward` (`-R`, e.g. `127.0.0.1:A:127.0.0.1:B`),
    /// exiting when the forward fails or the server goes away. Beyond the usual options it
    /// passes `-F /dev/null` and `IdentitiesOnly=yes`: no ssh_config of the machine or the
    /// user, and no agent's keys, get in the way.
    pub fn ssh_command(&self, remote_forward: &str) -> Vec<String> {
        let mut args = self.ssh_options();
        let forward = ["-N", "-o", "ExitOnForwardFailure=yes", "-R", remote_forward];
        args.splice(1..1, forward.iter().map(|s| s.to_string()));
        args.push(format!("{}@{}", self.user, self.host));
        args
    }

    /// An OpenSSH client command line that logs in as [`Sshd::ssh_command`] does and runs
    /// `remote_command` (e.g. `true`) through the user's shell.
    pub fn ssh_exec_command(&self, remote_command: &str) -> Vec<String> {
        let mut args = self.ssh_options();
        args.push(format!("{}@{}", self.user, self.host));
        args.push(remote_command.to_string());
        args
    }

    /// `ssh` and the options every command line here has.
    fn ssh_options(&self) -> Vec<String> {
        let known_hosts = format!("UserKnownHostsFile={}", self.known_hosts.display());
        let key = self.client_key.display().to_string();
        let port = self.port.to_string();
        let args = [
            self.bins.ssh.display().to_string().as_str(),
            "-F",
            "/dev/null",
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            &known_hosts,
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "ServerAliveInterval=2",
            "-o",
            "ServerAliveCountMax=2",
            "-i",
            &key,
            "-p",
            &port,
        ]
        .map(str::to_string);
        Vec::from(args)
    }

    /// Where a client connects.
    fn addr(&self) -> SocketAddr {
        let mut addrs = (self.host.as_str(), self.port).to_socket_addrs().expect("resolve the sshd address");
        addrs.next().unwrap_or_else(|| panic!("{} resolves to no address", self.host))
    }

    /// Runs `sshd -D -e -f CONFIG` and waits for its banner. `Err` when the port stays
    /// taken for [`BIND_RETRY`]; any other failure panics with the log.
    fn spawn(&mut self) -> Result<(), String> {
        let bind_deadline = Instant::now() + BIND_RETRY;
        loop {
            let from = std::fs::metadata(&self.log).map(|m| m.len() as usize).unwrap_or(0);
            let log = std::fs::OpenOptions::new().create(true).append(true).open(&self.log).expect("sshd log file");
            let child = Command::new(&self.bins.sshd)
                .args(["-D", "-e", "-f"])
                .arg(&self.config)
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("log"))
                .stderr(log)
                .spawn()
                .unwrap_or_else(|e| panic!("spawn {}: {e}", self.bins.sshd.display()));
            self.child = Some(child);
            let started = Instant::now();
            let log_path = self.log.clone();
            let new_log = || {
                String::from_utf8_lossy(std::fs::read(&log_path).unwrap_or_default().get(from..).unwrap_or_default())
                    .into_owned()
            };
            loop {
                let child = self.child.as_mut().expect("child");
                if let Some(status) = child.try_wait().expect("wait for sshd") {
                    self.child = None;
                    let said = new_log();
                    if !said.contains("Address already in use") {
                        panic!("sshd exited ({status}) before accepting connections:\n{said}");
                    }
                    if Instant::now() >= bind_deadline {
                        return Err(said.lines().find(|l| l.contains("Address already in use")).unwrap_or("").into());
                    }
                    std::thread::sleep(Duration::from_millis(200));
                    break; // start it again
                }
                // The one answering is this sshd, not another process on the port: it
                // says it listens (or, with a quieter LogLevel in `extra`, has outlived a
                // failed bind by a second), answers with a banner and is still alive after.
                let listening = new_log().contains("Server listening on") || started.elapsed() > Duration::from_secs(1);
                if listening
                    && read_banner(self.addr()).is_ok()
                    && matches!(self.child.as_mut().expect("child").try_wait(), Ok(None))
                {
                    return Ok(());
                }
                if started.elapsed() > START_TIMEOUT {
                    let _ = self.kill_all();
                    panic!(
                        "sshd did not answer on {}:{} within {START_TIMEOUT:?}:\n{}",
                        self.host,
                        self.port,
                        new_log()
                    );
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// [`Sshd::kill`] without panicking (for drop).
    fn kill_all(&mut self) -> Result<(), String> {
        let Some(mut child) = self.child.take() else { return Ok(()) };
        let root = child.id();
        // Freeze the tree first so nothing forks (or dies and orphans its children) while
        // it is walked: stop the daemon, then every descendant found, until none is new.
        let mut tree = vec![root];
        signal("STOP", &tree);
        loop {
            let new: Vec<u32> = descendants(root).into_iter().filter(|p| !tree.contains(p)).collect();
            if new.is_empty() {
                break;
            }
            signal("STOP", &new);
            tree.extend(new);
        }
        signal("KILL", &tree);
        let _ = child.kill();
        let _ = child.wait();
        // The sessions were reparented to init, which reaps them (or leaves zombies: dead
        // all the same, their sockets closed).
        let deadline = Instant::now() + KILL_TIMEOUT;
        while let Some(alive) = tree.iter().find(|&&p| is_alive(p)) {
            if Instant::now() > deadline {
                return Err(format!("sshd process {alive} survived SIGKILL for {KILL_TIMEOUT:?}"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let addr = self.addr();
        while TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok() {
            if Instant::now() > deadline {
                return Err(format!("{addr} still accepts connections after sshd was killed"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.kill_all();
    }
}

impl Bins {
    fn find() -> Result<Bins, String> {
        let sshd = find_bin("sshd").ok_or("no sshd binary (apt-get install openssh-server)")?;
        let ssh = find_bin("ssh").ok_or("no ssh binary (apt-get install openssh-client)")?;
        let keygen = find_bin("ssh-keygen").ok_or("no ssh-keygen binary (apt-get install openssh-client)")?;
        let kill = Command::new("kill").arg("-l").stdout(Stdio::null()).stderr(Stdio::null()).status();
        if !kill.is_ok_and(|s| s.success()) {
            return Err("no kill binary (apt-get install procps)".into());
        }
        Ok(Bins { sshd, ssh, keygen })
    }
}

/// `name` by absolute path: on PATH or in the sbin dirs (not always on PATH).
fn find_bin(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs = std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from));
    dirs.filter(|d| d.is_absolute()).map(|d| d.join(name)).find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Runs a command for its stdout; `Err` says what failed.
fn output(program: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(program).args(args).output().map_err(|e| format!("{program}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(format!("{program} {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()))
    }
}

/// The user the tests run as, if sshd would let them in with a key and run a command.
fn login_user() -> Result<String, String> {
    let user = output("id", &["-un"])?;
    let entry = output("getent", &["passwd", &user]).map_err(|e| format!("user {user} has no passwd entry: {e}"))?;
    let fields: Vec<&str> = entry.split(':').collect();
    let shell = match fields.get(6) {
        Some(s) if !s.is_empty() => s.to_string(),
        _ => "/bin/sh".to_string(),
    };
    // sshd refuses a user whose shell does not exist; `nologin`/`false` let the key in but
    // run nothing. A missing home only makes sshd warn (the session starts in /).
    if !is_executable(Path::new(&shell)) {
        return Err(format!("user {user}'s shell {shell} is not an executable file: sshd refuses the login"));
    }
    if shell.ends_with("/nologin") || shell.ends_with("/false") {
        return Err(format!("user {user}'s shell is {shell}: sshd would run no command for them"));
    }
    // Without PAM, sshd refuses an account whose password is locked with a leading `!`,
    // even for a key. It sees what `getent shadow` sees here: /etc/shadow as root; as an
    // ordinary user only what NSS modules tell anyone (nss-systemd's stand-ins for root and
    // nobody say `!*`), for other users nothing.
    let shadow = output("getent", &["shadow", &user]).unwrap_or_default();
    if shadow.split(':').nth(1).is_some_and(|p| p.starts_with('!')) {
        return Err(format!(
            "user {user}'s account is locked ('!' as its shadow password): sshd without PAM refuses it even \
             with a key (`usermod -p '*' {user}` allows key logins)"
        ));
    }
    Ok(user)
}

/// `ssh-keygen` an ed25519 key without passphrase at `path` (and `path.pub`), mode 0600.
fn keygen(bins: &Bins, path: &Path, comment: &str) -> Result<(), String> {
    let out = Command::new(&bins.keygen)
        .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
        .arg(path)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("ssh-keygen: {e}"))?;
    if !out.status.success() {
        return Err(format!("ssh-keygen {}: {}", path.display(), String::from_utf8_lossy(&out.stderr).trim()));
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(|e| format!("chmod 0600: {e}"))
}

fn read_trimmed(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display())).trim().to_string()
}

/// Where a client connects to reach `listen`: itself, or loopback for a wildcard.
fn connect_host(listen: &str) -> String {
    match listen {
        "0.0.0.0" | "" => "127.0.0.1".into(),
        "::" | "[::]" => "::1".into(),
        other => other.trim_start_matches('[').trim_end_matches(']').to_string(),
    }
}

/// Writes `dir/sshd_config` for `port`; returns its path.
fn write_config(dir: &Path, opts: &SshdOptions, port: u16) -> PathBuf {
    let listen = opts.listen.trim_start_matches('[').trim_end_matches(']');
    let listen = if listen.contains(':') { format!("[{listen}]:{port}") } else { format!("{listen}:{port}") };
    let d = dir.display();
    let forwarding = if opts.allow_forwarding { "remote" } else { "no" };
    let split = opts
        .extra
        .iter()
        .position(|l| l.trim_start().to_ascii_lowercase().starts_with("match "))
        .unwrap_or(opts.extra.len());
    let (first, matches) = opts.extra.split_at(split);
    let mut text = String::from("# Written by tests/common/sshd.rs. sshd keeps the first value of a keyword.\n");
    for line in first {
        text.push_str(line);
        text.push('\n');
    }
    text.push_str(&format!(
        "ListenAddress {listen}\n\
         HostKey \"{d}/ssh_host_ed25519_key\"\n\
         PidFile \"{d}/sshd.pid\"\n\
         AuthorizedKeysFile \"{d}/authorized_keys\"\n\
         # The temp dir's owner and modes are not sshd's business; as an ordinary user sshd\n\
         # cannot use PAM and logs in only that user.\n\
         StrictModes no\n\
         UsePAM no\n\
         PasswordAuthentication no\n\
         KbdInteractiveAuthentication no\n\
         PubkeyAuthentication yes\n\
         PermitRootLogin prohibit-password\n\
         # `remote`: -R only (what a reverse tunnel needs). `PermitListen host:port` (an extra\n\
         # line; OpenSSH 7.8 or later) limits where a remote forward may listen; with\n\
         # `GatewayPorts no` it listens on loopback whatever the client asks.\n\
         AllowTcpForwarding {forwarding}\n\
         GatewayPorts no\n\
         AllowAgentForwarding no\n\
         AllowStreamLocalForwarding no\n\
         X11Forwarding no\n\
         PermitTunnel no\n\
         PermitUserEnvironment no\n\
         PrintMotd no\n\
         PrintLastLog no\n\
         UseDNS no\n\
         # A client gone silent is dropped within about 4 s, and its forward with it.\n\
         ClientAliveInterval 2\n\
         ClientAliveCountMax 2\n\
         LogLevel VERBOSE\n\
         MaxStartups 100\n"
    ));
    for line in matches {
        text.push_str(line);
        text.push('\n');
    }
    let path = dir.join("sshd_config");
    std::fs::write(&path, text).expect("write sshd_config");
    path
}

/// `sshd -t`: `Err` with what it said. As root a missing privilege separation directory
/// (/run/sshd on Debian, normally made by the service unit) is created, mode 0755.
fn validate(bins: &Bins, config: &Path) -> Result<(), String> {
    let is_root = output("id", &["-u"]).is_ok_and(|u| u == "0");
    if is_root && !Path::new("/run/sshd").exists() && Path::new("/run").is_dir() {
        make_privsep_dir(Path::new("/run/sshd"))?;
    }
    for _ in 0..2 {
        let out = Command::new(&bins.sshd).arg("-t").arg("-f").arg(config).stdin(Stdio::null()).output();
        let out = out.map_err(|e| format!("{}: {e}", bins.sshd.display()))?;
        if out.status.success() {
            return Ok(());
        }
        let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        let missing = said.lines().find_map(|l| l.split("Missing privilege separation directory: ").nth(1));
        match missing {
            Some(dir) if is_root && !Path::new(dir.trim()).exists() => make_privsep_dir(Path::new(dir.trim()))?,
            _ => return Err(format!("sshd -t -f {}: {}", config.display(), said.trim())),
        }
    }
    Err("sshd -t still wants a privilege separation directory".into())
}

fn make_privsep_dir(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| format!("chmod {}: {e}", dir.display()))
}

/// The first line the server sends, if it is an SSH banner.
fn read_banner(addr: SocketAddr) -> Result<String, String> {
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1)).map_err(|e| e.to_string())?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).map_err(|e| e.to_string())?;
    let mut line = String::new();
    BufReader::new(&stream).read_line(&mut line).map_err(|e| e.to_string())?;
    if line.starts_with("SSH-") { Ok(line.trim().to_string()) } else { Err(format!("not an SSH banner: {line:?}")) }
}

/// Sends `kill -SIG` to `pids` (those gone meanwhile are ignored).
fn signal(sig: &str, pids: &[u32]) {
    if pids.is_empty() {
        return;
    }
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .args(pids.iter().map(u32::to_string))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// `(state, parent pid)` of a process, from /proc/PID/stat.
fn proc_stat(pid: u32) -> Option<(char, u32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `PID (COMM) STATE PPID …`; COMM may hold spaces and parentheses.
    let mut rest = stat.get(stat.rfind(')')? + 1..)?.split_whitespace();
    let state = rest.next()?.chars().next()?;
    let ppid = rest.next()?.parse().ok()?;
    Some((state, ppid))
}

/// Every process below `root`, through the parent links in /proc.
fn descendants(root: u32) -> Vec<u32> {
    let mut links = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("read /proc").flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
        if let Some((_, ppid)) = proc_stat(pid) {
            links.push((pid, ppid));
        }
    }
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(links.iter().filter(|(_, ppid)| *ppid == parent).map(|(pid, _)| *pid));
        i += 1;
    }
    found.remove(0);
    found
}

/// Running (or stopped), not gone or a zombie.
fn is_alive(pid: u32) -> bool {
    proc_stat(pid).is_some_and(|(state, _)| state != 'Z' && state != 'X')
}
