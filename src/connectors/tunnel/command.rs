//! `mode = "command"`: an external tunnel client (frpc, rathole, bore, cloudflared, OpenSSH
//! `ssh -N -R …`, dropbear's `dbclient`) run as a child of the agent, in a process group of
//! its own. Its output goes into the agent's log line by line; when it exits it is started
//! again after a back-off; `tunnel.restart` and the agent's stop end it with SIGTERM to its
//! group, then SIGKILL after `stop_timeout_ms`, and it is always waited for: no zombie.
//! (If the agent itself is SIGKILLed the child lives on until the service manager ends the
//! unit's processes: systemd's default `KillMode=control-group` and procd do.)

use super::Tunnel;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio_util::sync::CancellationToken;

/// A child that ran this long was working: the back-off starts over.
const WORKED: Duration = Duration::from_secs(60);

/// Until `stop`: the command running, started again whenever it ends.
pub async fn run(t: &Tunnel, stop: CancellationToken) -> anyhow::Result<()> {
    let mut failures = 0u32;
    loop {
        let started = Instant::now();
        let why = match spawn(t) {
            Ok(mut child) => {
                t.transport_up().await;
                let why = tokio::select! {
                    status = child.wait() => format!("the tunnel command exited ({})", describe(status)),
                    _ = stop.cancelled() => {
                        terminate(&mut child, t.cfg.stop_timeout_ms).await;
                        return Ok(());
                    }
                    _ = t.restart.notified() => {
                        terminate(&mut child, t.cfg.stop_timeout_ms).await;
                        "restarted by command".to_string()
                    }
                };
                log::warn!("{why}");
                why
            }
            Err(e) => {
                let why = format!("cannot start the tunnel command {:?}: {e}", t.cfg.command[0]);
                log::error!("{why}");
                why
            }
        };
        t.transport_down(&why).await;
        failures = if started.elapsed() >= WORKED { 0 } else { failures + 1 };
        tokio::select! {
            _ = stop.cancelled() => return Ok(()),
            _ = tokio::time::sleep(t.backoff(failures.saturating_sub(1))) => {}
        }
    }
}

fn spawn(t: &Tunnel) -> std::io::Result<Child> {
    let (program, args) = t.cfg.command.split_first().ok_or_else(|| std::io::Error::other("no command"))?;
    let mut child = Command::new(program)
        .args(args)
        .envs(t.cfg.env.iter().map(|(name, value)| (name, value.expose())))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()?;
    log::info!("tunnel command started (pid {})", child.id().unwrap_or(0));
    if let Some(out) = child.stdout.take() {
        tokio::spawn(forward_lines(out));
    }
    if let Some(err) = child.stderr.take() {
        tokio::spawn(forward_lines(err));
    }
    Ok(child)
}

/// The child's output, line by line, into the agent's log (scrubbed there like any line).
async fn forward_lines(from: impl AsyncRead + Unpin) {
    let mut lines = BufReader::new(from).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        log::info!("tunnel command: {line}");
    }
}

/// SIGTERM to the child's process group, SIGKILL after `timeout_ms`; waited for either way.
async fn terminate(child: &mut Child, timeout_ms: u64) {
    let Some(pid) = child.id() else {
        let _ = child.wait().await;
        return;
    };
    let group = Pid::from_raw(pid as i32);
    let _ = killpg(group, Signal::SIGTERM);
    match tokio::time::timeout(Duration::from_millis(timeout_ms), child.wait()).await {
        Ok(status) => log::info!("tunnel command stopped ({})", describe(status)),
        Err(_) => {
            log::warn!("tunnel command ignored SIGTERM for {timeout_ms} ms: SIGKILL");
            let _ = killpg(group, Signal::SIGKILL);
            let _ = child.wait().await;
        }
    }
    // Whatever else of the group outlived the leader.
    let _ = killpg(group, Signal::SIGKILL);
}

fn describe(status: std::io::Result<std::process::ExitStatus>) -> String {
    match status {
        Ok(s) => s.to_string(),
        Err(e) => e.to_string(),
    }
}
