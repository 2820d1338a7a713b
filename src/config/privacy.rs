//! `[[privacy]]`: one table per privacy-number platform account (AXB / XA bindings).

use super::{ConfigError, Secret, invalid, is_topic_segment};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PrivacyConfig {
    /// The account's name: `privacy/{name}` in topics and commands.
    pub name: String,
    /// The platform's base URL (`https://…`; plain `http://` only with its IP allow-list).
    pub url: String,
    pub devid: String,
    /// The key the `Keytime` signature is made with.
    pub authkey: Secret,
    pub appid: String,
    /// The secret path segment of this account's callbacks (`/privacy/{name}/{secret}/cdr`
    /// and `…/call_start` on the callback listener); empty = no callbacks.
    #[serde(default)]
    pub callback_secret: Secret,
    /// Addresses or CIDRs callbacks may come from; empty = any.
    #[serde(default)]
    pub allow_from: Vec<String>,
    /// Timeout of one HTTP exchange with the platform (recording downloads included).
    #[serde(default = "default_timeout")]
    pub timeout_ms: u64,
    /// How long a command keeps retrying (the same `reqid`) a platform that is unreachable,
    /// rate-limited (1105) or temporarily failing (1500, 1501).
    #[serde(default = "default_command_retry")]
    pub command_retry_secs: u64,
    /// Download each CDR's recording and relay it like a received fax's file.
    #[serde(default)]
    pub fetch_recordings: bool,
    /// File bytes per MQTT chunk (sent base64-encoded inside the event).
    #[serde(default = "super::files::default_chunk")]
    pub chunk_bytes: usize,
    /// Recordings kept until the cloud acknowledges them, in bytes at most.
    #[serde(default = "super::files::default_spool")]
    pub spool_max_bytes: u64,
    /// Largest recording downloaded; a larger one is relayed as metadata only.
    #[serde(default = "super::files::default_max_file")]
    pub max_file_bytes: usize,
    /// A recording not acknowledged this long after it was offered is offered again; 0 = never.
    #[serde(default = "super::files::default_reoffer")]
    pub file_reoffer_secs: u64,
    /// Instead of MQTT chunks, POST each recording here (`http://` or `https://`).
    #[serde(default)]
    pub upload_url: String,
    #[serde(default)]
    pub upload_token: Secret,
    /// PEM file of the CAs trusted for the platform, recordings and uploads; empty = the system's.
    #[serde(default)]
    pub tls_ca_file: String,
}

fn default_timeout() -> u64 {
    15_000
}
fn default_command_retry() -> u64 {
    60
}

impl super::ConnectorConfig for PrivacyConfig {
    fn name(&self) -> &str {
        &self.name
    }

    fn validate(&self, config: &super::Config) -> Result<(), ConfigError> {
        let n = &self.name;
        if !is_topic_segment(n) {
            return Err(invalid("privacy.name", format!("{n:?} must be 1-64 characters of A-Z a-z 0-9 . _ -")));
        }
        crate::http::client::Url::parse(&self.url).map_err(|e| invalid("privacy.url", format!("{n}: {e}")))?;
        if self.devid.is_empty() || self.appid.is_empty() || self.authkey.expose().is_empty() {
            return Err(invalid("privacy.devid", format!("{n}: devid, authkey and appid are required")));
        }
        let secret = self.callback_secret.to_check();
        if !secret.is_empty() && (secret.len() < 16 || !is_topic_segment(secret)) {
            return Err(invalid(
                "privacy.callback_secret",
                format!("{n}: at least 16 characters of A-Z a-z 0-9 . _ -"),
            ));
        }
        super::callbacks::check_allow_list("privacy.allow_from", n, &self.allow_from)?;
        if self.timeout_ms < 100 {
            return Err(invalid("privacy.timeout_ms", format!("{n}: must be at least 100")));
        }
        super::files::check_files!(self, "privacy", n, config)
    }

    fn secrets(&mut self) -> Vec<(&'static str, &mut Secret)> {
        vec![
            ("authkey", &mut self.authkey),
            ("callback_secret", &mut self.callback_secret),
            ("upload_token", &mut self.upload_token),
        ]
    }
}
