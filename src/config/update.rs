//! `[update]`: remote software updates (`agent.update`): the trusted signing keys, where
//! downloads and the probation marker live, which path the service manager starts.

use super::{ConfigError, invalid};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct UpdateConfig {
    /// Base64 ed25519 public keys whose signatures are trusted; none = updates disabled.
    pub public_keys: Vec<String>,
    /// Downloads, kept versions and the probation marker; empty = `update/` beside the store.
    pub dir: String,
    /// The path the service manager starts (a symlink the update re-points, or a file it
    /// replaces; its directory must be writable); empty = the path this agent was started as.
    pub binary: String,
    /// The largest file accepted.
    pub max_bytes: u64,
    /// The new version must be healthy (store open, MQTT connected) within this, or the
    /// previous one is put back.
    pub probation_secs: u64,
    /// Starts of the new version during probation before it is given up.
    pub max_starts: u32,
    /// The download's timeout.
    pub timeout_ms: u64,
    /// PEM file of the CAs trusted for the download; empty = the system's.
    pub tls_ca_file: String,
}

impl Default for UpdateConfig {
    fn default() -> Self {
        UpdateConfig {
            public_keys: Vec::new(),
            dir: String::new(),
            binary: String::new(),
            max_bytes: 64 * 1024 * 1024,
            probation_secs: 120,
            max_starts: 3,
            timeout_ms: 300_000,
            tls_ca_file: String::new(),
        }
    }
}

impl UpdateConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        for k in &self.public_keys {
            crate::update::manifest::parse_key(k).map_err(|e| invalid("update.public_keys", e))?;
        }
        if self.probation_secs < 10 {
            return Err(invalid("update.probation_secs", "at least 10"));
        }
        if self.max_starts == 0 || self.max_bytes < 1024 * 1024 {
            return Err(invalid("update.max_starts", "max_starts at least 1, max_bytes at least 1 MiB"));
        }
        Ok(())
    }
}
