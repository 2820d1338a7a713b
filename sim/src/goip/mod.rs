//! `telbridge-sim goip`: a simulated EJOIN/GoIP gateway speaking the HTTP API of the spec
//! digest (`shared/specs/goip-ejoin-http.md`): plain and secure-session authentication
//! (all three ciphers, either auth-hash order, bodies keyed with the session-opening
//! auth), status subscription and pushes, commands, the SMS task queue with status
//! reports, received SMS by push and by poll, statistics.
//!
//! Control API for tests and demos: `POST /sim/sms {"port","from","text"}` delivers a
//! message to a SIM, `POST /sim/reboot` reboots (new `ssrc`, tasks lost, sessions
//! closed), `POST /sim/status` pushes a device status now, `GET /sim/state` shows tasks,
//! the last decrypted request bodies, subscriptions and push counts.

pub mod crypto;
pub mod ports;
pub mod state;

use crate::push::Pusher;
use crate::server::{Request, Response, Router, error, ok_json, query};
use crate::util::{now_ms, random_hex};
use crypto::{AuthOrder, Cipher};
use hyper::{Method, StatusCode};
use serde_json::{Value, json};
use state::{Gateway, Outgoing, Rules, task_code_name};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
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
    /// Delay before answering `goip_post_sms` (the tasks are already accepted).
    pub post_delay: Duration,
    /// Push as older firmware does: `application/x-www-form-urlencoded`, the push's fields
    /// as form keys.
    pub form_pushes: bool,
    /// Refusals echo the request line (credentials in the URL included), as some firmware does.
    pub echo_requests: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            user: "admin".into(),
            password: "admin".into(),
            rules: Rules { max_ports: 8, max_slots: 4, fail_suffix: "666".into() },
            order: AuthOrder::PathSeq,
            session_only: false,
            session_path: "/crypt_sess.json".into(),
            send_interval: Duration::from_millis(100),
            post_delay: Duration::ZERO,
            form_pushes: false,
            echo_requests: false,
        }
    }
}

/// An open secure session.
struct Session {
    cipher: Cipher,
    /// The `auth` sent to the session path: part of every body key of this session.
    open_auth: String,
    last_seq: u64,
    lifetime_ms: u64,
    expires_ms: u64,
}

struct Inner {
    gw: Gateway,
    sessions: HashMap<String, Session>,
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

/// The device's API paths (besides the session path).
const API_PATHS: [&str; 10] = [
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

/// `{"code","reason","desc"}`: a refusal (or, with 0, a bare OK).
fn refused(code: u16, reason: &str) -> Response {
    ok_json(&json!({"code": code, "reason": reason, "desc": reason}))
}

impl Sim {
    pub fn new(opts: Options) -> Sim {
        let gw = Gateway::new(opts.rules.clone(), random_hex::<8>());
        let inner = Inner { gw, sessions: HashMap::new(), log: VecDeque::new() };
        let pusher = Pusher::default().with_forms(opts.form_pushes);
        Sim { opts: Arc::new(opts), inner: Arc::new(Mutex::new(inner)), pusher }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn deliver(&self, out: impl IntoIterator<Item = Outgoing>) {
        for o in out {
            self.pusher.push(o.url, o.body);
        }
    }

    /// The routes of the device API and of the control API.
    pub fn router(&self) -> Router {
        let mut router = Router::default();
        for path in API_PATHS.into_iter().chain([self.opts.session_path.as_str()]) {
            for method in [Method::GET, Method::POST] {
                let sim = self.clone();
                router.route(method, path, move |req| {
                    let sim = sim.clone();
                    async move {
                        let post = req.uri().path() == "/goip_post_sms.html";
                        let resp = sim.api(&req);
                        if post && !sim.opts.post_delay.is_zero() {
                            tokio::time::sleep(sim.opts.post_delay).await;
                        }
                        resp
                    }
                });
            }
        }
        crate::server::control_routes(&mut router, self);
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
            loop {
                tokio::time::sleep(Duration::from_millis(250)).await;
                let due = sim.lock().gw.status_due(now_ms(), false);
                sim.deliver(due);
            }
        });
    }

    /// `GET /sim/state`.
    pub fn state(&self) -> Value {
        let inner = self.lock();
        let tasks: Vec<Value> = inner
            .gw
            .tasks
            .values()
            .map(|t| {
                json!({"tid": t.tid, "to": t.to, "sms": t.sms, "paused": t.paused, "sent": t.sent,
                    "failed": t.failed, "done": t.finished()})
            })
            .collect();
        let (queued, delivered) = self.pusher.counts();
        let g = &inner.gw;
        json!({"ssrc": g.ssrc, "tasks": tasks, "requests": inner.log, "status_url": g.status_url,
            "status_period": g.status_period, "sms_url": g.sms_url, "inbox": g.inbox.len(),
            "sessions": inner.sessions.len(), "pushes_queued": queued, "pushes_delivered": delivered})
    }

    pub fn control(&self, req: &Request) -> Response {
        let body: Value = serde_json::from_slice(req.body()).unwrap_or(Value::Null);
        match req.uri().path() {
            "/sim/sms" => {
                let text = |k: &str, d: &str| body.get(k).and_then(Value::as_str).unwrap_or(d).to_string();
                let (port, from, msg) = (text("port", "1A"), text("from", "10010"), text("text", ""));
                let out = self.lock().gw.receive(&port, &from, &msg, now_ms());
                self.deliver(out);
                ok_json(&json!({"ok": true}))
            }
            "/sim/reboot" => {
                let mut inner = self.lock();
                inner.gw.reboot(random_hex::<8>());
                inner.sessions.clear();
                ok_json(&json!({"ok": true, "ssrc": inner.gw.ssrc}))
            }
            "/sim/status" => {
                let out = self.lock().gw.status_due(now_ms(), true);
                self.deliver(out);
                ok_json(&json!({"ok": true}))
            }
            _ => error(StatusCode::NOT_FOUND, "not_found", "no such control"),
        }
    }

    /// Section 1b step 1: opens a session.
    fn open_session(&self, q: &HashMap<String, String>, path: &str) -> Response {
        let (u, p) = (&self.opts.user, &self.opts.password);
        let cnonce = q.get("cnonce").map_or("", String::as_str);
        let auth = q.get("auth").cloned().unwrap_or_default();
        if q.get("username") != Some(u) || auth != crypto::session_open_auth(u, p, cnonce, path) {
            return refused(1, "auth failed");
        }
        let Some(cipher) = Cipher::parse(q.get("crypt").map_or("none", String::as_str)) else {
            return refused(15, "unknown crypt");
        };
        let expires: u64 = q.get("expires").and_then(|e| e.parse().ok()).unwrap_or(180);
        let id = random_hex::<6>();
        let session = Session {
            cipher,
            open_auth: auth,
            last_seq: 0,
            lifetime_ms: expires * 1000,
            expires_ms: now_ms() + expires * 1000,
        };
        self.lock().sessions.insert(id.clone(), session);
        ok_json(&json!({"code": 0, "desc": "OK", "session": id, "expires": expires}))
    }

    /// Section 1b steps 2–3: checks a session request and decrypts its body. The body and
    /// the cipher, or the refusal's code and reason.
    fn session_body(
        &self,
        id: &str,
        q: &HashMap<String, String>,
        path: &str,
        body: &[u8],
    ) -> Result<(Vec<u8>, Cipher), (u16, &'static str)> {
        let (u, p) = (&self.opts.user, &self.opts.password);
        let mut inner = self.lock();
        let Some(s) = inner.sessions.get_mut(id) else { return Err((14, "Unauthorized: no such session")) };
        if now_ms() > s.expires_ms {
            inner.sessions.remove(id);
            return Err((14, "Unauthorized: session expired"));
        }
        let seq: u64 = q.get("seq").and_then(|v| v.parse().ok()).unwrap_or(0);
        let given = q.get("auth").map_or("", String::as_str);
        // Seed 3.2.3: "如上一请求的 seq 为 10，那么下一请求的 seq 必须大于 10，原则上应该是 11":
        // greater than the last is required, +1 only expected.
        if seq <= s.last_seq || given != crypto::request_auth(u, p, id, path, seq, self.opts.order) {
            return Err((14, "Unauthorized: bad auth or seq"));
        }
        s.last_seq = seq;
        // Digest: "optional `expires` (renews lifetime)".
        if let Some(e) = q.get("expires").and_then(|e| e.parse::<u64>().ok()) {
            s.lifetime_ms = e * 1000;
        }
        s.expires_ms = now_ms() + s.lifetime_ms;
        if body.is_empty() {
            return Ok((Vec::new(), s.cipher));
        }
        let key = crypto::body_key(u, p, &s.open_auth, id, seq);
        match crypto::decrypt(s.cipher, &key, body) {
            Some(b) => Ok((b, s.cipher)),
            None => Err((7, "body does not decrypt")),
        }
    }

    /// Authenticates, decrypts, and answers one device API request.
    fn api(&self, req: &Request) -> Response {
        let q = query(req);
        let path = req.uri().path().to_string();
        if path == self.opts.session_path {
            return self.open_session(&q, &path);
        }
        let (bytes, cipher) = match q.get("session") {
            Some(id) => match self.session_body(id, &q, &path, req.body()) {
                Ok((b, c)) => (b, Some(c)),
                Err((code, reason)) => return refused(code, reason),
            },
            None if self.opts.session_only => return refused(14, "Unauthorized: secure session required"),
            None => {
                if q.get("username") != Some(&self.opts.user) || q.get("password") != Some(&self.opts.password) {
                    if self.opts.echo_requests {
                        // Field firmware whose error text echoes the request line back.
                        let line = format!("Invalid User: POST {}", req.uri());
                        return refused(1, &line);
                    }
                    return refused(1, "Invalid User");
                }
                (req.body().to_vec(), None)
            }
        };
        let body: Value = if bytes.is_empty() {
            Value::Null
        } else {
            match serde_json::from_slice(&bytes) {
                Ok(v) => v,
                Err(e) => return refused(7, &format!("body is not JSON: {e}")),
            }
        };
        {
            let mut inner = self.lock();
            let entry = json!({"path": path, "session": q.contains_key("session"),
                "cipher": cipher.map(Cipher::as_str), "body": body});
            inner.log.push_back(entry);
            while inner.log.len() > 50 {
                inner.log.pop_front();
            }
        }
        self.serve(&path, &q, &body)
    }

    fn serve(&self, path: &str, q: &HashMap<String, String>, body: &Value) -> Response {
        let num = |k: &str, d: u64| q.get(k).and_then(|v| v.parse().ok()).unwrap_or(d);
        let mut inner = self.lock();
        match path {
            "/goip_get_status.html" => {
                let gw = &mut inner.gw;
                gw.status_url = q.get("url").cloned().unwrap_or_default();
                // Digest: "`period`: seconds (>0, minimum 60); `0` cancels pushes".
                gw.status_period = match num("period", 0) {
                    0 => 0,
                    p => p.max(60),
                };
                if gw.status_period == 0 {
                    gw.status_url.clear();
                }
                let first = gw.status_due(now_ms(), true);
                drop(inner);
                self.deliver(first);
                refused(0, "OK")
            }
            "/goip_send_cmd.html" => {
                // A strict device reads the body first: seed 004 §5.1.3 lists lock, unlock,
                // switch, reset, save, reboot and multiple as body ops (ledon/ledoff on newer
                // firmware); get/set are URL parameters (§5.1.2) and invalid in a body.
                const BODY_OPS: &[&str] =
                    &["lock", "unlock", "switch", "reset", "save", "reboot", "multiple", "ledon", "ledoff"];
                if let Some(body_op) = body.get("op").and_then(Value::as_str)
                    && !BODY_OPS.contains(&body_op)
                {
                    return refused(15, "Invalid CMD");
                }
                let op = q.get("op").map(String::as_str);
                if let Some(op @ ("get" | "set")) = op {
                    return ok_json(&params(&mut inner.gw, op, q));
                }
                let ops: Vec<Value> = match body.get("op").and_then(Value::as_str) {
                    Some("multiple") => body.get("ops").and_then(Value::as_array).cloned().unwrap_or_default(),
                    Some(_) => vec![body.clone()],
                    None => return refused(15, "Invalid CMD"),
                };
                let mut pushes = Vec::new();
                for op in ops {
                    let name = op.get("op").and_then(Value::as_str).unwrap_or("");
                    match inner.gw.command(name, op.get("ports").and_then(Value::as_str)) {
                        Ok(out) => pushes.extend(out),
                        Err((code, reason)) => return refused(code, reason),
                    }
                    if name == "reboot" {
                        inner.gw.reboot(random_hex::<8>());
                        inner.sessions.clear();
                        break;
                    }
                }
                drop(inner);
                self.deliver(pushes);
                refused(0, "OK")
            }
            "/goip_post_sms.html" => post_sms(&mut inner.gw, body),
            "/goip_pause_sms.html" | "/goip_resume_sms.html" | "/goip_remove_sms.html" => {
                manage_tasks(&mut inner.gw, path, body)
            }
            "/goip_get_tasks.html" => {
                let (pos, n, content) = (num("pos", 0) as usize, num("num", 10) as usize, num("has_content", 0) == 1);
                let all: Vec<Value> = inner
                    .gw
                    .tasks
                    .values()
                    .filter(|t| !t.finished())
                    .map(|t| {
                        let mut v = json!({"tid": t.tid, "state": u8::from(t.paused), "from": "",
                            "to": t.to.join(","), "chs": "utf8", "coding": 0});
                        if content {
                            v["sms"] = json!(t.sms);
                        }
                        v
                    })
                    .collect();
                let page: Vec<&Value> = all.iter().skip(pos).take(n).collect();
                ok_json(
                    &json!({"code": 200, "reason": "OK", "total_num": all.len(), "task_num": page.len(), "tasks": page}),
                )
            }
            "/goip_get_sms.html" => ok_json(&inner.gw.sms_page(num("sms_id", 1), num("sms_num", 0) as usize)),
            "/goip_get_sms_stat.html" | "/goip_get_call_stat.html" => {
                let (ports, slots) = (q.get("ports").map(String::as_str), q.get("slots").map(String::as_str));
                let stats = if path == "/goip_get_sms_stat.html" {
                    inner.gw.sms_stats(ports, slots)
                } else {
                    inner.gw.call_stats(ports, slots)
                };
                stats.map_or_else(|| refused(2, "Invalid Port"), |s| ok_json(&s))
            }
            _ => refused(15, "Invalid CMD"),
        }
    }
}

/// `op=get|set` of named parameters on `goip_send_cmd` (`sms_url` is honoured).
fn params(gw: &mut Gateway, op: &str, q: &HashMap<String, String>) -> Value {
    const NOT_PARAMS: [&str; 8] = ["op", "version", "username", "password", "seq", "session", "auth", "expires"];
    let mut out = json!({"code": 0, "reason": "OK"});
    for (k, v) in q.iter().filter(|(k, _)| !NOT_PARAMS.contains(&k.as_str())) {
        if op == "set" {
            gw.params.insert(k.clone(), v.clone());
            if k == "sms_url" {
                gw.sms_url = v.clone();
            }
        }
        out[k] = json!(gw.params.get(k).cloned().unwrap_or_default());
    }
    out
}

/// `goip_post_sms`: per-task codes; accepted tasks join the queue.
fn post_sms(gw: &mut Gateway, body: &Value) -> Response {
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
            json!({"tid": tid, "status": format!("{code} {}", task_code_name(code))})
        })
        .collect();
    ok_json(&json!({"code": 200, "reason": "OK", "type": "task-status", "status": status}))
}

/// `goip_pause_sms`, `goip_resume_sms`, `goip_remove_sms`.
fn manage_tasks(gw: &mut Gateway, path: &str, body: &Value) -> Response {
    let tids: Vec<u64> = match body.get("tids").and_then(Value::as_array) {
        Some(l) => l.iter().filter_map(Value::as_u64).collect(),
        None => gw.tasks.keys().copied().collect(),
    };
    let results: Vec<Value> = tids
        .iter()
        .map(|tid| {
            let status = match gw.tasks.get_mut(tid) {
                None => "15 Invalid CMD",
                Some(t) => {
                    match path {
                        "/goip_pause_sms.html" => t.paused = true,
                        "/goip_resume_sms.html" => t.paused = false,
                        _ => {}
                    }
                    "0 OK"
                }
            };
            if path == "/goip_remove_sms.html" {
                gw.tasks.remove(tid);
            }
            json!({"tid": tid, "status": status})
        })
        .collect();
    ok_json(&json!({"code": 200, "reason": "OK", "results": results}))
}

impl crate::server::Controlled for Sim {
    fn state(&self) -> Value {
        Sim::state(self)
    }

    fn control(&self, req: &Request) -> Response {
        Sim::control(self, req)
    }
}
