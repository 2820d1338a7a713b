//! `telbridge-sim goip`: a simulated EJOIN/GoIP gateway speaking the HTTP API of the spec
//! digest: plain and secure-session authentication (all three ciphers, either auth-hash
//! order), status subscription and pushes, commands, the SMS task queue with status
//! reports, received SMS by push and by poll, statistics.
//!
//! Control API for tests and demos: `POST /sim/sms {"port","from","text"}` delivers a
//! message to a SIM, `POST /sim/reboot` reboots (new `ssrc`, tasks lost, sessions
//! closed), `POST /sim/status` pushes a device status now, `GET /sim/state` shows tasks,
//! the last decrypted request bodies, subscriptions and push counts.

pub mod state;

use super::Pusher;
use crate::connectors::goip::protocol::crypto::{self, AuthOrder, Cipher};
use crate::event::{now_ms, random_hex};
use crate::http::{Request, Response, Router, json_response};
use hyper::{Method, StatusCode};
use serde_json::{Value, json};
use state::{Gateway, Outgoing, Rules};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Options of the simulated gateway.
#[derive(Debug, Clone)]
pub struct Options {
    pub user: String,
    pub password: String,
    pub rules: Rules,
    /// The auth-hash order this firmware accepts in a session.
    pub order: AuthOrder,
    /// Only the secure session is accepted (plain credentials refused).
    pub session_only: bool,
    pub session_path: String,
    /// Time between two sends of the task queue.
    pub send_interval: Duration,
    /// Delay before answering `goip_post_sms` (the tasks are already accepted): lets
    /// tests kill the agent between the device accepting a send and the reply.
    pub post_delay: Duration,
}

struct SessionState {
    cipher: Cipher,
    /// The auth the session was opened with: the body key's (spec 1b step 3).
    open_auth: String,
    last_seq: u64,
    lifetime_ms: u64,
    expires_ms: u64,
}

struct Inner {
    gw: Gateway,
    sessions: HashMap<String, SessionState>,
    /// The last request bodies, decrypted: `{"path","session","cipher","body"}`.
    log: VecDeque<Value>,
}

/// The simulator: shared state and its push queue.
#[derive(Clone)]
pub struct Sim {
    opts: Arc<Options>,
    inner: Arc<Mutex<Inner>>,
    pusher: Pusher,
}

fn reply(v: Value) -> Response {
    json_response(StatusCode::OK, &v)
}

fn refused(code: u16, reason: &str) -> Response {
    reply(json!({"code": code, "reason": reason, "desc": reason}))
}

/// The query string as pairs, percent-decoded.
pub(crate) fn query(req: &Request) -> HashMap<String, String> {
    crate::http::url::parse_query(req.uri().query().unwrap_or("")).into_iter().collect()
}

impl Sim {
    pub fn new(opts: Options) -> Sim {
        let gw = Gateway::new(opts.rules.clone(), random_hex::<8>());
        let inner = Inner { gw, sessions: HashMap::new(), log: VecDeque::new() };
        Sim { opts: Arc::new(opts), inner: Arc::new(Mutex::new(inner)), pusher: Pusher::default() }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn deliver(&self, out: Vec<Outgoing>) {
        for o in out {
            self.pusher.push(o.url, o.body);
        }
    }

    /// The routes of the device API and of the control API.
    pub fn router(&self) -> Router {
        let mut router = Router::default();
        let paths = [
            "/goip_get_status.html",
            "/goip_send_cmd.html",
            "/goip_post_sms.html",
            "/goip_pause_sms.html",
            "/goip_resume_sms.html",
            "/goip_remove_sms.html",
            "/goip_get_tasks.html",
            "/goip_get_sms.html",
            "/goip_get_sms_stat.html",
            "/goip_get_call_stat.html",
        ];
        for path in paths.into_iter().chain([self.opts.session_path.as_str()]) {
            for method in [Method::GET, Method::POST] {
                let sim = self.clone();
                router.route(method, path, move |req| {
                    let sim = sim.clone();
                    async move {
                        let post = req.uri().path() == "/goip_post_sms.html";
                        let resp = sim.api(req);
                        if post && !sim.opts.post_delay.is_zero() {
                            tokio::time::sleep(sim.opts.post_delay).await;
                        }
                        resp
                    }
                });
            }
        }
        let sim = self.clone();
        router.prefix(Method::POST, "/sim/", move |req| {
            let sim = sim.clone();
            async move { sim.control(req) }
        });
        let sim = self.clone();
        router.route(Method::GET, "/sim/state", move |_| {
            let sim = sim.clone();
            async move { reply(sim.state()) }
        });
        router
    }

    /// Background work: the push queue, the task queue, periodic status pushes.
    pub fn spawn(&self) {
        tokio::spawn(self.pusher.clone().run());
        let sim = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(sim.opts.send_interval);
            loop {
                tick.tick().await;
                let out = sim.lock().gw.tick(now_ms());
                sim.deliver(out);
            }
        });
        let sim = self.clone();
        tokio::spawn(async move {
            let mut last = 0;
            loop {
                tokio::time::sleep(Duration::from_millis(250)).await;
                let (url, period, body) = {
                    let g = &sim.lock().gw;
                    (g.status_url.clone(), g.status_period, g.dev_status())
                };
                if !url.is_empty() && period > 0 && now_ms().saturating_sub(last) >= period * 1000 {
                    last = now_ms();
                    sim.pusher.push(url, body);
                }
            }
        });
    }

    fn state(&self) -> Value {
        let inner = self.lock();
        let tasks: Vec<Value> = inner
            .gw
            .tasks
            .values()
            .map(|t| {
                json!({"tid": t.tid, "to": t.to, "sms": t.sms, "paused": t.paused, "sent": t.sent,
                "failed": t.failed, "done": t.next >= t.to.len()})
            })
            .collect();
        let (queued, delivered) = self.pusher.counts();
        json!({"ssrc": inner.gw.ssrc, "tasks": tasks, "requests": inner.log, "status_url": inner.gw.status_url,
            "status_period": inner.gw.status_period, "sms_url": inner.gw.sms_url, "inbox": inner.gw.inbox.len(),
            "sessions": inner.sessions.len(), "pushes_queued": queued, "pushes_delivered": delivered})
    }

    fn control(&self, req: Request) -> Response {
        let body: Value = serde_json::from_slice(req.body()).unwrap_or(Value::Null);
        match req.uri().path() {
            "/sim/sms" => {
                let text = |k: &str, d: &str| body.get(k).and_then(Value::as_str).unwrap_or(d).to_string();
                let out =
                    self.lock().gw.receive(&text("port", "1A"), &text("from", "10010"), &text("text", ""), now_ms());
                self.deliver(out);
                reply(json!({"ok": true}))
            }
            "/sim/reboot" => {
                let mut inner = self.lock();
                inner.gw.reboot(random_hex::<8>());
                inner.sessions.clear();
                reply(json!({"ok": true, "ssrc": inner.gw.ssrc}))
            }
            "/sim/status" => {
                let (url, body) = {
                    let g = &self.lock().gw;
                    (g.status_url.clone(), g.dev_status())
                };
                if !url.is_empty() {
                    self.pusher.push(url, body);
                }
                reply(json!({"ok": true}))
            }
            _ => json_response(StatusCode::NOT_FOUND, &json!({"error": "no such control"})),
        }
    }

    /// Authenticates, decrypts, and answers one device API request.
    fn api(&self, req: Request) -> Response {
        let q = query(&req);
        let path = req.uri().path().to_string();
        let (u, p) = (&self.opts.user, &self.opts.password);
        if path == self.opts.session_path {
            let cnonce = q.get("cnonce").map(String::as_str).unwrap_or("");
            let expected = crypto::session_open_auth(u, p, cnonce, &path);
            if q.get("username") != Some(u) || q.get("auth").map(String::as_str) != Some(expected.as_str()) {
                return refused(1, "auth failed");
            }
            let Some(cipher) = Cipher::parse(q.get("crypt").map(String::as_str).unwrap_or("none")) else {
                return refused(15, "unknown crypt");
            };
            let expires: u64 = q.get("expires").and_then(|e| e.parse().ok()).unwrap_or(180);
            let id = random_hex::<6>();
            let session = SessionState {
                cipher,
                open_auth: expected,
                last_seq: 0,
                lifetime_ms: expires * 1000,
                expires_ms: now_ms() + expires * 1000,
            };
            self.lock().sessions.insert(id.clone(), session);
            return reply(json!({"code": 0, "desc": "OK", "session": id, "expires": expires}));
        }
        let body = match q.get("session") {
            Some(id) => {
                let mut inner = self.lock();
                let Some(s) = inner.sessions.get_mut(id) else { return refused(14, "Unauthorized: no such session") };
                let seq: u64 = q.get("seq").and_then(|v| v.parse().ok()).unwrap_or(0);
                let expected = crypto::request_auth(u, p, id, &path, seq, self.opts.order);
                let given = q.get("auth").cloned().unwrap_or_default();
                if now_ms() > s.expires_ms {
                    inner.sessions.remove(id);
                    return refused(14, "Unauthorized: session expired");
                }
                if seq <= s.last_seq || given != expected {
                    return refused(14, "Unauthorized: bad auth or seq");
                }
                s.last_seq = seq;
                s.expires_ms = now_ms() + s.lifetime_ms;
                let key = crypto::body_key(u, p, &s.open_auth, id, seq);
                let cipher = s.cipher;
                if req.body().is_empty() {
                    (Vec::new(), Some(cipher))
                } else {
                    match crypto::decrypt(cipher, &key, req.body()) {
                        Some(b) => (b, Some(cipher)),
                        None => return refused(7, "body does not decrypt"),
                    }
                }
            }
            None if self.opts.session_only => return refused(14, "Unauthorized: secure session required"),
            None => {
                if q.get("username") != Some(u) || q.get("password") != Some(p) {
                    return refused(1, "Invalid User");
                }
                (req.body().to_vec(), None)
            }
        };
        let (bytes, cipher) = body;
        let json_body: Value = if bytes.is_empty() {
            Value::Null
        } else {
            match serde_json::from_slice(&bytes) {
                Ok(v) => v,
                Err(e) => return refused(7, &format!("body is not JSON: {e}")),
            }
        };
        {
            let mut inner = self.lock();
            inner.log.push_back(json!({"path": path, "session": q.contains_key("session"),
                "cipher": cipher.map(Cipher::as_str), "body": json_body}));
            while inner.log.len() > 50 {
                inner.log.pop_front();
            }
        }
        self.serve(&path, &q, &json_body)
    }

    fn serve(&self, path: &str, q: &HashMap<String, String>, body: &Value) -> Response {
        let num = |k: &str, d: u64| q.get(k).and_then(|v| v.parse().ok()).unwrap_or(d);
        let mut inner = self.lock();
        let gw = &mut inner.gw;
        match path {
            "/goip_get_status.html" => {
                gw.status_url = q.get("url").cloned().unwrap_or_default();
                gw.status_period = num("period", 0);
                if gw.status_period == 0 {
                    gw.status_url.clear();
                }
                let first = (!gw.status_url.is_empty()).then(|| (gw.status_url.clone(), gw.dev_status()));
                drop(inner);
                if let Some((url, body)) = first {
                    self.pusher.push(url, body);
                }
                refused(0, "OK")
            }
            "/goip_send_cmd.html" => {
                if let Some(op) = q.get("op").filter(|o| *o == "get" || *o == "set") {
                    let mut out = json!({"code": 0, "reason": "OK"});
                    for (k, v) in q.iter().filter(|(k, _)| {
                        !["op", "version", "username", "password", "seq", "session", "auth", "expires"]
                            .contains(&k.as_str())
                    }) {
                        if op == "set" {
                            gw.params.insert(k.clone(), v.clone());
                            if k == "sms_url" {
                                gw.sms_url = v.clone();
                            }
                        }
                        out[k] = json!(gw.params.get(k).cloned().unwrap_or_default());
                    }
                    return reply(out);
                }
                let ops: Vec<Value> = match body.get("op").and_then(Value::as_str) {
                    Some("multiple") => body.get("ops").and_then(Value::as_array).cloned().unwrap_or_default(),
                    Some(_) => vec![body.clone()],
                    None => return refused(15, "Invalid CMD"),
                };
                let mut pushes = Vec::new();
                for op in ops {
                    let name = op.get("op").and_then(Value::as_str).unwrap_or("");
                    match gw.command(name, op.get("ports").and_then(Value::as_str)) {
                        Ok(out) => pushes.extend(out),
                        Err((code, reason)) => return refused(code, reason),
                    }
                    if name == "reboot" {
                        gw.reboot(random_hex::<8>());
                        inner.sessions.clear();
                        break;
                    }
                }
                drop(inner);
                self.deliver(pushes);
                refused(0, "OK")
            }
            "/goip_post_sms.html" => {
                if body.get("type").and_then(Value::as_str) != Some("send-sms") {
                    return refused(15, "Invalid CMD");
                }
                if let Some(url) = body.get("sms_url").and_then(Value::as_str) {
                    gw.sms_url = url.to_string();
                    gw.sms_cnt = body.get("sms_cnt").and_then(Value::as_u64).unwrap_or(1).max(1) as usize;
                    gw.sms_prd_ms = body.get("sms_prd").and_then(Value::as_u64).unwrap_or(30) * 1000;
                }
                let tasks = body.get("tasks").and_then(Value::as_array).cloned().unwrap_or_default();
                let status: Vec<Value> = tasks
                    .iter()
                    .map(|t| {
                        let (tid, code) = gw.add_task(t, body, now_ms());
                        json!({"tid": tid, "status": format!("{code} {}", crate::connectors::goip::protocol::reply::task_code_name(code))})
                    })
                    .collect();
                reply(json!({"code": 200, "reason": "OK", "type": "task-status", "status": status}))
            }
            "/goip_pause_sms.html" | "/goip_resume_sms.html" | "/goip_remove_sms.html" => {
                let tids: Vec<u64> = match body.get("tids").and_then(Value::as_array) {
                    Some(l) => l.iter().filter_map(Value::as_u64).collect(),
                    None => gw.tasks.keys().copied().collect(),
                };
                let results: Vec<Value> = tids
                    .iter()
                    .map(|tid| {
                        let status = match (gw.tasks.get_mut(tid), path) {
                            (None, _) => "15 Invalid CMD",
                            (Some(t), "/goip_pause_sms.html") => {
                                t.paused = true;
                                "0 OK"
                            }
                            (Some(t), "/goip_resume_sms.html") => {
                                t.paused = false;
                                "0 OK"
                            }
                            (Some(_), _) => "0 OK",
                        };
                        if path == "/goip_remove_sms.html" {
                            gw.tasks.remove(tid);
                        }
                        json!({"tid": tid, "status": status})
                    })
                    .collect();
                reply(json!({"code": 200, "reason": "OK", "results": results}))
            }
            "/goip_get_tasks.html" => {
                let (pos, n) = (num("pos", 0) as usize, num("num", 10) as usize);
                let content = num("has_content", 0) == 1;
                let all: Vec<Value> = gw
                    .tasks
                    .values()
                    .filter(|t| t.next < t.to.len())
                    .map(|t| {
                        let mut v = json!({"tid": t.tid, "state": u8::from(t.paused), "from": "", "to": t.to.join(","),
                            "chs": "utf8", "coding": 0});
                        if content {
                            v["sms"] = json!(t.sms);
                        }
                        v
                    })
                    .collect();
                let page: Vec<Value> = all.iter().skip(pos).take(n).cloned().collect();
                reply(
                    json!({"code": 200, "reason": "OK", "total_num": all.len(), "task_num": page.len(), "tasks": page}),
                )
            }
            "/goip_get_sms.html" => reply(gw.sms_page(num("sms_id", 1), num("sms_num", 0) as usize)),
            "/goip_get_sms_stat.html" => reply(gw.sms_stats()),
            "/goip_get_call_stat.html" => {
                let stats: Vec<Value> = (1..=gw.rules.max_ports)
                    .map(|p| {
                        json!({"port": p, "slot": 1, "calls": 0, "alerted": 0, "connected": 0, "con_failed": 0,
                        "nc": "0/0", "pdd": 0, "acd": 0, "asr": 0, "tcd": 0, "act_tcd": 0})
                    })
                    .collect();
                reply(json!({"code": 200, "reason": "OK", "count": stats.len(), "stats": stats}))
            }
            _ => refused(15, "Invalid CMD"),
        }
    }
}
