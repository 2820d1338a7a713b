//! One gateway's driver at run time: the device client plus what the agent keeps about
//! it (push secret, tid counter, poll cursor, task progress, health), the background loop
//! (status subscription, SMS poll fallback, stats), and the events it raises.
//!
//! What it keeps in the store is in [`super::state`]; every change there commits together
//! with the events it produces, so a crash leaves both or neither.

use super::device::{Device, DeviceError};
use super::protocol::push::OddRow;
use super::protocol::reply;
use super::protocol::request::Call;
use super::protocol::sms::ReceivedSms;
use super::protocol::status::Seen;
use super::state::{self, Cursor};
use crate::config::GoipConfig;
use crate::connectors::{Classify, Ctx, ErrorClass, Peer, PeerName};
use crate::event::{Class, random_hex};
use crate::schedule::{Job, run_jobs};
use crate::store::{OutboxItem, Store, StoreError};
use hyper::body::Bytes;
use serde_json::{Value, json};
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

impl Classify for DriverError {
    fn class(&self) -> ErrorClass {
        match self {
            DriverError::Device(e) => e.class(),
            DriverError::Store(e) => e.class(),
        }
    }
}

impl From<reply::ReplyError> for DriverError {
    fn from(e: reply::ReplyError) -> Self {
        DriverError::Device(DeviceError::Reply(e))
    }
}

/// One configured gateway.
pub struct Driver {
    pub name: String,
    /// `goip/{name}`: event source, command target, health key and kv scope.
    pub source: String,
    pub cfg: GoipConfig,
    pub device: Device,
    pub store: Store,
    /// Health, metrics, retries and events of the gateway.
    pub peer: Peer,
    /// The secret path segment the device must push to.
    pub secret: String,
    /// `{base}/goip/{name}/{secret}`; pushes go to `/status`, `/sr` and `/sms` below it.
    pub push_url: String,
    /// The device refused `op=set sms_url` at the last subscription (warned once a change).
    sms_url_refused: std::sync::atomic::AtomicBool,
    /// What was seen of the ports (see [`Seen`]); one push steps it at a time.
    pub(super) seen: tokio::sync::Mutex<Seen>,
}

impl Driver {
    /// Builds the driver; the push secret is the configured one or one generated and kept.
    pub async fn new(cfg: &GoipConfig, ctx: &Ctx) -> anyhow::Result<Driver> {
        let name = PeerName { kind: "goip", label: "device", name: cfg.name.clone() };
        let peer = Peer::new(ctx, name, Duration::from_secs(cfg.command_retry_secs));
        let (source, store, listen) = (peer.source.clone(), ctx.store.clone(), &ctx.config.http.listen);
        let secret = if cfg.push_secret.is_empty() {
            let scope = source.clone();
            store.call(move |db| state::push_secret(db, &scope, random_hex::<12>)).await?
        } else {
            cfg.push_secret.expose().to_string()
        };
        crate::scrub::add(&secret);
        if secret.len() < crate::scrub::MIN_LEN {
            log::warn!(
                "{source}: push_secret is shorter than {} characters: it is not masked where echoed",
                crate::scrub::MIN_LEN
            );
        }
        let push_url = format!("{}/goip/{}/{}", cfg.push_base(listen), cfg.name, secret);
        Ok(Driver {
            name: cfg.name.clone(),
            source,
            cfg: cfg.clone(),
            device: Device::new(cfg)?,
            store,
            peer,
            secret,
            push_url,
            seen: tokio::sync::Mutex::new(Seen::default()),
            sms_url_refused: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// An event from this device.
    pub fn event(&self, kind: &str, data: Value, class: Class, dedup_key: Option<String>) -> OutboxItem {
        self.peer.event(kind, data, class, dedup_key)
    }

    /// Sends a call, recording the device's health (and raising down/up events).
    pub async fn call(&self, call: &Call) -> Result<Bytes, DeviceError> {
        self.peer.call(self.device.call(call)).await
    }

    /// Sends a call, retrying an unreachable device for up to `command_retry_secs`.
    pub async fn call_retrying(&self, call: &Call) -> Result<Bytes, DeviceError> {
        self.peer.retrying(|| self.call(call)).await
    }

    /// Sends a call that must not be repeated once it may have reached the device (a
    /// reboot): retried only while nothing was sent (see [`Peer::retrying_unsent`]).
    pub async fn call_unrepeated(&self, call: &Call) -> Result<Bytes, DeviceError> {
        self.peer.retrying_unsent(|| self.call(call)).await
    }

    /// Asks the device to push its status here (`period` 0 cancels).
    pub async fn subscribe(&self) -> Result<(), DriverError> {
        let url = format!("{}/status", self.push_url);
        let body = self.call(&Call::GetStatus { url, period: self.cfg.status_period_secs, all_sims: false }).await?;
        reply::parse_ok(&body)?;
        // Received SMS are pushed to `sms_url`; sends set it too, but a receive-only
        // device would otherwise never push. Older firmware may refuse `op=set`: then
        // the poll fallback carries the messages, and the refusal is shown (a warning
        // once, and the device's last error in `agent.status`).
        let params =
            vec![("op".to_string(), "set".to_string()), ("sms_url".to_string(), format!("{}/sms", self.push_url))];
        let set = Call::SendCmd { body: None, params };
        let refused = match self.call(&set).await.map(|b| reply::parse_ok(&b).map(|_| ())) {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e),
            Err(e) => return Err(e.into()),
        };
        let was = self.sms_url_refused.swap(refused.is_some(), std::sync::atomic::Ordering::SeqCst);
        if let Some(e) = refused.filter(|_| !was) {
            let why = format!("the device refused sms_url ({e}): received SMS come only by polling");
            log::warn!("{}: {why}", self.source);
            self.peer.note_error(&why);
        }
        Ok(())
    }

    /// Reads received SMS the device holds past the persisted cursor; returns how many
    /// were new or already known (push and poll de-duplicate by key).
    pub async fn poll_sms(&self) -> Result<usize, DriverError> {
        let scope = self.source.clone();
        let Cursor { mut ssrc, mut next } = self.store.call(move |db| state::cursor(db, &scope)).await?;
        next = next.max(1);
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
            let count = page.messages.len() + page.odd.len();
            let mut items: Vec<OutboxItem> =
                page.messages.iter().map(|m| self.sms_event(m, "poll", &Default::default())).collect();
            items.extend(self.odd_events("recv-sms", &page.odd));
            let (scope, ssrc2, new_next) = (self.source.clone(), ssrc.clone(), page.next_sms.max(next));
            self.store
                .call(move |db| {
                    for item in &items {
                        db.enqueue(item)?;
                    }
                    state::save_cursor(db, &scope, Cursor { ssrc: ssrc2, next: new_next })
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

    /// `push.unreadable_row` for each row the agent could not read: relayed as the device
    /// sent it, with the reason, keyed so that push and poll of the same row make one event.
    pub fn odd_events(&self, push: &str, rows: &[OddRow]) -> Vec<OutboxItem> {
        rows.iter()
            .map(|o| {
                log::warn!("{}: unreadable {push} row ({}): relayed as sent", self.source, o.reason);
                let row = o.row.to_string();
                let dedup = format!("goip:{}:odd:{}:{}", self.name, o.part, super::protocol::crypto::md5_hex(&[&row]));
                let data = json!({"push": push, "part": o.part, "row": o.row, "reason": o.reason});
                self.event("push.unreadable_row", data, Class::Critical, Some(dedup))
            })
            .collect()
    }

    /// The event for a received SMS or delivery report (keyed for push/poll de-duplication),
    /// with `extra`: the other fields of the push or page it came in.
    pub fn sms_event(&self, sms: &ReceivedSms, via: &str, extra: &serde_json::Map<String, Value>) -> OutboxItem {
        let kind = if sms.is_report { "sms.report" } else { "sms.received" };
        let mut data = serde_json::to_value(sms).unwrap_or_default();
        data["via"] = json!(via);
        let mut e = crate::event::NewEvent::new(self.source.clone(), kind, data, Class::Critical);
        e.dedup_key = Some(sms.dedup_key(&self.name));
        e.extra = extra.clone();
        OutboxItem::from_event(&e, &self.peer.agent)
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
    /// device is retried with the schedule's back-off. (`device.poll_now` polls from the
    /// command itself; both are serialised per device by the device client.)
    pub async fn run(&self, stop: CancellationToken) -> Result<(), DriverError> {
        let secs = Duration::from_secs;
        let stats_every = secs(self.cfg.stats_secs);
        let jobs = [
            Job::new("subscribe", secs(self.cfg.resubscribe_secs), Duration::ZERO, || self.subscribe()),
            Job::new("poll", secs(self.cfg.poll_sms_secs), Duration::ZERO, || async {
                let n = self.poll_sms().await?;
                log::debug!("{}: poll read {n} message(s)", self.source);
                Ok(())
            }),
            Job::new("stats", stats_every, stats_every, || self.stats_snapshot()),
        ];
        run_jobs(&self.peer, &jobs, None, &stop).await
    }
}
