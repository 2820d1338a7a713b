//! The account's cloud commands (target `privacy/{name}`): `privacy.account`,
//! `privacy.bind_axb`, `privacy.release_axb`, `privacy.bind_xa`, `privacy.release_xa`,
//! `privacy.bindings`, `privacy.recording.ack`.
//!
//! A bind's `reqid` is allocated and committed (with a count of the tries that used it)
//! before its first try, per cloud command; every retry — after a timeout, a 1105/1500/1501,
//! or a crash (binds are resumable) — sends the same one. The platform answers a repeated
//! `reqid` 1004: on a retry that means the first try was taken, never a second binding.

use super::driver::{Driver, bindings};
use super::protocol::reply::{ErrorCode, Reply};
use super::protocol::request::{self, Axb, Request, Xa};
use super::service::ServiceError;
use super::state::{self, Binding, BindingState, Kind, ReqId};
use crate::command::{Command, CommandError, Outcome, Registry, Reply as CmdReply};
use crate::connectors::peer;
use crate::connectors::state::Json;
use crate::event::now_ms;
use serde_json::{Value, json};
use std::future::Future;
use std::sync::Arc;

fn on<F, Fut>(registry: &mut Registry, d: &Arc<Driver>, name: &str, resumable: bool, f: F)
where
    F: Fn(Arc<Driver>, Command) -> Fut + Send + Sync + Copy + 'static,
    Fut: Future<Output = CmdReply> + Send + 'static,
{
    let d = d.clone();
    registry.register(&d.peer.source.clone(), name, resumable, move |c| f(d.clone(), c));
}

pub fn register(registry: &mut Registry, d: Arc<Driver>) {
    on(registry, &d, "privacy.account", true, |d, _| async move {
        let r = call(&d, &request::account_status()).await?;
        Ok(Outcome::data(Value::Object(r.fields)))
    });
    on(registry, &d, "privacy.bind_axb", true, |d, c| async move { bind_axb(&d, c).await });
    on(registry, &d, "privacy.bind_xa", true, |d, c| async move { bind_xa(&d, c).await });
    on(registry, &d, "privacy.release_axb", true, |d, c| async move {
        let subid = text(&c.args, "subid")?.ok_or_else(|| CommandError::bad_args("subid: missing"))?;
        release(&d, state::binding_key, request::release_axb(&d.cfg.appid, &subid), subid.clone()).await
    });
    on(registry, &d, "privacy.release_xa", true, |d, c| async move {
        let x = text(&c.args, "x")?.ok_or_else(|| CommandError::bad_args("x: missing"))?;
        release(&d, state::xa_key, request::release_xa(&d.cfg.appid, &x), x.clone()).await
    });
    on(registry, &d, "privacy.bindings", true, |d, _| async move {
        let scope = d.scope().to_string();
        let (list, unreadable) = d.store.call(move |db| bindings(db, &scope)).await.map_err(store)?;
        let list: Vec<Value> = list.iter().map(Binding::json).collect();
        Ok(Outcome::data(json!({"bindings": list, "unreadable": unreadable})))
    });
    on(registry, &d, "privacy.recording.ack", true, |d, c| async move {
        let ack = crate::connectors::files::ack::parse(&c.args).map_err(CommandError::bad_args)?;
        let file_id = ack.file_id;
        match d.files.acknowledge(&file_id, ack.ok, &ack.reason).await.map_err(store)? {
            Some(a) => Ok(Outcome::data(
                json!({"file_id": file_id, "taskid": a.item, "state": a.state.as_sql(), "reoffered": a.reoffered}),
            )),
            None => Err(CommandError::new("unknown_file", format!("no recording with file_id {file_id}"))),
        }
    });
}

fn store(e: crate::store::StoreError) -> CommandError {
    CommandError::new("store", e.to_string())
}

/// A string argument (numbers accepted as written).
fn text(args: &Value, key: &str) -> Result<Option<String>, CommandError> {
    match &args[key] {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        Value::Number(n) => Ok(Some(n.to_string())),
        other => Err(CommandError::bad_args(format!("{key}: {other} is not a string"))),
    }
}

fn need(args: &Value, key: &str) -> Result<String, CommandError> {
    text(args, key)?.filter(|s| !s.is_empty()).ok_or_else(|| CommandError::bad_args(format!("{key}: missing")))
}

fn command_error(e: &ServiceError) -> CommandError {
    match e {
        ServiceError::Refused(code, reason, _) => {
            let why = format!(
                "error {} ({}){}",
                code.0,
                code.meaning(),
                if reason.is_empty() { String::new() } else { format!(": {reason}") }
            );
            CommandError::new(code.name(), why)
        }
        e => peer::command_error(e, "refused"),
    }
}

/// One call, retried within the account's window while the platform is unreachable or
/// says 1105/1500/1501 — safe for every call here: binds carry their `reqid`.
async fn call(d: &Driver, req: &Request) -> Result<Reply, CommandError> {
    send(d, req).await.map_err(|e| command_error(&e))
}

/// [`call`] with the platform's own error.
async fn send(d: &Driver, req: &Request) -> Result<Reply, ServiceError> {
    d.peer.retrying(|| d.peer.call(d.service.call(req, now_ms()))).await
}

/// The command's `reqid`, allocated and committed before the first try; each try is
/// counted (committed) before it goes out.
async fn next_try(d: &Driver, cmd_id: &str) -> Result<ReqId, crate::store::StoreError> {
    let (scope, key) = (d.scope().to_string(), state::reqid_key(cmd_id));
    d.store
        .call(move |db| {
            let mut r =
                key.get(db, &scope)?.map(|j| j.0).unwrap_or_else(|| ReqId { reqid: crate::event::new_id(), tries: 0 });
            r.tries += 1;
            key.put(db, &scope, &Json(r.clone()))?;
            Ok(r)
        })
        .await
}

/// One try of a bind: the platform's answer, or the store failing to count the try.
#[derive(Debug, thiserror::Error)]
enum Try {
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error("store: {0}")]
    Store(#[from] crate::store::StoreError),
}

impl crate::connectors::Classify for Try {
    fn class(&self) -> crate::connectors::ErrorClass {
        match self {
            Try::Service(e) => e.class(),
            Try::Store(e) => e.class(),
        }
    }
}

/// Sends a bind, its `reqid` the same on every try (the peer's retry window: unreachable,
/// timeouts, 1105/1500/1501); `Ok(None)` for a 1004 on a retry without a `subid` (bound by
/// an earlier try).
async fn bind(
    d: &Driver,
    cmd_id: &str,
    build: impl Fn(&str) -> Result<Request, String>,
) -> Result<(ReqId, Option<Reply>), CommandError> {
    // Checked before anything is committed or sent.
    build("check").map_err(CommandError::bad_args)?;
    let attempt = || async {
        let r = next_try(d, cmd_id).await?;
        let req = build(&r.reqid).map_err(|why| Try::Service(ServiceError::Reply(why)))?;
        match d.peer.call(d.service.call(&req, now_ms())).await {
            Ok(reply) => Ok((r, Some(reply))),
            Err(ServiceError::Refused(ErrorCode::DUPLICATE, reason, fields)) if r.tries > 1 => {
                log::info!(
                    "{}: reqid {} answered 1004 on try {}: an earlier try was taken",
                    d.scope(),
                    r.reqid,
                    r.tries
                );
                // The seed does not promise its subid; one that came is the binding's.
                let reply = Reply { error: ErrorCode::DUPLICATE, reason, fields: *fields };
                Ok((r, reply.text("subid").is_some().then_some(reply)))
            }
            Err(e) => Err(Try::Service(e)),
        }
    };
    d.peer.retrying(attempt).await.map_err(|e| match e {
        Try::Service(e) => command_error(&e),
        Try::Store(e) => store(e),
    })
}

/// The binding command `cmd_id` already made, if a run of it before a crash committed one
/// (its result was not): answered from it, never bound again (a retry would meet 1004,
/// perhaps without the `subid` the stored binding has).
async fn made_by(d: &Driver, cmd_id: &str) -> Result<Option<Value>, CommandError> {
    let (scope, cmd_id) = (d.scope().to_string(), cmd_id.to_string());
    d.store
        .call(move |db| {
            // No try was ever counted: nothing bound (and no scan of every binding).
            if state::reqid_key(&cmd_id).get(db, &scope)?.is_none() {
                return Ok(None);
            }
            let (list, _) = bindings(db, &scope)?;
            Ok(list.iter().find(|b| b.cmd_id == cmd_id).map(answer_of))
        })
        .await
        .map_err(store)
}

/// A bind's result: the binding, with a note when it has no `subid`.
fn answer_of(b: &Binding) -> Value {
    let mut data = b.json();
    if b.kind == Kind::Axb && b.subid.is_none() {
        data["note"] = json!(
            "the platform answered the retry 1004 (an earlier try was taken) without the subid: the binding exists, \
             cannot be released, and ends by its TTL"
        );
    }
    data
}

/// Commits a binding; `Ok` carries the command's answer (see [`answer_of`]).
async fn keep(d: &Driver, b: Binding) -> Result<Value, CommandError> {
    let (scope, answer) = (d.scope().to_string(), answer_of(&b));
    d.store.call(move |db| b.key().put(db, &scope, &Json(b.clone()))).await.map_err(store)?;
    Ok(answer)
}

/// The options every bind takes.
struct Options {
    record: Option<bool>,
    anucode: Option<String>,
    user_data: Option<String>,
}

fn options(c: &Command) -> Result<Options, CommandError> {
    let record = match &c.args["record"] {
        Value::Null => None,
        Value::Bool(b) => Some(*b),
        other => return Err(CommandError::bad_args(format!("record: {other} is not true or false"))),
    };
    Ok(Options { record, anucode: text(&c.args, "anucode")?, user_data: text(&c.args, "user_data")? })
}

async fn bind_axb(d: &Driver, c: Command) -> CmdReply {
    let Options { record, anucode, user_data } = options(&c)?;
    let ttl = c.args["ttl"].as_u64().ok_or_else(|| CommandError::bad_args("ttl: seconds, required"))?;
    let axb = Axb {
        x: need(&c.args, "x")?,
        anum: need(&c.args, "a")?,
        bnum: need(&c.args, "b")?,
        reqid: String::new(),
        ttl,
        record,
        display: text(&c.args, "display")?,
        anucode,
        ansanu: text(&c.args, "ansanu")?,
        user_data: user_data.clone(),
    };
    if let Some(made) = made_by(d, &c.id).await? {
        return Ok(Outcome::data(made));
    }
    let (r, reply) =
        bind(d, &c.id, |reqid| request::bind_axb(&d.cfg.appid, &Axb { reqid: reqid.to_string(), ..axb.clone() }))
            .await?;
    let subid = reply.as_ref().and_then(|r| r.text("subid"));
    let now = now_ms();
    let binding = Binding {
        kind: Kind::Axb,
        x: axb.x.clone(),
        a: axb.anum.clone(),
        b: Some(axb.bnum.clone()),
        subid: subid.clone(),
        reqid: r.reqid.clone(),
        ttl,
        expires_ms: now + ttl * 1000,
        user_data,
        cmd_id: c.id.clone(),
        state: BindingState::Active,
        created_ms: now,
    };
    Ok(Outcome::data(keep(d, binding).await?))
}

async fn bind_xa(d: &Driver, c: Command) -> CmdReply {
    let Options { record, anucode, user_data } = options(&c)?;
    let display = match &c.args["display"] {
        Value::Null => None,
        v => Some(v.as_u64().filter(|n| *n <= 1).ok_or_else(|| CommandError::bad_args("display: 0 or 1"))? as u8),
    };
    let xa = Xa {
        x: need(&c.args, "x")?,
        anum: need(&c.args, "a")?,
        reqid: String::new(),
        ttl: c.args["ttl"].as_u64().unwrap_or(0),
        record,
        display,
        anucode,
        user_data: user_data.clone(),
    };
    if let Some(made) = made_by(d, &c.id).await? {
        return Ok(Outcome::data(made));
    }
    let (r, _) =
        bind(d, &c.id, |reqid| request::bind_xa(&d.cfg.appid, &Xa { reqid: reqid.to_string(), ..xa.clone() })).await?;
    let now = now_ms();
    let binding = Binding {
        kind: Kind::Xa,
        x: xa.x.clone(),
        a: xa.anum.clone(),
        b: None,
        subid: None,
        reqid: r.reqid,
        ttl: xa.ttl,
        expires_ms: if xa.ttl == 0 { 0 } else { now + xa.ttl * 1000 },
        user_data,
        cmd_id: c.id.clone(),
        state: BindingState::Active,
        created_ms: now,
    };
    Ok(Outcome::data(keep(d, binding).await?))
}

/// A release: refused clearly when the agent knows the binding already ended; otherwise
/// sent (a binding made elsewhere may be released too) and recorded. A binding the agent
/// holds as active that the platform answers "资源不存在" (1300, no such resource) is gone:
/// released by an earlier try whose answer was lost (a timeout, or a crash before the
/// release was recorded: releases resume) or ended at the platform. It is recorded as
/// released and the release answers ok with a note; the seed does not say what a second
/// release answers, 1300 is its code for a thing that does not exist.
async fn release(
    d: &Driver,
    key: fn(&str) -> crate::connectors::state::Key<Json<Binding>>,
    req: Request,
    what: String,
) -> CmdReply {
    let scope = d.scope().to_string();
    let known = {
        let (scope, id) = (scope.clone(), what.clone());
        d.store.call(move |db| key(&id).get(db, &scope)).await.map_err(store)?.map(|j| j.0)
    };
    if let Some(b) = &known
        && b.state != BindingState::Active
    {
        let state = if b.state == BindingState::Released { "released" } else { "expired (its TTL passed)" };
        return Err(CommandError::new("already_ended", format!("{what} is already {state}")));
    }
    let gone = match send(d, &req).await {
        Ok(_) => false,
        Err(ServiceError::Refused(code, ..)) if code == ErrorCode::NO_RESOURCE && known.is_some() => true,
        Err(e) => return Err(command_error(&e)),
    };
    let Some(mut b) = known else {
        return Ok(Outcome::data(json!({"released": what, "known": false})));
    };
    b.state = BindingState::Released;
    let value = b.json();
    let id = what.clone();
    d.store.call(move |db| key(&id).put(db, &scope, &Json(b))).await.map_err(store)?;
    let mut answer = json!({"released": what, "known": true, "binding": value});
    if gone {
        answer["note"] = json!(
            "the platform no longer knew it (1300, no such resource): released by an earlier try whose \
             answer was lost, or ended there"
        );
    }
    Ok(Outcome::data(answer))
}
