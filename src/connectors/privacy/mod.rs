//! The privacy-number platform (AXB / XA bindings): one connector per `[[privacy]]` account
//! (source and target `privacy/{name}`).
//!
//! - Commands ([`commands`]): account status, AXB/XA bind and release, the bindings kept.
//!   A bind's `reqid` is committed before the first try and kept for every retry, so a
//!   retry after a timeout or a crash can never make a second binding (1004 on a retry
//!   means the first try was taken).
//! - Callbacks `cdr` and `call_start` on the callback listener ([`callbacks`]): the account's
//!   own only, committed, then answered; a repeat reaches the cloud once.
//! - Recordings ([`driver`]): fetched after the CDR is stored and relayed by the shared
//!   file relay exactly like a received fax's file.
//!
//! [`protocol`] is the pure part; [`service`] the HTTP calls; [`state`] what is kept.

mod callbacks;
mod commands;
mod driver;
pub mod protocol;
mod service;
mod state;

use super::{Connector, Kind, Task};
use crate::command::Registry;
use crate::http::Router;
use crate::store::{Db, StoreError};
use driver::Driver;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

pub const KIND: Kind =
    Kind { name: "privacy", build: |ctx| Box::pin(async move { super::each(&ctx.config.privacy, &ctx, Driver::new) }) };

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
        let name = format!("{} housekeeping", self.peer.source);
        vec![Task::new(name, async move { self.housekeeping(stop).await })]
    }

    fn prune(&self, db: &mut Db<'_>, cutoff_ms: u64) -> Result<usize, StoreError> {
        driver::prune(db, &self.peer.source, cutoff_ms).map(|n| n + self.files.prune(db, cutoff_ms).unwrap_or(0))
    }
}
