//! The probation marker, `{update dir}/probation.json`: written once the new binary is in
//! place, read by the watcher, the new version and (after a rollback) the previous one.
//! Each start of the agent looks at it ([`on_start`]) before anything else.

use super::swap::Installed;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// The new version runs and has not been healthy yet.
    Trial,
    /// It was healthy under the watcher, which hands over to it.
    Healthy,
    /// The previous version was put back; it reports why at its start.
    RolledBack,
}

/// What an update in progress is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Marker {
    pub cmd_id: String,
    pub from: String,
    pub to: String,
    pub installed: Installed,
    /// The config file the agent runs with.
    pub config: PathBuf,
    pub stage: Stage,
    pub started_ms: u64,
    pub deadline_ms: u64,
    /// Starts of the new version so far.
    pub starts: u32,
    pub max_starts: u32,
    #[serde(default)]
    pub reason: Option<String>,
}

pub fn path(dir: &Path) -> PathBuf {
    dir.join("probation.json")
}

pub fn read(dir: &Path) -> Option<Marker> {
    let text = std::fs::read(path(dir)).ok()?;
    match serde_json::from_slice(&text) {
        Ok(m) => Some(m),
        Err(e) => {
            log::error!("{}: unreadable ({e}); ignored", path(dir).display());
            None
        }
    }
}

/// Writes the marker durably (a temporary file renamed over it).
pub fn write(dir: &Path, m: &Marker) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join("probation.json.tmp");
    let f = std::fs::File::create(&tmp)?;
    serde_json::to_writer(&f, m).map_err(std::io::Error::other)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path(dir))?;
    crate::durable::sync_dir(dir);
    Ok(())
}

pub fn remove(dir: &Path) {
    let _ = std::fs::remove_file(path(dir));
    crate::durable::sync_dir(dir);
}

/// What this start of the agent is, as far as an update goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// No update in progress.
    Normal,
    /// The new version on probation: `watched` when the watcher is its parent.
    Trial { marker: Marker, watched: bool },
    /// The new version started without its watcher once its starts or its time were used
    /// up (it crashed or hung before its own probation could undo it): put the previous
    /// one back now.
    Spent(Marker),
    /// The new version after the watcher handed over: report `agent.update.done`.
    Done(Marker),
    /// The previous version after a rollback: report `agent.update.rolled_back`.
    RolledBack(Marker),
}

/// Reads the marker at the start of `version` (`now_ms`: the clock).
pub fn on_start(dir: &Path, version: &str, now_ms: u64) -> Start {
    let Some(mut m) = read(dir) else { return Start::Normal };
    match m.stage {
        Stage::RolledBack => Start::RolledBack(m),
        Stage::Healthy if m.to == version => Start::Done(m),
        Stage::Trial if m.to == version => {
            m.starts += 1;
            if let Err(e) = write(dir, &m) {
                log::error!("probation marker: {e}");
            }
            let watched = std::env::var_os(super::WATCHED_ENV).is_some();
            // Under its watcher, the watcher counts and times (it reads the starts back).
            if !watched && (m.starts > m.max_starts || now_ms >= m.deadline_ms) {
                m.reason = Some(format!(
                    "version {} started {} times without its watcher and was not healthy within its probation",
                    m.to,
                    m.starts - 1
                ));
                return Start::Spent(m);
            }
            Start::Trial { watched, marker: m }
        }
        // The previous version runs while the marker names the new one as on trial or
        // healthy: the swap was undone by hand, or a start of the new one never happened.
        _ => {
            m.stage = Stage::RolledBack;
            m.reason = Some(format!("version {version} started instead of {}", m.to));
            Start::RolledBack(m)
        }
    }
}
