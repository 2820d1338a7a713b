//! The local HTTP ingress: one hyper (HTTP/1.1) server that devices push to, vendor
//! callbacks arrive at, and LAN applications relay events through.
//!
//! [`router`] routes by method and path (connectors add theirs), [`server`] serves the
//! listener within the body and time limits, [`ingest`] is `POST /v1/events`, [`ops`] is
//! `/healthz` and `/metrics`, [`client`] is the one outbound HTTP client (`resolve` its name
//! lookup). Handlers answer 2xx only after what they accepted is committed to the store.

pub mod cidr;
pub mod client;
pub mod ingest;
pub mod ops;
pub mod parse_cost;
mod resolve;
pub mod router;
pub mod server;
pub mod url;

pub use router::{Request, Response, Router, error, json_response, text_response};
pub use server::{Limits, PeerAddr, serve};
