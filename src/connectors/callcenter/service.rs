//! The thin I/O part: one signed POST per call, its reply checked at both levels.

use super::protocol::api::Api;
use super::protocol::envelope::{self, Account, Call, Response};
use crate::connectors::{Classify, ErrorClass};
use crate::http::client::{self, Client, ClientError, Url};
use std::sync::Mutex;
use std::time::Duration;

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Refused before sending (a field, the version): nothing reached the platform.
    #[error("{0}")]
    Invalid(String),
    /// No connection was made: nothing reached the platform.
    #[error("cannot reach the platform: {0}")]
    NotSent(ClientError),
    /// The request may have reached the platform; its answer did not come back.
    #[error("no answer from the platform: {0}")]
    NoAnswer(ClientError),
    #[error("http status {0}")]
    Status(u16),
    #[error("unreadable reply: {0}")]
    Reply(String),
    /// The outer `result`: the call itself was not accepted (customer, digest, clock…).
    #[error("call refused: error {}{}", .0, if .1.is_empty() { String::new() } else { format!(" ({})", .1) })]
    Refused(i64, String),
}

impl Classify for ServiceError {
    fn class(&self) -> ErrorClass {
        match self {
            ServiceError::NotSent(_) | ServiceError::NoAnswer(_) => ErrorClass::Transient,
            ServiceError::Status(s) if *s >= 500 => ErrorClass::Transient,
            ServiceError::Refused(..) => ErrorClass::Auth,
            ServiceError::Invalid(_) => ErrorClass::Refused,
            ServiceError::Status(_) | ServiceError::Reply(_) => ErrorClass::BadReply,
        }
    }
}

impl ServiceError {
    /// Nothing reached the platform: any call may be sent again. (Not a 503: the digest
    /// gives it no meaning, and a proxy may answer it after passing the request on.)
    pub fn not_sent(&self) -> bool {
        matches!(self, ServiceError::NotSent(_) | ServiceError::Invalid(_))
    }
}

/// The platform of one account.
pub struct Service {
    pub base: Url,
    pub minor: u8,
    pub customer: String,
    pub apikey: String,
    pub lang: String,
    pub timeout: Duration,
    pub client: Client,
    /// The last `seq` used: each call takes the next ones, never below the clock in ms,
    /// so they keep increasing across restarts without a write per call.
    pub seq: Mutex<u64>,
}

impl Service {
    /// Takes `n` seqs.
    fn next_seq(&self, n: usize, now_ms: u64) -> u64 {
        let mut last = self.seq.lock().unwrap_or_else(|p| p.into_inner());
        let first = (*last + 1).max(now_ms);
        *last = first + n as u64 - 1;
        first
    }

    /// Checks and sends `call` at `now_ms`; the responses, one per request, in order.
    pub async fn call(&self, call: &Call, now_ms: u64) -> Result<Vec<Response>, ServiceError> {
        call.api.check_version(self.minor).map_err(ServiceError::Invalid)?;
        for r in &call.requests {
            call.api.check(r).map_err(ServiceError::Invalid)?;
        }
        let account = Account { customer: &self.customer, apikey: &self.apikey, lang: &self.lang };
        let seq = self.next_seq(call.requests.len().max(1), now_ms);
        let body = serde_json::to_vec(&envelope::body(&account, call, now_ms, seq)).unwrap_or_default();
        let target = format!("{}{}", self.base.target.trim_end_matches('/'), envelope::path(self.minor, call.api));
        let ex = client::Exchange {
            method: hyper::Method::POST,
            target: &target,
            content_type: Some("application/json"),
            headers: &[("Accept", "application/json")],
            body: Some(body),
            timeout: self.timeout,
            max_reply_bytes: 4 * 1024 * 1024,
        };
        let reply = self
            .client
            .exchange(&self.base, ex)
            .await
            .map_err(|e| if e.nothing_sent() { ServiceError::NotSent(e) } else { ServiceError::NoAnswer(e) })?;
        if !(200..300).contains(&reply.status) {
            return Err(ServiceError::Status(reply.status));
        }
        let parsed = envelope::parse(&reply.body).map_err(ServiceError::Reply)?;
        if parsed.error != 0 {
            return Err(ServiceError::Refused(parsed.error, parsed.msg));
        }
        if parsed.responses.len() != call.requests.len() {
            let why = format!("{} responses to {} requests", parsed.responses.len(), call.requests.len());
            return Err(ServiceError::Reply(why));
        }
        Ok(parsed.responses)
    }

    /// Where a recording file is: `http://ip:port/<filename>` (seed §20.7).
    pub fn recording_url(&self, filename: &str) -> String {
        let b = &self.base;
        let host = if b.host.contains(':') { format!("[{}]", b.host) } else { b.host.clone() };
        let scheme = if b.tls { "https" } else { "http" };
        format!("{scheme}://{host}:{}/{}", b.port, filename.trim_start_matches('/'))
    }
}

/// One request of `api`.
pub fn single(api: Api, agent: Option<String>, request: serde_json::Map<String, serde_json::Value>) -> Call {
    Call { api, agent, requests: vec![request], batched: false }
}
