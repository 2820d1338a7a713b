//! The thin I/O part: one HTTP exchange with the QMsg service per call.

use super::protocol::codes::StatCode;
use super::protocol::reply::{self, Fetched, ReplyError, SendReply};
use super::protocol::request::{self, Account, Batch, Method};
use crate::connectors::{Classify, ErrorClass};
use crate::http::client::{self, Client, ClientError, Url};
use std::time::Duration;

/// Why a call to the service failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// No connection was made: nothing reached the service.
    #[error("cannot reach the service: {0}")]
    NotSent(ClientError),
    /// The request may have reached the service; its answer did not come back.
    #[error("no answer from the service: {0}")]
    NoAnswer(ClientError),
    #[error("http status {0}")]
    Status(u16),
    #[error(transparent)]
    Reply(#[from] ReplyError),
    /// The service answered with a statCode other than 0.
    #[error("statCode {} ({})", .0.0, .0.meaning())]
    Refused(StatCode),
}

impl Classify for ServiceError {
    fn class(&self) -> ErrorClass {
        match self {
            ServiceError::NotSent(_) | ServiceError::NoAnswer(_) => ErrorClass::Transient,
            ServiceError::Status(s) if *s >= 500 => ErrorClass::Transient,
            ServiceError::Refused(code) if code.account_down() => ErrorClass::Auth,
            ServiceError::Refused(code) if code.transient() => ErrorClass::Transient,
            ServiceError::Refused(_) => ErrorClass::Refused,
            ServiceError::Status(_) | ServiceError::Reply(_) => ErrorClass::BadReply,
        }
    }
}

impl ServiceError {
    /// Whether the request may have been acted on (so it must never be sent again blindly).
    pub fn maybe_sent(&self) -> bool {
        !matches!(self, ServiceError::NotSent(_))
    }
}

/// The service of one account.
pub struct Service {
    pub base: Url,
    pub account: Account,
    pub returnflag: String,
    pub getall: bool,
    pub timeout: Duration,
    /// On the internet: through the environment's proxy, if any.
    pub client: Client,
}

impl Service {
    async fn exchange(&self, method: Method, target: &str, body: Option<Vec<u8>>) -> Result<Vec<u8>, ServiceError> {
        let ex = client::Exchange {
            method: if method == Method::Get { hyper::Method::GET } else { hyper::Method::POST },
            target,
            content_type: body.as_ref().map(|_| "application/x-www-form-urlencoded; charset=UTF-8"),
            headers: &[],
            body,
            timeout: self.timeout,
            max_reply_bytes: 1024 * 1024,
        };
        let reply = self
            .client
            .exchange(&self.base, ex)
            .await
            .map_err(|e| if e.nothing_sent() { ServiceError::NotSent(e) } else { ServiceError::NoAnswer(e) })?;
        if !(200..300).contains(&reply.status) {
            return Err(ServiceError::Status(reply.status));
        }
        Ok(reply.body.to_vec())
    }

    /// One sendSms call; a statCode other than 0 is [`ServiceError::Refused`].
    pub async fn send(&self, batch: &Batch, text: &str, extno: &str, sendid: &str) -> Result<SendReply, ServiceError> {
        let base = &self.base.target;
        let body = match batch.method {
            Method::Get => {
                let target = request::send_get(base, &self.account, batch, text, extno, sendid, &self.returnflag);
                self.exchange(Method::Get, &target, None).await?
            }
            Method::Post => {
                let (target, form) =
                    request::send_post(base, &self.account, batch, text, extno, sendid, &self.returnflag);
                self.exchange(Method::Post, &target, Some(form)).await?
            }
        };
        let reply = reply::parse_send(&body)?;
        if !reply.stat.is_ok() {
            return Err(ServiceError::Refused(reply.stat));
        }
        Ok(reply)
    }

    /// One getSms call: the messages the platform had not returned before. A 2xx reply
    /// that does not read at all is kept whole in `odd`: it may hold messages the platform
    /// will not return again.
    pub async fn get_sms(&self) -> Result<Fetched, ServiceError> {
        let target = request::get_sms(&self.base.target, &self.account, &self.returnflag, self.getall);
        let body = self.exchange(Method::Get, &target, None).await?;
        let fetched = match reply::parse_get(&body) {
            Ok(f) => f,
            Err(e) if body.iter().any(|b| !b.is_ascii_whitespace()) => {
                log::warn!("getSms: {e}; the reply is kept as it came");
                let odd = vec![super::protocol::text(&body)];
                Fetched { code: super::protocol::codes::StatCode::OK, mos: Vec::new(), odd }
            }
            Err(e) => return Err(e.into()),
        };
        if !fetched.code.is_ok() {
            return Err(ServiceError::Refused(fetched.code));
        }
        Ok(fetched)
    }
}
