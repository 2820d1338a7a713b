//! The agent's lifecycle: start every part, run until a signal or a restart, stop in order.
//!
//! Start: config → store → HTTP listener → uplink. If a config just applied by
//! `agent.config.set` fails at any of these steps, the previous file is restored and the
//! agent starts with it, then reports `agent/config.rolled_back`.
//!
//! Stop (SIGTERM, SIGINT, restart): the HTTP listener closes and open requests finish;
//! the command dispatcher stops and running commands finish; the uplink waits briefly
//! for outstanding PUBACKs, publishes `offline` and disconnects; the store commits and
//! closes. A part that dies on its own makes `run` return an error, so the process exits
//! non-zero and systemd (or procd) restarts it: never a silently dead relay.

use crate::background::{feed_watchdog, prune_store, supervise, watch_store};
use crate::command::agent::AgentContext;
use crate::command::{Dispatcher, Effect, Registry};
use crate::config::Config;
use crate::config::trial;
use crate::connectors::{self, Ctx, KINDS, Kind};
use crate::event::{Class, NewEvent};
use crate::health::Health;
use crate::http::{self, ingest::Ingest, ops::Ops};
use crate::metrics::Metrics;
use crate::store::{OutboxItem, Store, StoreError};
use anyhow::{Context, anyhow};
use hyper::Method;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How long each stop step may take before the next one goes ahead.
const STOP_STEP_TIMEOUT: Duration = Duration::from_secs(10);

/// Why one run of the agent ended.
#[derive(Debug)]
enum Exit {
    Shutdown,
    Restart(String),
    Ended(Ended),
}

/// How the agent ended, for `main`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// Stopped (a signal, or the caller's shutdown).
    Stopped,
    /// Replace this process with `argv` (an update's watcher, a rolled-back version).
    Exec(Vec<std::ffi::OsString>),
    /// Exit [`crate::update::PROMOTE`]: healthy on probation, the watcher hands over.
    Promote,
}

/// A failure before the agent was up (eligible for config rollback) or after.
#[derive(Debug)]
enum RunError {
    Startup(anyhow::Error),
    Runtime(anyhow::Error),
    /// Something still holds the store: nothing may start again in this process.
    /// `trial_failed`: a config on trial failed (rather than a restart asked for).
    Unclean {
        error: anyhow::Error,
        trial_failed: bool,
    },
}

/// What the agent is run with besides its config file.
pub struct Options {
    /// The connector kinds to plug in ([`KINDS`] in the binary; tests add their own).
    pub kinds: &'static [Kind],
    /// A listener to serve HTTP on instead of binding `http.listen` (tests bind
    /// `127.0.0.1:0` themselves and pass it).
    pub listener: Option<std::net::TcpListener>,
}

impl Default for Options {
    fn default() -> Self {
        Options { kinds: KINDS, listener: None }
    }
}

/// Runs the agent with the config at `path` until `shutdown` is cancelled (or an update
/// asks for another process).
pub async fn run(path: &Path, shutdown: CancellationToken) -> anyhow::Result<Ended> {
    run_with(path, shutdown, Options::default()).await
}

/// [`run`] with explicit [`Options`].
pub async fn run_with(path: &Path, shutdown: CancellationToken, options: Options) -> anyhow::Result<Ended> {
    let roll_back = |why: &str| trial::roll_back(path, why).context("restoring the previous config");
    loop {
        let starts = trial::count_start(path).context("the new config's trial marker")?;
        if starts > trial::MAX_STARTS {
            let why = format!("the agent stopped {} times with it before it reached the broker", starts - 1);
            log::error!("new config: {why}; restoring the previous one");
            roll_back(&why)?;
            continue;
        }
        match run_once(path, &shutdown, &options).await {
            Ok(Exit::Shutdown) => return Ok(Ended::Stopped),
            Ok(Exit::Ended(how)) => return Ok(how),
            Ok(Exit::Restart(reason)) => log::info!("restarting ({reason})"),
            // A config on trial that fails, at its start or while it runs (config/trial.rs).
            Err(RunError::Startup(e) | RunError::Runtime(e)) if trial::on_trial(path) => {
                log::error!("new config failed: {e:#}; restoring the previous one");
                roll_back(&format!("{e:#}"))?;
            }
            Err(RunError::Unclean { error, trial_failed }) => {
                // The service manager starts the next process: with the previous config if
                // the one on trial failed (a restart asked for leaves the trial to it).
                if trial_failed && trial::on_trial(path) {
                    log::error!("new config failed: {error:#}; the previous one is back for the next start");
                    roll_back(&format!("{error:#}"))?;
                }
                return Err(error);
            }
            Err(RunError::Startup(e) | RunError::Runtime(e)) => return Err(e),
        }
    }
}

/// Builds an agent-sourced event for the outbox.
pub fn agent_event(agent: &str, kind: &str, data: serde_json::Value) -> OutboxItem {
    OutboxItem::from_event(&NewEvent::new("agent", kind, data, Class::Critical), agent)
}

async fn run_once(path: &Path, shutdown: &CancellationToken, options: &Options) -> Result<Exit, RunError> {
    let startup = |e: anyhow::Error| RunError::Startup(e);
    let config = Config::load(path).map_err(|e| startup(anyhow!("{}: {e}", path.display())))?;
    crate::scrub::set(config.secret_values());
    crate::logring::set_limit(config.agent.log_ring_bytes);
    if let Some(level) = crate::config::log_level_filter(&config.agent.log_level) {
        log::set_max_level(level);
    }
    let (update_events, trial) = match crate::update::trial::at_start(&config) {
        crate::update::trial::AtStart::Run(events, trial) => (events, trial),
        crate::update::trial::AtStart::Become(argv) => return Ok(Exit::Ended(Ended::Exec(argv))),
    };
    // Opening and migrating touch the disk: off the async threads.
    let store_config = config.store.clone();
    let opened = tokio::task::spawn_blocking(move || Store::open(&store_config))
        .await
        .map_err(|e| startup(anyhow!("store open task: {e}")))?;
    let (store, writer) = opened.map_err(|e| startup(anyhow!("store {}: {e}", config.store.path.display())))?;
    let parts = start(&config, path, options, store.clone(), (update_events, trial)).await;
    let result = match parts {
        Ok(parts) => parts.run_until_stop(shutdown, path).await,
        Err(e) => Err(RunError::Startup(e)),
    };
    drop(store);
    // Every handle is gone once the parts are stopped; the writer then commits and closes.
    let joined = tokio::time::timeout(STOP_STEP_TIMEOUT, tokio::task::spawn_blocking(move || writer.join())).await;
    if joined.is_err() {
        log::warn!("store writer did not close in time");
        // Something still holds the store: a restart in this process (asked for, or a
        // config rolled back) would run a second writer beside it (each counting sequence
        // numbers on its own). The process ends instead, and the service manager starts a
        // fresh one.
        let again = match &result {
            Ok(Exit::Restart(reason)) => Some((reason.clone(), false)),
            Err(RunError::Startup(e) | RunError::Runtime(e)) if trial::on_trial(path) => Some((format!("{e:#}"), true)),
            _ => None,
        };
        if let Some((why, trial_failed)) = again {
            let error = anyhow!("cannot start again in place ({why}): the store writer did not close in time");
            return Err(RunError::Unclean { error, trial_failed });
        }
    }
    result
}

/// Everything a running agent holds.
struct Parts {
    config: Config,
    uplink: crate::mqtt::Uplink,
    dispatcher: tokio::task::JoinHandle<Result<(), StoreError>>,
    effects: mpsc::UnboundedReceiver<Effect>,
    http_stop: CancellationToken,
    http_tasks: TaskTracker,
    commands_stop: CancellationToken,
    command_tasks: TaskTracker,
    uplink_stop: CancellationToken,
    background_stop: CancellationToken,
    /// The config trial's watch (config/trial.rs), a child of `background_stop`.
    trial_stop: CancellationToken,
    background: TaskTracker,
    /// A connector task that failed or ended before the stop: its name and why.
    failures: mpsc::UnboundedReceiver<(String, anyhow::Error)>,
}

async fn start(
    config: &Config,
    path: &Path,
    options: &Options,
    store: Store,
    (update_events, trial): (Vec<OutboxItem>, Option<Box<crate::update::trial::Trial>>),
) -> anyhow::Result<Parts> {
    let listener = match &options.listener {
        Some(l) => {
            let l = l.try_clone().context("listener")?;
            l.set_nonblocking(true).context("listener")?;
            tokio::net::TcpListener::from_std(l).context("listener")?
        }
        None => tokio::net::TcpListener::bind(&config.http.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.http.listen))?,
    };
    let metrics = Metrics::default();
    let health = Health::default();
    let uplink_stop = CancellationToken::new();
    let (uplink, incoming) =
        crate::mqtt::spawn(config, store.clone(), metrics.clone(), uplink_stop.clone()).context("mqtt")?;
    let agent = config.agent.id.clone();
    // On a full disk these cannot be committed yet: the agent starts and relays anyway
    // (a restart loop would re-send the outbox each time); the store's alarm queue raises
    // them, in order, when it can.
    let unraised = crate::store::Raised::default();
    let mut start_events = vec![agent_event(&agent, "agent.started", json!({"version": crate::version::version()}))];
    start_events.extend(update_events);
    if let Some((from, to)) = store.stats().seq_skipped {
        let why = "the last run did not close the store, with store.synchronous = normal: a power cut may have \
                   undone rows already relayed, whose numbers are not given out again";
        start_events.push(agent_event(&agent, "store.seq_skipped", json!({"from": from, "to": to, "reason": why})));
    }
    // A rollback's reason, noted beside the config by the process that rolled it back.
    let notice = trial::notice(path);
    if let Some(reason) = &notice {
        start_events.push(agent_event(&agent, "config.rolled_back", json!({"reason": reason})));
    }
    start_events.into_iter().for_each(|item| unraised.push(item));
    // Until it is committed the reason stays noted too (a start again repeats it, rather
    // than lose it).
    if unraised.flush(&store, "agent").await.is_ok() && notice.is_some() {
        trial::clear_notice(path);
    }

    let ctx = Arc::new(AgentContext {
        config: config.clone(),
        config_path: PathBuf::from(path),
        started: Instant::now(),
        store: store.clone(),
        link: uplink.state.clone(),
        metrics: metrics.clone(),
        health: health.clone(),
        config_written: Default::default(),
    });
    let mut registry = Registry::default();
    crate::command::agent::register(&mut registry, ctx);
    // Connectors plug in here, each the same way: commands (target `kind/name`), routes
    // on the listener, and (below) supervised background tasks.
    let ctx = Ctx { config: config.clone(), store: store.clone(), health: health.clone(), metrics: metrics.clone() };
    let connectors = connectors::build(options.kinds, &ctx).await?;
    let mut router = http::Router::default();
    // Vendor callbacks only, on their own listener (what the tunnel exposes).
    let mut callbacks = http::Router::default();
    for c in &connectors {
        c.clone().commands(&mut registry);
        c.clone().routes(&mut router);
        c.clone().callbacks(&mut callbacks);
    }
    let callback_listener = if callbacks.is_empty() {
        None
    } else {
        let l = tokio::net::TcpListener::bind(&config.callbacks.listen)
            .await
            .with_context(|| format!("cannot listen on {} (callbacks.listen)", config.callbacks.listen))?;
        Some(l)
    };
    let ops = Ops { store: store.clone(), link: uplink.state.clone(), metrics: metrics.clone(), health };
    let o = ops.clone();
    router.route(Method::GET, "/healthz", move |_| {
        let r = o.healthz();
        async move { r }
    });
    router.route(Method::GET, "/metrics", move |_| {
        let r = ops.metrics();
        async move { r }
    });
    if !config.http.ingest_token.is_empty() {
        // Shared, not cloned per request (its strings and the store's handles).
        let ingest = std::sync::Arc::new(Ingest {
            store: store.clone(),
            agent: agent.clone(),
            token: config.http.ingest_token.expose().to_string(),
            max_payload_bytes: config.mqtt.max_payload_bytes,
            metrics: metrics.clone(),
        });
        let guard = ingest.guard();
        router
            .route_guarded(Method::POST, "/v1/events", guard, move |req| {
                let ingest = ingest.clone();
                async move { ingest.handle(req).await }
            })
            .moves_values();
    }

    let (effects_tx, effects) = mpsc::unbounded_channel();
    let commands_stop = CancellationToken::new();
    let dispatcher = Dispatcher {
        store: store.clone(),
        registry,
        topics: uplink.topics.clone(),
        agent,
        metrics: metrics.clone(),
        effects: effects_tx.clone(),
        max_command_bytes: config.mqtt.max_command_bytes,
        stop: commands_stop.clone(),
    };
    let trial_effects = effects_tx;
    let command_tasks = TaskTracker::new();
    let resumed = dispatcher.resume_pending(&command_tasks).await?;
    if resumed > 0 {
        log::info!("{resumed} interrupted command(s) resumed or answered");
    }
    let dispatcher = tokio::spawn(dispatcher.run(uplink.client.clone(), incoming, command_tasks.clone()));

    let http_stop = CancellationToken::new();
    let http_tasks = TaskTracker::new();
    let limits = http::Limits {
        max_body_bytes: config.http.max_body_bytes,
        request_timeout: Duration::from_millis(config.http.request_timeout_ms),
        max_buffered_bytes: config.http.max_buffered_bytes,
        max_connections: config.http.max_connections,
    };
    http_tasks.spawn(http::serve(listener, router, limits, http_stop.clone(), http_tasks.clone()));
    if let Some(l) = callback_listener {
        let c = &config.callbacks;
        let limits = http::Limits {
            max_body_bytes: c.max_body_bytes,
            request_timeout: Duration::from_millis(c.request_timeout_ms),
            max_buffered_bytes: c.max_buffered_bytes,
            max_connections: c.max_connections,
        };
        log::info!("vendor callbacks on {}", c.listen);
        http_tasks.spawn(http::serve(l, callbacks, limits, http_stop.clone(), http_tasks.clone()));
    }
    log::info!(
        "telbridge {} up: http {}, broker {}:{}",
        crate::version::version(),
        config.http.listen,
        config.mqtt.host,
        config.mqtt.port
    );

    let background_stop = CancellationToken::new();
    // Ended first at a stop: the trial's outcome is then settled before the stop says what
    // follows (a rollback or a stop).
    let trial_stop = background_stop.child_token();
    let background = TaskTracker::new();
    let (failed, failures) = mpsc::unbounded_channel();
    for c in &connectors {
        for task in c.clone().tasks(background_stop.clone()) {
            background.spawn(supervise(task, background_stop.clone(), failed.clone()));
        }
    }
    if trial::on_trial(path) {
        let within = Duration::from_secs(config.agent.config_probation_secs);
        let (path, link) = (path.to_path_buf(), uplink.state.clone());
        background.spawn(trial::watch(path, link, within, failed.clone(), trial_stop.clone()));
    }
    if let Some(trial) = trial {
        let link = uplink.state.clone();
        background.spawn(trial.run(
            link,
            store.clone(),
            config.agent.id.clone(),
            trial_effects,
            background_stop.clone(),
        ));
    }
    background.spawn(watch_store(store.clone(), config.agent.id.clone(), unraised, background_stop.clone()));
    background.spawn(prune_store(store.clone(), connectors, config.store.dedup_ttl_secs, background_stop.clone()));
    if let Some(interval) = crate::notify::watchdog_interval() {
        background.spawn(feed_watchdog(store, interval, background_stop.clone()));
    }
    crate::notify::notify(&format!("READY=1\nSTATUS=relaying to {}:{}", config.mqtt.host, config.mqtt.port));
    Ok(Parts {
        config: config.clone(),
        uplink,
        dispatcher,
        effects,
        http_stop,
        http_tasks,
        commands_stop,
        command_tasks,
        uplink_stop,
        background_stop,
        trial_stop,
        background,
        failures,
    })
}

impl Parts {
    async fn run_until_stop(mut self, shutdown: &CancellationToken, path: &Path) -> Result<Exit, RunError> {
        let exit = tokio::select! {
            _ = shutdown.cancelled() => Ok(Exit::Shutdown),
            Some(effect) = self.effects.recv() => Ok(match effect {
                Effect::Restart { reason } => Exit::Restart(reason),
                Effect::Exec { argv, reason } => {
                    log::warn!("stopping to hand over: {reason}");
                    Exit::Ended(Ended::Exec(argv))
                }
                Effect::Promote => Exit::Ended(Ended::Promote),
            }),
            failure = self.uplink.failed() => Err(anyhow!("mqtt uplink failed: {failure}")),
            r = &mut self.dispatcher => Err(anyhow!("command dispatcher stopped: {r:?}")),
            Some((task, e)) = self.failures.recv() => Err(anyhow!("{task} failed: {e:#}")),
        };
        log::info!("stopping {}", self.config.agent.id);
        self.trial_stop.cancel();
        match &exit {
            Ok(Exit::Restart(reason)) => crate::notify::notify(&format!("RELOADING=1\nSTATUS=restarting ({reason})")),
            // The process goes on with the previous config (run_with): not a stop.
            Err(_) if trial::on_trial(path) => {
                crate::notify::notify("RELOADING=1\nSTATUS=the new config failed: rolling back")
            }
            // The service goes on: the same process becomes the watcher, the previous
            // version or (the watcher's child, promoted) the new one. STOPPING=1 would have
            // systemd kill it all after TimeoutStopSec.
            Ok(Exit::Ended(Ended::Exec(_))) => crate::notify::notify("STATUS=handing over (update)"),
            Ok(Exit::Ended(Ended::Promote)) => crate::notify::notify("STATUS=healthy on probation: handing over"),
            _ => crate::notify::notify("STOPPING=1"),
        };
        self.http_stop.cancel();
        self.http_tasks.close();
        step("http", self.http_tasks.wait()).await;
        self.commands_stop.cancel();
        self.command_tasks.close();
        step("commands", self.command_tasks.wait()).await;
        self.background_stop.cancel();
        self.background.close();
        step("background", self.background.wait()).await;
        self.uplink_stop.cancel();
        match &exit {
            Ok(_) => {
                if let Ok(Err(e)) = tokio::time::timeout(STOP_STEP_TIMEOUT, self.uplink.join()).await {
                    log::warn!("uplink stop: {e}");
                }
            }
            Err(_) => self.uplink.abort(),
        }
        exit.map_err(RunError::Runtime)
    }
}

async fn step(name: &str, f: impl std::future::Future<Output = ()>) {
    if tokio::time::timeout(STOP_STEP_TIMEOUT, f).await.is_err() {
        log::warn!("stop step {name} timed out");
    }
}
