//! A config sent by `agent.config.set` is on trial until the agent runs with it and reaches
//! the broker: a config the cloud can no longer reach the agent through (a wrong broker
//! password, host or CA, a port taken) must not cut the box off for good.
//!
//! Files beside the config (`telbridge.toml`):
//! - `telbridge.toml.prev`: the last config that passed its trial (a second set during a
//!   trial keeps it, never the untried one);
//! - `telbridge.toml.applying`: present while the new one is on trial; it holds the count
//!   of starts made with it.
//!
//! The trial ends well when MQTT is connected within `agent.config_probation_secs` of a start:
//! the marker is removed. It fails when the start fails, the agent fails while on trial, the
//! broker is not reached in time, or the process died [`MAX_STARTS`] times with it (killed
//! or crashed, before it could tell): the previous file is put back, the agent starts again
//! with it and reports `config.rolled_back` with the reason.

use crate::durable::{sync_parent, with_suffix};
use crate::mqtt::LinkState;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

/// Starts a config on trial gets before it is rolled back unseen.
pub const MAX_STARTS: u32 = 3;

/// The previous config, kept beside the file while a new one is on trial.
pub fn prev_path(path: &Path) -> PathBuf {
    with_suffix(path, ".prev")
}

/// Present while a new config is on trial.
pub fn applying_marker(path: &Path) -> PathBuf {
    with_suffix(path, ".applying")
}

/// The config at `path` is on trial (and there is a previous one to go back to).
pub fn on_trial(path: &Path) -> bool {
    applying_marker(path).exists() && prev_path(path).exists()
}

/// Counts a start with the config on trial; the count so far (0: not on trial).
pub fn count_start(path: &Path) -> std::io::Result<u32> {
    if !on_trial(path) {
        return Ok(0);
    }
    let marker = applying_marker(path);
    let starts = std::fs::read_to_string(&marker).ok().and_then(|t| t.trim().parse::<u32>().ok()).unwrap_or(0) + 1;
    let mut f = std::fs::File::create(&marker)?;
    f.write_all(starts.to_string().as_bytes())?;
    f.sync_all()?;
    Ok(starts)
}

/// Puts the previous config back when the one at `path` is on trial (false when it is not),
/// and notes `why` beside it for the next start to report (`config.rolled_back`), whichever
/// process that is.
pub fn roll_back(path: &Path, why: &str) -> std::io::Result<bool> {
    if !on_trial(path) {
        return Ok(false);
    }
    // Best effort: the rollback itself must not fail for want of room for its reason.
    let note = notice_path(path);
    let noted = std::fs::File::create(&note).and_then(|mut f| f.write_all(why.as_bytes()).and_then(|()| f.sync_all()));
    if let Err(e) = noted {
        log::warn!("{}: {e} (the rollback goes on; its reason is in this log only)", note.display());
        let _ = std::fs::remove_file(&note);
    }
    std::fs::rename(prev_path(path), path)?;
    let _ = std::fs::remove_file(applying_marker(path));
    sync_parent(path);
    Ok(true)
}

/// Where a rollback's reason waits for the next start.
fn notice_path(path: &Path) -> PathBuf {
    with_suffix(path, ".rolled_back")
}

/// The reason of a rollback not reported yet. One found while a config is on trial again
/// was left by a rollback cut off before its rename: dropped, not reported.
pub fn notice(path: &Path) -> Option<String> {
    if on_trial(path) {
        clear_notice(path);
        return None;
    }
    std::fs::read_to_string(notice_path(path)).ok()
}

/// The rollback was reported (its event queued).
pub fn clear_notice(path: &Path) {
    let _ = std::fs::remove_file(notice_path(path));
}

/// The config passed: it stays.
fn keep(path: &Path) {
    if std::fs::remove_file(applying_marker(path)).is_ok() {
        sync_parent(path);
        log::info!("the new config reached the broker: kept");
    }
}

/// While the config at `path` is on trial: keeps it once MQTT is connected with its command
/// subscription granted (a broker's ACL may let a new `agent.id` or user connect but not
/// hear commands: the cloud could not reach it either), or reports on `failed` (which
/// stops the agent and rolls it back) when `within` passes first.
pub async fn watch(
    path: PathBuf,
    mut link: watch::Receiver<LinkState>,
    within: Duration,
    failed: mpsc::UnboundedSender<(String, anyhow::Error)>,
    stop: CancellationToken,
) {
    let connected = tokio::select! {
        r = tokio::time::timeout(within, link.wait_for(|l| l.connected && l.subscribed)) => matches!(r, Ok(Ok(_))),
        _ = stop.cancelled() => return,
    };
    if connected {
        keep(&path);
    } else {
        let why = match link.borrow().connected {
            true => anyhow::anyhow!("the broker did not grant the command subscription within {} s", within.as_secs()),
            false => anyhow::anyhow!("MQTT not connected within {} s of starting with it", within.as_secs()),
        };
        let _ = failed.send(("the new config".into(), why));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_on_trial_are_counted_and_a_rollback_puts_the_previous_file_back() {
        let dir = std::env::temp_dir().join(format!("tb-config-trial-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("telbridge.toml");
        std::fs::write(&path, "new").expect("new");
        assert_eq!(count_start(&path).expect("count"), 0, "no marker: not on trial");
        std::fs::write(prev_path(&path), "old").expect("prev");
        std::fs::write(applying_marker(&path), "").expect("marker");
        assert_eq!((count_start(&path).expect("1"), count_start(&path).expect("2")), (1, 2));
        assert!(roll_back(&path, "why").expect("roll back"));
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "old");
        assert_eq!(notice(&path).as_deref(), Some("why"), "for the next start to report");
        clear_notice(&path);
        assert_eq!(notice(&path), None);
        assert!(!on_trial(&path) && !roll_back(&path, "again").expect("again"), "nothing left to roll back");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
