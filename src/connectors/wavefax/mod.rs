//! The WaveFax fax-server driver (contract: `../shared/specs/wavefax-http.md`).
//!
//! Pure protocol part ([`protocol`]): `number` (the server's fax number format from E.164 or local
//! input), `codes` (fax states, fax error codes, server error codes), `request` (every
//! call, URL-encoded, `putfile` with its `Content-Disposition`, server-local times),
//! `reply` (lenient parsing of the seed's non-strict JSON, ids, outbound fax state),
//! `args` (cloud command arguments), `inbox` (poll windows and the high-water mark),
//! `chunks` (files cut into MQTT chunks, SHA-256).
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

use crate::command::Registry;
use crate::config::Config;
use crate::health::Health;
use crate::metrics::Metrics;
use crate::store::Store;
use driver::Driver;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Builds a driver for every `[[wavefax]]` server.
pub fn build(config: &Config, store: &Store, health: &Health, metrics: &Metrics) -> anyhow::Result<Vec<Arc<Driver>>> {
    config
        .wavefax
        .iter()
        .map(|cfg| Ok(Arc::new(Driver::new(cfg, &config.agent.id, store.clone(), health.clone(), metrics.clone())?)))
        .collect()
}

/// Adds the servers' commands.
pub fn register(drivers: &[Arc<Driver>], registry: &mut Registry) {
    for d in drivers {
        handlers::register(registry, d.clone());
    }
}

/// Starts each server's background loop.
pub fn spawn(drivers: &[Arc<Driver>], tracker: &TaskTracker, stop: &CancellationToken) {
    for d in drivers {
        tracker.spawn(d.clone().run(stop.clone()));
    }
}
