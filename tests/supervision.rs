//! A connector's background task is supervised like the uplink: when it fails (or ends
//! while the agent runs) the agent stops with an error naming it, so the process exits
//! non-zero and systemd restarts it — never a silently dead driver. The agent runs
//! in-process here, on a listener the test binds and passes in.

mod common;

use common::*;
use std::sync::Arc;
use std::time::Duration;
use telbridge::agent::{Options, run_with};
use telbridge::command::Registry;
use telbridge::connectors::{Connector, Connectors, Ctx, Kind, Peer, PeerName, Task};
use tokio_util::sync::CancellationToken;

/// A connector with one task: `failing` makes it fail after a moment (the way a driver
/// loop does when the store is gone); otherwise it returns as soon as the agent stops.
struct Probe {
    peer: Peer,
    failing: bool,
}

impl Connector for Probe {
    fn peer(&self) -> &Peer {
        &self.peer
    }

    fn commands(self: Arc<Self>, _registry: &mut Registry) {}

    fn tasks(self: Arc<Self>, stop: CancellationToken) -> Vec<Task> {
        let name = format!("{} loop", self.target());
        vec![Task::new(name, async move {
            if self.failing {
                tokio::time::sleep(Duration::from_millis(300)).await;
                return Err(anyhow::anyhow!("the store is closed"));
            }
            stop.cancelled().await;
            Ok(())
        })]
    }
}

fn probe(ctx: &Ctx, name: &str, failing: bool) -> Connectors {
    let peer = Peer::new(ctx, PeerName { kind: "test", label: "probe", name: name.into() }, Duration::ZERO);
    vec![Arc::new(Probe { peer, failing })]
}

static FAILING: &[Kind] =
    &[Kind { name: "test", build: |ctx| Box::pin(async move { Ok(probe(&ctx, "failing", true)) }) }];
static QUIET: &[Kind] = &[Kind { name: "test", build: |ctx| Box::pin(async move { Ok(probe(&ctx, "quiet", false)) }) }];

/// Runs the agent in-process with `kinds` until it returns or `stop_after` passes.
fn run_agent(name: &str, kinds: &'static [Kind], stop_after: Duration) -> anyhow::Result<()> {
    let dir = temp_dir(name);
    let broker = Mosquitto::start(&dir);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let config = write_config(&dir, name, broker.port, port, "", "");
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("rt");
    runtime.block_on(async {
        let shutdown = CancellationToken::new();
        let stop = shutdown.clone();
        tokio::spawn(async move {
            tokio::time::sleep(stop_after).await;
            stop.cancel();
        });
        let options = Options { kinds, listener: Some(listener) };
        tokio::time::timeout(Duration::from_secs(60), run_with(&config, shutdown, options))
            .await
            .expect("agent ended")
            .map(drop)
    })
}

#[test]
fn a_connector_task_that_fails_stops_the_agent_with_an_error_naming_it() {
    let err = run_agent("supervised-fail", FAILING, Duration::from_secs(30)).expect_err("the agent must stop");
    let text = format!("{err:#}");
    assert!(text.contains("test/failing loop") && text.contains("the store is closed"), "{text}");
}

#[test]
fn a_connector_task_that_returns_on_stop_lets_the_agent_stop_cleanly() {
    run_agent("supervised-quiet", QUIET, Duration::from_secs(2)).expect("a clean stop");
}
