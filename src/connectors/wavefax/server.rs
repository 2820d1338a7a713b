//! The thin I/O part of talking to one WaveFax server: the session (log in lazily, keep
//! the token, log in again and retry once when the server says it is invalid or expired)
//! and file downloads. A wrong password is never retried in a loop: the failure is kept
//! and calls fail fast until a back-off (30 s doubling to 1 h) has passed.

use super::protocol::codes::{EXPIRED_TOKEN, INVALID_TOKEN, is_credential_error};
use super::protocol::reply::{self, ReplyError};
use super::protocol::request::{self, Call};
use crate::connectors::{Classify, ErrorClass};
use crate::http::client::{self, Client, ClientError, Reach, Url};
use serde_json::{Map, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

const MIN_LOCKOUT: Duration = Duration::from_secs(30);
const MAX_LOCKOUT: Duration = Duration::from_secs(3600);

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("unreachable: {0}")]
    Unreachable(#[from] ClientError),
    #[error("http status {0}")]
    Status(u16),
    /// The credentials were refused; no login is tried again before the back-off ends.
    #[error("login refused: {0}")]
    Credentials(String),
    #[error(transparent)]
    Reply(#[from] ReplyError),
    #[error("file is larger than {0} bytes")]
    TooLarge(usize),
}

impl Classify for ServerError {
    fn class(&self) -> ErrorClass {
        match self {
            ServerError::Unreachable(_) => ErrorClass::Transient,
            ServerError::Status(s) if *s >= 500 => ErrorClass::Transient,
            ServerError::Credentials(_) => ErrorClass::Auth,
            ServerError::Reply(ReplyError::Server { .. }) | ServerError::TooLarge(_) => ErrorClass::Refused,
            ServerError::Status(_) | ServerError::Reply(_) => ErrorClass::BadReply,
        }
    }

    fn nothing_sent(&self) -> bool {
        matches!(self, ServerError::Unreachable(e) if e.nothing_sent())
    }
}

impl ServerError {
    pub fn is_transient(&self) -> bool {
        self.class() == ErrorClass::Transient
    }

    /// The server's error code, when it answered one.
    pub fn server_code(&self) -> Option<i64> {
        match self {
            ServerError::Reply(ReplyError::Server { code, .. }) => Some(*code),
            _ => None,
        }
    }

    /// The server does not know the fax id (deleted, or never there).
    pub fn is_unknown_fax(&self) -> bool {
        self.server_code() == Some(super::protocol::codes::BAD_FAX_ID)
    }
}

/// Who logs in.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub user: String,
    /// `userdomain=` instead of `user=`.
    pub domain: bool,
    pub password: String,
}

#[derive(Default)]
struct SessionState {
    token: Option<String>,
    /// After a credential refusal: the reason, and when a login may be tried again.
    locked: Option<(String, Instant, Duration)>,
}

/// One fax server.
pub struct Server {
    base: Url,
    creds: Credentials,
    timeout: Duration,
    state: Mutex<SessionState>,
    /// The fax server's client (the LAN: never through a proxy).
    lan: Client,
    /// Documents by URL and uploads (the internet: through the environment's proxy).
    internet: Arc<Client>,
}

impl Server {
    pub fn new(url: &str, creds: Credentials, timeout: Duration) -> Result<Server, ClientError> {
        Ok(Server {
            base: Url::parse(url)?,
            creds,
            timeout,
            state: Mutex::new(SessionState::default()),
            lan: Client::new(Reach::Lan, ""),
            internet: Arc::new(Client::new(Reach::Internet, "")),
        })
    }

    /// Trusts the CAs in `ca_file` (PEM) for `https://` instead of the system's roots.
    pub fn with_ca_file(mut self, ca_file: &str) -> Server {
        self.lan = Client::new(Reach::Lan, ca_file);
        self.internet = Arc::new(Client::new(Reach::Internet, ca_file));
        self
    }

    /// The internet client, to share with the file relay's uploads.
    pub fn internet_client(&self) -> Arc<Client> {
        self.internet.clone()
    }

    /// Sends `call` inside the session and returns the reply's fields (code 0 checked).
    pub async fn call(&self, call: &Call) -> Result<Map<String, Value>, ServerError> {
        let mut state = self.state.lock().await;
        for attempt in 0..2 {
            let token = match &state.token {
                Some(t) => t.clone(),
                None => self.login(&mut state).await?,
            };
            match self.send(&request::build(call, &token)).await {
                Err(ServerError::Reply(ReplyError::Server { code, .. }))
                    if attempt == 0 && (code == INVALID_TOKEN || code == EXPIRED_TOKEN) =>
                {
                    log::info!("fax server {}: session token refused ({code}); logging in again", self.base.base());
                    state.token = None;
                }
                other => return other,
            }
        }
        unreachable!("the second attempt returns")
    }

    async fn login(&self, state: &mut SessionState) -> Result<String, ServerError> {
        if let Some((why, until, _)) = &state.locked
            && Instant::now() < *until
        {
            return Err(ServerError::Credentials(why.clone()));
        }
        let call = Call::Login {
            user: self.creds.user.clone(),
            domain: self.creds.domain,
            password: self.creds.password.clone(),
        };
        match self.send(&request::build(&call, "")).await {
            Ok(map) => {
                let token = reply::field(&map, "sessionToken")?;
                state.locked = None;
                state.token = Some(token.clone());
                Ok(token)
            }
            Err(ServerError::Reply(ReplyError::Server { code, name, msg })) if is_credential_error(code) => {
                let wait = state.locked.as_ref().map_or(MIN_LOCKOUT, |(_, _, w)| (*w * 2).min(MAX_LOCKOUT));
                let why = format!("{code} ({name}) {msg}").trim().to_string();
                log::error!("fax server {}: login refused: {why}; next try in {wait:?}", self.base.base());
                state.locked = Some((why.clone(), Instant::now() + wait, wait));
                Err(ServerError::Credentials(why))
            }
            Err(e) => Err(e),
        }
    }

    async fn send(&self, req: &request::Request) -> Result<Map<String, Value>, ServerError> {
        let method = if req.post { hyper::Method::POST } else { hyper::Method::GET };
        let ct = req.content_disposition.as_ref().map(|_| "application/octet-stream");
        let disposition = req.content_disposition.as_deref().map(|cd| [("Content-Disposition", cd)]);
        let ex = client::Exchange {
            method,
            target: &req.target,
            content_type: ct,
            headers: disposition.as_ref().map_or(&[][..], |h| &h[..]),
            body: req.body.clone(),
            timeout: self.timeout,
            max_reply_bytes: client::MAX_REPLY_BYTES,
        };
        let reply = self.lan.exchange(&self.base, ex).await?;
        if !(200..300).contains(&reply.status) {
            return Err(ServerError::Status(reply.status));
        }
        Ok(reply::parse_ok(&reply.body)?)
    }

    /// Downloads a file the server named (`fileurl`), at most `limit` bytes.
    pub async fn download(&self, file_url: &str, limit: usize) -> Result<Vec<u8>, ServerError> {
        // A path is the fax server's own file; a URL is a document somewhere else.
        let (url, client) = if file_url.starts_with('/') {
            (Url { target: file_url.to_string(), ..self.base.clone() }, &self.lan)
        } else {
            (Url::parse(file_url)?, &*self.internet)
        };
        let reply = client.get(&url, limit, self.timeout).await.map_err(|e| match e {
            ClientError::TooLarge(_) => ServerError::TooLarge(limit),
            other => ServerError::Unreachable(other),
        })?;
        if !(200..300).contains(&reply.status) {
            return Err(ServerError::Status(reply.status));
        }
        Ok(Vec::from(reply.body))
    }
}
