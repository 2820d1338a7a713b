//! Everything that plugs into the agent's spine — LAN device drivers (GoIP/EJOIN gateways,
//! WaveFax fax servers) today, vendor connectors, the tunnel and the updater next — plugs
//! in one way: a [`Kind`] in [`KINDS`] builds [`Connector`]s from the config, and the agent
//! loops over them.
//!
//! A connector:
//! - adds its cloud commands to the [`Registry`] (target `kind/name`, e.g. `goip/gw1`);
//! - adds its HTTP routes (device pushes, vendor callbacks) to the [`Router`];
//! - hands the agent its background [`Task`]s, named, returning `Result`: one that fails
//!   or ends before the agent stops makes the agent stop non-zero (supervised like the
//!   uplink), never a silently dead driver;
//! - reaches its peer through one [`Peer`] (health, metrics, retries, error classes);
//! - prunes its own store state.
//!
//! Shared parts: [`callbacks`] (the rules every vendor callback follows), [`peer`] (the
//! peer handle and error classes), [`files`] (the file relay:
//! spool, chunks, acknowledgements, re-offers, uploads), [`lenient`] (JSON as devices and
//! vendors really write it), [`state`] (typed connector state in the store's `kv`).
//! Each connector is a folder with a pure `protocol/` part and a thin I/O part around it.

#[cfg(feature = "callbacks")]
pub mod callbacks;
pub mod files;
pub mod lenient;
pub mod peer;
pub mod state;

#[cfg(feature = "callcenter")]
pub mod callcenter;
#[cfg(feature = "goip")]
pub mod goip;
#[cfg(feature = "privacy")]
pub mod privacy;
#[cfg(feature = "qmsg")]
pub mod qmsg;
pub mod tunnel;
#[cfg(feature = "wavefax")]
pub mod wavefax;

pub use peer::{Classify, ErrorClass, Peer, PeerName};

use crate::command::{BoxFuture, Registry};
use crate::config::Config;
use crate::health::Health;
use crate::http::Router;
use crate::metrics::Metrics;
use crate::store::{Db, Store, StoreError};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// What a connector is built from.
#[derive(Clone)]
pub struct Ctx {
    pub config: Config,
    pub store: Store,
    pub health: Health,
    pub metrics: Metrics,
}

/// A named background task of a connector. It runs until `stop` is cancelled and then
/// returns `Ok`; an `Err` (or an early end) stops the agent.
pub struct Task {
    /// `kind/name job`, e.g. `goip/gw1 poll`: what the log and the exit reason say.
    pub name: String,
    pub run: BoxFuture<anyhow::Result<()>>,
}

impl Task {
    pub fn new(
        name: impl Into<String>,
        run: impl std::future::Future<Output = anyhow::Result<()>> + Send + 'static,
    ) -> Task {
        Task { name: name.into(), run: Box::pin(run) }
    }
}

/// One plugged-in instance (a gateway, a fax server, a vendor account).
pub trait Connector: Send + Sync {
    /// The instance's peer: its name, health, metrics and retries.
    fn peer(&self) -> &Peer;
    /// `kind/name`: event source and command target.
    fn target(&self) -> &str {
        &self.peer().source
    }
    /// Adds the cloud commands of this instance.
    fn commands(self: Arc<Self>, registry: &mut Registry);
    /// Adds HTTP routes (device pushes) to the agent's main listener.
    fn routes(self: Arc<Self>, _router: &mut Router) {}
    /// Adds vendor callback routes (see [`callbacks`]) to the callback listener.
    fn callbacks(self: Arc<Self>, _router: &mut Router) {}
    /// The background tasks, started once the agent is up.
    fn tasks(self: Arc<Self>, _stop: CancellationToken) -> Vec<Task> {
        Vec::new()
    }
    /// Forgets this instance's finished state older than `cutoff_ms` (on the writer thread).
    fn prune(&self, _db: &mut Db<'_>, _cutoff_ms: u64) -> Result<usize, StoreError> {
        Ok(0)
    }
}

/// The instances one kind built.
pub type Connectors = Vec<Arc<dyn Connector>>;

/// A kind of connector, listed once in [`KINDS`].
pub struct Kind {
    /// The config table (`[[goip]]`) and the first part of every target.
    pub name: &'static str,
    /// Builds one connector per configured instance (none when the table is absent).
    pub build: fn(Ctx) -> BoxFuture<anyhow::Result<Connectors>>,
}

/// Every kind this build carries (each a cargo feature).
pub const KINDS: &[Kind] = &[
    #[cfg(feature = "goip")]
    goip::KIND,
    #[cfg(feature = "wavefax")]
    wavefax::KIND,
    #[cfg(feature = "qmsg")]
    qmsg::KIND,
    #[cfg(feature = "privacy")]
    privacy::KIND,
    #[cfg(feature = "callcenter")]
    callcenter::KIND,
    tunnel::KIND,
];

/// Forgets the finished state of instances no longer configured (a gateway removed or
/// renamed by `agent.config.set`), which no connector prunes any more: per-item `kv` keys
/// (`prefix/item`, see [`state::Key::item`]), spool rows with nothing left to do, and
/// finished outbound faxes. `live` holds the configured instances' targets.
pub fn prune_retired(db: &mut Db<'_>, live: &[String], cutoff_ms: u64) -> Result<usize, StoreError> {
    let scopes: Vec<String> = {
        let mut stmt = db.conn().prepare("SELECT DISTINCT scope FROM kv UNION SELECT DISTINCT source FROM spool")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        rows.collect::<Result<_, _>>()?
    };
    let cutoff = cutoff_ms as i64;
    let mut n = 0;
    for scope in scopes.iter().filter(|s| !live.contains(s) && s.contains('/')) {
        n += db.conn().execute(
            "DELETE FROM kv WHERE scope = ?1 AND updated_ms < ?2 AND instr(key, '/') > 0",
            rusqlite::params![scope, cutoff],
        )?;
        n += db.conn().execute(
            "DELETE FROM spool WHERE source = ?1 AND state IN ('done', 'no_file') AND updated_ms < ?2",
            rusqlite::params![scope, cutoff],
        )?;
    }
    let servers: Vec<String> = {
        let mut stmt = db.conn().prepare("SELECT DISTINCT server FROM fax_out")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        rows.collect::<Result<_, _>>()?
    };
    for server in servers.iter().filter(|s| !live.contains(&format!("wavefax/{s}"))) {
        n += db.conn().execute(
            "DELETE FROM fax_out WHERE server = ?1 AND final = 1 AND updated_ms < ?2",
            rusqlite::params![server, cutoff],
        )?;
    }
    Ok(n)
}

/// One connector per configured instance, each made by `new` (for kinds whose making does
/// no I/O).
pub fn each<C, D: Connector + 'static>(
    configs: &[C],
    ctx: &Ctx,
    new: fn(&C, &Ctx) -> anyhow::Result<D>,
) -> anyhow::Result<Connectors> {
    configs.iter().map(|c| Ok(Arc::new(new(c, ctx)?) as Arc<dyn Connector>)).collect()
}

/// Builds every configured instance of every kind in `kinds`.
pub async fn build(kinds: &[Kind], ctx: &Ctx) -> anyhow::Result<Connectors> {
    let mut all = Vec::new();
    for kind in kinds {
        let built = (kind.build)(ctx.clone()).await.map_err(|e| e.context(kind.name))?;
        all.extend(built);
    }
    Ok(all)
}
