//! systemd's service notification protocol (`sd_notify`), without a library: readiness,
//! status text, stopping, and the watchdog keep-alive.
//!
//! `NOTIFY_SOCKET` names a Unix datagram socket (a path, or `@name` in the abstract
//! namespace). Without it (not under systemd, or under procd) every call does nothing.
//! `WATCHDOG_USEC` (with `WATCHDOG_PID`, when set, naming this process) asks for a
//! `WATCHDOG=1` at least that often.

use std::os::unix::net::UnixDatagram;
use std::time::Duration;

/// Sends one notification (e.g. `READY=1`); false when there is no socket or it failed.
pub fn notify(state: &str) -> bool {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else { return false };
    let Ok(socket) = UnixDatagram::unbound() else { return false };
    let path = path.to_string_lossy().into_owned();
    let sent = match path.strip_prefix('@') {
        Some(name) => send_abstract(&socket, name, state),
        None => socket.send_to(state.as_bytes(), &path).is_ok(),
    };
    if !sent {
        log::debug!("sd_notify to {path} failed");
    }
    sent
}

#[cfg(target_os = "linux")]
fn send_abstract(socket: &UnixDatagram, name: &str, state: &str) -> bool {
    use std::os::linux::net::SocketAddrExt;
    match std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()) {
        Ok(addr) => socket.send_to_addr(state.as_bytes(), &addr).is_ok(),
        Err(_) => false,
    }
}

#[cfg(not(target_os = "linux"))]
fn send_abstract(_: &UnixDatagram, _: &str, _: &str) -> bool {
    false
}

/// How often systemd wants `WATCHDOG=1` for this process, if at all.
pub fn watchdog_interval() -> Option<Duration> {
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
    if let Ok(pid) = std::env::var("WATCHDOG_PID")
        && pid.parse::<u32>().ok() != Some(std::process::id())
    {
        return None;
    }
    (usec > 0).then(|| Duration::from_micros(usec))
}
