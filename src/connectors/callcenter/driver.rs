//! One call-center account: its service, peer and file relay, and its background work —
//! CDR collection by time window, records collection by key, and the recordings' fetches,
//! re-offers and uploads. Each record is committed with the cursor that follows it, so an
//! agent restart resumes where the last commit left and relays each record once.

use super::protocol::api::Api;
use super::protocol::envelope::{Call, Response};
use super::protocol::inferred::CDR_ALIASES;
use super::service::{Service, ServiceError};
use super::state::{CDR_CURSOR, RECORDS_CURSOR};
use crate::config::CallcenterConfig;
use crate::connectors::files::{FileRelay, Names, file_settings};
use crate::connectors::lenient::{text_of, u64_of};
use crate::connectors::{Ctx, Peer, PeerName};
use crate::event::Class;
use crate::http::client::{Client, Reach, Url};
use crate::store::{Store, StoreError};
use serde_json::{Map, Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How often queued recordings are fetched and unacknowledged ones offered again.
const HOUSEKEEPING: Duration = Duration::from_secs(5);

pub struct Driver {
    pub cfg: CallcenterConfig,
    pub peer: Peer,
    pub store: Store,
    pub service: Service,
    pub files: FileRelay,
    pub trust_forwarded_for: bool,
    /// How old a new notification may be (`max_age_secs`, or its default).
    pub max_age_ms: u64,
    /// Wakes the housekeeping loop (a recording was queued).
    pub wake: tokio::sync::Notify,
}

/// A collection round that did not finish: the platform, or the store.
#[derive(Debug, thiserror::Error)]
enum RoundError {
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Refused(String),
}

impl Driver {
    pub fn new(cfg: &CallcenterConfig, ctx: &Ctx) -> anyhow::Result<Driver> {
        let peer = Peer::new(
            ctx,
            PeerName { kind: "callcenter", label: "account", name: cfg.name.clone() },
            Duration::from_secs(cfg.command_retry_secs),
        );
        let minor = crate::config::minor_version(&cfg.version)
            .ok_or_else(|| anyhow::anyhow!("callcenter.version {:?} is not V2.0.x", cfg.version))?;
        let service = Service {
            base: Url::parse(&cfg.url)?,
            minor,
            customer: cfg.customer.clone(),
            apikey: cfg.apikey.expose().to_string(),
            lang: cfg.lang.clone(),
            timeout: Duration::from_millis(cfg.timeout_ms),
            client: Client::new(Reach::Internet, &cfg.tls_ca_file),
            seq: Mutex::new(0),
        };
        let names = Names {
            announce: "recording",
            chunk: "recording.file",
            uploaded: "recording.uploaded",
            item_key: "key",
            item_header: "X-Telbridge-Record-Key",
        };
        let settings = file_settings!(cfg, follow_up: false);
        let client = Arc::new(Client::new(Reach::Internet, &cfg.tls_ca_file));
        let files = FileRelay::new(&peer, names, settings, ctx.store.clone(), client);
        Ok(Driver {
            cfg: cfg.clone(),
            peer,
            store: ctx.store.clone(),
            service,
            files,
            trust_forwarded_for: ctx.config.callbacks.trust_forwarded_for,
            max_age_ms: cfg.max_age_secs(ctx.config.store.dedup_ttl_secs).saturating_mul(1000),
            wake: tokio::sync::Notify::new(),
        })
    }

    pub fn scope(&self) -> &str {
        &self.peer.source
    }

    /// Sends one call through the peer (health, metrics).
    pub async fn send(&self, call: &Call) -> Result<Vec<Response>, ServiceError> {
        self.peer.call(self.service.call(call, crate::event::now_ms())).await
    }

    /// Until `stop`: queued recordings fetched, unacknowledged ones offered again.
    pub async fn housekeeping(&self, stop: CancellationToken) -> anyhow::Result<()> {
        loop {
            let results =
                [self.files.fetch_queued(self.cfg.max_file_bytes).await, self.files.reoffer_due().await.map(drop)];
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

    /// Runs `round` every its interval until `stop`; a failed round is logged and tried
    /// again at the next.
    pub async fn collect(&self, round: Round, stop: CancellationToken) -> anyhow::Result<()> {
        let (what, secs) = match round {
            Round::Cdrs => ("CDR collection", self.cfg.cdr_poll_secs),
            Round::Records => ("records collection", self.cfg.records_poll_secs),
        };
        loop {
            let done = match round {
                Round::Cdrs => self.collect_cdrs().await,
                Round::Records => self.collect_records().await,
            };
            match done {
                Err(RoundError::Store(StoreError::Closed)) => return Ok(()),
                Err(e) => {
                    log::warn!("{}: {what}: {e}", self.scope());
                    self.peer.note_error(&format!("{what}: {e}"));
                }
                Ok(()) => {}
            }
            tokio::select! {
                _ = stop.cancelled() => return Ok(()),
                _ = tokio::time::sleep(Duration::from_secs(secs)) => {}
            }
        }
    }

    /// getCdrList over the windows since the cursor, up to `now - cdr_lag_secs`, each
    /// window's CDRs committed with the cursor moved to its end. A window whose `total`
    /// says the platform held some back is halved and asked again, down to one second (the
    /// times' grain; getCdrList has no pages). One second that still holds more than a reply
    /// carries is committed with a `cdr.incomplete` alarm naming it: never skipped unsaid.
    async fn collect_cdrs(&self) -> Result<(), RoundError> {
        let scope = self.scope().to_string();
        let stored = self.store.call(move |db| CDR_CURSOR.get(db, &scope)).await?;
        let now = crate::event::now_ms() / 1000;
        let until = now.saturating_sub(self.cfg.cdr_lag_secs);
        let mut start = stored.unwrap_or_else(|| until.saturating_sub(self.cfg.cdr_lookback_secs));
        let mut window = self.cfg.cdr_window_secs;
        while start < until {
            let end = (start + window).min(until);
            let (cdrs, short) = self.cdr_window(start, end).await?;
            if !short.is_empty() && end - start > 1 {
                window = ((end - start) / 2).max(1);
                continue;
            }
            let offset = self.cfg.utc_offset_minutes;
            let alarm = (!short.is_empty()).then(|| {
                let data = json!({"startTime": cdr_time(start, offset), "endTime": cdr_time(end, offset),
                                  "service_types": short});
                let key = format!("{}/cdr-incomplete/{start}/{end}", self.scope());
                self.peer.event("cdr.incomplete", data, Class::Critical, Some(key))
            });
            if alarm.is_some() {
                log::error!("{}: getCdrList returns only part of the CDRs of {start}..{end}: {short:?}", self.scope());
            }
            self.commit_cdrs(cdrs, alarm, end).await?;
            start = end;
            // Grown back by doubling: a dense stretch is not halved down from the full
            // window again for every piece.
            window = window.saturating_mul(2).min(self.cfg.cdr_window_secs);
        }
        Ok(())
    }

    /// One window, every service type in one batched call; the service types whose reply
    /// held some back (`{"serviceType","total","returned"}`).
    async fn cdr_window(&self, start: u64, end: u64) -> Result<(Vec<Value>, Vec<Value>), RoundError> {
        let offset = self.cfg.utc_offset_minutes;
        let agents =
            if self.cfg.cdr_agents.is_empty() { vec![self.cfg.agent.clone()] } else { self.cfg.cdr_agents.clone() };
        let requests = self
            .cfg
            .cdr_service_types
            .iter()
            .map(|t| {
                let r = json!({"agent": agents, "serviceType": t.to_string(),
                    "startTime": cdr_time(start, offset), "endTime": cdr_time(end, offset)});
                r.as_object().cloned().unwrap_or_default()
            })
            .collect();
        let call = Call { api: Api::GetCdrList, agent: None, requests, batched: true };
        let mut all = Vec::new();
        let mut short = Vec::new();
        for (t, r) in self.cfg.cdr_service_types.iter().zip(self.send(&call).await?) {
            if r.error != 0 {
                return Err(RoundError::Refused(format!("getCdrList serviceType {t}: error {} {}", r.error, r.msg)));
            }
            let list = r.list(CDR_ALIASES);
            if let Some(total) = r.fields.get("total").and_then(u64_of).filter(|total| *total > list.len() as u64) {
                short.push(json!({"serviceType": t, "total": total, "returned": list.len()}));
            }
            all.extend(list);
        }
        Ok((all, short))
    }

    async fn commit_cdrs(
        &self,
        cdrs: Vec<Value>,
        alarm: Option<crate::store::OutboxItem>,
        end: u64,
    ) -> Result<(), StoreError> {
        let scope = self.scope().to_string();
        let mut events: Vec<_> = cdrs
            .into_iter()
            .map(|c| {
                let key = key_of(&c);
                let dedup = (!key.is_empty()).then(|| format!("{scope}/cdr/{key}"));
                self.peer.event("cdr.record", c, Class::Critical, dedup)
            })
            .collect();
        events.extend(alarm);
        self.store
            .call(move |db| {
                for e in &events {
                    db.enqueue(e)?;
                }
                CDR_CURSOR.put(db, &scope, &end)
            })
            .await
    }

    /// getRecordsList from the cursor's key, page by page until a page brings nothing new;
    /// each page's records (and their recordings' fetches) committed with the cursor.
    async fn collect_records(&self) -> Result<(), RoundError> {
        let scope = self.scope().to_string();
        let mut cursor = self.store.call(move |db| RECORDS_CURSOR.get(db, &scope)).await?.unwrap_or_else(|| "0".into());
        loop {
            let mut req = Map::new();
            req.insert("startKey".into(), json!(cursor));
            let call = super::service::single(Api::GetRecordsList, None, req);
            let r = self.send(&call).await?.into_iter().next().ok_or(RoundError::Refused("no response".into()))?;
            if r.error != 0 {
                return Err(RoundError::Refused(format!("getRecordsList: error {} {}", r.error, r.msg)));
            }
            // startKey may be inclusive (inferred::RECORDS_PAGE_HINT): only keys beyond it.
            let fresh: Vec<Value> =
                r.list(&["record"]).into_iter().filter(|rec| key_after(&key_of(rec), &cursor)).collect();
            let Some(last) = fresh.iter().map(key_of).max_by(key_order) else { return Ok(()) };
            self.commit_records(fresh, last.clone()).await?;
            cursor = last;
        }
    }

    async fn commit_records(&self, records: Vec<Value>, last: String) -> Result<(), StoreError> {
        let scope = self.scope().to_string();
        let fetch = self.cfg.fetch_recordings;
        // Each record: its key, its event, and the recording's URL when it names a file.
        let items: Vec<(String, _, Option<(String, Value)>)> = records
            .into_iter()
            .map(|mut rec| {
                let key = key_of(&rec);
                let url = rec
                    .get("filename")
                    .and_then(text_of)
                    .filter(|f| !f.is_empty())
                    .map(|f| self.service.recording_url(&f));
                if let (Some(url), Value::Object(m)) = (&url, &mut rec) {
                    m.insert("url".into(), json!(url));
                }
                let dedup = Some(format!("{scope}/record/{key}"));
                let fetch = url.filter(|_| fetch).map(|u| (u, rec.clone()));
                (key, self.peer.event("recording.listed", rec, Class::Critical, dedup), fetch)
            })
            .collect();
        let queued = self
            .store
            .call(move |db| {
                let mut queued = false;
                for (key, event, fetch) in items {
                    let first = db.enqueue(&event)?;
                    if let (Some((url, meta)), crate::store::Enqueued::Stored(_)) = (fetch, first) {
                        crate::connectors::files::fetch::queue(db, &scope, &key, url, meta)?;
                        queued = true;
                    }
                }
                RECORDS_CURSOR.put(db, &scope, &last)?;
                Ok(queued)
            })
            .await?;
        if queued {
            self.wake.notify_one();
        }
        Ok(())
    }
}

/// A collection ([`Driver::collect`]).
#[derive(Debug, Clone, Copy)]
pub enum Round {
    Cdrs,
    Records,
}

/// getCdrList's time form ([`super::protocol::inferred::CDR_TIME_FORMAT`]).
pub fn cdr_time(epoch_secs: u64, offset_minutes: i32) -> String {
    let local = epoch_secs as i64 + i64::from(offset_minutes) * 60;
    let iso = crate::event::format_rfc3339_ms(u64::try_from(local).unwrap_or(0) * 1000);
    iso[..19].replace('T', " ")
}

fn key_of(record: &Value) -> String {
    record.get("key").and_then(text_of).unwrap_or_default()
}

/// Keys are ids: compared as numbers when both are, else as text.
fn key_order(a: &String, b: &String) -> std::cmp::Ordering {
    match (a.parse::<u64>(), b.parse::<u64>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        _ => a.cmp(b),
    }
}

fn key_after(key: &String, cursor: &String) -> bool {
    !key.is_empty() && key_order(key, cursor) == std::cmp::Ordering::Greater
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cdr_windows_are_written_in_the_platforms_local_time() {
        assert_eq!(cdr_time(1_536_561_560, 480), "2018-09-10 14:39:20");
        assert_eq!(cdr_time(0, 0), "1970-01-01 00:00:00");
    }

    #[test]
    fn record_keys_compare_as_numbers() {
        assert!(key_after(&"10".to_string(), &"9".to_string()));
        assert!(!key_after(&"9".to_string(), &"9".to_string()));
        assert!(!key_after(&String::new(), &"0".to_string()));
    }
}
