//! The cloud call-center OpenAPI (agents, click-to-call, call tasks, CDR and recordings):
//! one connector per `[[callcenter]]` account (source and target `callcenter/{name}`).
//!
//! - Commands ([`commands`], [`task`]): one per API, single or batched; task creation
//!   split into lists of 1000 and resumable without a second task.
//! - Notifications on the callback listener ([`callbacks`]): verified, committed, answered;
//!   a platform retry is answered success and stored once.
//! - Collection ([`driver`], off by default): CDRs by time window and records by key, each
//!   committed with its cursor; recordings fetched and relayed by the shared file relay.
//!
//! [`protocol`] is the pure part (what the seed only lets us infer is in
//! `protocol::inferred`); [`service`] the HTTP calls; [`state`] what is kept.

mod callbacks;
mod commands;
mod driver;
pub mod protocol;
mod service;
mod state;
mod task;

use super::{Connector, Kind, Task};
use crate::command::Registry;
use crate::http::Router;
use crate::store::{Db, StoreError};
use driver::{Driver, Round};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

pub const KIND: Kind = Kind {
    name: "callcenter",
    build: |ctx| Box::pin(async move { super::each(&ctx.config.callcenter, &ctx, Driver::new) }),
};

impl Connector for Driver {
    fn peer(&self) -> &super::Peer {
        &self.peer
    }

    fn commands(self: Arc<Self>, registry: &mut Registry) {
        commands::register(registry, self);
    }

    fn callbacks(self: Arc<Self>, router: &mut Router) {
        callbacks::routes(self, router);
    }

    fn tasks(self: Arc<Self>, stop: CancellationToken) -> Vec<Task> {
        let source = self.peer.source.clone();
        let mut tasks = Vec::new();
        for (on, round, what) in [
            (self.cfg.cdr_poll_secs > 0, Round::Cdrs, "cdr"),
            (self.cfg.records_poll_secs > 0, Round::Records, "records"),
        ] {
            if on {
                let (d, stop) = (self.clone(), stop.clone());
                tasks.push(Task::new(format!("{source} {what}"), async move { d.collect(round, stop).await }));
            }
        }
        tasks.push(Task::new(format!("{source} housekeeping"), async move { self.housekeeping(stop).await }));
        tasks
    }

    fn prune(&self, db: &mut Db<'_>, cutoff_ms: u64) -> Result<usize, StoreError> {
        let n = crate::connectors::state::prune_items(db, &self.peer.source, &["task"], cutoff_ms)?;
        Ok(n + self.files.prune(db, cutoff_ms).unwrap_or(0))
    }
}
