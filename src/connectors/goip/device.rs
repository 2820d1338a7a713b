//! The thin I/O part of talking to one gateway: sends a [`Call`] and returns the reply
//! body, handling the secure session (open, detect the auth order, reopen and retry once
//! on an auth error). Requests to one device are serialised: `seq` must reach the device
//! in order, and these small boxes prefer one request at a time.

use super::protocol::crypto::{self, AuthOrder, Cipher};
use super::protocol::reply::{self, ReplyError};
use super::protocol::request::{self, Auth, Call};
use super::protocol::session::Session;
use crate::config::{GoipAuth, GoipConfig};
use crate::connectors::{Classify, ErrorClass};
use crate::event::{now_ms, random_hex};
use crate::http::client::{Client, ClientError, Reach, Url};
use hyper::body::Bytes;
use std::time::Duration;
use tokio::sync::Mutex;

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    /// Could not connect, timed out, or the exchange broke: worth retrying later.
    #[error("unreachable: {0}")]
    Unreachable(#[from] ClientError),
    /// The credentials (or the session) were refused, after a fresh session was tried.
    #[error("authentication failed: {0}")]
    Auth(String),
    #[error("http status {status}: {body}")]
    Status { status: u16, body: String },
    #[error(transparent)]
    Reply(#[from] ReplyError),
}

impl Classify for DeviceError {
    fn class(&self) -> ErrorClass {
        match self {
            DeviceError::Unreachable(_) => ErrorClass::Transient,
            DeviceError::Status { status, .. } if *status >= 500 => ErrorClass::Transient,
            DeviceError::Auth(_) => ErrorClass::Auth,
            DeviceError::Reply(ReplyError::Refused { .. }) => ErrorClass::Refused,
            DeviceError::Status { .. } | DeviceError::Reply(_) => ErrorClass::BadReply,
        }
    }

    fn nothing_sent(&self) -> bool {
        matches!(self, DeviceError::Unreachable(e) if e.nothing_sent())
    }
}

/// `code` values (and HTTP statuses) a device uses to refuse credentials or a session:
/// 1 Invalid User, 14 Unauthorized, 401, 403.
fn is_auth_refusal(status: u16, body: &[u8]) -> Option<String> {
    if status == 401 || status == 403 {
        return Some(format!("http {status}"));
    }
    match reply::parse_ok(body) {
        Err(ReplyError::Refused { code, reason }) if matches!(code, 1 | 14 | 401 | 403) => {
            Some(format!("code {code}: {reason}"))
        }
        _ => None,
    }
}

/// One gateway as the driver reaches it.
pub struct Device {
    base: Url,
    user: String,
    password: String,
    mode: GoipAuth,
    cipher: Cipher,
    session_path: String,
    session_expires: u32,
    timeout: Duration,
    session: Mutex<Session>,
    client: Client,
}

impl Device {
    pub fn new(cfg: &GoipConfig) -> Result<Device, ClientError> {
        Ok(Device {
            base: Url::parse(&cfg.url)?,
            user: cfg.username.clone(),
            password: cfg.password.expose().to_string(),
            mode: cfg.auth,
            cipher: Cipher::parse(&cfg.cipher).unwrap_or(Cipher::None),
            session_path: cfg.session_path.clone(),
            session_expires: cfg.session_expires_secs,
            timeout: Duration::from_millis(cfg.timeout_ms),
            session: Mutex::new(Session::default()),
            client: Client::new(Reach::Lan, ""),
        })
    }

    /// Sends `call` and returns the reply body (HTTP 2xx; `code` not checked beyond auth).
    pub async fn call(&self, call: &Call) -> Result<Bytes, DeviceError> {
        let mut session = self.session.lock().await;
        if self.mode == GoipAuth::Plain {
            let auth = Auth::Plain { user: &self.user, password: &self.password };
            let (status, body) = self.send(&request::build(call, &auth, &self.session_path)).await?;
            if let Some(why) = is_auth_refusal(status, &body) {
                return Err(DeviceError::Auth(why));
            }
            return check_status(status, body);
        }
        let mut last = String::new();
        for _attempt in 0..2 {
            if session.needs_open(now_ms()) {
                self.open(&mut session).await?;
            }
            if session.order().is_none() {
                self.detect_order(&mut session).await?;
            }
            let order = session.order().unwrap_or(AuthOrder::PathThenSeq);
            let (id, seq) = session.next(now_ms()).ok_or_else(|| DeviceError::Auth("no session".into()))?;
            let auth = self.session_auth(&id, session.open_auth(), seq, order);
            let (status, body) = self.send(&request::build(call, &auth, &self.session_path)).await?;
            match is_auth_refusal(status, &body) {
                Some(why) => {
                    log::info!("gateway {} refused session request ({why}); reopening", self.base.base());
                    session.invalidate();
                    last = why;
                }
                None => return check_status(status, body),
            }
        }
        Err(DeviceError::Auth(last))
    }

    fn session_auth<'a>(&'a self, id: &'a str, open_auth: &'a str, seq: u64, order: AuthOrder) -> Auth<'a> {
        Auth::Session {
            user: &self.user,
            password: &self.password,
            session: id,
            open_auth,
            seq,
            order,
            cipher: self.cipher,
        }
    }

    async fn open(&self, session: &mut Session) -> Result<(), DeviceError> {
        let cnonce = random_hex::<8>();
        let open_auth = crypto::session_open_auth(&self.user, &self.password, &cnonce, &self.session_path);
        let call = Call::CryptSess { cnonce, expires: self.session_expires, crypt: self.cipher };
        let auth = Auth::Plain { user: &self.user, password: &self.password };
        let (status, body) = self.send(&request::build(&call, &auth, &self.session_path)).await?;
        if let Some(why) = is_auth_refusal(status, &body) {
            return Err(DeviceError::Auth(format!("opening a session: {why}")));
        }
        let body = check_status(status, body)?;
        let (id, expires) = reply::parse_session(&body).map_err(|e| match e {
            ReplyError::Refused { code, reason } => {
                DeviceError::Auth(format!("opening a session: code {code}: {reason}"))
            }
            other => DeviceError::Reply(other),
        })?;
        session.opened(id, open_auth, expires, now_ms());
        Ok(())
    }

    /// Tries a read-only request with each auth order; keeps the one the device accepts.
    async fn detect_order(&self, session: &mut Session) -> Result<(), DeviceError> {
        let probe = Call::GetSmsStat { ports: "all".into(), slots: "all".into(), period: 0 };
        for order in session.orders() {
            let (id, seq) = session.next(now_ms()).ok_or_else(|| DeviceError::Auth("no session".into()))?;
            let auth = self.session_auth(&id, session.open_auth(), seq, order);
            let (status, body) = self.send(&request::build(&probe, &auth, &self.session_path)).await?;
            if is_auth_refusal(status, &body).is_none() && (200..300).contains(&status) {
                log::info!("gateway {} accepts auth order {order:?}", self.base.base());
                session.detected(order);
                return Ok(());
            }
        }
        session.invalidate();
        Err(DeviceError::Auth("the device accepted neither auth-hash order".into()))
    }

    async fn send(&self, req: &request::Request) -> Result<(u16, Bytes), DeviceError> {
        let (method, ct) = if req.post {
            (hyper::Method::POST, Some("application/json;charset=utf-8"))
        } else {
            (hyper::Method::GET, None)
        };
        let reply = self.client.send(&self.base, method, &req.target(), ct, req.body.clone(), self.timeout).await?;
        Ok((reply.status, reply.body))
    }
}

fn check_status(status: u16, body: Bytes) -> Result<Bytes, DeviceError> {
    if (200..300).contains(&status) {
        Ok(body)
    } else {
        let text = crate::scrub::excerpt(&body, 200);
        Err(DeviceError::Status { status, body: text })
    }
}
