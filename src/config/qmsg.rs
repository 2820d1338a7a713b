//! `[[qmsg]]`: one table per QMsg (快信通) cloud SMS account.

use super::{ConfigError, Secret, invalid, is_topic_segment};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct QmsgConfig {
    /// The account's name: `qmsg/{name}` in topics and commands.
    pub name: String,
    /// The service's base URL (the seed's is `http://qmsg2.mdao.com`).
    pub url: String,
    /// The organisation id (`entid`, 7 digits).
    pub entid: String,
    pub uid: String,
    pub pwd: Secret,
    /// Replies asked for as `text` (three lines) or `xml`.
    #[serde(default = "default_returnflag")]
    pub returnflag: String,
    /// How often received SMS are fetched with `getSms`; 0 = only pushes.
    #[serde(default = "default_poll")]
    pub poll_secs: u64,
    /// `getall=yes`: fetch the whole organisation's messages (organisation admin only).
    #[serde(default)]
    pub getall: bool,
    /// The secret path segment of this account's callbacks (`/qmsg/{name}/{secret}/recvmsg`
    /// and `…/recvreport` on the callback listener); empty = no callbacks.
    #[serde(default)]
    pub callback_secret: Secret,
    /// Addresses or CIDRs callbacks may come from; empty = any.
    #[serde(default)]
    pub allow_from: Vec<String>,
    /// `balance.low` is raised when the balance a send reports falls below this; 0 = never.
    #[serde(default)]
    pub balance_low: i64,
    /// Timeout of one HTTP exchange with the service.
    #[serde(default = "default_timeout")]
    pub timeout_ms: u64,
    /// How long a send keeps retrying a service it could not connect to (nothing sent).
    #[serde(default = "default_command_retry")]
    pub command_retry_secs: u64,
    /// PEM file of the CAs trusted for an `https://` url; empty = the system's.
    #[serde(default)]
    pub tls_ca_file: String,
}

fn default_returnflag() -> String {
    "text".into()
}
fn default_poll() -> u64 {
    60
}
fn default_timeout() -> u64 {
    15_000
}
fn default_command_retry() -> u64 {
    60
}

impl super::ConnectorConfig for QmsgConfig {
    fn name(&self) -> &str {
        &self.name
    }

    fn validate(&self, _config: &super::Config) -> Result<(), ConfigError> {
        let n = &self.name;
        if !is_topic_segment(n) {
            return Err(invalid("qmsg.name", format!("{n:?} must be 1-64 characters of A-Z a-z 0-9 . _ -")));
        }
        crate::http::client::Url::parse(&self.url).map_err(|e| invalid("qmsg.url", format!("{n}: {e}")))?;
        if self.entid.is_empty() || !self.entid.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid("qmsg.entid", format!("{n}: must be the organisation's digits")));
        }
        if self.uid.is_empty() || self.pwd.expose().is_empty() {
            return Err(invalid("qmsg.uid", format!("{n}: uid and pwd are required")));
        }
        if !matches!(self.returnflag.as_str(), "text" | "xml") {
            return Err(invalid("qmsg.returnflag", format!("{n}: must be \"text\" or \"xml\"")));
        }
        if self.poll_secs != 0 && self.poll_secs < 5 {
            return Err(invalid("qmsg.poll_secs", format!("{n}: 0 (off) or at least 5")));
        }
        let secret = self.callback_secret.to_check();
        if !secret.is_empty() && (secret.len() < 16 || !is_topic_segment(secret)) {
            return Err(invalid("qmsg.callback_secret", format!("{n}: at least 16 characters of A-Z a-z 0-9 . _ -")));
        }
        super::callbacks::check_allow_list("qmsg.allow_from", n, &self.allow_from)?;
        if self.timeout_ms < 100 {
            return Err(invalid("qmsg.timeout_ms", format!("{n}: must be at least 100")));
        }
        Ok(())
    }

    fn secrets(&mut self) -> Vec<(&'static str, &mut Secret)> {
        vec![("pwd", &mut self.pwd), ("callback_secret", &mut self.callback_secret)]
    }
}
