//! One fax server's driver at run time: the session client plus what the agent keeps
//! about the server, its health, the events it raises, and the background loop
//! (outbound tracking, inbox polling, acknowledged deletes, re-offers and uploads).
//!
//! State lives in the store ([`super::state`]: tracked outbound faxes, send steps, the
//! inbox's high-water mark) and in the shared file spool (received faxes, which is also the
//! inbox's de-duplication record). Every change commits together with the events it produces.

use super::protocol::reply::ReplyError;
use super::protocol::request::Call;
use super::server::{Credentials, Server, ServerError};
use crate::config::WavefaxConfig;
use crate::connectors::files::{FileRelay, Names, file_settings};
use crate::connectors::{Classify, Ctx, ErrorClass, Peer, PeerName};
use crate::event::{Class, now_ms};
use crate::schedule::{Job, run_jobs};
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
    /// The server refused the submit (kept with the steps: a resumed send answers the same).
    #[error("refused: {0}")]
    Refused(String),
    /// A submit whose answer was lost is not listed on the server (yet): looked for again.
    #[error("the submitted job is not listed on the server yet")]
    NotListedYet,
}

impl From<ReplyError> for DriverError {
    fn from(e: ReplyError) -> Self {
        DriverError::Server(ServerError::Reply(e))
    }
}

impl Classify for DriverError {
    fn class(&self) -> ErrorClass {
        match self {
            DriverError::Server(e) => e.class(),
            DriverError::Store(e) => e.class(),
            // Final answers about the cloud's request: never retried, no word on the server.
            DriverError::Document(_) | DriverError::SubmitUncertain(_) | DriverError::Refused(_) => ErrorClass::Refused,
            // Looked for again while the command's window lasts.
            DriverError::NotListedYet => ErrorClass::Transient,
        }
    }
}

impl DriverError {
    /// Retrying later may help: the server (or the store) is not available now.
    pub fn is_transient(&self) -> bool {
        self.class() == ErrorClass::Transient
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
    pub cfg: WavefaxConfig,
    pub server: Server,
    pub store: Store,
    /// Health, metrics, retries and events of the server.
    pub peer: Peer,
    /// Received files: spool, chunks, acknowledgements, re-offers, uploads.
    pub(super) files: FileRelay,
    /// One inbox or outbound round at a time (the loop and `fax.poll_now`): never two
    /// re-offers of a file, never two polls racing over the same fax.
    pub(super) rounds: tokio::sync::Mutex<()>,
    /// Rounds in which a received fax could not be read, by fax id.
    pub(super) fetch_failures: Mutex<std::collections::HashMap<String, u32>>,
    /// Tracked outbound faxes the server could not show, with why (warned once each).
    pub(super) unreadable: Mutex<std::collections::HashMap<String, String>>,
    wake: Notify,
}

impl Driver {
    pub fn new(cfg: &WavefaxConfig, ctx: &Ctx) -> anyhow::Result<Driver> {
        let name = PeerName { kind: "wavefax", label: "server", name: cfg.name.clone() };
        let peer = Peer::new(ctx, name, Duration::from_secs(cfg.command_retry_secs));
        let store = ctx.store.clone();
        let creds = Credentials {
            user: cfg.user.clone(),
            domain: cfg.domain_login,
            password: cfg.password.expose().to_string(),
        };
        let server =
            Server::new(&cfg.url, creds, Duration::from_millis(cfg.timeout_ms))?.with_ca_file(&cfg.tls_ca_file);
        let names = Names {
            announce: "fax.received",
            chunk: "fax.file",
            uploaded: "fax.file.uploaded",
            item_key: "fax_id",
            item_header: "X-Telbridge-Fax-Id",
        };
        let settings = file_settings!(cfg, follow_up: cfg.delete_after_ack);
        let files = FileRelay::new(&peer, names, settings, store.clone(), server.internet_client());
        Ok(Driver {
            name: cfg.name.clone(),
            source: peer.source.clone(),
            cfg: cfg.clone(),
            server,
            store,
            peer,
            files,
            rounds: tokio::sync::Mutex::new(()),
            fetch_failures: Mutex::default(),
            unreadable: Mutex::default(),
            wake: Notify::new(),
        })
    }

    /// An event from this server (critical: faxes, their files and states are never dropped).
    pub fn event(&self, kind: &str, data: Value) -> OutboxItem {
        self.peer.event(kind, data, Class::Critical, None)
    }

    /// The server's local time now, as seconds on its clock.
    pub fn now_local(&self) -> i64 {
        (now_ms() / 1000) as i64 + i64::from(self.cfg.utc_offset_minutes) * 60
    }

    /// Sends a call in the session, recording the server's health (and raising down/up).
    pub async fn call(&self, call: &Call) -> Result<Map<String, Value>, ServerError> {
        self.peer.call(self.server.call(call)).await
    }

    /// Sends a call, retrying an unreachable server for up to `command_retry_secs`.
    pub async fn call_retrying(&self, call: &Call) -> Result<Map<String, Value>, ServerError> {
        self.peer.retrying(|| self.call(call)).await
    }

    /// Sends a call that must not be repeated once it may have reached the server (a resend
    /// dials again): retried only while nothing was sent (see
    /// [`crate::connectors::peer::Peer::retrying_unsent`]).
    pub async fn call_unrepeated(&self, call: &Call) -> Result<Map<String, Value>, ServerError> {
        self.peer.retrying_unsent(|| self.call(call)).await
    }

    /// Asks the background loop to poll now.
    pub fn poll_soon(&self) {
        self.wake.notify_one();
    }

    /// The background loop: outbound tracking every `poll_out_secs`, the inbox (with
    /// deletes, re-offers and uploads) every `poll_in_secs`; an unreachable server is
    /// retried with the schedule's back-off.
    pub async fn run(&self, stop: CancellationToken) -> Result<(), DriverError> {
        let secs = Duration::from_secs;
        let jobs = [
            Job::new("outbound", secs(self.cfg.poll_out_secs), Duration::ZERO, || async {
                self.poll_outbound().await.map(drop)
            }),
            Job::new("inbox", secs(self.cfg.poll_in_secs), Duration::ZERO, || async {
                self.inbox_round().await.map(drop)
            }),
        ];
        run_jobs(&self.peer, &jobs, Some(&self.wake), &stop).await
    }

    /// One inbox round: acknowledged deletes, re-offers and uploads, then new faxes.
    pub async fn inbox_round(&self) -> Result<usize, DriverError> {
        let _round = self.rounds.lock().await;
        self.finish_acked().await?;
        self.reoffer_due().await?;
        self.poll_inbox().await
    }
}
