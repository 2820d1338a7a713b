//! `telbridge-sim qmsg`: a simulated QMsg (快信通 1.9) cloud SMS platform, written from the
//! digest `shared/specs/qmsg-sms.md` and its seed `001_…` alone. `GET /sendSms.do` reads
//! its query as GBK, `POST /sendSms.do` its form body as UTF-8 (seed: "get 方式提交编码指定为
//! GBK;post 方式提交编码指定为 UTF-8"), with the per-method limits, the account's balance and
//! the text or GBK XML replies; a repeated `sendid` sends again. `/getSms.do` returns each
//! queued MO once. MOs and status reports are pushed as `GET`s of the configured URLs,
//! retried until the receiver answers `0`.
//!
//! Control API: `POST /sim/mo {"mob","msg","ext"?,"replytime"?,"push"?}` queues an MO (and
//! pushes it when `push` is true and `--push-mo` is set), `POST /sim/report
//! {"sendid","mob","status"}` pushes a status report, `POST /sim/config {"balance"?,
//! "status_code"?}` changes the account, `GET /sim/state` shows the balance, every MT, the
//! requests and the pushes.

pub mod codec;
pub mod push;
pub mod replies;
pub mod state;

use crate::server::{Request, Response, Router, error, ok_json};
use crate::util::{now_ms, random_hex};
use codec::{Charset, Params, china_time, query_string};
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Method, StatusCode};
use push::{GetPusher, with_query};
use replies::{GetReply, SendReply};
use serde_json::{Value, json};
use state::{Platform, Via};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// Options of the simulated platform.
#[derive(Debug, Clone)]
pub struct Options {
    pub entid: String,
    pub uid: String,
    pub pwd: String,
    /// Messages left.
    pub balance: u64,
    /// 0 personal, 1 organisation account.
    pub pay_type: u32,
    /// Every `sendSms` answers this statCode (nothing sent).
    pub status_code: Option<u32>,
    /// Where received messages are pushed (`recvmsg`).
    pub push_mo: Option<String>,
    /// Where status reports are pushed (`recvreport`).
    pub push_report: Option<String>,
    /// After each accepted send, a report with this status per (sendid, mobile).
    pub auto_report: Option<String>,
    pub push_retry: Duration,
    /// Push query strings percent-encode GBK bytes instead of UTF-8.
    pub push_gbk: bool,
    /// The `appid` of the pushes (the seed's example: 123).
    pub appid: String,
    /// Hold every `sendSms` reply this long after the send is recorded (lost-reply tests).
    pub reply_delay: Duration,
    /// Replies end their lines with CRLF instead of LF.
    pub crlf: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            entid: "1234567".into(),
            uid: "u1".into(),
            pwd: "p1".into(),
            balance: 1000,
            pay_type: 1,
            status_code: None,
            push_mo: None,
            push_report: None,
            auto_report: None,
            push_retry: Duration::from_millis(500),
            push_gbk: false,
            appid: "123".into(),
            reply_delay: Duration::ZERO,
            crlf: false,
        }
    }
}

#[derive(Default)]
struct Requests {
    send_get: u64,
    send_post: u64,
    get_sms: u64,
}

struct Inner {
    platform: Platform,
    requests: Requests,
    /// The last refused sends: `{"method","statCode","why"}`.
    refused: VecDeque<Value>,
}

/// The simulator.
#[derive(Clone)]
pub struct Sim {
    opts: Arc<Options>,
    inner: Arc<Mutex<Inner>>,
    mo_push: GetPusher,
    report_push: GetPusher,
    attempts: Arc<AtomicUsize>,
}

/// A reply of raw bytes.
fn bytes_reply(content_type: &'static str, body: Vec<u8>) -> Response {
    let mut resp = hyper::Response::new(Full::new(Bytes::from(body)));
    resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

/// The request's parameters, read as the seed says by method (line 81: "get 方式提交编码指定为
/// GBK;post 方式提交编码指定为 UTF-8"): a `GET`'s query as GBK; a `POST`'s form body — read only
/// when it is `application/x-www-form-urlencoded`, as a servlet would — and any query it has
/// as UTF-8. A name in both keeps the query's value (`getParameter`'s first).
pub fn params(req: &Request) -> Params {
    let charset = if req.method() == Method::POST { Charset::Utf8 } else { Charset::Gbk };
    let mut p = Params::parse(req.uri().query().unwrap_or(""), charset);
    let form = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.trim().to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"));
    if req.method() == Method::POST && form {
        p.add(&String::from_utf8_lossy(req.body()), Charset::Utf8);
    }
    p
}

fn wants_xml(p: &Params) -> bool {
    p.get("returnflag").is_some_and(|f| f.trim().eq_ignore_ascii_case("xml"))
}

/// A JSON field as text (a number written out).
fn field(body: &Value, key: &str) -> Option<String> {
    match body.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl Sim {
    pub fn new(opts: Options) -> Sim {
        let first = u64::from_str_radix(&random_hex::<3>(), 16).unwrap_or(0) + 600_000_000;
        let mut platform = Platform::new(&opts.entid, &opts.uid, &opts.pwd, opts.balance, first);
        platform.pay_type = opts.pay_type;
        platform.forced = opts.status_code;
        let attempts = Arc::new(AtomicUsize::new(0));
        Sim {
            mo_push: GetPusher::new(opts.push_retry, attempts.clone()),
            report_push: GetPusher::new(opts.push_retry, attempts.clone()),
            attempts,
            opts: Arc::new(opts),
            inner: Arc::new(Mutex::new(Inner { platform, requests: Requests::default(), refused: VecDeque::new() })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn eol(&self) -> &'static str {
        if self.opts.crlf { "\r\n" } else { "\n" }
    }

    fn push_charset(&self) -> Charset {
        if self.opts.push_gbk { Charset::Gbk } else { Charset::Utf8 }
    }

    /// Background work: the two push queues.
    pub fn spawn(&self) {
        tokio::spawn(self.mo_push.clone().run());
        tokio::spawn(self.report_push.clone().run());
    }

    pub fn router(&self) -> Router {
        let mut router = Router::default();
        for method in [Method::GET, Method::POST] {
            let sim = self.clone();
            router.route(method.clone(), "/sendSms.do", move |req| {
                let sim = sim.clone();
                async move { sim.send_sms(&req).await }
            });
            let sim = self.clone();
            router.route(method, "/getSms.do", move |req| {
                let sim = sim.clone();
                async move { sim.get_sms(&req) }
            });
        }
        crate::server::control_routes(&mut router, self);
        router
    }

    async fn send_sms(&self, req: &Request) -> Response {
        let via = if req.method() == Method::POST { Via::Post } else { Via::Get };
        let p = params(req);
        let (reply, reports) = {
            let mut inner = self.lock();
            match via {
                Via::Get => inner.requests.send_get += 1,
                Via::Post => inner.requests.send_post += 1,
            }
            let out = inner.platform.send(via, &p);
            if out.code != state::OK {
                log::info!("sendSms by {} refused with {}: {}", via.name(), out.code, out.why);
                inner.refused.push_back(json!({"method": via.name(), "statCode": out.code, "why": out.why}));
                if inner.refused.len() > 50 {
                    inner.refused.pop_front();
                }
            }
            let (pay_type, balance) = inner.platform.shown(out.code);
            let reports = match (&out.sendid, &self.opts.auto_report, inner.platform.sent.last()) {
                (Some(id), Some(status), Some(sent)) => {
                    sent.mobs.iter().map(|m| (id.clone(), m.clone(), status.clone())).collect()
                }
                _ => Vec::new(),
            };
            (SendReply { code: out.code, sendid: out.sendid, pay_type, balance }, reports)
        };
        for (sendid, mob, status) in reports {
            self.report(&sendid, &mob, &status);
        }
        if !self.opts.reply_delay.is_zero() {
            tokio::time::sleep(self.opts.reply_delay).await;
        }
        if wants_xml(&p) {
            bytes_reply("text/xml", reply.xml(self.eol()))
        } else {
            bytes_reply("text/plain", reply.text(self.eol()))
        }
    }

    fn get_sms(&self, req: &Request) -> Response {
        let p = params(req);
        let reply = {
            let mut inner = self.lock();
            inner.requests.get_sms += 1;
            let taken = inner.platform.take_mos(&p);
            let code = taken.as_ref().err().copied().unwrap_or(state::OK);
            let (pay_type, balance) = inner.platform.shown(code);
            GetReply { code, pay_type, balance, mos: taken.unwrap_or_default() }
        };
        if wants_xml(&p) {
            bytes_reply("text/xml", reply.xml(self.eol()))
        } else {
            bytes_reply("text/plain", reply.get_text(self.eol()))
        }
    }

    /// Queues a status report push: seed line 302 "recvreport.jsp?mob=<param>&sendid=<param>&
    /// status=<param>&appid=<param>&entid=<param>". False when no `--push-report` is set.
    ///
    /// The digest writes the paths `/recvmsg` and `/recvreport`; the seed's are
    /// `recvmsg.asp` (line 281), `recvreport.jsp` (line 302) and `recvreport.asp` (its example,
    /// line 316), and the customer sets them (line 278: "需要将该 URL 地址设置在快信通管理后台"):
    /// the sim pushes to the configured URL as given and only appends the query.
    pub fn report(&self, sendid: &str, mob: &str, status: &str) -> bool {
        let Some(base) = &self.opts.push_report else { return false };
        let pairs = [
            ("mob", mob),
            ("sendid", sendid),
            ("status", status),
            ("appid", &self.opts.appid),
            ("entid", &self.opts.entid),
        ];
        self.report_push.push(with_query(base, &query_string(&pairs, self.push_charset())));
        true
    }

    /// Queues an MO push: seed "recvmsg.asp?mob=<param>&msg=<param>&entid=<param>&replytime=
    /// <param>&ext=<param>&appid=<param>&returnflag=<param>&getall=<param>" — `returnflag` and
    /// `getall` are left out (the digest: "ignore them"; they belong to `getSms`).
    fn push_mo(&self, mo: &state::Mo) -> bool {
        let Some(base) = &self.opts.push_mo else { return false };
        let pairs = [
            ("mob", mo.mob.as_str()),
            ("msg", &mo.msg),
            ("entid", &mo.entid),
            ("replytime", &mo.replytime),
            ("ext", &mo.ext),
            ("appid", &self.opts.appid),
        ];
        self.mo_push.push(with_query(base, &query_string(&pairs, self.push_charset())));
        true
    }

    /// `GET /sim/state`.
    pub fn state(&self) -> Value {
        let inner = self.lock();
        let p = &inner.platform;
        let sent: Vec<Value> = p
            .sent
            .iter()
            .map(|s| {
                json!({"method": s.via.name(), "sendid": s.sendid, "mobs": s.mobs, "msg": s.msg, "extno": s.extno,
                    "decode_errors": s.decode_errors})
            })
            .collect();
        let (mo_waiting, mo_answered) = self.mo_push.counts();
        let (report_waiting, report_answered) = self.report_push.counts();
        let r = &inner.requests;
        json!({
            "balance": p.balance,
            "status_code": p.forced,
            "sent": sent,
            "refused": inner.refused,
            "requests": {"sendSms_get": r.send_get, "sendSms_post": r.send_post, "getSms": r.get_sms},
            "pushes": {"mo_answered": mo_answered, "report_answered": report_answered,
                "attempts": self.attempts.load(Ordering::Relaxed), "mo_waiting": mo_waiting,
                "report_waiting": report_waiting},
            "mo_queued": p.mos.len(),
        })
    }

    pub fn control(&self, req: &Request) -> Response {
        let body: Value = serde_json::from_slice(req.body()).unwrap_or(Value::Null);
        match req.uri().path() {
            "/sim/mo" => {
                let mob = field(&body, "mob").unwrap_or_else(|| "13916610888".into());
                let msg = field(&body, "msg").unwrap_or_default();
                let ext = field(&body, "ext").unwrap_or_default();
                let now = i64::try_from(now_ms() / 1000).unwrap_or(0);
                let replytime = field(&body, "replytime").unwrap_or_else(|| china_time(now));
                let (mo, queued) = {
                    let mut inner = self.lock();
                    let mo = inner.platform.receive(&mob, &msg, &ext, &replytime);
                    (mo, inner.platform.mos.len())
                };
                let pushed = body.get("push").and_then(Value::as_bool).unwrap_or(false) && self.push_mo(&mo);
                ok_json(&json!({"ok": true, "mo_queued": queued, "pushed": pushed, "replytime": replytime}))
            }
            "/sim/report" => {
                let (Some(sendid), Some(mob)) = (field(&body, "sendid"), field(&body, "mob")) else {
                    return error(StatusCode::BAD_REQUEST, "bad_request", "sendid and mob are required");
                };
                let status = field(&body, "status").unwrap_or_else(|| "0".into());
                if !self.report(&sendid, &mob, &status) {
                    return error(StatusCode::CONFLICT, "no_push_report", "the sim was started without --push-report");
                }
                ok_json(&json!({"ok": true}))
            }
            "/sim/config" => {
                {
                    let mut inner = self.lock();
                    if let Some(b) = body.get("balance").and_then(Value::as_u64) {
                        inner.platform.balance = b;
                    }
                    if let Some(code) = body.get("status_code") {
                        inner.platform.forced = code.as_u64().and_then(|c| u32::try_from(c).ok());
                    }
                }
                ok_json(&self.state())
            }
            _ => error(StatusCode::NOT_FOUND, "not_found", "no such control"),
        }
    }
}

impl crate::server::Controlled for Sim {
    fn state(&self) -> Value {
        Sim::state(self)
    }

    fn control(&self, req: &Request) -> Response {
        Sim::control(self, req)
    }
}
