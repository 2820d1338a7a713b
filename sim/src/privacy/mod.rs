//! `telbridge-sim privacy`: a simulated cloud privacy-number platform (AXB and XA
//! bindings of virtual numbers), written from the digest `shared/specs/privacy-number.md`
//! and its seed `002_…` ("云通信平台[隐私业务-移动号码] 外部接口文档" V1.0) alone — where they
//! differ the seed is followed and quoted. Every vendor call needs a fresh Keytime header
//! (401 otherwise); replies are JSON with `error` and `reason`. Simulated calls through a
//! binding send the call-start and CDR callbacks to the configured URLs.
//!
//! Control API: `POST /sim/call {"x","caller","result"?,"duration"?,"recording"?,"json"?,
//! "recording_bytes"?,"releasedir"?}` places a call, `POST /sim/config {"busy_recordings"?,"slow_ms"?,
//! "slow_next"?,"drop_next"?,"fail_next"?,"fail_code"?,"clock_skew_secs"?,"balance"?,
//! "overdraft"?,"account_state"?}` sets the test switches, `GET /sim/state` shows bindings,
//! request counts and callbacks, `GET /sim/recordings/{taskid}.wav` serves a recording.

pub mod auth;
pub mod callback;
pub mod calls;
pub mod codes;
mod control;
pub mod state;

use crate::server::{Request, Response, Router, hangup, json_response, ok_json, percent_decode};
use crate::util::{now_ms, random_hex};
use callback::Poster;
use codes::{URL_MISMATCH, describe};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE};
use hyper::{Method, StatusCode};
use serde_json::{Value, json};
use state::{Account, Outcome, Params, Platform};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// Options of the simulated platform.
#[derive(Debug, Clone)]
pub struct Options {
    /// The one account: developer id, authentication key, application id.
    pub devid: String,
    pub authkey: String,
    pub appid: String,
    /// Yuan.
    pub balance: f64,
    pub cdr_url: Option<String>,
    pub call_start_url: Option<String>,
    /// Callbacks as JSON instead of form bodies (seed "json 格式需联系运维配置").
    pub json_callbacks: bool,
    /// The sim's clock runs this many seconds ahead (negative: behind).
    pub clock_skew_secs: i64,
    pub callback_retry: Duration,
    /// Answer a repeated `reqid` (1004) with the first bind's `subid`.
    pub subid_on_duplicate: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            devid: "10000000".into(),
            authkey: "key1".into(),
            appid: "app1".into(),
            balance: 100.0,
            cdr_url: None,
            call_start_url: None,
            json_callbacks: false,
            clock_skew_secs: 0,
            callback_retry: Duration::from_millis(500),
            subid_on_duplicate: false,
        }
    }
}

/// Test switches, settable by `/sim/config`.
#[derive(Debug, Clone)]
pub struct Switches {
    /// Hold the next `slow_next` replies this long (after acting on the request).
    pub slow_ms: u64,
    pub slow_next: u64,
    /// Close the connection instead of answering the next `drop_next` requests (acted on).
    pub drop_next: u64,
    /// Refuse the next `fail_next` authenticated requests with `fail_code` (not acted on).
    pub fail_next: u64,
    /// 1500 "系统临时故障" unless set.
    pub fail_code: u32,
    pub skew_ms: i64,
    /// Answer the next `busy_recordings` recording downloads 429 Too Many Requests.
    pub busy_recordings: u64,
}

impl Default for Switches {
    fn default() -> Switches {
        Switches {
            slow_ms: 0,
            slow_next: 0,
            drop_next: 0,
            fail_next: 0,
            fail_code: 1500,
            skew_ms: 0,
            busy_recordings: 0,
        }
    }
}

/// Authenticated vendor requests by kind, and the refused ones.
#[derive(Debug, Clone, Default)]
pub struct Requests {
    pub bind_axb: u64,
    pub release_axb: u64,
    pub bind_xa: u64,
    pub release_xa: u64,
    pub account: u64,
    pub unmapped: u64,
    pub unauthorized: u64,
    pub dropped: u64,
    pub slowed: u64,
}

/// One of the vendor API's calls, by method and path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Account,
    BindAxb(String),
    ReleaseAxb,
    BindXa(String),
    ReleaseXa(String),
    /// Under the API's prefix but no call of it: 1001.
    Unmapped,
}

const PREFIX: &str = "/igw/service/uc/interline";

/// A path segment, percent-decoded (a `+` stays a plus: this is a path, not a form).
fn segment(s: &str) -> String {
    percent_decode(&s.replace('+', "%2B"))
}

/// Which call a method and (undecoded) path are.
pub fn op(method: &Method, path: &str) -> Op {
    if path == "/api/v1/account/status" {
        return Op::Account;
    }
    let Some(rest) = path.strip_prefix(PREFIX) else { return Op::Unmapped };
    let parts: Vec<&str> = rest.split('/').collect();
    match (method, parts.as_slice()) {
        (&Method::DELETE, [""]) => Op::ReleaseAxb,
        (&Method::PUT, ["", x]) if !x.is_empty() => Op::BindAxb(segment(x)),
        (&Method::PUT, ["", x, "transfer"]) if !x.is_empty() => Op::BindXa(segment(x)),
        (&Method::DELETE, ["", x, "transfer"]) if !x.is_empty() => Op::ReleaseXa(segment(x)),
        _ => Op::Unmapped,
    }
}

/// The request's parameters. A PUT's form body is read when its type is
/// `application/x-www-form-urlencoded` (seed lines 135, 192 "按 application/x-www-form-
/// urlencoded 提交"), over any URL query; a DELETE's are its URL query alone (lines 167-168
/// "由于框架按 HTTP 标准实现，参数需要带着 URI 里面": a body is not read).
pub fn params(req: &Request) -> Params {
    let mut p: Params = crate::server::query(req).into_iter().collect();
    let form = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.trim().to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"));
    if req.method() == Method::PUT && form {
        p.extend(crate::server::parse_query(&String::from_utf8_lossy(req.body())));
    }
    p
}

struct Inner {
    platform: Platform,
    requests: Requests,
    switches: Switches,
    /// taskid → recording size.
    recordings: HashMap<String, u64>,
    calls: u64,
}

/// The simulator.
#[derive(Clone)]
pub struct Sim {
    opts: Arc<Options>,
    inner: Arc<Mutex<Inner>>,
    poster: Poster,
}

impl Sim {
    pub fn new(opts: Options) -> Sim {
        let now = i64::try_from(now_ms()).unwrap_or(0) + opts.clock_skew_secs.saturating_mul(1000);
        let day = 86_400_000;
        let mut platform = Platform::new(Account {
            devid: opts.devid.clone(),
            authkey: opts.authkey.clone(),
            appid: opts.appid.clone(),
            balance: opts.balance,
            overdraft: 0.0,
            state: 1,
            create_ms: now - 30 * day,
            update_ms: now - day,
        });
        platform.subid_on_duplicate = opts.subid_on_duplicate;
        let switches = Switches { skew_ms: opts.clock_skew_secs.saturating_mul(1000), ..Switches::default() };
        Sim {
            poster: Poster::new(opts.callback_retry),
            opts: Arc::new(opts),
            inner: Arc::new(Mutex::new(Inner {
                platform,
                requests: Requests::default(),
                switches,
                recordings: HashMap::new(),
                calls: 0,
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The sim's clock: the wall clock plus the skew, in epoch milliseconds.
    pub fn now_ms(&self) -> i64 {
        i64::try_from(now_ms()).unwrap_or(0) + self.lock().switches.skew_ms
    }

    /// Background work: the callback queue.
    pub fn spawn(&self) {
        tokio::spawn(self.poster.clone().run());
    }

    pub fn router(&self) -> Router {
        let mut router = Router::default();
        for (method, path) in [(Method::GET, "/api/v1/account/status"), (Method::PUT, PREFIX), (Method::DELETE, PREFIX)]
        {
            let sim = self.clone();
            router.prefix(method, path, move |req| {
                let sim = sim.clone();
                async move { sim.vendor(&req).await }
            });
        }
        let sim = self.clone();
        router.prefix(Method::GET, "/sim/recordings/", move |req| {
            let sim = sim.clone();
            async move { sim.recording(&req) }
        });
        crate::server::control_routes(&mut router, self);
        router
    }

    /// One vendor API request: authentication (401), the call, then the test switches.
    async fn vendor(&self, req: &Request) -> Response {
        let op = op(req.method(), req.uri().path());
        let header = req.headers().get(AUTHORIZATION).and_then(|v| v.to_str().ok());
        let (reply, slow, drop) = {
            let mut inner = self.lock();
            let now = i64::try_from(now_ms()).unwrap_or(0) + inner.switches.skew_ms;
            let account = &inner.platform.account;
            let reply = match auth::check(header, &account.devid, &account.authkey, now) {
                Err(refusal) => {
                    inner.requests.unauthorized += 1;
                    log::info!("401 for {} {}: {}", req.method(), req.uri().path(), refusal.why());
                    let body = json!({"error": 1101, "reason": format!("{}: {}", describe(1101), refusal.why())});
                    json_response(StatusCode::UNAUTHORIZED, &body)
                }
                Ok(()) => ok_json(&self.act(&mut inner, &op, req, now)),
            };
            let s = &mut inner.switches;
            let slow = (s.slow_next > 0).then(|| {
                s.slow_next -= 1;
                Duration::from_millis(s.slow_ms)
            });
            let drop = s.drop_next > 0;
            if drop {
                s.drop_next -= 1;
                inner.requests.dropped += 1;
            }
            if slow.is_some() {
                inner.requests.slowed += 1;
            }
            (reply, slow, drop)
        };
        if let Some(d) = slow {
            tokio::time::sleep(d).await;
        }
        if drop {
            log::info!("dropping the reply to {} {}", req.method(), req.uri());
            return hangup();
        }
        reply
    }

    /// An authenticated call's reply body.
    fn act(&self, inner: &mut Inner, op: &Op, req: &Request, now: i64) -> Value {
        let r = &mut inner.requests;
        match op {
            Op::Account => r.account += 1,
            Op::BindAxb(_) => r.bind_axb += 1,
            Op::ReleaseAxb => r.release_axb += 1,
            Op::BindXa(_) => r.bind_xa += 1,
            Op::ReleaseXa(_) => r.release_xa += 1,
            Op::Unmapped => r.unmapped += 1,
        }
        if inner.switches.fail_next > 0 {
            inner.switches.fail_next -= 1;
            return Outcome::refuse(inner.switches.fail_code, "forced by /sim/config fail_next").to_json();
        }
        let p = params(req);
        let platform = &mut inner.platform;
        let out = match op {
            Op::Account => return platform.account_status(),
            Op::BindAxb(x) => platform.bind_axb(x, &p, now, random_hex::<8>()),
            Op::ReleaseAxb => platform.release_axb(&p, now),
            Op::BindXa(x) => platform.bind_xa(x, &p, now, random_hex::<8>()),
            Op::ReleaseXa(x) => platform.release_xa(x, &p, now),
            Op::Unmapped => Outcome::refuse(URL_MISMATCH, &format!("{} {}", req.method(), req.uri().path())),
        };
        if out.code != codes::OK {
            log::info!("{op:?} refused: {} {}", out.code, out.reason);
        }
        out.to_json()
    }

    /// `GET /sim/recordings/{taskid}.wav`.
    fn recording(&self, req: &Request) -> Response {
        let name = req.uri().path().trim_start_matches("/sim/recordings/");
        let taskid = name.strip_suffix(".wav").unwrap_or(name);
        let size = {
            let mut inner = self.lock();
            if inner.switches.busy_recordings > 0 {
                inner.switches.busy_recordings -= 1;
                log::info!("answering the recording of {taskid} 429");
                let mut busy = crate::server::bytes_response(Some(Vec::new()));
                *busy.status_mut() = hyper::StatusCode::TOO_MANY_REQUESTS;
                return busy;
            }
            inner.recordings.get(taskid).copied()
        };
        match size {
            Some(size) => {
                let mut resp = crate::server::bytes_response(Some(calls::recording(taskid, size)));
                resp.headers_mut().insert(CONTENT_TYPE, hyper::header::HeaderValue::from_static("audio/wav"));
                resp
            }
            None => crate::server::bytes_response(None),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_the_seeds_four_calls_or_to_1001() {
        let (put, del, get) = (Method::PUT, Method::DELETE, Method::GET);
        assert_eq!(op(&get, "/api/v1/account/status"), Op::Account);
        assert_eq!(op(&put, "/igw/service/uc/interline/17000000001"), Op::BindAxb("17000000001".into()));
        assert_eq!(op(&put, "/igw/service/uc/interline/%2B8617000000001"), Op::BindAxb("+8617000000001".into()));
        assert_eq!(op(&put, "/igw/service/uc/interline/+86170/transfer"), Op::BindXa("+86170".into()));
        assert_eq!(op(&del, "/igw/service/uc/interline"), Op::ReleaseAxb);
        assert_eq!(op(&del, "/igw/service/uc/interline/170/transfer"), Op::ReleaseXa("170".into()));
        for (m, p) in [
            (&put, "/igw/service/uc/interline"),
            (&put, "/igw/service/uc/interline/"),
            (&del, "/igw/service/uc/interline/170"),
            (&put, "/igw/service/uc/interline/170/transfer/x"),
            (&put, "/igw/service/uc/interlinex"),
        ] {
            assert_eq!(op(m, p), Op::Unmapped, "{m} {p}");
        }
    }
}
