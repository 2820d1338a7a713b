//! `telbridge-sim fax`: a simulated WaveFax server (`/wspubcore?call=…`) with session
//! tokens that expire, uploads (`putfile` needs `Content-Disposition: …filename="…"`),
//! outbound jobs that advance by themselves (numbers ending 444 are busy, 555 time out),
//! an inbox with files served at `fileurl`, and the seed's non-strict JSON style (bare
//! keys) on some replies.
//!
//! Control API: `POST /sim/infax {"from","to","pages","data"(base64),"broken"}` delivers a
//! fax (`broken`: `getfaxfile` fails for it with a database error),
//! `POST /sim/expire` expires every session token, `GET /sim/state` shows the jobs, the
//! files (with their SHA-256), the inbox and the calls answered. A small document host
//! stands in for the cloud's file store: `POST /sim/docs/{name}` keeps the raw body,
//! `GET /docs/{name}` serves it (for `fax.send` documents given by URL).

pub mod state;

use crate::connectors::wavefax::protocol::chunks::sha256_hex;
use crate::event::now_ms;
use crate::http::{Request, Response, Router, json_response, text_response};
use base64::Engine;
use hyper::{Method, StatusCode};
use serde_json::{Value, json};
use state::FaxServer;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Options of the simulated server.
#[derive(Debug, Clone)]
pub struct Options {
    pub user: String,
    pub password: String,
    pub token_ttl: Duration,
    /// Time between two state steps of the outbound jobs.
    pub step: Duration,
    /// How long a submission's reply is held back after the job exists (crash tests).
    pub submit_delay: Duration,
}

/// The simulator.
#[derive(Clone)]
pub struct Sim {
    server: Arc<Mutex<FaxServer>>,
    step: Duration,
    submit_delay: Duration,
    docs: Arc<Mutex<BTreeMap<String, Vec<u8>>>>,
}

/// `{ code:0, key:"v"}`: the seed's style, bare keys (only for flat string/number maps).
fn non_strict(fields: &[(&str, Value)]) -> Response {
    let body: Vec<String> = fields.iter().map(|(k, v)| format!("{k}:{v}")).collect();
    text_response(StatusCode::OK, "application/json", format!("{{ {} }}", body.join(", ")))
}

fn failure(code: i64) -> Response {
    let msg = crate::connectors::wavefax::protocol::codes::server_error_name(code);
    json_response(StatusCode::OK, &json!({"code": code, "msg": msg}))
}

/// Raw bytes with 200, or 404.
fn bytes_response(data: Option<Vec<u8>>) -> Response {
    match data {
        Some(data) => hyper::Response::new(http_body_util::Full::new(hyper::body::Bytes::from(data))),
        None => json_response(StatusCode::NOT_FOUND, &json!({"error": "no such file"})),
    }
}

fn ok(v: Value) -> Response {
    json_response(StatusCode::OK, &v)
}

fn query(req: &Request) -> BTreeMap<String, String> {
    super::goip::query(req).into_iter().collect()
}

/// `YYYYMMDDTHHNNSS` now (UTC; the simulated server's zone).
fn now_stamp() -> String {
    crate::connectors::wavefax::protocol::request::format_time((now_ms() / 1000) as i64, 0)
}

impl Sim {
    pub fn new(opts: Options) -> Sim {
        let server = FaxServer::new(&opts.user, &opts.password, opts.token_ttl.as_millis() as u64);
        Sim {
            server: Arc::new(Mutex::new(server)),
            step: opts.step,
            submit_delay: opts.submit_delay,
            docs: Arc::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FaxServer> {
        self.server.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn spawn(&self) {
        let sim = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(sim.step);
            loop {
                tick.tick().await;
                sim.lock().tick();
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
                    let call = query(&req).remove("call").unwrap_or_default();
                    if call.starts_with("submitfax") && !sim.submit_delay.is_zero() {
                        tokio::time::sleep(sim.submit_delay).await;
                    }
                    reply
                }
            });
        }
        let sim = self.clone();
        router.prefix(Method::GET, "/files/", move |req| {
            let sim = sim.clone();
            async move {
                let id = req.uri().path().trim_start_matches("/files/").split('.').next().unwrap_or("").to_string();
                bytes_response(sim.lock().files.get(&id).map(|(_, data)| data.clone()))
            }
        });
        let sim = self.clone();
        router.prefix(Method::GET, "/docs/", move |req| {
            let sim = sim.clone();
            async move {
                let name = req.uri().path().trim_start_matches("/docs/").to_string();
                bytes_response(sim.docs.lock().unwrap_or_else(|e| e.into_inner()).get(&name).cloned())
            }
        });
        let sim = self.clone();
        router.prefix(Method::POST, "/sim/", move |req| {
            let sim = sim.clone();
            async move { sim.control(&req) }
        });
        let sim = self.clone();
        router.route(Method::GET, "/sim/state", move |_| {
            let sim = sim.clone();
            async move {
                let s = sim.lock();
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
                ok(json!({"out": out, "files": files, "inbox": s.inbox.keys().map(u64::to_string).collect::<Vec<_>>(),
                    "logins": s.logins, "calls": s.calls}))
            }
        });
        router
    }

    fn control(&self, req: &Request) -> Response {
        if let Some(name) = req.uri().path().strip_prefix("/sim/docs/").filter(|n| !n.is_empty()) {
            self.docs.lock().unwrap_or_else(|e| e.into_inner()).insert(name.to_string(), req.body().to_vec());
            return ok(json!({"url": format!("/docs/{name}"), "bytes": req.body().len()}));
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
                }
                ok(json!({"faxid": id.to_string()}))
            }
            "/sim/expire" => {
                self.lock().expire_tokens();
                ok(json!({"ok": true}))
            }
            _ => json_response(StatusCode::NOT_FOUND, &json!({"error": "no such control"})),
        }
    }

    fn api(&self, req: &Request) -> Response {
        let q = query(req);
        let get = |k: &str| q.get(k).cloned().unwrap_or_default();
        let id = |k: &str| q.get(k).and_then(|v| v.parse::<u64>().ok());
        let mut s = self.lock();
        let call = get("call");
        *s.calls.entry(call.clone()).or_default() += 1;
        if call == "login" || call == "adminlogin" {
            let user = q.get("user").or_else(|| q.get("userdomain")).cloned().unwrap_or_default();
            return match s.login(&user, &get("passwd"), now_ms()) {
                Ok(token) => non_strict(&[("code", json!(0)), ("sessionToken", json!(token))]),
                Err(code) => failure(code),
            };
        }
        if let Err(code) = s.check(&get("sessiontoken"), now_ms()) {
            return failure(code);
        }
        let result: Result<Response, i64> = match call.as_str() {
            "logoff" => Ok(ok(json!({"code": 0}))),
            "putfile" => {
                let cd = req.headers().get("content-disposition").and_then(|v| v.to_str().ok()).unwrap_or("");
                match cd.split("filename=\"").nth(1).and_then(|r| r.split('"').next()).filter(|n| !n.is_empty()) {
                    Some(name) => {
                        let fileid = s.put_file(name, req.body().to_vec());
                        Ok(non_strict(&[("code", json!(0)), ("fileid", json!(fileid))]))
                    }
                    None => Err(state::BAD_FILE_ID),
                }
            }
            "submitfax" | "submitfaxmerge" => {
                let fileids: Vec<String> = if call == "submitfax" {
                    vec![get("fileid")]
                } else {
                    (1..).map_while(|i| q.get(&format!("fileid{i}")).cloned()).collect()
                };
                s.submit(&get("faxnum"), fileids, &q, &now_stamp()).map(|ids| match ids.as_slice() {
                    [one] => ok(json!({"code": 0, "faxid": one.to_string()})),
                    many => ok(json!({"code": 0, "faxids": many.iter().map(u64::to_string).collect::<Vec<_>>()})),
                })
            }
            "getoutfax" => id("faxid").ok_or(state::BAD_FAX_ID).and_then(|i| s.out_fax(i)).map(ok),
            "resendfax" => id("faxid").ok_or(state::BAD_FAX_ID).and_then(|i| {
                s.resend(i, q.get("faxnum").map(String::as_str)).map(|new| match new {
                    Some(n) => ok(json!({"code": 0, "faxid": n.to_string()})),
                    None => ok(json!({"code": 0})),
                })
            }),
            "cancelfax" => id("faxid").ok_or(state::BAD_FAX_ID).and_then(|i| s.cancel(i)).map(|()| ok(json!({"code": 0}))),
            "deleteoutfax" => id("faxid").and_then(|i| s.out.remove(&i)).ok_or(state::BAD_FAX_ID).map(|_| ok(json!({"code": 0}))),
            "getoutfaxids" => {
                let ids = s.out_ids(&get("timestart"), &get("timeend"));
                Ok(ok(json!({"code": 0, "faxids": ids.iter().map(u64::to_string).collect::<Vec<_>>()})))
            }
            "getinfaxids" | "getinfaxcount" => {
                let ids = s.in_ids(q.get("timestart").map(String::as_str), q.get("timeend").map(String::as_str));
                Ok(if call == "getinfaxids" {
                    ok(json!({"code": 0, "faxids": ids.iter().map(u64::to_string).collect::<Vec<_>>()}))
                } else {
                    ok(json!({"code": 0, "count": ids.len()}))
                })
            }
            "getinfax" => id("faxid").and_then(|i| s.inbox.get(&i).cloned()).ok_or(state::BAD_FAX_ID).map(|f| {
                ok(json!({"code": 0, "callerid": f.callerid, "calleeid": f.calleeid, "fileid": f.fileid,
                    "subject": "", "rcvtime": f.rcvtime, "pages": f.pages, "duration": 20 * f.pages, "portname": "COM2"}))
            }),
            "getfaxfile" => {
                s.fax_file(&get("fileid"), get("pdf") == "1").map(|url| non_strict(&[("code", json!(0)), ("fileurl", json!(url))]))
            }
            "deleteinfax" => id("faxid").and_then(|i| s.inbox.remove(&i)).ok_or(state::BAD_FAX_ID).map(|_| ok(json!({"code": 0}))),
            _ => Err(251_658_256),
        };
        result.unwrap_or_else(failure)
    }
}
