//! `[[goip]]`: one table per EJOIN/GoIP gateway.

use super::{ConfigError, Secret, invalid, is_topic_segment};
use serde::{Deserialize, Serialize};

/// The body ciphers of the secure session, as `cipher` names them (`goip::crypto::Cipher`
/// parses exactly these; a test there keeps the two in step).
pub const CIPHERS: [&str; 4] = ["none", "xor", "rc4", "aes-ecb"];

/// How the agent authenticates to a gateway.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum GoipAuth {
    /// `username`/`password` in every URL (all firmware).
    Plain,
    /// The secure session of newer firmware (`crypt_sess.json`).
    Session,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GoipConfig {
    /// The device's name: `goip/{name}` in topics, commands and push paths.
    pub name: String,
    /// The device's web interface, e.g. `http://192.168.1.10` (port 80 by default).
    pub url: String,
    pub username: String,
    pub password: Secret,
    #[serde(default = "default_auth")]
    pub auth: GoipAuth,
    /// Body cipher of the secure session: none, xor, rc4, aes-ecb.
    #[serde(default = "default_cipher")]
    pub cipher: String,
    #[serde(default = "default_session_path")]
    pub session_path: String,
    #[serde(default = "default_session_expires")]
    pub session_expires_secs: u32,
    /// Where the device reaches this agent's ingress, e.g. `http://192.168.1.2:8080`.
    /// Empty: derived from `http.listen` (which must then be a concrete address).
    #[serde(default)]
    pub push_base_url: String,
    /// The secret in the push path. Empty: generated once and kept in the store.
    #[serde(default)]
    pub push_secret: Secret,
    /// Status push period asked of the device (>= 60), 0 = no status pushes.
    #[serde(default = "default_status_period")]
    pub status_period_secs: u32,
    /// How often the status subscription is renewed (the device may have been reset).
    #[serde(default = "default_resubscribe")]
    pub resubscribe_secs: u64,
    /// Received-SMS poll interval; 0 = push only.
    #[serde(default = "default_poll")]
    pub poll_sms_secs: u64,
    /// A `device.status` snapshot at least this often even without change.
    #[serde(default = "default_snapshot")]
    pub snapshot_secs: u64,
    /// SMS statistics snapshot interval; 0 = only on `device.stats`.
    #[serde(default)]
    pub stats_secs: u64,
    /// Timeout of one HTTP exchange with the device.
    #[serde(default = "default_timeout")]
    pub timeout_ms: u64,
    /// How long a command keeps retrying an unreachable device before failing.
    #[serde(default = "default_command_retry")]
    pub command_retry_secs: u64,
    /// Device-side batching of status reports and received SMS (set on every send).
    #[serde(default = "default_sr_cnt")]
    pub sr_cnt: u32,
    #[serde(default = "default_prd")]
    pub sr_prd: u32,
    #[serde(default = "default_sms_cnt")]
    pub sms_cnt: u32,
    #[serde(default = "default_prd")]
    pub sms_prd: u32,
    /// Ask the device for per-recipient success records (`sdr`) on every task, so the cloud
    /// learns which recipients got the message, not only which failed (`fdr`, on by the
    /// device's default). A command's own `options.sdr` wins.
    #[serde(default = "default_true")]
    pub success_records: bool,
}

fn default_true() -> bool {
    true
}

fn default_auth() -> GoipAuth {
    GoipAuth::Plain
}
fn default_cipher() -> String {
    "none".into()
}
fn default_session_path() -> String {
    "/crypt_sess.json".into()
}
fn default_session_expires() -> u32 {
    180
}
fn default_status_period() -> u32 {
    60
}
fn default_resubscribe() -> u64 {
    600
}
fn default_poll() -> u64 {
    30
}
fn default_snapshot() -> u64 {
    300
}
fn default_timeout() -> u64 {
    5000
}
fn default_command_retry() -> u64 {
    60
}
fn default_sr_cnt() -> u32 {
    10
}
fn default_prd() -> u32 {
    30
}
fn default_sms_cnt() -> u32 {
    1
}

impl super::ConnectorConfig for GoipConfig {
    fn name(&self) -> &str {
        &self.name
    }

    fn validate(&self, config: &super::Config) -> Result<(), ConfigError> {
        self.check(&config.http.listen)
    }

    fn secrets(&mut self) -> Vec<(&'static str, &mut Secret)> {
        vec![("password", &mut self.password), ("push_secret", &mut self.push_secret)]
    }
}

impl GoipConfig {
    /// Checks one device's values; `listen` is `http.listen`.
    fn check(&self, listen: &str) -> Result<(), ConfigError> {
        if !is_topic_segment(&self.name) {
            return Err(invalid("goip.name", format!("{:?} must be 1-64 characters of A-Z a-z 0-9 . _ -", self.name)));
        }
        crate::http::client::Url::parse(&self.url).map_err(|e| invalid("goip.url", format!("{}: {e}", self.name)))?;
        if self.username.is_empty() {
            return Err(invalid("goip.username", format!("{}: must not be empty", self.name)));
        }
        // A segment of the push URL, compared as the device sends it: one with `/ ? # %`, a
        // space or a character outside ASCII never matches (every push would be refused).
        // (A short one works but is not masked where echoed: the driver warns at start.)
        let secret = self.push_secret.to_check();
        if !secret.bytes().all(|b| b.is_ascii_graphic() && !matches!(b, b'/' | b'?' | b'#' | b'%')) {
            return Err(invalid(
                "goip.push_secret",
                format!("{}: printable ASCII without / ? # % or spaces (or empty: generated)", self.name),
            ));
        }
        if !CIPHERS.contains(&self.cipher.as_str()) {
            return Err(invalid("goip.cipher", format!("{}: must be none, xor, rc4 or aes-ecb", self.name)));
        }
        if self.auth == GoipAuth::Plain && self.cipher != "none" {
            return Err(invalid("goip.cipher", format!("{}: a cipher needs auth = \"session\"", self.name)));
        }
        if !self.session_path.starts_with('/') {
            return Err(invalid("goip.session_path", format!("{}: must start with /", self.name)));
        }
        if !(10..=86_400).contains(&self.session_expires_secs) {
            return Err(invalid("goip.session_expires_secs", format!("{}: must be 10-86400", self.name)));
        }
        if self.status_period_secs != 0 && self.status_period_secs < 60 {
            return Err(invalid("goip.status_period_secs", format!("{}: must be 0 or at least 60", self.name)));
        }
        if self.push_base_url.is_empty() {
            let concrete = listen.parse::<std::net::SocketAddr>().is_ok_and(|a| !a.ip().is_unspecified());
            if !concrete {
                return Err(invalid(
                    "goip.push_base_url",
                    format!("{}: must be set when http.listen is {listen}", self.name),
                ));
            }
        } else {
            crate::http::client::Url::parse(&self.push_base_url)
                .map_err(|e| invalid("goip.push_base_url", format!("{}: {e}", self.name)))?;
        }
        if self.timeout_ms < 100 {
            return Err(invalid("goip.timeout_ms", format!("{}: must be at least 100", self.name)));
        }
        if self.resubscribe_secs < 10 {
            return Err(invalid("goip.resubscribe_secs", format!("{}: must be at least 10", self.name)));
        }
        Ok(())
    }

    /// `push_base_url`, or `http://{http.listen}`.
    pub fn push_base(&self, listen: &str) -> String {
        let base = if self.push_base_url.is_empty() { format!("http://{listen}") } else { self.push_base_url.clone() };
        base.trim_end_matches('/').to_string()
    }
}
