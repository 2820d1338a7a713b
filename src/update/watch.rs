//! `telbridge watch-update DIR`: the previous version, watching the new one through its
//! probation (the agent becomes this process after installing an update). It runs the new
//! binary as its child and:
//! - when the child exits [`super::PROMOTE`] after writing the marker `healthy`, replaces
//!   itself with the new version (`exec`: same process, as the service manager expects);
//! - when the child exits otherwise, starts it again while starts and time remain;
//! - when `probation_secs` pass without a healthy child, or the starts run out, stops the
//!   child, puts the previous binary back and replaces itself with it, which reports
//!   `agent.update.rolled_back`;
//! - on SIGTERM/SIGINT, stops the child, puts the previous binary back and exits (the next
//!   start is the previous version's, which reports the rollback).

use super::probation::{self, Marker, Stage};
use super::swap;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

/// How long the child has to stop after SIGTERM.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

pub fn run(dir: &Path) -> ExitCode {
    let Some(marker) = probation::read(dir) else {
        eprintln!("telbridge watch-update: no probation marker in {}", dir.display());
        return ExitCode::from(1);
    };
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("telbridge watch-update: {e}");
            return ExitCode::from(1);
        }
    };
    rt.block_on(watch(dir, marker))
}

async fn watch(dir: &Path, mut m: Marker) -> ExitCode {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
        rollback(dir, "the watcher cannot handle signals", &mut m);
    };
    let deadline =
        tokio::time::Instant::now() + Duration::from_millis(m.deadline_ms.saturating_sub(crate::event::now_ms()));
    loop {
        if m.starts >= m.max_starts {
            rollback(dir, &format!("version {} did not become healthy in {} starts", m.to, m.starts), &mut m);
        }
        let spawned = tokio::process::Command::new(&m.installed.binary)
            .args([std::ffi::OsStr::new("run"), "-c".as_ref(), m.config.as_os_str()])
            .env(super::WATCHED_ENV, "1")
            .env(super::WATCHER_PID_ENV, std::process::id().to_string())
            // systemd's WATCHDOG_PID names the watcher: the child pings for the service
            // (NotifyAccess=all) without it.
            .env_remove("WATCHDOG_PID")
            .kill_on_drop(true)
            .spawn();
        let mut child = match spawned {
            Ok(c) => c,
            Err(e) => rollback(dir, &format!("version {} cannot be started: {e}", m.to), &mut m),
        };
        tokio::select! {
            status = child.wait() => {
                let status = status.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string());
                m = probation::read(dir).unwrap_or(m);
                if m.stage == Stage::Healthy {
                    let err = std::process::Command::new(&m.installed.binary)
                        .args([std::ffi::OsStr::new("run"), "-c".as_ref(), m.config.as_os_str()])
                        .exec();
                    eprintln!("telbridge watch-update: cannot hand over to the new version: {err}");
                    rollback(dir, &format!("the healthy new version could not take over: {err}"), &mut m);
                }
                eprintln!("telbridge watch-update: version {} exited ({status}) before it was healthy", m.to);
                if tokio::time::Instant::now() >= deadline {
                    rollback(dir, &format!("version {} exited ({status}) and the probation is over", m.to), &mut m);
                }
                m.reason = Some(format!("exited ({status})"));
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            _ = tokio::time::sleep_until(deadline) => {
                stop(&mut child).await;
                rollback(dir, &format!("version {} was not healthy within the probation (MQTT not connected)", m.to), &mut m);
            }
            _ = term.recv() => stop_and_exit(dir, &mut m, &mut child).await,
            _ = int.recv() => stop_and_exit(dir, &mut m, &mut child).await,
        }
    }
}

async fn stop(child: &mut tokio::process::Child) {
    if let Some(pid) = child.id() {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), nix::sys::signal::Signal::SIGTERM);
    }
    if tokio::time::timeout(STOP_TIMEOUT, child.wait()).await.is_err() {
        let _ = child.kill().await;
    }
}

async fn stop_and_exit(dir: &Path, m: &mut Marker, child: &mut tokio::process::Child) -> ! {
    stop(child).await;
    undo(dir, m, "stopped during the probation");
    std::process::exit(0);
}

/// Puts the previous binary back and records why; the binary to start the previous
/// version from: the service manager's path, or the kept file itself when the path could
/// not be put back (the reason then says so: a restart by the service manager would run
/// the new version).
fn undo(dir: &Path, m: &mut Marker, reason: &str) -> std::path::PathBuf {
    eprintln!("telbridge watch-update: rolling back to {}: {reason}", m.from);
    let (start, reason) = match swap::restore(&m.installed) {
        Ok(()) => (m.installed.binary.clone(), reason.to_string()),
        Err(e) => {
            eprintln!("telbridge watch-update: cannot put the previous binary back: {e}");
            let why = format!(
                "{reason}; the previous binary could not be put back at {} ({e}): it runs from {}",
                m.installed.binary.display(),
                m.installed.previous.display()
            );
            (m.installed.previous.clone(), why)
        }
    };
    m.stage = Stage::RolledBack;
    m.reason = Some(reason);
    if let Err(e) = probation::write(dir, m) {
        eprintln!("telbridge watch-update: probation marker: {e}");
    }
    start
}

/// Undoes the update and becomes the previous version.
fn rollback(dir: &Path, reason: &str, m: &mut Marker) -> ! {
    let start = undo(dir, m, reason);
    let err = std::process::Command::new(start)
        .args([std::ffi::OsStr::new("run"), "-c".as_ref(), m.config.as_os_str()])
        .exec();
    eprintln!("telbridge watch-update: cannot start the previous version: {err}");
    std::process::exit(1);
}
