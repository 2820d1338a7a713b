//! `[[wavefax]]`: one table per WaveFax fax server.

use super::{ConfigError, Secret, invalid, is_topic_segment};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WavefaxConfig {
    /// The server's name: `wavefax/{name}` in topics and commands.
    pub name: String,
    /// The server's base URL, e.g. `http://192.168.1.20:8080` (calls go to `/wspubcore`).
    pub url: String,
    pub user: String,
    /// Log in with `userdomain=` (a domain account) instead of `user=`.
    #[serde(default)]
    pub domain_login: bool,
    pub password: Secret,
    /// Country calling code that local numbers are completed with (no `+`).
    #[serde(default = "default_country")]
    pub country_code: String,
    /// Area code (no trunk 0) that local numbers are completed with; may be empty.
    #[serde(default)]
    pub area_code: String,
    /// The server's time zone, minutes east of UTC (its times are local, `YYYYMMDDTHHNNSS`).
    #[serde(default = "default_offset")]
    pub utc_offset_minutes: i32,
    /// How often unfinished outbound faxes are polled with `getoutfax`.
    #[serde(default = "default_poll_out")]
    pub poll_out_secs: u64,
    /// How often the inbox is polled with `getinfaxids`; 0 = inbound faxes are not relayed.
    #[serde(default = "default_poll_in")]
    pub poll_in_secs: u64,
    /// Each inbox window starts this long before the newest fax already seen.
    #[serde(default = "default_overlap")]
    pub in_overlap_secs: u64,
    /// On a fresh store, faxes received this long before the first poll are relayed too.
    #[serde(default = "default_lookback")]
    pub in_lookback_secs: u64,
    /// Fetch received faxes as PDF (`getfaxfile pdf=1`) instead of TIFF.
    #[serde(default = "default_true")]
    pub pdf: bool,
    /// `deleteinfax` once the cloud has acknowledged a received fax's file.
    #[serde(default)]
    pub delete_after_ack: bool,
    /// File bytes per MQTT chunk (sent base64-encoded inside the event).
    #[serde(default = "super::files::default_chunk")]
    pub chunk_bytes: usize,
    /// Received files kept until the cloud acknowledges them, in bytes at most; when full,
    /// new faxes stay on the server until acknowledgements make room.
    #[serde(default = "super::files::default_spool")]
    pub spool_max_bytes: u64,
    /// Largest file downloaded (received faxes and `fax.send` documents).
    #[serde(default = "super::files::default_max_file")]
    pub max_file_bytes: usize,
    /// A file not acknowledged this long after it was offered is offered again; 0 = never.
    #[serde(default = "super::files::default_reoffer")]
    pub file_reoffer_secs: u64,
    /// Instead of MQTT chunks, POST each received file here (`http://` or `https://`).
    #[serde(default)]
    pub upload_url: String,
    /// Bearer token for `upload_url`.
    #[serde(default)]
    pub upload_token: Secret,
    /// PEM file of the CAs trusted for `https://` documents and uploads; empty = the
    /// system's roots.
    #[serde(default)]
    pub tls_ca_file: String,
    /// Timeout of one HTTP exchange with the server (uploads and downloads included).
    #[serde(default = "default_timeout")]
    pub timeout_ms: u64,
    /// How long a command keeps retrying an unreachable server before failing.
    #[serde(default = "default_command_retry")]
    pub command_retry_secs: u64,
    /// A submit whose answer was lost (`submit_uncertain`) and whose job the server does not
    /// list this long after it is settled as not submitted (`fax.submit_resolved`
    /// `submitted:false`). The server lists sent faxes only, so this is the longest a job
    /// may wait in its queue.
    #[serde(default = "default_submit_settle")]
    pub submit_settle_secs: u64,
}

fn default_submit_settle() -> u64 {
    3600
}

fn default_country() -> String {
    "86".into()
}
fn default_offset() -> i32 {
    480
}
fn default_poll_out() -> u64 {
    15
}
fn default_poll_in() -> u64 {
    30
}
fn default_overlap() -> u64 {
    600
}
fn default_lookback() -> u64 {
    86_400
}
fn default_true() -> bool {
    true
}
fn default_timeout() -> u64 {
    30_000
}
fn default_command_retry() -> u64 {
    60
}

impl super::ConnectorConfig for WavefaxConfig {
    fn name(&self) -> &str {
        &self.name
    }

    fn validate(&self, config: &super::Config) -> Result<(), ConfigError> {
        self.check()?;
        super::files::check_files!(self, "wavefax", &self.name, config)
    }

    fn secrets(&mut self) -> Vec<(&'static str, &mut Secret)> {
        vec![("password", &mut self.password), ("upload_token", &mut self.upload_token)]
    }
}

impl WavefaxConfig {
    /// Checks one server's own values (the file relay's are checked by `files`).
    fn check(&self) -> Result<(), ConfigError> {
        let n = &self.name;
        if !is_topic_segment(n) {
            return Err(invalid("wavefax.name", format!("{n:?} must be 1-64 characters of A-Z a-z 0-9 . _ -")));
        }
        crate::http::client::Url::parse(&self.url).map_err(|e| invalid("wavefax.url", format!("{n}: {e}")))?;
        if self.user.is_empty() {
            return Err(invalid("wavefax.user", format!("{n}: must not be empty")));
        }
        if self.country_code.is_empty() || self.country_code.len() > 3 || !all_digits(&self.country_code) {
            return Err(invalid("wavefax.country_code", format!("{n}: 1-3 digits, without +")));
        }
        if self.area_code.len() > 5 || !all_digits(&self.area_code) || self.area_code.starts_with('0') {
            return Err(invalid("wavefax.area_code", format!("{n}: up to 5 digits, without the trunk 0")));
        }
        if !(-720..=840).contains(&self.utc_offset_minutes) {
            return Err(invalid("wavefax.utc_offset_minutes", format!("{n}: must be -720..840")));
        }
        if self.poll_out_secs == 0 {
            return Err(invalid("wavefax.poll_out_secs", format!("{n}: must be at least 1")));
        }
        if self.timeout_ms < 100 {
            return Err(invalid("wavefax.timeout_ms", format!("{n}: must be at least 100")));
        }
        Ok(())
    }

    /// Where local numbers are completed.
    #[cfg(feature = "wavefax")]
    pub fn dialing(&self) -> crate::connectors::wavefax::protocol::number::Dialing {
        crate::connectors::wavefax::protocol::number::Dialing {
            country: self.country_code.clone(),
            area: self.area_code.clone(),
        }
    }
}

fn all_digits(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit())
}
