//! Remote software update (`agent.update`): signed, atomic, and rolled back by itself when
//! the new version fails. See docs/update.md.
//!
//! 1. [`manifest`]: the signed manifest is checked before anything is downloaded (trusted
//!    key, target, version, size); [`apply`] downloads within the size, checks SHA-256 and
//!    the ELF identity, runs the new binary's `--version` and `check-config`;
//! 2. [`swap`] puts it at the path the service manager starts, atomically, keeping the
//!    previous one; the result `{"restarting":true,…}` and `agent.update.applied` are
//!    committed; the agent stops cleanly and becomes the [`watch`]er (the previous code);
//! 3. the watcher runs the new version as its child: healthy (store open, MQTT connected)
//!    within `probation_secs` → the new version takes the watcher's place (same process,
//!    `exec`) and reports `agent.update.done`; it exits, crashes `max_starts` times or is
//!    not healthy in time → the previous binary is put back and started, and reports
//!    `agent.update.rolled_back` with the reason.
//!
//! The [`probation`] marker (`{dir}/probation.json`) carries the state across the restarts.

pub mod apply;
pub mod manifest;
pub mod probation;
pub mod swap;
pub mod tools;
pub mod trial;
pub mod watch;

use crate::config::Config;
use std::path::{Path, PathBuf};

/// The exit code of a new version that became healthy under the watcher: the watcher
/// replaces itself with it.
pub const PROMOTE: u8 = 75;
/// Set by the watcher in its child's environment (present: on probation under a watcher;
/// every release's watcher sets it, to "1").
pub const WATCHED_ENV: &str = "TELBRIDGE_UPDATE_WATCHED";
/// Set beside [`WATCHED_ENV`] by watchers from this release on: the watcher's process id.
pub const WATCHER_PID_ENV: &str = "TELBRIDGE_UPDATE_WATCHER_PID";

/// In a new version the watcher started: asks the kernel for SIGTERM when the watcher dies
/// (even by SIGKILL, when no cleanup of its own runs), so the new version never runs on alone
/// beside the next start, holding the port and the store. The request belongs to the calling
/// thread, so it is made before any other starts (the runtime's threads do not carry it). Err
/// when the watcher is already gone. A watcher from an older release (the previous version
/// watches the new one) names no pid: the signal is asked for all the same, without the check.
pub fn follow_watcher() -> Result<(), String> {
    if std::env::var_os(WATCHED_ENV).is_none() {
        return Ok(());
    }
    nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGTERM).map_err(|e| format!("prctl: {e}"))?;
    // The watcher may have died before the request was made.
    match std::env::var(WATCHER_PID_ENV).ok().and_then(|v| v.parse::<i32>().ok()) {
        Some(watcher) if nix::unistd::getppid().as_raw() != watcher => {
            Err(format!("the update watcher (pid {watcher}) is gone"))
        }
        _ => Ok(()),
    }
}

/// Where downloads, kept versions and the marker live; always absolute: the new binary's
/// symlink names a file in it, and a relative name would be read from the symlink's own
/// folder (the example config's `store.path = "data/telbridge.db"`, run from systemd's
/// `WorkingDirectory`, made every update's link point nowhere).
pub fn dir(config: &Config) -> PathBuf {
    let dir = if !config.update.dir.is_empty() {
        PathBuf::from(&config.update.dir)
    } else {
        let store = &config.store.path;
        store.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).join("update")
    };
    std::path::absolute(&dir).unwrap_or(dir)
}

/// The path the service manager starts: configured, else the absolute path this process
/// was started as (systemd passes the unit's `ExecStart` path, a symlink), else its file.
pub fn binary(config: &Config) -> PathBuf {
    if !config.update.binary.is_empty() {
        return PathBuf::from(&config.update.binary);
    }
    match std::env::args_os().next().map(PathBuf::from) {
        Some(p) if p.is_absolute() => p,
        _ => std::env::current_exe().unwrap_or_else(|_| PathBuf::from("telbridge")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_update_folder_is_absolute_when_the_store_path_is_relative() {
        let mut config = Config::default();
        config.store.path = PathBuf::from("data/telbridge.db");
        let dir = dir(&config);
        let here = std::env::current_dir().expect("cwd");
        assert_eq!(dir, here.join("data/update"));
    }
}
