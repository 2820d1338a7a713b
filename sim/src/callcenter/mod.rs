//! `telbridge-sim callcenter`: a simulated cloud call-center OpenAPI (agents, click-to-call,
//! outbound call tasks, CDRs and recordings), written from the digest
//! `shared/specs/callcenter-openapi.md` and its seed `003_…` (an OCR-damaged Chinese
//! document) alone; where the sim chose between readings the code quotes the seed line.
//!
//! Vendor API: `POST /openapi/V2.0.<x>/<ApiName>` ([`envelope`], [`apis`]); recordings at
//! `GET /<filename>` (`/record/yyyyMMdd/<key>.wav`). A CallNumber runs a call: the agent is
//! `CALL_OUT`, a `callstart` notification goes out, after `--call-ms` (or at HangupCall)
//! `callend` and `billing`, a CDR and a record are stored and the agent is IDLE again.
//!
//! Control API ([`control`]): `GET /sim/state`, `POST /sim/config`, `POST /sim/cdr`,
//! `POST /sim/notify`.

pub mod apis;
pub mod auth;
pub mod calls;
pub mod codes;
mod control;
pub mod envelope;
pub mod fields;
pub mod notify;
pub mod state;
pub mod times;

use crate::server::{Request, Response, Router, hangup, ok_json, text_response};
use crate::util::{now_ms, random_hex};
use apis::Effect;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Method, StatusCode};
use notify::{Notifier, Stamp};
use serde_json::Value;
use state::Platform;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// Options of the simulated platform.
#[derive(Debug, Clone)]
pub struct Options {
    pub customer: String,
    pub apikey: String,
    /// Agent (seat) numbers, all OFFLINE and IDLE at start.
    pub agents: Vec<String>,
    pub notify_url: Option<String>,
    /// A request's timestamp may be this far from the sim's clock either way.
    pub max_skew_secs: u64,
    /// The sim's clock runs this many seconds ahead (negative: behind).
    pub clock_skew_secs: i64,
    pub notify_retry: Duration,
    pub records_page: usize,
    /// 0: getCdrList returns every matching CDR.
    pub cdr_page: usize,
    pub call_ms: u64,
    pub recording_bytes: u64,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            customer: "C2".into(),
            apikey: auth::SEED_APIKEY.into(),
            agents: vec!["1000".into(), "1001".into(), "1002".into()],
            notify_url: None,
            max_skew_secs: 300,
            clock_skew_secs: 0,
            notify_retry: Duration::from_millis(500),
            records_page: 500,
            cdr_page: 0,
            call_ms: 300,
            recording_bytes: 65_536,
        }
    }
}

/// Test switches and settings that `/sim/config` changes.
#[derive(Debug, Clone, Default)]
pub struct Switches {
    /// Handle the next N vendor requests, then close the connection without a reply.
    pub drop_next: u64,
    /// Only requests to this API count for `drop_next` (any API when `None`).
    pub drop_api: Option<String>,
    /// Answer the next N vendor requests with HTTP 500, not handled.
    pub fail_next: u64,
    pub dropped: u64,
    pub failed: u64,
    pub skew_ms: i64,
    pub max_skew_ms: i64,
    pub call_ms: u64,
    pub notify_url: Option<String>,
}

struct Inner {
    platform: Platform,
    switches: Switches,
    /// Call id → its early-hangup signal.
    hangups: HashMap<u32, Arc<tokio::sync::Notify>>,
}

/// The simulator.
#[derive(Clone)]
pub struct Sim {
    inner: Arc<Mutex<Inner>>,
    notifier: Notifier,
}

impl Sim {
    pub fn new(opts: Options) -> Sim {
        let mut platform = Platform::new(&opts.customer, &opts.apikey, &opts.agents);
        platform.records_page = opts.records_page.max(1);
        platform.cdr_page = opts.cdr_page;
        platform.recording_bytes = opts.recording_bytes;
        let switches = Switches {
            skew_ms: opts.clock_skew_secs.saturating_mul(1000),
            max_skew_ms: i64::try_from(opts.max_skew_secs.saturating_mul(1000)).unwrap_or(i64::MAX),
            call_ms: opts.call_ms,
            notify_url: opts.notify_url.clone(),
            ..Switches::default()
        };
        Sim {
            notifier: Notifier::new(opts.notify_retry, now_ms()),
            inner: Arc::new(Mutex::new(Inner { platform, switches, hangups: HashMap::new() })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The sim's clock: the wall clock plus the skew, in epoch milliseconds.
    pub fn now_ms(&self) -> i64 {
        i64::try_from(now_ms()).unwrap_or(0) + self.lock().switches.skew_ms
    }

    /// Background work: the notification queue.
    pub fn spawn(&self) {
        tokio::spawn(self.notifier.clone().run());
    }

    pub fn router(&self) -> Router {
        let mut router = Router::default();
        let sim = self.clone();
        router.prefix(Method::POST, "/openapi/", move |req| {
            let sim = sim.clone();
            async move { sim.vendor(&req) }
        });
        let sim = self.clone();
        router.prefix(Method::GET, "/record/", move |req| {
            let sim = sim.clone();
            async move { sim.recording(&req) }
        });
        let sim = self.clone();
        router.route(Method::POST, "/sim/notify", move |req| {
            let sim = sim.clone();
            async move { sim.forge(&req).await }
        });
        crate::server::control_routes(&mut router, self);
        router
    }

    /// One vendor API call: the test switches, the content type, the envelope, then the
    /// effects. The body must be sent as `Content-Type: application/json` (parameters such
    /// as a charset allowed): seed §2 item 6, "Accept: application/json / Content-Type:
    /// application/json" under the request-header heading; otherwise the outer result is
    /// 10001 and nothing is done.
    fn vendor(&self, req: &Request) -> Response {
        let now = self.now_ms();
        let content_type = req.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        let json_body =
            content_type.split(';').next().is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"));
        let (answer, drop) = {
            let mut inner = self.lock();
            let s = &mut inner.switches;
            if s.fail_next > 0 {
                s.fail_next -= 1;
                s.failed += 1;
                log::info!("failing {} with 500 (fail_next)", req.uri().path());
                let body = "{\"error\":\"forced by /sim/config fail_next\"}".to_string();
                return text_response(StatusCode::INTERNAL_SERVER_ERROR, "application/json", body);
            }
            if !json_body {
                let why = format!("Content-Type must be application/json, not {content_type:?}");
                return ok_json(&envelope::outer(codes::BAD_ENVELOPE, &why, None));
            }
            let api = req.uri().path().rsplit('/').next().unwrap_or("");
            let drop = s.drop_next > 0 && s.drop_api.as_deref().is_none_or(|a| a.eq_ignore_ascii_case(api));
            if drop {
                s.drop_next -= 1;
                s.dropped += 1;
            }
            let max_skew = s.max_skew_ms;
            (envelope::answer(&mut inner.platform, req.uri().path(), req.body(), now, max_skew), drop)
        };
        for effect in answer.effects {
            self.apply(effect);
        }
        if drop {
            log::info!("dropping the reply to {} (drop_next)", req.uri().path());
            return hangup();
        }
        ok_json(&answer.body)
    }

    fn apply(&self, effect: Effect) {
        match effect {
            Effect::Call { agent, id } => {
                let signal = Arc::new(tokio::sync::Notify::new());
                self.lock().hangups.insert(id, signal.clone());
                tokio::spawn(self.clone().run_call(agent, id, signal));
            }
            Effect::Hangup { id, .. } => {
                if let Some(signal) = self.lock().hangups.get(&id) {
                    signal.notify_one();
                }
            }
            Effect::Notify(notify) => self.notify(&notify),
        }
    }

    /// Signs and queues a notification to the configured URL.
    fn notify(&self, notify: &Value) {
        let (url, customer, apikey) = {
            let inner = self.lock();
            (inner.switches.notify_url.clone(), inner.platform.customer.clone(), inner.platform.apikey.clone())
        };
        let stamp = Stamp::signed(&customer, &apikey, self.notifier.seq(), self.now_ms());
        self.notifier.send(url.as_deref(), stamp, notify);
    }

    /// A click-to-call: `callstart` now, then after `call_ms` (or a HangupCall) the CDR,
    /// the record, `callend` and `billing`.
    async fn run_call(self, agent: String, id: u32, hangup: Arc<tokio::sync::Notify>) {
        let (call, call_ms, customer) = {
            let inner = self.lock();
            let call = inner.platform.calls.get(&agent).filter(|c| c.id == id).cloned();
            (call, inner.switches.call_ms, inner.platform.customer.clone())
        };
        if let Some(call) = &call {
            self.notify(&calls::call_event("callstart", &customer, call));
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(call_ms)) => {}
            () = hangup.notified() => log::info!("call {id} of agent {agent} hung up early"),
        }
        let now = self.now_ms();
        let ended = {
            let mut inner = self.lock();
            inner.hangups.remove(&id);
            inner.platform.end_call(&agent, id, now)
        };
        if let Some((call, cdr, record)) = ended {
            self.notify(&calls::call_event("callend", &customer, &call));
            self.notify(&calls::billing(&call, &cdr, record.as_ref(), &random_hex::<8>()));
        }
    }

    /// `GET /<filename>`: a recording.
    fn recording(&self, req: &Request) -> Response {
        let found = self.lock().platform.recording(req.uri().path()).map(|r| (r.key, r.bytes));
        match found {
            Some((key, size)) => {
                let mut resp = crate::server::bytes_response(Some(calls::recording(key, size)));
                resp.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("audio/wav"));
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
