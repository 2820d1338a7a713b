//! The GoIP/EJOIN protocol, pure: no I/O, no clock, no randomness (nonces and times are
//! passed in). Everything here is checked by unit tests beside it; the crypto also against
//! independent vectors (`tests/vectors/goip_crypto.json`).

pub mod args;
pub mod crypto;
pub mod ports;
pub mod push;
pub mod reply;
pub mod request;
pub mod session;
pub mod sms;
pub mod status;
