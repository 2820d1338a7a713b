//! The outbound tunnel (`[tunnel]`): a public address that forwards to the callback
//! listener — and only to it — with no inbound connection into the site. One connector
//! (source and target `tunnel/{mode}`) in one of two modes:
//! - [`ssh`] (feature `tunnel-ssh`): the agent is an SSH client asking an OpenSSH server
//!   for a remote forward and carries each forwarded connection to the callback listener;
//! - [`command`]: the agent runs an external client (frpc, `ssh -N -R`, cloudflared…) as a
//!   child, restarts it when it exits, and stops it (SIGTERM, then SIGKILL) with the agent.
//!
//! Either way the tunnel counts as **up** only when [`probe`] gets its nonce back through
//! the public side; `tunnel.up` / `tunnel.down` (critical) say every change, and its state is
//! in `agent.status` (the health entry's `detail`), `/healthz` (`drivers_down`) and
//! `/metrics`. Commands: `tunnel.status`, `tunnel.restart`.

pub mod command;
pub mod probe;
#[cfg(feature = "tunnel-ssh")]
pub mod ssh;

use super::{Connector, Ctx, Kind, Peer, PeerName, Task};
use crate::command::{Outcome, Registry};
use crate::config::{TunnelConfig, TunnelMode};
use crate::event::Class;
use crate::health::{Health, State};
use crate::http::Router;
use crate::store::Store;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

pub const KIND: Kind = Kind {
    name: "tunnel",
    build: |ctx| {
        Box::pin(async move {
            if ctx.config.tunnel.mode == TunnelMode::None {
                return Ok(Vec::new());
            }
            Ok(vec![Arc::new(Tunnel::new(&ctx)?) as Arc<dyn Connector>])
        })
    },
};

/// What the tunnel is doing, as `tunnel.status` shows it.
#[derive(Debug, Clone, Default)]
struct Status {
    /// `None` until the first probe (or transport change) decided.
    up: Option<bool>,
    since_ms: u64,
    /// The transport (SSH session with its forward, or the child) is running.
    transport: bool,
    last_error: Option<String>,
    reconnects: u64,
    last_probe_rtt_ms: Option<u64>,
    last_probe_ms: Option<u64>,
}

/// The tunnel connector.
pub struct Tunnel {
    pub cfg: TunnelConfig,
    pub peer: Peer,
    store: Store,
    health: Health,
    /// Where forwarded connections go: the callback listener.
    pub local: SocketAddr,
    status: Mutex<Status>,
    pub probes: probe::Probes,
    /// `tunnel.restart`: the transport is torn down and started again.
    pub restart: Notify,
    /// The transport came up: probe now rather than at the next interval.
    pub probe_now: Notify,
}

impl Tunnel {
    pub fn new(ctx: &Ctx) -> anyhow::Result<Tunnel> {
        let cfg = ctx.config.tunnel.clone();
        let listen: SocketAddr = ctx.config.callbacks.listen.parse()?;
        // A listener on every address is reached on loopback.
        let local =
            if listen.ip().is_unspecified() { SocketAddr::from(([127, 0, 0, 1], listen.port())) } else { listen };
        #[cfg(feature = "tunnel-ssh")]
        if cfg.mode == TunnelMode::Ssh {
            ssh::check_key_file(&cfg.key_file)?;
            ssh::HostPin::parse(&cfg.host_key).map_err(|e| anyhow::anyhow!("tunnel.host_key: {e}"))?;
        }
        let peer =
            Peer::new(ctx, PeerName { kind: "tunnel", label: "mode", name: cfg.mode.name().into() }, Duration::ZERO);
        let probes = probe::Probes::new(&cfg)?;
        Ok(Tunnel {
            cfg,
            peer,
            store: ctx.store.clone(),
            health: ctx.health.clone(),
            local,
            status: Mutex::new(Status::default()),
            probes,
            restart: Notify::new(),
            probe_now: Notify::new(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Status> {
        self.status.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The transport is up (session with its forward, or the child started).
    pub async fn transport_up(&self) {
        self.lock().transport = true;
        if self.cfg.probe_secs == 0 {
            self.decide(true, None).await;
        } else {
            self.probe_now.notify_one();
        }
    }

    /// The transport ended (or could not start) because of `why`: the tunnel is down.
    pub async fn transport_down(&self, why: &str) {
        {
            let mut s = self.lock();
            if s.transport {
                s.reconnects += 1;
                self.peer.metrics.inc(&self.peer.metric("reconnects_total"));
            }
            s.transport = false;
        }
        self.decide(false, Some(why.to_string())).await;
    }

    /// Records a probe's verdict (`rtt` when the nonce came back).
    pub async fn probed(&self, rtt: Result<Duration, String>) {
        let now = crate::event::now_ms();
        match rtt {
            Ok(d) => {
                {
                    let mut s = self.lock();
                    s.last_probe_rtt_ms = Some(d.as_millis() as u64);
                    s.last_probe_ms = Some(now);
                }
                self.peer.metrics.inc(&self.peer.metric("probes_ok_total"));
                self.decide(true, None).await;
            }
            Err(why) => {
                self.lock().last_probe_ms = Some(now);
                self.peer.metrics.inc(&self.peer.metric("probes_failed_total"));
                self.decide(false, Some(format!("probe: {why}"))).await;
            }
        }
    }

    /// Sets up/down; on a change, the health entry and a `tunnel.up`/`tunnel.down` event,
    /// committed before this returns (so changes reach the cloud in their order; one the
    /// store refused is stored with the next decision, before it: see `raised`).
    async fn decide(&self, up: bool, error: Option<String>) {
        let detail = {
            let mut s = self.lock();
            let changed = s.up != Some(up);
            if changed {
                s.up = Some(up);
                s.since_ms = crate::event::now_ms();
            }
            if let Some(e) = &error {
                s.last_error = Some(e.clone());
            }
            let detail = self.detail(&s);
            if changed {
                if up {
                    log::info!("tunnel up ({})", self.cfg.mode.name());
                } else {
                    log::warn!("tunnel down: {}", error.as_deref().unwrap_or("-"));
                }
                let kind = if up { "tunnel.up" } else { "tunnel.down" };
                self.peer.raised.push(self.peer.event(kind, detail.clone(), Class::Critical, None));
            }
            detail
        };
        let state = if up { State::Up } else { State::Down };
        self.health.set(&self.peer.source, state, error.clone());
        self.health.set_detail(&self.peer.source, detail);
        self.peer.metrics.set(&self.peer.metric("up"), u64::from(up));
        // A failure is logged; the events wait for the next flush.
        let _ = self.peer.raised.flush(&self.store, &self.peer.source).await;
    }

    fn detail(&self, s: &Status) -> Value {
        json!({
            "mode": self.cfg.mode.name(),
            "up": s.up.unwrap_or(false),
            "since": (s.since_ms > 0).then(|| crate::event::format_rfc3339_ms(s.since_ms)),
            "transport": s.transport,
            "public_url": self.cfg.public_url,
            "last_error": s.last_error,
            "reconnects": s.reconnects,
            "last_probe_rtt_ms": s.last_probe_rtt_ms,
            "last_probe": s.last_probe_ms.map(crate::event::format_rfc3339_ms),
        })
    }

    /// `tunnel.status`'s data.
    pub fn status(&self) -> Value {
        let s = self.lock();
        self.detail(&s)
    }

    /// The back-off before the `n`th reconnect in a row (from 0): doubling from
    /// `reconnect_min_ms` to `reconnect_max_ms`, with up to a quarter of jitter.
    pub fn backoff(&self, n: u32) -> Duration {
        let base = self.cfg.reconnect_min_ms.saturating_mul(1u64 << n.min(20)).min(self.cfg.reconnect_max_ms);
        let jitter = u64::from(u16::from_le_bytes(crate::event::random_bytes::<2>())) * (base / 4) / 65_535;
        Duration::from_millis(base - base / 4 + jitter)
    }
}

impl Connector for Tunnel {
    fn peer(&self) -> &Peer {
        &self.peer
    }

    fn commands(self: Arc<Self>, registry: &mut Registry) {
        let target = self.peer.source.clone();
        let t = self.clone();
        registry.register(&target, "tunnel.status", true, move |_| {
            let t = t.clone();
            async move { Ok(Outcome::data(t.status())) }
        });
        registry.register(&target, "tunnel.restart", true, move |_| {
            let t = self.clone();
            async move {
                log::warn!("tunnel restart by command");
                t.restart.notify_one();
                Ok(Outcome::data(json!({"restarting": true})))
            }
        });
    }

    fn callbacks(self: Arc<Self>, router: &mut Router) {
        probe::route(self, router);
    }

    fn tasks(self: Arc<Self>, stop: CancellationToken) -> Vec<Task> {
        let source = self.peer.source.clone();
        let mut tasks = Vec::new();
        if self.cfg.probe_secs > 0 {
            let (t, stop) = (self.clone(), stop.clone());
            tasks.push(Task::new(format!("{source} probe"), async move { probe::run(&t, stop).await }));
        }
        let run: Task = match self.cfg.mode {
            #[cfg(feature = "tunnel-ssh")]
            TunnelMode::Ssh => Task::new(format!("{source} ssh"), async move { ssh::run(self, stop).await }),
            TunnelMode::Command => {
                Task::new(format!("{source} command"), async move { command::run(&self, stop).await })
            }
            _ => return tasks,
        };
        tasks.push(run);
        tasks
    }
}
