//! The EJOIN/GoIP gateway driver (contract: `../shared/specs/goip-ejoin-http.md`).
//!
//! Work in progress (issue 3). The pure protocol part comes first: [`crypto`] (the
//! secure session's hashes, key and ciphers) and [`ports`] (port names and lists). Request
//! building, reply and push parsing, the I/O part, the agent wiring and the simulator follow.

pub mod crypto;
pub mod ports;
pub mod push;
pub mod reply;
pub mod request;
pub mod sms;
