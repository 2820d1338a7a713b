//! The WaveFax fax-server driver (contract: `../shared/specs/wavefax-http.md`).
//!
//! Pure protocol part ([`protocol`]): `number` (the server's fax number format from E.164 or local
//! input), `codes` (fax states, fax error codes, server error codes), `request` (every
//! call, URL-encoded, `putfile` with its `Content-Disposition`, server-local times),
//! `reply` (lenient parsing of the seed's non-strict JSON, ids, outbound fax state),
//! `args` (cloud command arguments), `inbox` (poll windows and the high-water mark),
//! `recovery` (finding a lost submit's job).
//!
//! Thin I/O part: [`server`] (the session: lazy login, one retry on an invalid or expired
//! token, credential back-off; downloads), [`driver`] (health, events, the background
//! loop), [`outbound`] (`fax.send` as persisted steps, tracking), [`inbound`] (inbox poll,
//! spool, offers, acknowledgements, deletes, uploads), [`handlers`] (cloud commands).

pub mod driver;
pub mod handlers;
pub mod inbound;
pub mod outbound;
pub mod protocol;
pub mod server;
pub mod state;

use crate::command::Registry;
use crate::connectors::{Connector, Kind, Task};
use crate::store::{Db, StoreError};
use driver::Driver;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// The `[[wavefax]]` fax servers.
/// A driver for every `[[wavefax]]` server.
pub const KIND: Kind =
    Kind { name: "wavefax", build: |ctx| Box::pin(async move { super::each(&ctx.config.wavefax, &ctx, Driver::new) }) };

impl Connector for Driver {
    fn peer(&self) -> &crate::connectors::Peer {
        &self.peer
    }

    fn commands(self: Arc<Self>, registry: &mut Registry) {
        handlers::register(registry, self);
    }

    fn tasks(self: Arc<Self>, stop: CancellationToken) -> Vec<Task> {
        let name = format!("{} loop", self.source);
        vec![Task::new(name, async move { Ok(self.run(stop).await?) })]
    }

    fn prune(&self, db: &mut Db<'_>, cutoff_ms: u64) -> Result<usize, StoreError> {
        Ok(state::prune(db, &self.name, &self.source, cutoff_ms)? + self.files.prune(db, cutoff_ms)?)
    }
}
