//! `[[callcenter]]`: one table per cloud call-center OpenAPI account (agents, click-to-call,
//! call tasks, CDR and recordings).

use super::{ConfigError, Secret, invalid, is_topic_segment};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CallcenterConfig {
    /// The account's name: `callcenter/{name}` in topics and commands.
    pub name: String,
    /// The platform's base URL (`http://ip:port`); calls go to `{url}/openapi/{version}/{Api}`
    /// and recording files are fetched from `{url}/{filename}`.
    pub url: String,
    /// The API version in every call's path; each API's supported versions are checked
    /// against it before sending.
    #[serde(default = "default_version")]
    pub version: String,
    /// The account id (`authentication.customer`).
    pub customer: String,
    /// The account secret the digest is made with.
    pub apikey: Secret,
    /// The seat used when a command names none (`agent`, 1–8 digits); empty = commands
    /// must name one.
    #[serde(default)]
    pub agent: String,
    /// `param.lang`: `zh_CN` or `en_US`.
    #[serde(default = "default_lang")]
    pub lang: String,
    /// The secret path segment of the notification URL
    /// (`/callcenter/{name}/{secret}/notify` on the callback listener); empty = none.
    #[serde(default)]
    pub callback_secret: Secret,
    /// Addresses or CIDRs notifications may come from; empty = any.
    #[serde(default)]
    pub allow_from: Vec<String>,
    /// A new notification whose timestamp is further than this ahead of the agent's clock
    /// is refused (clocks differ; one already stored, a platform retry, is answered success).
    #[serde(default = "default_skew")]
    pub max_skew_secs: u64,
    /// A new notification older than this is refused: a platform retry after the agent
    /// could not be reached keeps its first attempt's timestamp, so this is how long an
    /// outage may last without losing one. With `max_skew_secs`, at most
    /// `store.dedup_ttl_secs` (a replay past the de-duplication record would be stored
    /// again); unset: a day, or less to fit (see [`CallcenterConfig::max_age_secs`]).
    #[serde(default)]
    pub max_age_secs: Option<u64>,
    /// Timeout of one HTTP exchange with the platform (recording downloads included).
    #[serde(default = "default_timeout")]
    pub timeout_ms: u64,
    /// How long a command keeps retrying a platform that cannot be reached.
    #[serde(default = "default_command_retry")]
    pub command_retry_secs: u64,
    /// getCdrList every this many seconds (0 = off).
    #[serde(default)]
    pub cdr_poll_secs: u64,
    /// The seats whose CDRs are collected (empty = `agent`).
    #[serde(default)]
    pub cdr_agents: Vec<String>,
    /// The service types collected, one request each in one batched call.
    #[serde(default = "default_service_types")]
    pub cdr_service_types: Vec<u32>,
    /// The newest part of the window left for the next round (CDRs the platform writes late).
    #[serde(default = "default_cdr_lag")]
    pub cdr_lag_secs: u64,
    /// The longest window asked for in one call (a long outage is caught up in steps).
    #[serde(default = "default_cdr_window")]
    pub cdr_window_secs: u64,
    /// The first round looks back this far.
    #[serde(default = "default_cdr_lookback")]
    pub cdr_lookback_secs: u64,
    /// The platform's clock for getCdrList times (`yyyy-MM-dd HH:mm:ss` local time),
    /// minutes east of UTC; China by default.
    #[serde(default = "default_utc_offset")]
    pub utc_offset_minutes: i32,
    /// getRecordsList every this many seconds (0 = off).
    #[serde(default)]
    pub records_poll_secs: u64,
    /// Download each listed recording and relay it like a received fax's file.
    #[serde(default)]
    pub fetch_recordings: bool,
    #[serde(default = "super::files::default_chunk")]
    pub chunk_bytes: usize,
    #[serde(default = "super::files::default_spool")]
    pub spool_max_bytes: u64,
    #[serde(default = "super::files::default_max_file")]
    pub max_file_bytes: usize,
    #[serde(default = "super::files::default_reoffer")]
    pub file_reoffer_secs: u64,
    #[serde(default)]
    pub upload_url: String,
    #[serde(default)]
    pub upload_token: Secret,
    /// PEM file of the CAs trusted for the platform and uploads; empty = the system's.
    #[serde(default)]
    pub tls_ca_file: String,
}

fn default_version() -> String {
    "V2.0.6".into()
}
fn default_lang() -> String {
    "en_US".into()
}
fn default_skew() -> u64 {
    300
}
/// `max_age_secs` when unset, if the de-duplication window allows.
const DEFAULT_AGE_SECS: u64 = 24 * 3600;

impl CallcenterConfig {
    /// How old a new notification may be: as configured, else a day, or what the store's
    /// de-duplication window leaves after `max_skew_secs`.
    pub fn max_age_secs(&self, dedup_ttl_secs: u64) -> u64 {
        self.max_age_secs.unwrap_or_else(|| DEFAULT_AGE_SECS.min(dedup_ttl_secs.saturating_sub(self.max_skew_secs)))
    }
}
fn default_timeout() -> u64 {
    15_000
}
fn default_command_retry() -> u64 {
    60
}
/// Every getCdrList `serviceType` code the seed lists (their labels are unreadable in the
/// OCR copy: inferred, see `connectors/callcenter/protocol/inferred.rs`).
fn default_service_types() -> Vec<u32> {
    vec![1, 2, 3, 4, 5, 7, 9, 17, 18, 19]
}
fn default_cdr_lag() -> u64 {
    120
}
fn default_cdr_window() -> u64 {
    3600
}
fn default_cdr_lookback() -> u64 {
    3600
}
fn default_utc_offset() -> i32 {
    480
}

/// `1`–`8` digits: a seat number (the digest's `agent`).
pub fn is_agent(s: &str) -> bool {
    (1..=8).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
}

/// An account id: `[A-Za-z0-9-_]`, not empty.
pub fn is_customer(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The `x` of `V2.0.x`, the form every API path carries.
pub fn minor_version(v: &str) -> Option<u8> {
    v.strip_prefix("V2.0.")?.parse().ok()
}

impl super::ConnectorConfig for CallcenterConfig {
    fn name(&self) -> &str {
        &self.name
    }

    fn validate(&self, config: &super::Config) -> Result<(), ConfigError> {
        let n = &self.name;
        if !is_topic_segment(n) {
            return Err(invalid("callcenter.name", format!("{n:?} must be 1-64 characters of A-Z a-z 0-9 . _ -")));
        }
        crate::http::client::Url::parse(&self.url).map_err(|e| invalid("callcenter.url", format!("{n}: {e}")))?;
        if minor_version(&self.version).is_none() {
            return Err(invalid("callcenter.version", format!("{n}: {:?} is not V2.0.x", self.version)));
        }
        if !is_customer(&self.customer) {
            return Err(invalid("callcenter.customer", format!("{n}: required, A-Z a-z 0-9 - _")));
        }
        if self.apikey.expose().is_empty() {
            return Err(invalid("callcenter.apikey", format!("{n}: required")));
        }
        // A notification stored up to max_skew_secs ahead keeps its de-duplication record
        // for dedup_ttl_secs from then: a replay is caught while it may be fresh.
        if self.max_age_secs.is_some_and(|age| age.saturating_add(self.max_skew_secs) > config.store.dedup_ttl_secs) {
            return Err(invalid(
                "callcenter.max_age_secs",
                format!("{n}: with max_skew_secs, at most store.dedup_ttl_secs ({})", config.store.dedup_ttl_secs),
            ));
        }
        if !self.agent.is_empty() && !is_agent(&self.agent) {
            return Err(invalid("callcenter.agent", format!("{n}: 1-8 digits")));
        }
        if let Some(a) = self.cdr_agents.iter().find(|a| !is_agent(a)) {
            return Err(invalid("callcenter.cdr_agents", format!("{n}: {a:?} is not 1-8 digits")));
        }
        if !matches!(self.lang.as_str(), "zh_CN" | "en_US") {
            return Err(invalid("callcenter.lang", format!("{n}: zh_CN or en_US")));
        }
        let secret = self.callback_secret.to_check();
        if !secret.is_empty() && (secret.len() < 16 || !is_topic_segment(secret)) {
            return Err(invalid(
                "callcenter.callback_secret",
                format!("{n}: at least 16 characters of A-Z a-z 0-9 . _ -"),
            ));
        }
        super::callbacks::check_allow_list("callcenter.allow_from", n, &self.allow_from)?;
        if self.timeout_ms < 100 {
            return Err(invalid("callcenter.timeout_ms", format!("{n}: must be at least 100")));
        }
        for (key, secs) in
            [("callcenter.cdr_poll_secs", self.cdr_poll_secs), ("callcenter.records_poll_secs", self.records_poll_secs)]
        {
            if secs != 0 && secs < 5 {
                return Err(invalid(key, format!("{n}: 0 (off) or at least 5")));
            }
        }
        if self.cdr_poll_secs != 0 {
            if self.cdr_agents.is_empty() && self.agent.is_empty() {
                return Err(invalid("callcenter.cdr_agents", format!("{n}: CDR collection needs cdr_agents or agent")));
            }
            if self.cdr_service_types.is_empty() || self.cdr_window_secs < 60 {
                return Err(invalid(
                    "callcenter.cdr_service_types",
                    format!("{n}: CDR collection needs service types and a window of at least 60 s"),
                ));
            }
        }
        if !(-720..=840).contains(&self.utc_offset_minutes) {
            return Err(invalid("callcenter.utc_offset_minutes", format!("{n}: -720 to 840")));
        }
        super::files::check_files!(self, "callcenter", n, config)
    }

    fn secrets(&mut self) -> Vec<(&'static str, &mut Secret)> {
        vec![
            ("apikey", &mut self.apikey),
            ("callback_secret", &mut self.callback_secret),
            ("upload_token", &mut self.upload_token),
        ]
    }
}
