//! One gateway's driver at run time: the device client plus what the agent keeps about
//! it (push secret, tid counter, poll cursor, task progress, health), the background loop
//! (status subscription, SMS poll fallback, stats), and the events it raises.
//!
//! Kept in the store's `kv` under scope `goip/{name}`: `push_secret`, `next_tid`,
//! `cmd/{cmd_id}/{i}` → tid, `tid/{tid}` → cmd id, `task/{tid}` → accumulated progress,
//! `cursor` → `{"ssrc","next"}`. Every change to them commits together with the events it
//! produces, so a crash leaves both or neither.

use super::device::{Device, DeviceError};
use super::protocol::reply;
use super::protocol::request::Call;
use super::protocol::sms::ReceivedSms;
use crate::config::GoipConfig;
use crate::event::{Class, NewEvent, random_hex};
use crate::health::{Health, State};
use crate::metrics::Metrics;
use crate::schedule::Schedule;
use crate::store::{Db, OutboxItem, Store, StoreError};
use hyper::body::Bytes;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Poll pages read in one round, at most (a backlog is read over several rounds).
const MAX_PAGES: usize = 50;
/// Messages asked for per poll page.
const PAGE_SIZE: u32 = 100;

/// Why a driver operation failed.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error(transparent)]
    Device(#[from] DeviceError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<reply::ReplyError> for DriverError {
    fn from(e: reply::ReplyError) -> Self {
        DriverError::Device(DeviceError::Reply(e))
    }
}

/// What the driver last saw of the device (memory only; a restart starts afresh).
#[derive(Debug, Default)]
pub(super) struct Observed {
    pub ports: BTreeMap<super::protocol::ports::Port, u16>,
    pub last_status_ms: u64,
}

/// One configured gateway.
pub struct Driver {
    pub name: String,
    /// `goip/{name}`: event source, command target, health key and kv scope.
    pub source: String,
    pub agent: String,
    pub cfg: GoipConfig,
    pub device: Device,
    pub store: Store,
    pub health: Health,
    pub metrics: Metrics,
    /// The secret path segment the device must push to.
    pub secret: String,
    /// `{base}/goip/{name}/{secret}`; pushes go to `/status`, `/sr` and `/sms` below it.
    pub push_url: String,
    pub(super) observed: Mutex<Observed>,
    /// Whether the last event raised was `device.down`.
    was_down: Mutex<bool>,
}

impl Driver {
    /// Builds the driver; the push secret is the configured one or one generated and kept.
    pub async fn new(
        cfg: &GoipConfig,
        agent: &str,
        listen: &str,
        store: Store,
        health: Health,
        metrics: Metrics,
    ) -> anyhow::Result<Driver> {
        let source = format!("goip/{}", cfg.name);
        let secret = if cfg.push_secret.is_empty() {
            let scope = source.clone();
            store
                .call(move |db| {
                    if let Some(v) = db.kv_get(&scope, "push_secret")? {
                        return Ok(String::from_utf8_lossy(&v).into_owned());
                    }
                    let s = random_hex::<12>();
                    db.kv_put(&scope, "push_secret", s.as_bytes())?;
                    Ok(s)
                })
                .await?
        } else {
            cfg.push_secret.expose().to_string()
        };
        let push_url = format!("{}/goip/{}/{}", cfg.push_base(listen), cfg.name, secret);
        health.set(&source, State::Starting, None);
        Ok(Driver {
            name: cfg.name.clone(),
            source,
            agent: agent.to_string(),
            cfg: cfg.clone(),
            device: Device::new(cfg)?,
            store,
            health,
            metrics,
            secret,
            push_url,
            observed: Mutex::new(Observed::default()),
            was_down: Mutex::new(false),
        })
    }

    /// An event from this device.
    pub fn event(&self, kind: &str, data: Value, class: Class, dedup_key: Option<String>) -> OutboxItem {
        let mut e = NewEvent::new(self.source.clone(), kind, data, class);
        e.dedup_key = dedup_key;
        OutboxItem::from_event(&e, &self.agent)
    }

    /// Sends a call, recording the device's health (and raising down/up events).
    pub async fn call(&self, call: &Call) -> Result<Bytes, DeviceError> {
        let result = self.device.call(call).await;
        self.metrics.inc(&format!("telbridge_goip_requests_total{{device=\"{}\"}}", self.name));
        match &result {
            Ok(_) => self.mark(true, None).await,
            Err(e) if e.is_transient() || matches!(e, DeviceError::Auth(_)) => {
                self.metrics.inc(&format!("telbridge_goip_request_errors_total{{device=\"{}\"}}", self.name));
                self.mark(false, Some(e.to_string())).await
            }
            Err(_) => {}
        }
        result
    }

    /// Sends a call, retrying an unreachable device for up to `command_retry_secs`.
    pub async fn call_retrying(&self, call: &Call) -> Result<Bytes, DeviceError> {
        crate::schedule::retrying(
            self.cfg.command_retry_secs,
            &self.source,
            || self.call(call),
            DeviceError::is_transient,
        )
        .await
    }

    async fn mark(&self, up: bool, error: Option<String>) {
        let event = |kind: &str, data| self.event(kind, data, Class::Critical, None);
        self.health.mark(&self.source, up, error, &self.was_down, &self.store, event).await
    }

    /// Asks the device to push its status here (`period` 0 cancels).
    pub async fn subscribe(&self) -> Result<(), DriverError> {
        let url = format!("{}/status", self.push_url);
        let body = self.call(&Call::GetStatus { url, period: self.cfg.status_period_secs, all_sims: false }).await?;
        reply::parse_ok(&body)?;
        // Received SMS are pushed to `sms_url`; sends set it too, but a receive-only
        // device would otherwise never push. Older firmware may refuse `op=set`: then
        // the poll fallback carries the messages.
        let params =
            vec![("op".to_string(), "set".to_string()), ("sms_url".to_string(), format!("{}/sms", self.push_url))];
        let set = Call::SendCmd { body: json!({"type": "command", "op": "set"}), params };
        match self.call(&set).await.map(|b| reply::parse_ok(&b).map(|_| ())) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => log::debug!("{}: device did not take sms_url: {e}", self.source),
            Err(e) => return Err(e.into()),
        }
        Ok(())
    }

    /// Reads received SMS the device holds past the persisted cursor; returns how many
    /// were new or already known (push and poll de-duplicate by key).
    pub async fn poll_sms(&self) -> Result<usize, DriverError> {
        let scope = self.source.clone();
        let cursor = self.store.call(move |db| load_cursor(db, &scope)).await?;
        let (mut ssrc, mut next) = cursor;
        let mut seen = 0;
        for _ in 0..MAX_PAGES {
            let body = self.call(&Call::GetSms { sms_id: next, sms_num: PAGE_SIZE, sms_del: false }).await?;
            let page = reply::parse_sms_page(&body)?;
            if !ssrc.is_empty() && page.ssrc != ssrc && next != 1 {
                log::info!(
                    "{}: ssrc changed ({ssrc} → {}): the device rebooted; reading from 1",
                    self.source,
                    page.ssrc
                );
                ssrc = page.ssrc;
                next = 1;
                continue;
            }
            ssrc = page.ssrc.clone();
            let count = page.messages.len();
            let items: Vec<OutboxItem> = page.messages.iter().map(|m| self.sms_event(m, "poll")).collect();
            let (scope, ssrc2, new_next) = (self.source.clone(), ssrc.clone(), page.next_sms.max(next));
            self.store
                .call(move |db| {
                    for item in &items {
                        db.enqueue(item)?;
                    }
                    let cursor = json!({"ssrc": ssrc2, "next": new_next}).to_string();
                    db.kv_put(&scope, "cursor", cursor.as_bytes())
                })
                .await?;
            seen += count;
            if count == 0 || page.next_sms <= next {
                break;
            }
            next = page.next_sms;
        }
        Ok(seen)
    }

    /// The event for a received SMS or delivery report (keyed for push/poll de-duplication).
    pub fn sms_event(&self, sms: &ReceivedSms, via: &str) -> OutboxItem {
        let kind = if sms.is_report { "sms.report" } else { "sms.received" };
        let mut data = serde_json::to_value(sms).unwrap_or_default();
        data["via"] = json!(via);
        self.event(kind, data, Class::Critical, Some(sms.dedup_key(&self.name)))
    }

    /// Reads SMS statistics and records a snapshot.
    pub async fn stats_snapshot(&self) -> Result<(), DriverError> {
        let body = self.call(&Call::GetSmsStat { ports: "all".into(), slots: "all".into(), period: 0 }).await?;
        let stats = reply::parse_stats(&body)?;
        let item = self.event("stats.sms", json!({"period": 0, "stats": stats}), Class::Telemetry, None);
        self.store.enqueue(vec![item]).await?;
        Ok(())
    }

    /// The background loop: subscribe, poll, stats, each on its interval; an unreachable
    /// device is retried with exponential back-off. (`device.poll_now` polls from the
    /// command itself; both are serialised per device by the device client.)
    pub async fn run(self: std::sync::Arc<Self>, stop: CancellationToken) {
        let now = tokio::time::Instant::now;
        let secs = Duration::from_secs;
        let stats_every = secs(self.cfg.stats_secs);
        let jobs = [
            (secs(self.cfg.resubscribe_secs), Duration::ZERO),
            (secs(self.cfg.poll_sms_secs), Duration::ZERO),
            (stats_every, stats_every),
        ];
        let mut schedule = Schedule::new(now(), &jobs);
        loop {
            let wake = schedule.wake().unwrap_or_else(|| now() + secs(3600));
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep_until(wake) => {}
            }
            let mut failed: Option<DriverError> = None;
            if schedule.due(0, now()) {
                match self.subscribe().await {
                    Ok(()) => schedule.done(0, now()),
                    Err(e) => failed = Some(e),
                }
            }
            if failed.is_none() && schedule.due(1, now()) {
                match self.poll_sms().await {
                    Ok(n) => {
                        log::debug!("{}: poll read {n} message(s)", self.source);
                        schedule.done(1, now());
                    }
                    Err(e) => failed = Some(e),
                }
            }
            if failed.is_none() && schedule.due(2, now()) {
                match self.stats_snapshot().await {
                    Ok(()) => schedule.done(2, now()),
                    Err(e) => failed = Some(e),
                }
            }
            let wait = schedule.ended(failed.is_none(), now());
            if let Some(e) = failed {
                log::debug!("{}: {e}; next try in {wait:?}", self.source);
            }
        }
    }
}

/// The poll cursor: the device's `ssrc` and the next `sms_id` (1 when none yet).
fn load_cursor(db: &mut Db<'_>, scope: &str) -> Result<(String, u64), StoreError> {
    let Some(raw) = db.kv_get(scope, "cursor")? else { return Ok((String::new(), 1)) };
    let v: Value = serde_json::from_slice(&raw).unwrap_or_default();
    let ssrc = v["ssrc"].as_str().unwrap_or_default().to_string();
    Ok((ssrc, v["next"].as_u64().unwrap_or(1).max(1)))
}
