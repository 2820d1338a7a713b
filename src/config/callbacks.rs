//! `[callbacks]`: the second listener, where cloud vendors' callbacks arrive (through the
//! tunnel): nothing but vendor callback routes is served there.

use super::{ConfigError, invalid};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct CallbacksConfig {
    /// Where the callback listener listens (started only when a vendor has callbacks).
    pub listen: String,
    pub max_body_bytes: usize,
    pub request_timeout_ms: u64,
    /// Request bodies buffered at once, all requests together (beyond: 503 `busy`).
    pub max_buffered_bytes: usize,
    /// Connections served at once (more wait in the listen queue).
    pub max_connections: usize,
    /// Take the client's address from `X-Forwarded-For` (its last entry), for a reverse
    /// proxy in front of the tunnel. Off: the connection's own address is checked.
    pub trust_forwarded_for: bool,
}

impl Default for CallbacksConfig {
    fn default() -> Self {
        CallbacksConfig {
            listen: "127.0.0.1:8090".into(),
            max_body_bytes: 64 * 1024,
            request_timeout_ms: 10_000,
            max_buffered_bytes: 1024 * 1024,
            max_connections: 32,
            trust_forwarded_for: false,
        }
    }
}

impl CallbacksConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.listen.parse::<SocketAddr>().is_err() {
            return Err(invalid("callbacks.listen", format!("{:?} is not an address:port", self.listen)));
        }
        if !(1024..=16 * 1024 * 1024).contains(&self.max_body_bytes) {
            return Err(invalid("callbacks.max_body_bytes", "must be 1024 bytes to 16 MiB"));
        }
        if self.request_timeout_ms < 100 {
            return Err(invalid("callbacks.request_timeout_ms", "must be at least 100"));
        }
        if self.max_buffered_bytes < self.max_body_bytes || self.max_buffered_bytes > 1 << 30 {
            return Err(invalid(
                "callbacks.max_buffered_bytes",
                "must be at least callbacks.max_body_bytes and at most 1 GiB",
            ));
        }
        if !(1..=10_000).contains(&self.max_connections) {
            return Err(invalid("callbacks.max_connections", "must be 1-10000"));
        }
        Ok(())
    }
}

/// Checks an allow-list of a vendor account (`allow_from`): every entry an address or CIDR.
pub fn check_allow_list(key: &'static str, name: &str, list: &[String]) -> Result<(), ConfigError> {
    for entry in list {
        if crate::http::cidr::Cidr::parse(entry).is_none() {
            return Err(invalid(key, format!("{name}: {entry:?} is not an address or CIDR (10.0.0.0/8, ::1)")));
        }
    }
    Ok(())
}
