//! One fax server's driver at run time: the session client plus what the agent keeps
//! about the server, its health, the events it raises, and the background loop
//! (outbound tracking, inbox polling, acknowledged deletes, re-offers and uploads).
//!
//! State lives in the store: `fax_out` (faxes tracked until final), `fax_in` (received
//! faxes, the inbox's de-duplication record and the spool), and `kv` under scope
//! `wavefax/{name}`: `in_hwm` (the inbox high-water mark) and `cmd/{cmd_id}` (the steps of
//! a `fax.send`). Every change commits together with the events it produces.

use super::protocol::reply::ReplyError;
use super::protocol::request::Call;
use super::server::{Credentials, Server, ServerError};
use crate::config::WavefaxConfig;
use crate::event::{Class, NewEvent, now_ms};
use crate::health::{Health, State};
use crate::metrics::Metrics;
use crate::schedule::Schedule;
use crate::store::{OutboxItem, Store, StoreError};
use serde_json::{Map, Value};
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Why a driver operation failed.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error(transparent)]
    Server(#[from] ServerError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A `fax.send` document could not be had or was not what the cloud said.
    #[error("{0}")]
    Document(String),
    /// The submit was sent and no answer came back: the server may have the fax.
    #[error("{0}")]
    SubmitUncertain(String),
}

impl From<ReplyError> for DriverError {
    fn from(e: ReplyError) -> Self {
        DriverError::Server(ServerError::Reply(e))
    }
}

impl DriverError {
    /// Retrying later may help: the server (or the store) is not available now.
    pub fn is_transient(&self) -> bool {
        match self {
            DriverError::Server(e) => e.is_transient(),
            DriverError::Store(e) => matches!(e, StoreError::Full),
            DriverError::Document(_) | DriverError::SubmitUncertain(_) => false,
        }
    }

    pub fn is_unknown_fax(&self) -> bool {
        matches!(self, DriverError::Server(e) if e.is_unknown_fax())
    }
}

/// One configured fax server.
pub struct Driver {
    pub name: String,
    /// `wavefax/{name}`: event source, command target, health key and kv scope.
    pub source: String,
    pub agent: String,
    pub cfg: WavefaxConfig,
    pub server: Server,
    pub store: Store,
    pub health: Health,
    pub metrics: Metrics,
    was_down: Mutex<bool>,
    /// The spool was full at the last look (an event is raised on each change).
    pub(super) spool_full: Mutex<bool>,
    /// One inbox or outbound round at a time (the loop and `fax.poll_now`): never two
    /// re-offers of a file, never two polls racing over the same fax.
    pub(super) rounds: tokio::sync::Mutex<()>,
    /// Rounds in which a received fax could not be read, by fax id.
    pub(super) fetch_failures: Mutex<std::collections::HashMap<String, u32>>,
    wake: Notify,
}

impl Driver {
    pub fn new(
        cfg: &WavefaxConfig,
        agent: &str,
        store: Store,
        health: Health,
        metrics: Metrics,
    ) -> anyhow::Result<Driver> {
        let source = format!("wavefax/{}", cfg.name);
        let creds = Credentials {
            user: cfg.user.clone(),
            domain: cfg.domain_login,
            password: cfg.password.expose().to_string(),
        };
        let server =
            Server::new(&cfg.url, creds, Duration::from_millis(cfg.timeout_ms))?.with_ca_file(&cfg.tls_ca_file);
        health.set(&source, State::Starting, None);
        Ok(Driver {
            name: cfg.name.clone(),
            source,
            agent: agent.to_string(),
            cfg: cfg.clone(),
            server,
            store,
            health,
            metrics,
            was_down: Mutex::new(false),
            spool_full: Mutex::new(false),
            rounds: tokio::sync::Mutex::new(()),
            fetch_failures: Mutex::default(),
            wake: Notify::new(),
        })
    }

    /// An event from this server (critical: faxes, their files and states are never dropped).
    pub fn event(&self, kind: &str, data: Value) -> OutboxItem {
        OutboxItem::from_event(&NewEvent::new(self.source.clone(), kind, data, Class::Critical), &self.agent)
    }

    /// The server's local time now, as seconds on its clock.
    pub fn now_local(&self) -> i64 {
        (now_ms() / 1000) as i64 + i64::from(self.cfg.utc_offset_minutes) * 60
    }

    /// Sends a call in the session, recording the server's health (and raising down/up).
    pub async fn call(&self, call: &Call) -> Result<Map<String, Value>, ServerError> {
        let result = self.server.call(call).await;
        self.metrics.inc(&format!("telbridge_wavefax_requests_total{{server=\"{}\"}}", self.name));
        match &result {
            Ok(_) | Err(ServerError::Reply(ReplyError::Server { .. })) => self.mark(true, None).await,
            Err(e) => {
                self.metrics.inc(&format!("telbridge_wavefax_request_errors_total{{server=\"{}\"}}", self.name));
                if e.is_transient() || matches!(e, ServerError::Credentials(_)) {
                    self.mark(false, Some(e.to_string())).await
                }
            }
        }
        result
    }

    /// Sends a call, retrying an unreachable server for up to `command_retry_secs`.
    pub async fn call_retrying(&self, call: &Call) -> Result<Map<String, Value>, ServerError> {
        crate::schedule::retrying(
            self.cfg.command_retry_secs,
            &self.source,
            || self.call(call),
            ServerError::is_transient,
        )
        .await
    }

    async fn mark(&self, up: bool, error: Option<String>) {
        self.health.mark(&self.source, up, error, &self.was_down, &self.store, |k, d| self.event(k, d)).await
    }

    /// Asks the background loop to poll now.
    pub fn poll_soon(&self) {
        self.wake.notify_one();
    }

    /// The background loop: outbound tracking every `poll_out_secs`, the inbox (with
    /// deletes, re-offers and uploads) every `poll_in_secs`; an unreachable server is
    /// retried with the schedule's back-off.
    pub async fn run(self: std::sync::Arc<Self>, stop: CancellationToken) {
        let now = tokio::time::Instant::now;
        let secs = Duration::from_secs;
        let jobs = [(secs(self.cfg.poll_out_secs), Duration::ZERO), (secs(self.cfg.poll_in_secs), Duration::ZERO)];
        let mut schedule = Schedule::new(now(), &jobs);
        loop {
            let wake = schedule.wake().unwrap_or_else(|| now() + secs(3600));
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep_until(wake) => {}
                _ = self.wake.notified() => schedule.all_due(now()),
            }
            let mut failed: Option<DriverError> = None;
            if schedule.due(0, now()) {
                match self.poll_outbound().await {
                    Ok(_) => schedule.done(0, now()),
                    Err(e) => failed = Some(e),
                }
            }
            if failed.is_none() && schedule.due(1, now()) {
                match self.inbox_round().await {
                    Ok(_) => schedule.done(1, now()),
                    Err(e) => failed = Some(e),
                }
            }
            let wait = schedule.ended(failed.is_none(), now());
            if let Some(e) = failed {
                log::debug!("{}: {e}; next try in {wait:?}", self.source);
            }
        }
    }

    /// One inbox round: acknowledged deletes, re-offers and uploads, then new faxes.
    pub async fn inbox_round(&self) -> Result<usize, DriverError> {
        let _round = self.rounds.lock().await;
        self.finish_acked().await?;
        self.reoffer_due().await?;
        self.poll_inbox().await
    }
}
