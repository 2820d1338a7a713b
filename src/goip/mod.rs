//! The EJOIN/GoIP gateway driver (contract: `../shared/specs/goip-ejoin-http.md`).
//!
//! Work in progress (issue 3). The pure protocol part is here: [`crypto`] (the secure
//! session's hashes, key and ciphers, checked against independent vectors), [`ports`]
//! (port names and lists), [`request`] (every call, signed and with encrypted bodies),
//! [`reply`] (every reply), [`push`] and [`sms`] (pushed bodies, received SMS, delivery
//! reports, task progress), [`session`] (session lifecycle and auth-order detection).
//! Still to come: the thin I/O part, the agent wiring (commands,
//! push routes, polling, health) and the `telbridge-sim goip` simulator.

pub mod crypto;
pub mod ports;
pub mod push;
pub mod reply;
pub mod request;
pub mod session;
pub mod sms;
