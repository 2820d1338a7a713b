//! `telbridge-sim fax`: a simulated WaveFax server (`/wspubcore?call=…`, digest
//! `shared/specs/wavefax-http.md`) with session tokens that expire, uploads (`putfile`
//! needs `Content-Disposition: …filename="…"`), outbound jobs that advance by themselves
//! (numbers ending 444 are busy, 555 time out), an inbox with files served at `fileurl`,
//! and the seed's non-strict JSON style (bare keys) on some replies.
//!
//! Control API: `POST /sim/infax {"from","to","pages","data"(base64),"broken"}` delivers a
//! fax (`broken`: `getfaxfile` fails for it with a database error; `fetch_failures`: N
//! "cannot fetch file" answers before it is served), `POST /sim/expire`
//! expires every session token, `GET /sim/state` shows the jobs, the files (with their
//! SHA-256), the inbox and the calls answered. A small document host stands in for the
//! cloud's file store: `POST /sim/docs/{name}` keeps the raw body, `GET /docs/{name}`
//! serves it.

pub mod codes;
pub mod state;

use crate::server::{Request, Response, Router, bytes_response, error, ok_json, text_response};
use crate::util::now_ms;
use base64::Engine;
use hyper::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use state::FaxServer;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// Options of the simulated server.
#[derive(Debug, Clone)]
pub struct Options {
    pub user: String,
    pub password: String,
    pub token_ttl: Duration,
    /// Time between two state steps of the outbound jobs.
    pub step: Duration,
    /// How long a submission's reply is held back after the job exists.
    pub submit_delay: Duration,
    /// How long a resend's reply is held back after the resend happened.
    pub resend_delay: Duration,
    /// A merged job's `getoutfax` names a file id of its own, not the uploads'.
    pub rename_merged: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            user: "ops".into(),
            password: "ops".into(),
            token_ttl: Duration::from_secs(600),
            step: Duration::from_millis(200),
            submit_delay: Duration::ZERO,
            resend_delay: Duration::ZERO,
            rename_merged: false,
        }
    }
}

/// The simulator.
#[derive(Clone)]
pub struct Sim {
    server: Arc<Mutex<FaxServer>>,
    step: Duration,
    submit_delay: Duration,
    resend_delay: Duration,
    docs: Arc<Mutex<BTreeMap<String, Vec<u8>>>>,
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    crate::util::hex(&Sha256::digest(data))
}

/// `{ code:0, key:"v" }`: the seed's style with bare keys (flat maps only). Digest: "The
/// seed's examples are not strict JSON (`{ code:0, sessionToken:"…"}`, unquoted keys)".
fn non_strict(fields: &[(&str, Value)]) -> Response {
    let body: Vec<String> = fields.iter().map(|(k, v)| format!("{k}:{v}")).collect();
    text_response(StatusCode::OK, "application/json", format!("{{ {} }}", body.join(", ")))
}

/// Digest: "On failure the reply holds nothing but `code` (and `msg`)".
fn failure(code: i64) -> Response {
    ok_json(&json!({"code": code, "msg": codes::message(code)}))
}

fn ids(list: &[u64]) -> Vec<String> {
    list.iter().map(u64::to_string).collect()
}

/// `YYYYMMDDTHHNNSS` now.
fn now_stamp() -> String {
    codes::format_time(i64::try_from(now_ms() / 1000).unwrap_or(i64::MAX))
}

/// The `filename="…"` of a `Content-Disposition` header.
pub fn disposition_filename(cd: &str) -> Option<&str> {
    cd.split("filename=\"").nth(1).and_then(|r| r.split('"').next()).filter(|n| !n.is_empty())
}

impl Sim {
    pub fn new(opts: Options) -> Sim {
        let ttl = u64::try_from(opts.token_ttl.as_millis()).unwrap_or(u64::MAX);
        let mut server = FaxServer::new(&opts.user, &opts.password, ttl);
        server.rename_merged = opts.rename_merged;
        Sim {
            server: Arc::new(Mutex::new(server)),
            step: opts.step,
            submit_delay: opts.submit_delay,
            resend_delay: opts.resend_delay,
            docs: Arc::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, FaxServer> {
        self.server.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn docs(&self) -> MutexGuard<'_, BTreeMap<String, Vec<u8>>> {
        self.docs.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Background work: the jobs' state steps.
    pub fn spawn(&self) {
        let sim = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(sim.step);
            loop {
                tick.tick().await;
                sim.lock().tick(&now_stamp());
            }
        });
    }

    pub fn router(&self) -> Router {
        let mut router = Router::default();
        for method in [Method::GET, Method::POST] {
            let sim = self.clone();
            router.route(method, "/wspubcore", move |req| {
                let sim = sim.clone();
                async move {
                    let reply = sim.api(&req);
                    let call = crate::server::query(&req).remove("call").unwrap_or_default();
                    if call.starts_with("submitfax") && !sim.submit_delay.is_zero() {
                        tokio::time::sleep(sim.submit_delay).await;
                    }
                    if call.starts_with("resendfax") && !sim.resend_delay.is_zero() {
                        tokio::time::sleep(sim.resend_delay).await;
                    }
                    reply
                }
            });
        }
        let sim = self.clone();
        router.prefix(Method::GET, "/files/", move |req| {
            let sim = sim.clone();
            async move {
                let name = req.uri().path().trim_start_matches("/files/");
                let id = name.split('.').next().unwrap_or("");
                bytes_response(sim.lock().files.get(id).map(|(_, data)| data.clone()))
            }
        });
        let sim = self.clone();
        router.prefix(Method::GET, "/docs/", move |req| {
            let sim = sim.clone();
            async move {
                let name = req.uri().path().trim_start_matches("/docs/");
                bytes_response(sim.docs().get(name).cloned())
            }
        });
        crate::server::control_routes(&mut router, self);
        router
    }

    /// `GET /sim/state`.
    pub fn state(&self) -> Value {
        let s = self.lock();
        let out: Vec<Value> = s
            .out
            .iter()
            .map(|(id, j)| {
                json!({"faxid": id.to_string(), "faxnum": j.faxnum, "status": j.status, "errcode": j.errcode,
                    "files": j.fileids, "mail": j.mail})
            })
            .collect();
        let files: Vec<Value> = s
            .files
            .iter()
            .map(|(id, (n, d))| json!({"fileid": id, "name": n, "bytes": d.len(), "sha256": sha256_hex(d)}))
            .collect();
        let inbox: Vec<String> = s.inbox.keys().map(u64::to_string).collect();
        json!({"out": out, "files": files, "inbox": inbox, "logins": s.logins, "calls": s.calls})
    }

    pub fn control(&self, req: &Request) -> Response {
        if let Some(name) = req.uri().path().strip_prefix("/sim/docs/").filter(|n| !n.is_empty()) {
            self.docs().insert(name.to_string(), req.body().to_vec());
            return ok_json(&json!({"url": format!("/docs/{name}"), "bytes": req.body().len()}));
        }
        let body: Value = serde_json::from_slice(req.body()).unwrap_or(Value::Null);
        match req.uri().path() {
            "/sim/infax" => {
                let text = |k: &str, d: &str| body.get(k).and_then(Value::as_str).unwrap_or(d).to_string();
                let data = base64::engine::general_purpose::STANDARD.decode(text("data", "")).unwrap_or_default();
                let pages = body.get("pages").and_then(Value::as_u64).unwrap_or(1);
                let mut s = self.lock();
                let id = s.receive(&text("from", "02087057352"), &text("to", "8000"), data, now_stamp(), pages);
                if let Some(fax) = s.inbox.get_mut(&id) {
                    fax.broken = body.get("broken").and_then(Value::as_bool).unwrap_or(false);
                    let failures = body.get("fetch_failures").and_then(Value::as_u64).unwrap_or(0);
                    fax.fetch_failures = u32::try_from(failures).unwrap_or(u32::MAX);
                }
                ok_json(&json!({"faxid": id.to_string()}))
            }
            "/sim/expire" => {
                self.lock().expire_tokens();
                ok_json(&json!({"ok": true}))
            }
            "/sim/outstatus" => {
                // A status of the server's own (one outside 0–9 stays as it is).
                let id = body.get("faxid").and_then(Value::as_str).and_then(|v| v.parse::<u64>().ok());
                let status = body.get("status").and_then(Value::as_u64);
                match id
                    .zip(status)
                    .and_then(|(id, status)| self.lock().out.get_mut(&id).map(|job| job.status = status))
                {
                    Some(()) => ok_json(&json!({"ok": true})),
                    None => error(StatusCode::NOT_FOUND, "not_found", "no such outbound fax"),
                }
            }
            _ => error(StatusCode::NOT_FOUND, "not_found", "no such control"),
        }
    }

    fn api(&self, req: &Request) -> Response {
        let q: BTreeMap<String, String> = crate::server::query(req).into_iter().collect();
        let get = |k: &str| q.get(k).cloned().unwrap_or_default();
        let opt = |k: &str| q.get(k).map(String::as_str);
        let id = |k: &str| q.get(k).and_then(|v| v.parse::<u64>().ok());
        let mut s = self.lock();
        let call = get("call");
        *s.calls.entry(call.clone()).or_default() += 1;
        if call == "login" || call == "adminlogin" {
            // Digest: "(or `userdomain=D` instead of `user`; if both, `user` wins)".
            let user = q.get("user").or_else(|| q.get("userdomain")).cloned().unwrap_or_default();
            return match s.login(&user, &get("passwd"), now_ms()) {
                Ok(token) => non_strict(&[("code", json!(0)), ("sessionToken", json!(token))]),
                Err(code) => failure(code),
            };
        }
        let token = get("sessiontoken");
        if let Err(code) = s.check(&token, now_ms()) {
            return failure(code);
        }
        let result: Result<Response, i64> = match call.as_str() {
            "logoff" => {
                s.logoff(&token);
                Ok(ok_json(&json!({"code": 0})))
            }
            "putfile" => {
                let cd = req.headers().get("content-disposition").and_then(|v| v.to_str().ok()).unwrap_or("");
                match disposition_filename(cd) {
                    Some(name) => {
                        let fileid = s.put_file(name, req.body().to_vec());
                        Ok(non_strict(&[("code", json!(0)), ("fileid", json!(fileid))]))
                    }
                    None => Err(codes::BAD_FILE_ID),
                }
            }
            "submitfax" | "submitfaxmerge" => {
                let fileids: Vec<String> = if call == "submitfax" {
                    vec![get("fileid")]
                } else {
                    (1..).map_while(|i| q.get(&format!("fileid{i}")).cloned()).collect()
                };
                s.submit(&get("faxnum"), fileids, &q, &now_stamp()).map(|new| match new.as_slice() {
                    [one] => ok_json(&json!({"code": 0, "faxid": one.to_string()})),
                    many => ok_json(&json!({"code": 0, "faxids": ids(many)})),
                })
            }
            "getoutfax" => id("faxid").ok_or(codes::BAD_FAX_ID).and_then(|i| s.out_fax(i)).map(|v| ok_json(&v)),
            "resendfax" => id("faxid").ok_or(codes::BAD_FAX_ID).and_then(|i| s.resend(i, opt("faxnum"))).map(|new| {
                match new {
                    Some(n) => ok_json(&json!({"code": 0, "faxid": n.to_string()})),
                    None => ok_json(&json!({"code": 0})),
                }
            }),
            "cancelfax" => {
                id("faxid").ok_or(codes::BAD_FAX_ID).and_then(|i| s.cancel(i)).map(|()| ok_json(&json!({"code": 0})))
            }
            "deleteoutfax" => {
                id("faxid").and_then(|i| s.out.remove(&i)).ok_or(codes::BAD_FAX_ID).map(|_| ok_json(&json!({"code": 0})))
            }
            "getoutfaxids" => s
                .out_ids(opt("timestart").unwrap_or(""), opt("timeend"))
                .map(|l| ok_json(&json!({"code": 0, "faxids": ids(&l)}))),
            "getinfaxids" => s.in_ids(opt("timestart"), opt("timeend")).map(|l| ok_json(&json!({"code": 0, "faxids": ids(&l)}))),
            "getinfaxcount" => s.in_ids(opt("timestart"), opt("timeend")).map(|l| ok_json(&json!({"code": 0, "count": l.len()}))),
            "getinfax" => id("faxid").and_then(|i| s.inbox.get(&i).cloned()).ok_or(codes::BAD_FAX_ID).map(|f| {
                ok_json(&json!({"code": 0, "callerid": f.callerid, "calleeid": f.calleeid, "fileid": f.fileid,
                    "subject": "", "rcvtime": f.rcvtime, "pages": f.pages, "duration": 20 * f.pages, "portname": "COM2"}))
            }),
            "getfaxfile" => s
                .fax_file(&get("fileid"), get("pdf") == "1")
                .map(|url| non_strict(&[("code", json!(0)), ("fileurl", json!(url))])),
            "deleteinfax" => {
                id("faxid").and_then(|i| s.inbox.remove(&i)).ok_or(codes::BAD_FAX_ID).map(|_| ok_json(&json!({"code": 0})))
            }
            _ => Err(codes::INTERNAL_ERROR),
        };
        result.unwrap_or_else(failure)
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
