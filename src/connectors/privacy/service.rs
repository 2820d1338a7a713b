//! The thin I/O part: one signed HTTP exchange with the platform per call.

use super::protocol::auth;
use super::protocol::reply::{self, ErrorCode, Reply};
use super::protocol::request::{Method, Request};
use crate::connectors::{Classify, ErrorClass};
use crate::http::client::{self, Client, ClientError, Url};
use serde_json::{Map, Value};
use std::time::Duration;

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// No connection was made: nothing reached the platform.
    #[error("cannot reach the platform: {0}")]
    NotSent(ClientError),
    /// The request may have reached the platform; its answer did not come back.
    #[error("no answer from the platform: {0}")]
    NoAnswer(ClientError),
    #[error(
        "authentication failed (HTTP 401): check devid and authkey, and this machine's clock — the platform \
         refuses a Keytime timestamp more than 3 minutes off"
    )]
    Unauthorized,
    #[error("http status {0}")]
    Status(u16),
    #[error("unreadable reply: {0}")]
    Reply(String),
    /// The platform's error code, its reason, and the reply's other fields (a 1004 may
    /// carry the `subid` of the binding an earlier try made).
    #[error("error {} ({}){}", .0.0, .0.meaning(), if .1.is_empty() { String::new() } else { format!(": {}", .1) })]
    Refused(ErrorCode, String, Box<Map<String, Value>>),
}

impl Classify for ServiceError {
    fn class(&self) -> ErrorClass {
        match self {
            ServiceError::NotSent(_) | ServiceError::NoAnswer(_) => ErrorClass::Transient,
            ServiceError::Status(s) if *s >= 500 => ErrorClass::Transient,
            ServiceError::Unauthorized => ErrorClass::Auth,
            ServiceError::Refused(code, ..) if code.retryable() => ErrorClass::Transient,
            ServiceError::Refused(code, ..) if code.account() => ErrorClass::Auth,
            ServiceError::Refused(..) => ErrorClass::Refused,
            ServiceError::Status(_) | ServiceError::Reply(_) => ErrorClass::BadReply,
        }
    }
}

/// The platform of one account.
pub struct Service {
    pub base: Url,
    pub devid: String,
    pub authkey: String,
    pub timeout: Duration,
    /// On the internet: through the environment's proxy, if any.
    pub client: Client,
}

impl Service {
    /// Sends `req` signed at `now_ms`; a reply whose `error` is not 0 is [`ServiceError::Refused`].
    pub async fn call(&self, req: &Request, now_ms: u64) -> Result<Reply, ServiceError> {
        let authorization = auth::header(&self.devid, &self.authkey, now_ms);
        let headers = [("Authorization", authorization.as_str())];
        let target = format!("{}{}", self.base.target.trim_end_matches('/'), req.target);
        let ex = client::Exchange {
            method: match req.method {
                Method::Get => hyper::Method::GET,
                Method::Put => hyper::Method::PUT,
                Method::Delete => hyper::Method::DELETE,
            },
            target: &target,
            content_type: req.form.as_ref().map(|_| "application/x-www-form-urlencoded"),
            headers: &headers,
            body: req.form.clone().map(String::into_bytes),
            timeout: self.timeout,
            max_reply_bytes: 256 * 1024,
        };
        let reply = self
            .client
            .exchange(&self.base, ex)
            .await
            .map_err(|e| if e.nothing_sent() { ServiceError::NotSent(e) } else { ServiceError::NoAnswer(e) })?;
        match reply.status {
            401 => return Err(ServiceError::Unauthorized),
            200..=299 => {}
            s => return Err(ServiceError::Status(s)),
        }
        let parsed = reply::parse(&reply.body).map_err(ServiceError::Reply)?;
        if parsed.error.0 != 0 {
            return Err(ServiceError::Refused(parsed.error, parsed.reason, Box::new(parsed.fields)));
        }
        Ok(parsed)
    }
}
