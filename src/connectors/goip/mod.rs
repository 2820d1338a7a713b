//! The EJOIN/GoIP gateway driver (contract: `../shared/specs/goip-ejoin-http.md`).
//!
//! Pure protocol part ([`protocol`]): `crypto` (the secure session's hashes, key and ciphers, checked
//! against independent vectors), `ports` (port names and lists), `request` (every
//! call, signed and with encrypted bodies), `reply` (every reply), `push` and `sms`
//! (pushed bodies, received SMS, delivery reports, task progress), `session` (session
//! lifecycle and auth-order detection), `args` (cloud command arguments).
//!
//! Thin I/O part: [`device`] (HTTP exchange with the session), [`driver`] (background
//! subscription/poll/stats), [`state`] (what is kept in the store, typed), [`pushes`] (the
//! push route), [`handlers`] (cloud commands). Health, metrics and retries go through the
//! driver's [`Peer`](crate::connectors::Peer).

pub mod device;
pub mod driver;
pub mod handlers;
pub mod protocol;
pub mod pushes;
pub mod state;

use crate::command::Registry;
use crate::connectors::{Connector, Ctx, Kind, Task};
use crate::http::Router;
use crate::store::{Db, StoreError};
use driver::Driver;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// The `[[goip]]` gateways.
pub const KIND: Kind = Kind { name: "goip", build: |ctx| Box::pin(build(ctx)) };

/// Builds a driver for every `[[goip]]` device.
async fn build(ctx: Ctx) -> anyhow::Result<Vec<Arc<dyn Connector>>> {
    let mut drivers: Vec<Arc<dyn Connector>> = Vec::new();
    for cfg in &ctx.config.goip {
        drivers.push(Arc::new(Driver::new(cfg, &ctx).await?));
    }
    Ok(drivers)
}

impl Connector for Driver {
    fn peer(&self) -> &crate::connectors::Peer {
        &self.peer
    }

    fn commands(self: Arc<Self>, registry: &mut Registry) {
        handlers::register(registry, self);
    }

    fn routes(self: Arc<Self>, router: &mut Router) {
        let prefix = format!("/goip/{}/", self.name);
        let guard = self.clone().guard();
        router.prefix_guarded(hyper::Method::POST, &prefix, guard, move |req| {
            let d = self.clone();
            async move { d.handle(req.body()).await }
        });
    }

    fn tasks(self: Arc<Self>, stop: CancellationToken) -> Vec<Task> {
        let name = format!("{} loop", self.source);
        vec![Task::new(name, async move { Ok(self.run(stop).await?) })]
    }

    fn prune(&self, db: &mut Db<'_>, cutoff_ms: u64) -> Result<usize, StoreError> {
        state::prune(db, &self.source, cutoff_ms)
    }
}
