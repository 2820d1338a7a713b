//! The agent's side of an update at each start: the events that report how the last one
//! ended (`agent.update.done`, `agent.update.rolled_back`), and, for the new version on
//! probation, the wait for health — under the watcher it then hands over (exit
//! [`super::PROMOTE`]); started without one (its watcher was killed) it decides alone: done
//! when healthy, or it puts the previous binary back and becomes it when the time is up.

use super::probation::{self, Marker, Stage, Start};
use crate::command::Effect;
use crate::config::Config;
use crate::mqtt::LinkState;
use crate::store::OutboxItem;
use serde_json::json;
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

/// A probation to see through.
pub struct Trial {
    dir: PathBuf,
    marker: Marker,
    watched: bool,
}

/// What this start of the agent is for an update.
pub enum AtStart {
    /// Run, with the events to report and the probation to see through (if any).
    Run(Vec<OutboxItem>, Option<Box<Trial>>),
    /// Run nothing: the previous binary is back, become it (this `argv`).
    Become(Vec<std::ffi::OsString>),
}

/// How to start the previous version again after it was put back.
fn previous_argv(m: &Marker) -> Vec<std::ffi::OsString> {
    vec![m.installed.binary.clone().into_os_string(), "run".into(), "-c".into(), m.config.clone().into_os_string()]
}

/// Run before the store is opened: the events this start reports, and the probation it is
/// on (if any) — or the previous version to become.
pub fn at_start(config: &Config) -> AtStart {
    let dir = super::dir(config);
    let agent = &config.agent.id;
    let event = |kind: &str, m: &Marker| {
        crate::agent::agent_event(
            agent,
            kind,
            json!({"from": m.from, "to": m.to, "cmd_id": m.cmd_id, "reason": m.reason, "starts": m.starts}),
        )
    };
    match probation::on_start(&dir, &crate::version::version(), crate::event::now_ms()) {
        Start::Normal => AtStart::Run(Vec::new(), None),
        Start::Done(m) => {
            probation::remove(&dir);
            super::swap::prune(&dir, &[m.installed.binary.clone(), m.installed.previous.clone()]);
            log::info!("update from {} to {} done", m.from, m.to);
            AtStart::Run(vec![event("agent.update.done", &m)], None)
        }
        Start::RolledBack(m) => {
            probation::remove(&dir);
            super::swap::prune(&dir, &[m.installed.binary.clone(), m.installed.previous.clone()]);
            log::warn!("update to {} rolled back: {}", m.to, m.reason.as_deref().unwrap_or("-"));
            AtStart::Run(vec![event("agent.update.rolled_back", &m)], None)
        }
        Start::Spent(mut m) => {
            log::error!("{}: rolling back", m.reason.as_deref().unwrap_or("-"));
            if let Err(e) = super::swap::restore(&m.installed) {
                // Running on beats a loop of failed starts with nothing put back.
                log::error!("cannot put the previous binary back: {e}");
                return AtStart::Run(Vec::new(), None);
            }
            m.stage = Stage::RolledBack;
            if let Err(e) = probation::write(&dir, &m) {
                log::error!("probation marker: {e}");
            }
            AtStart::Become(previous_argv(&m))
        }
        Start::Trial { marker, watched } => {
            log::warn!("version {} on probation (start {} of {})", marker.to, marker.starts, marker.max_starts);
            if crate::version::fails_start() {
                log::error!("this copy was stamped to fail at start (restamp --fail-start)");
                std::process::exit(1);
            }
            AtStart::Run(Vec::new(), Some(Box::new(Trial { dir, marker, watched })))
        }
    }
}

impl Trial {
    /// Until healthy (MQTT connected; the store is open if this runs) or the deadline.
    pub async fn run(
        mut self,
        mut link: watch::Receiver<LinkState>,
        store: crate::store::Store,
        agent: String,
        effects: mpsc::UnboundedSender<Effect>,
        stop: CancellationToken,
    ) {
        let left = Duration::from_millis(self.marker.deadline_ms.saturating_sub(crate::event::now_ms()));
        let healthy = tokio::select! {
            r = link.wait_for(|l| l.connected) => r.is_ok(),
            _ = tokio::time::sleep(left) => false,
            _ = stop.cancelled() => return,
        };
        if healthy && self.watched {
            self.marker.stage = Stage::Healthy;
            if let Err(e) = probation::write(&self.dir, &self.marker) {
                log::error!("probation marker: {e}");
                return;
            }
            log::info!("version {} healthy: handing over to it", self.marker.to);
            let _ = effects.send(Effect::Promote);
        } else if healthy {
            probation::remove(&self.dir);
            let i = &self.marker.installed;
            super::swap::prune(&self.dir, &[i.binary.clone(), i.previous.clone()]);
            let m = &self.marker;
            let e = crate::agent::agent_event(
                &agent,
                "agent.update.done",
                json!({"from": m.from, "to": m.to, "cmd_id": m.cmd_id}),
            );
            if let Err(err) = store.enqueue_unbounded(e).await {
                log::error!("agent.update.done not stored: {err}");
            }
        } else if !self.watched {
            // No watcher: this version undoes itself.
            let reason =
                format!("version {} was not healthy within the probation (MQTT not connected)", self.marker.to);
            log::error!("{reason}: rolling back");
            if let Err(e) = super::swap::restore(&self.marker.installed) {
                log::error!("cannot put the previous binary back: {e}");
                return;
            }
            self.marker.stage = Stage::RolledBack;
            self.marker.reason = Some(reason.clone());
            let _ = probation::write(&self.dir, &self.marker);
            let _ = effects.send(Effect::Exec { argv: previous_argv(&self.marker), reason });
        }
    }
}
