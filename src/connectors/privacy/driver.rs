//! One platform account: its service, its peer, its file relay, and the housekeeping loop
//! (expired bindings, recordings to fetch, re-offers and uploads).

use super::service::Service;
use super::state::{Binding, BindingState};
use crate::config::PrivacyConfig;
use crate::connectors::files::{FileRelay, Names, file_settings};
use crate::connectors::state::Json;
use crate::connectors::{Ctx, Peer, PeerName};
use crate::event::Class;
use crate::http::client::{Client, Reach, Url};
use crate::store::{Db, Store, StoreError};
use rusqlite::params;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often expired bindings and pending recordings are looked for.
const HOUSEKEEPING: Duration = Duration::from_secs(5);

pub struct Driver {
    pub cfg: PrivacyConfig,
    pub peer: Peer,
    pub store: Store,
    pub service: Service,
    pub files: FileRelay,
    pub trust_forwarded_for: bool,
    /// Wakes the housekeeping loop (a CDR with a recording came in).
    pub wake: tokio::sync::Notify,
}

impl Driver {
    pub fn new(cfg: &PrivacyConfig, ctx: &Ctx) -> anyhow::Result<Driver> {
        let peer = Peer::new(
            ctx,
            PeerName { kind: "privacy", label: "account", name: cfg.name.clone() },
            Duration::from_secs(cfg.command_retry_secs),
        );
        let client = Arc::new(Client::new(Reach::Internet, &cfg.tls_ca_file));
        let service = Service {
            base: Url::parse(&cfg.url)?,
            devid: cfg.devid.clone(),
            authkey: cfg.authkey.expose().to_string(),
            timeout: Duration::from_millis(cfg.timeout_ms),
            client: Client::new(Reach::Internet, &cfg.tls_ca_file),
        };
        let names = Names {
            announce: "call.recording",
            chunk: "call.recording.file",
            uploaded: "call.recording.uploaded",
            item_key: "taskid",
            item_header: "X-Telbridge-Task-Id",
        };
        let settings = file_settings!(cfg, follow_up: false);
        let files = FileRelay::new(&peer, names, settings, ctx.store.clone(), client);
        Ok(Driver {
            cfg: cfg.clone(),
            peer,
            store: ctx.store.clone(),
            service,
            files,
            trust_forwarded_for: ctx.config.callbacks.trust_forwarded_for,
            wake: tokio::sync::Notify::new(),
        })
    }

    pub fn scope(&self) -> &str {
        &self.peer.source
    }

    /// Until `stop`: expired bindings become `binding.expired`, pending recordings are
    /// fetched and relayed, unacknowledged ones offered again.
    pub async fn housekeeping(&self, stop: CancellationToken) -> anyhow::Result<()> {
        loop {
            // Each job on its own: one that fails never holds the others back.
            let results = [
                self.expire().await,
                self.files.fetch_queued(self.cfg.max_file_bytes).await,
                self.files.reoffer_due().await.map(drop),
            ];
            if !self.peer.note_round("housekeeping", results) {
                return Ok(());
            }
            tokio::select! {
                _ = stop.cancelled() => return Ok(()),
                _ = tokio::time::sleep(HOUSEKEEPING) => {}
                _ = self.wake.notified() => {}
            }
        }
    }

    /// Marks every active binding whose TTL passed `expired`, with its event, in one commit.
    async fn expire(&self) -> Result<(), StoreError> {
        let (scope, peer_source, agent) = (self.scope().to_string(), self.scope().to_string(), self.peer.agent.clone());
        self.store
            .call(move |db| {
                let now = db.now_ms();
                let (list, unreadable) = bindings(db, &scope)?;
                for key in unreadable {
                    log::error!("{scope}: binding {key} does not decode; left as it is");
                }
                for mut b in list {
                    if b.state != BindingState::Active || b.expires_ms == 0 || b.expires_ms > now {
                        continue;
                    }
                    b.state = BindingState::Expired;
                    b.key().put(db, &scope, &Json(b.clone()))?;
                    let e =
                        crate::event::NewEvent::new(peer_source.clone(), "binding.expired", b.json(), Class::Critical);
                    db.enqueue_unbounded(&crate::store::OutboxItem::from_event(&e, &agent))?;
                }
                Ok(())
            })
            .await
    }
}

/// Every binding of the account, and the keys of any that do not decode (reported, never
/// reset, and never in the way of the others).
pub fn bindings(db: &mut Db<'_>, scope: &str) -> Result<(Vec<Binding>, Vec<String>), StoreError> {
    let mut stmt = db.conn().prepare(
        "SELECT key, value FROM kv WHERE scope = ?1 AND (key LIKE 'axb/%' OR key LIKE 'axb-reqid/%' OR key LIKE 'xa/%')
         ORDER BY updated_ms",
    )?;
    let rows = stmt.query_map([scope], |r| Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?)))?;
    let (mut out, mut unreadable) = (Vec::new(), Vec::new());
    for row in rows {
        let (key, raw) = row?;
        match serde_json::from_slice(&raw) {
            Ok(b) => out.push(b),
            Err(_) => unreadable.push(key),
        }
    }
    Ok((out, unreadable))
}

/// Forgets old request ids and bindings that ended (never an active one, nor a recording
/// still to fetch).
pub fn prune(db: &mut Db<'_>, scope: &str, cutoff_ms: u64) -> Result<usize, StoreError> {
    let mut n = crate::connectors::state::prune_items(db, scope, &["reqid"], cutoff_ms)?;
    n += db.conn().execute(
        "DELETE FROM kv WHERE scope = ?1 AND updated_ms < ?2
           AND (key LIKE 'axb/%' OR key LIKE 'axb-reqid/%' OR key LIKE 'xa/%')
           AND json_extract(CAST(value AS TEXT), '$.state') != 'active'",
        params![scope, cutoff_ms as i64],
    )?;
    Ok(n)
}

/// `{"error":0}`: the answer every callback gets once committed (the seed says nothing of
/// what it expects; the digest's reading).
pub fn ok_json() -> serde_json::Value {
    json!({"error": 0})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectors::privacy::state::Kind;

    #[test]
    fn a_binding_that_does_not_decode_is_reported_and_the_others_still_listed() {
        let (store, _w) = crate::store::tests::open_temp("bindings");
        let rt = tokio::runtime::Builder::new_current_thread().build().expect("rt");
        let (list, bad) = rt
            .block_on(store.call(|db| {
                let b = Binding {
                    kind: Kind::Xa,
                    x: "170".into(),
                    a: "138".into(),
                    b: None,
                    subid: None,
                    reqid: "r".into(),
                    ttl: 0,
                    expires_ms: 0,
                    user_data: None,
                    cmd_id: "c".into(),
                    state: BindingState::Active,
                    created_ms: 1,
                };
                b.key().put(db, "privacy/p1", &Json(b.clone()))?;
                db.kv_put("privacy/p1", "axb/S9", b"{not json")?;
                bindings(db, "privacy/p1")
            }))
            .expect("listed");
        assert_eq!((list.len(), bad), (1, vec!["axb/S9".to_string()]));
    }
}
