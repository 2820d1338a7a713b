//! `telbridge-sim`: device and vendor simulators for telbridge's end-to-end tests and for
//! trying telbridge without hardware — an EJOIN/GoIP gateway ([`goip`]), a WaveFax
//! server ([`fax`]), the QMsg cloud SMS platform ([`qmsg`]), a cloud privacy-number
//! platform ([`privacy`]) and a cloud call-center OpenAPI ([`callcenter`]), written from the
//! vendor API digests alone (no code shared with the agent's drivers). Each serves the
//! vendor's HTTP API plus a control API under `/sim/`.

pub mod callcenter;
pub mod cli;
pub mod fax;
pub mod goip;
pub mod privacy;
pub mod push;
pub mod qmsg;
pub mod server;
pub mod util;

use std::future::Future;
use tokio::net::TcpListener;

/// Builds the chosen simulator, starts its background work, and serves it on `listener`
/// until `stop` completes. Must run inside a Tokio runtime.
pub async fn run(listener: TcpListener, choice: cli::Choice, stop: impl Future<Output = ()>) {
    let router = match choice {
        cli::Choice::Goip(opts) => {
            let sim = goip::Sim::new(opts);
            sim.spawn();
            sim.router()
        }
        cli::Choice::Fax(opts) => {
            let sim = fax::Sim::new(opts);
            sim.spawn();
            sim.router()
        }
        cli::Choice::Qmsg(opts) => {
            let sim = qmsg::Sim::new(*opts);
            sim.spawn();
            sim.router()
        }
        cli::Choice::Privacy(opts) => {
            let sim = privacy::Sim::new(*opts);
            sim.spawn();
            sim.router()
        }
        cli::Choice::Callcenter(opts) => {
            let sim = callcenter::Sim::new(*opts);
            sim.spawn();
            sim.router()
        }
    };
    server::serve(listener, router, stop).await;
}
