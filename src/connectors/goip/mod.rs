//! The EJOIN/GoIP gateway driver (contract: `../shared/specs/goip-ejoin-http.md`).
//!
//! Pure protocol part ([`protocol`]): `crypto` (the secure session's hashes, key and ciphers, checked
//! against independent vectors), `ports` (port names and lists), `request` (every
//! call, signed and with encrypted bodies), `reply` (every reply), `push` and `sms`
//! (pushed bodies, received SMS, delivery reports, task progress), `session` (session
//! lifecycle and auth-order detection), `args` (cloud command arguments).
//!
//! Thin I/O part: [`device`] (HTTP exchange with the session), [`driver`] (state kept in
//! the store, background subscription/poll/stats, health), [`pushes`] (the push routes),
//! [`handlers`] (cloud commands).

pub mod device;
pub mod driver;
pub mod handlers;
pub mod protocol;
pub mod pushes;

use crate::command::Registry;
use crate::config::Config;
use crate::health::Health;
use crate::http::Router;
use crate::metrics::Metrics;
use crate::store::Store;
use driver::Driver;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Builds a driver for every `[[goip]]` device.
pub async fn build(
    config: &Config,
    store: &Store,
    health: &Health,
    metrics: &Metrics,
) -> anyhow::Result<Vec<Arc<Driver>>> {
    let mut drivers = Vec::new();
    for cfg in &config.goip {
        let d = Driver::new(cfg, &config.agent.id, &config.http.listen, store.clone(), health.clone(), metrics.clone())
            .await?;
        drivers.push(Arc::new(d));
    }
    Ok(drivers)
}

/// Adds the drivers' commands and the push route.
pub fn register(drivers: &[Arc<Driver>], registry: &mut Registry, router: &mut Router) {
    if drivers.is_empty() {
        return;
    }
    let mut pushes = pushes::Pushes::default();
    for d in drivers {
        handlers::register(registry, d.clone());
        pushes.drivers.insert(d.name.clone(), d.clone());
    }
    router.prefix(hyper::Method::POST, "/goip/", move |req| {
        let pushes = pushes.clone();
        async move { pushes.handle(req).await }
    });
}

/// Starts each driver's background loop.
pub fn spawn(drivers: &[Arc<Driver>], tracker: &TaskTracker, stop: &CancellationToken) {
    for d in drivers {
        tracker.spawn(d.clone().run(stop.clone()));
    }
}
