//! `mode = "ssh"` (feature `tunnel-ssh`): the agent logs in to a standard OpenSSH server
//! with its key, checks the server's host key against the pinned one (a mismatch is
//! refused and reported, never accepted), asks for a remote forward (`tcpip-forward` on
//! `remote_bind:remote_port`) and carries each connection the server forwards to the
//! callback listener — nothing else on this host is reachable through it. Keepalives end a
//! session whose path died within `keepalive_secs × (keepalive_max + 1)`; a session that
//! ends, or a forward the server refuses (a port still held by a stale session of ours, or
//! not permitted), is tried again with back-off and jitter.

use super::Tunnel;
use russh::client::{self, ChannelOpenHandle, Msg, Session};
use russh::keys::ssh_key::{Fingerprint, HashAlg, PublicKey, known_hosts::Entry};
use russh::keys::{PrivateKeyWithHashAlg, PublicKeyOrCertificate, load_secret_key};
use russh::{Channel, ChannelOpenFailure};
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// A session that lasted this long was working: the back-off starts over.
const WORKED: Duration = Duration::from_secs(60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

/// Refuses a private key file that others may read, or that is not there.
pub fn check_key_file(path: &str) -> anyhow::Result<()> {
    let meta = std::fs::metadata(path).map_err(|e| anyhow::anyhow!("tunnel.key_file {path}: {e}"))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        anyhow::bail!(
            "tunnel.key_file {path} is readable by group or others (mode {mode:04o}): refused; `chmod 600 {path}`"
        );
    }
    Ok(())
}

/// The server's host key as pinned in the config.
#[derive(Debug, Clone)]
pub enum HostPin {
    Key(Box<PublicKey>),
    Fingerprint(Fingerprint),
}

impl HostPin {
    /// `SHA256:…`, an OpenSSH public key line, or a `known_hosts` line.
    pub fn parse(s: &str) -> Result<HostPin, String> {
        let s = s.trim();
        if s.starts_with("SHA256:") {
            return s.parse().map(HostPin::Fingerprint).map_err(|e| format!("bad fingerprint: {e}"));
        }
        if let Ok(k) = PublicKey::from_openssh(s) {
            return Ok(HostPin::Key(Box::new(k)));
        }
        let entry: Entry =
            s.parse().map_err(|e| format!("neither SHA256:…, a public key nor a known_hosts line: {e}"))?;
        Ok(HostPin::Key(Box::new(entry.public_key().clone())))
    }

    fn matches(&self, key: &PublicKey) -> bool {
        match self {
            // The comment is not part of the key.
            HostPin::Key(k) => k.key_data() == key.key_data(),
            HostPin::Fingerprint(f) => key.fingerprint(f.algorithm()) == *f,
        }
    }

    fn shown(&self) -> String {
        match self {
            HostPin::Key(k) => k.fingerprint(HashAlg::Sha256).to_string(),
            HostPin::Fingerprint(f) => f.to_string(),
        }
    }
}

/// The session's handler: checks the host key, carries forwarded connections.
struct Handler {
    pin: HostPin,
    local: SocketAddr,
    /// What the server offered when it was refused (for the error).
    refused: Arc<Mutex<Option<String>>>,
}

impl client::Handler for Handler {
    type Error = russh::Error;

    async fn check_server_key(&mut self, key: &PublicKeyOrCertificate) -> Result<bool, Self::Error> {
        let offered = match key {
            PublicKeyOrCertificate::PublicKey { key, .. } => key,
            PublicKeyOrCertificate::Certificate(_) => {
                *self.refused.lock().unwrap_or_else(|p| p.into_inner()) = Some("a certificate".into());
                return Ok(false);
            }
        };
        if self.pin.matches(offered) {
            return Ok(true);
        }
        let shown = offered.fingerprint(HashAlg::Sha256).to_string();
        *self.refused.lock().unwrap_or_else(|p| p.into_inner()) = Some(shown);
        Ok(false)
    }

    async fn server_channel_open_forwarded_tcpip(
        &mut self,
        channel: Channel<Msg>,
        _connected_address: &str,
        _connected_port: u32,
        originator_address: &str,
        originator_port: u32,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        let local = self.local;
        let from = format!("{originator_address}:{originator_port}");
        // Never block the session loop: the local connect and the copy run on their own.
        tokio::spawn(async move {
            match tokio::time::timeout(Duration::from_secs(5), tokio::net::TcpStream::connect(local)).await {
                Ok(Ok(mut tcp)) => {
                    reply.accept().await;
                    let mut stream = channel.into_stream();
                    let _ = tokio::io::copy_bidirectional(&mut stream, &mut tcp).await;
                }
                _ => {
                    log::warn!("tunnel: a connection from {from} could not reach the callback listener {local}");
                    reply.reject(ChannelOpenFailure::ConnectFailed).await;
                }
            }
        });
        Ok(())
    }
}

/// Until `stop`: one session after another.
pub async fn run(t: Arc<Tunnel>, stop: CancellationToken) -> anyhow::Result<()> {
    let mut failures = 0u32;
    loop {
        let started = Instant::now();
        let why = tokio::select! {
            r = session(&t) => match r {
                Ok(()) => "the server ended the session".to_string(),
                Err(e) => e,
            },
            _ = stop.cancelled() => return Ok(()),
            _ = t.restart.notified() => "restarted by command".to_string(),
        };
        log::warn!("tunnel (ssh {}): {why}", t.cfg.server);
        t.transport_down(&why).await;
        failures = if started.elapsed() >= WORKED { 0 } else { failures + 1 };
        tokio::select! {
            _ = stop.cancelled() => return Ok(()),
            _ = tokio::time::sleep(t.backoff(failures.saturating_sub(1))) => {}
        }
    }
}

/// One session: connect, check the host key, log in, ask for the forward, then carry
/// forwarded connections until the session ends.
async fn session(t: &Tunnel) -> Result<(), String> {
    let c = &t.cfg;
    let config = Arc::new(client::Config {
        keepalive_interval: Some(Duration::from_secs(c.keepalive_secs)),
        keepalive_max: c.keepalive_max,
        // Also bounds a write blocked on a dead path.
        inactivity_timeout: Some(Duration::from_secs(c.keepalive_secs * (c.keepalive_max as u64 + 2))),
        nodelay: true,
        ..Default::default()
    });
    let pin = HostPin::parse(&c.host_key)?;
    let refused = Arc::new(Mutex::new(None));
    let handler = Handler { pin: pin.clone(), local: t.local, refused: refused.clone() };
    let connecting = tokio::time::timeout(CONNECT_TIMEOUT, client::connect(config, c.server.as_str(), handler)).await;
    let mut handle = match connecting {
        Err(_) => return Err(format!("no SSH session with {} within {CONNECT_TIMEOUT:?}", c.server)),
        Ok(Ok(h)) => h,
        Ok(Err(e)) => {
            if let Some(offered) = refused.lock().unwrap_or_else(|p| p.into_inner()).take() {
                return Err(format!(
                    "host key mismatch: {} offered {offered}, tunnel.host_key pins {}: refused",
                    c.server,
                    pin.shown()
                ));
            }
            return Err(format!("cannot connect to {}: {e}", c.server));
        }
    };
    let key = load_secret_key(&c.key_file, None).map_err(|e| format!("tunnel.key_file {}: {e}", c.key_file))?;
    let auth = handle
        .authenticate_publickey(c.user.as_str(), PrivateKeyWithHashAlg::new(Arc::new(key), None))
        .await
        .map_err(|e| format!("login as {}: {e}", c.user))?;
    if !auth.success() {
        return Err(format!("the server refused the key of {} (authorized_keys?)", c.user));
    }
    handle.tcpip_forward(c.remote_bind.as_str(), u32::from(c.remote_port)).await.map_err(|e| {
        format!(
            "the server refused the remote forward of {}:{} ({e}): not permitted, or still held by a stale session",
            c.remote_bind, c.remote_port
        )
    })?;
    log::info!("tunnel: {}:{} on {} forwards to {}", c.remote_bind, c.remote_port, c.server, t.local);
    t.transport_up().await;
    (&mut handle).await.map_err(|e| format!("session ended: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl test";

    #[test]
    fn a_pin_is_a_fingerprint_a_public_key_or_a_known_hosts_line() {
        let key = PublicKey::from_openssh(LINE).expect("key");
        let fp = key.fingerprint(HashAlg::Sha256).to_string();
        for pin in [fp.clone(), LINE.to_string(), format!("[127.0.0.1]:2222 {LINE}")] {
            assert!(HostPin::parse(&pin).expect("pin").matches(&key), "{pin}");
        }
        assert!(HostPin::parse("SHA256:nope!").is_err());
        assert!(HostPin::parse("hello").is_err());
    }

    #[test]
    fn a_key_file_others_can_read_is_refused() {
        let dir = std::env::temp_dir().join(format!("tb-key-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("key");
        std::fs::write(&path, "x").expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).expect("chmod");
        let err = check_key_file(path.to_str().expect("path")).expect_err("group-readable");
        assert!(err.to_string().contains("chmod 600"), "{err}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        assert!(check_key_file(path.to_str().expect("path")).is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
