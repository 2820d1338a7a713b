//! telbridge: an edge agent that relays LAN devices and vendor callbacks to the cloud
//! over MQTT, with a durable SQLite store-and-forward in between.
//!
//! Layers: [`config`] (the TOML file), [`store`] (the one writer of the SQLite file),
//! [`event`] (envelopes and ids), [`mqtt`] (the uplink), [`command`] (cloud commands and
//! their registry), [`http`] (the local ingress), and [`agent`], which wires them together.
//! Everything that plugs in lives in [`connectors`]; the drivers (`goip`, `wavefax`) are
//! cargo features, both on by default. The simulators are a crate of their own (`sim/`).

pub mod agent;
pub mod background;
pub mod cli;
pub mod command;
pub mod config;
pub mod connectors;
pub mod durable;
pub mod event;
pub mod health;
pub mod http;
pub mod logring;
pub mod metrics;
pub mod mqtt;
pub mod notify;
pub mod schedule;
pub mod scrub;
pub mod store;
pub mod tls;
pub mod update;
pub mod version;
