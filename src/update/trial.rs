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

/// The events this start reports, and the probation it is on (if any).
pub fn at_start(config: &Config) -> (Vec<OutboxItem>, Option<Trial>) {
    let dir = super::dir(config);
    let agent = &config.agent.id;
    let event = |kind: &str, m: &Marker| {
        crate::agent::agent_event(
            agent,
            kind,
            json!({"from": m.from, "to": m.to, "cmd_id": m.cmd_id, "reason": m.reason, "starts": m.starts}),
        )
    };
    match probation::on_start(&dir, &crate::version::version()) {
        Start::Normal => (Vec::new(), None),
        Start::Done(m) => {
            probation::remove(&dir);
            log::info!("update from {} to {} done", m.from, m.to);
            (vec![event("agent.update.done", &m)], None)
        }
        Start::RolledBack(m) => {
            probation::remove(&dir);
            log::warn!("update to {} rolled back: {}", m.to, m.reason.as_deref().unwrap_or("-"));
            (vec![event("agent.update.rolled_back", &m)], None)
        }
        Start::Trial { marker, watched } => {
            log::warn!("version {} on probation (start {} of {})", marker.to, marker.starts, marker.max_starts);
            if crate::version::fails_start() {
                log::error!("this copy was stamped to fail at start (restamp --fail-start)");
                std::process::exit(1);
            }
            (Vec::new(), Some(Trial { dir, marker, watched }))
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
            let argv = vec![
                self.marker.installed.binary.clone().into_os_string(),
                "run".into(),
                "-c".into(),
                self.marker.config.clone().into_os_string(),
            ];
            let _ = effects.send(Effect::Exec { argv, reason });
        }
    }
}
