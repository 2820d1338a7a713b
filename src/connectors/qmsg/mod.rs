//! QMsg (快信通) cloud SMS: one connector per `[[qmsg]]` account (source and target
//! `qmsg/{name}`).
//!
//! - `sms.send` ([`commands`]): sendids allocated and committed before the first call; a
//!   call whose outcome is unknown is never sent again (`send_uncertain`), the status
//!   reports for its sendid settle it later (`sms.send_resolved`).
//! - `getSms` polled every `poll_secs` ([`driver`]): each message is committed before the
//!   next poll (the platform returns it once).
//! - Callbacks `recvmsg` and `recvreport` on the callback listener ([`callbacks`]),
//!   answered `0` after the commit; a message seen by push and by poll reaches the cloud once.
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
    Kind { name: "qmsg", build: |ctx| Box::pin(async move { super::each(&ctx.config.qmsg, &ctx, Driver::new) }) };

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
        if self.cfg.poll_secs == 0 {
            return Vec::new();
        }
        let name = format!("{} poll", self.peer.source);
        vec![Task::new(name, async move { self.poll_loop(stop).await })]
    }

    fn prune(&self, db: &mut Db<'_>, cutoff_ms: u64) -> Result<usize, StoreError> {
        state::prune(db, &self.peer.source, cutoff_ms)
    }
}
