//! One QMsg account: its service, its peer, and the getSms poll.

use super::protocol::reply::Mo;
use super::service::{Service, ServiceError};
use super::state;
use crate::config::QmsgConfig;
use crate::connectors::{Ctx, Peer, PeerName};
use crate::event::Class;
use crate::http::client::{Client, Reach, Url};
use crate::store::{Enqueued, OutboxItem, Store, StoreError};
use serde_json::{Value, json};
use sha2::Digest;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub struct Driver {
    pub cfg: QmsgConfig,
    pub peer: Peer,
    pub store: Store,
    pub service: Service,
    pub trust_forwarded_for: bool,
    /// Wakes the poll loop at once (`sms.poll_now`).
    pub poll_now: tokio::sync::Notify,
}

impl Driver {
    pub fn new(cfg: &QmsgConfig, ctx: &Ctx) -> anyhow::Result<Driver> {
        let name = PeerName { kind: "qmsg", label: "account", name: cfg.name.clone() };
        let service = Service {
            base: Url::parse(&cfg.url)?,
            account: super::protocol::request::Account {
                entid: cfg.entid.clone(),
                uid: cfg.uid.clone(),
                pwd: cfg.pwd.expose().to_string(),
            },
            returnflag: cfg.returnflag.clone(),
            getall: cfg.getall,
            timeout: Duration::from_millis(cfg.timeout_ms),
            client: Client::new(Reach::Internet, &cfg.tls_ca_file),
        };
        Ok(Driver {
            cfg: cfg.clone(),
            peer: Peer::new(ctx, name, Duration::from_secs(cfg.command_retry_secs)),
            store: ctx.store.clone(),
            service,
            trust_forwarded_for: ctx.config.callbacks.trust_forwarded_for,
            poll_now: tokio::sync::Notify::new(),
        })
    }

    pub fn scope(&self) -> &str {
        &self.peer.source
    }

    /// `sms.received` for a message, de-duplicated on what identifies it, so the same
    /// message by push and by poll (or pushed twice) reaches the cloud once.
    pub fn mo_event(&self, mo: &Mo, via: &str, extra: serde_json::Map<String, Value>) -> OutboxItem {
        let key = short_hash(&format!("{}\n{}\n{}\n{}", mo.mobile, mo.ext, mo.replytime, mo.text));
        let mut data = mo.data();
        data["via"] = via.into();
        let mut e = crate::event::NewEvent::new(self.scope(), "sms.received", data, Class::Critical);
        e.dedup_key = Some(format!("{}/mo/{key}", self.scope()));
        e.extra = extra;
        OutboxItem::from_event(&e, &self.peer.agent)
    }

    /// Raises `account.down`/`account.up` and `balance.low` when the account's state
    /// changes, committed with nothing else (outside the bound, like every alarm).
    pub async fn note_account(&self, outcome: Result<Option<i64>, &ServiceError>) -> Result<(), StoreError> {
        let scope = self.scope().to_string();
        let low = self.cfg.balance_low;
        let (down, reason, balance) = match outcome {
            Ok(balance) => (false, Value::Null, balance),
            Err(ServiceError::Refused(code)) if code.account_down() => {
                (true, json!({"stat_code": code.0, "reason": code.name(), "meaning": code.meaning()}), None)
            }
            Err(_) => return Ok(()),
        };
        let events = |kind: &str, data: Value| self.peer.event(kind, data, Class::Critical, None);
        let up_event = events("account.up", json!({}));
        let down_event = events("account.down", reason);
        let low_event = balance.map(|b| events("balance.low", json!({"balance": b, "threshold": low})));
        self.store
            .call(move |db| {
                let was_down = state::ACCOUNT_DOWN.get(db, &scope)?.unwrap_or(0) == 1;
                if down != was_down {
                    state::ACCOUNT_DOWN.put(db, &scope, &u64::from(down))?;
                    db.enqueue_unbounded(if down { &down_event } else { &up_event })?;
                }
                if let (Some(b), Some(ev)) = (balance, low_event) {
                    let is_low = low > 0 && b < low;
                    let was_low = state::BALANCE_LOW.get(db, &scope)?.unwrap_or(0) == 1;
                    if is_low != was_low {
                        state::BALANCE_LOW.put(db, &scope, &u64::from(is_low))?;
                        if is_low {
                            db.enqueue_unbounded(&ev)?;
                        }
                    }
                }
                Ok(())
            })
            .await
    }

    /// Polls getSms every `poll_secs` (or at `sms.poll_now`) until `stop`.
    pub async fn poll_loop(&self, stop: CancellationToken) -> anyhow::Result<()> {
        let every = Duration::from_secs(self.cfg.poll_secs);
        loop {
            if let Err(e) = self.poll_once(&stop).await {
                if matches!(e, PollError::Store(StoreError::Closed)) {
                    return Ok(());
                }
                log::warn!("{}: getSms: {e}", self.scope());
                self.peer.note_error(&e.to_string());
            }
            tokio::select! {
                _ = stop.cancelled() => return Ok(()),
                _ = tokio::time::sleep(every) => {}
                _ = self.poll_now.notified() => {}
            }
        }
    }

    /// One getSms: every message is committed before this returns. The platform returns a
    /// message once, so a commit that fails is retried (not the poll) until it holds.
    async fn poll_once(&self, stop: &CancellationToken) -> Result<usize, PollError> {
        let fetched = self.peer.call(self.service.get_sms()).await.map_err(PollError::Service)?;
        let mos = fetched.mos;
        if mos.is_empty() && fetched.odd.is_empty() {
            return Ok(0);
        }
        let mut items: Vec<OutboxItem> = mos.iter().map(|m| self.mo_event(m, "poll", serde_json::Map::new())).collect();
        for raw in &fetched.odd {
            let key = format!("{}/odd/{}", self.scope(), short_hash(raw));
            let data = json!({"via": "poll", "raw": raw});
            items.push(self.peer.event("sms.unreadable", data, Class::Critical, Some(key)));
        }
        loop {
            // Outside the bound, like alarms: the platform will not return them again, so a
            // full outbox (or a full disk's refusal of new events) must not turn them away.
            let batch = items.clone();
            let stored = self
                .store
                .call(move |db| batch.iter().map(|i| db.enqueue_unbounded(i)).collect::<Result<Vec<_>, _>>())
                .await;
            match stored {
                Ok(done) => {
                    let new = done.iter().filter(|e| matches!(e, Enqueued::Stored(_))).count();
                    log::info!("{}: getSms returned {} message(s), {new} new", self.scope(), mos.len());
                    return Ok(new);
                }
                Err(StoreError::Closed) => return Err(PollError::Store(StoreError::Closed)),
                Err(e) => {
                    log::error!("{}: cannot store {} received message(s) yet: {e}", self.scope(), mos.len());
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(2)) => {}
                        // Stopping now loses them: they are in no other place.
                        _ = stop.cancelled() => return Err(PollError::Store(e)),
                    }
                }
            }
        }
    }
}

/// 24 hex characters of the SHA-256 of `text`: a de-duplication key part.
fn short_hash(text: &str) -> String {
    crate::event::to_hex(&sha2::Sha256::digest(text.as_bytes())[..12])
}

#[derive(Debug, thiserror::Error)]
enum PollError {
    #[error(transparent)]
    Service(ServiceError),
    #[error("store: {0}")]
    Store(StoreError),
}
