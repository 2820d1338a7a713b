//! The account's cloud commands (target `qmsg/{name}`): `sms.send` and `sms.poll_now`.
//!
//! `sms.send {"to":["138…",…] | "138…,139…", "text":"…", "extno":"…"?}`: the numbers are
//! split into calls by the limits (see `protocol::request`), each call's sendid allocated
//! and committed before the first call goes out. Each call is marked `sending` just before
//! it goes out and `sent`/`refused` when it is answered. The command is resumable: after a
//! crash it runs again and finds its calls' states — a call found `sending` (or whose
//! answer was lost) is `uncertain` and **never sent again** (the platform does not
//! de-duplicate sendids); its status reports settle it (`sms.send_resolved`). A call the
//! service could not be reached for (nothing sent) is retried within `command_retry_secs`.

use super::driver::Driver;
use super::protocol::request::{self, Method};
use super::service::ServiceError;
use super::state::{self, Batch, SendState};
use crate::command::{Command, CommandError, Outcome, Registry, Reply};
use crate::connectors::peer;
use crate::connectors::state::Json;
use serde_json::{Value, json};
use std::sync::Arc;

pub fn register(registry: &mut Registry, d: Arc<Driver>) {
    let target = d.peer.source.clone();
    let sender = d.clone();
    registry.register(&target, "sms.send", true, move |c| {
        let d = sender.clone();
        async move { send(&d, c).await }
    });
    registry.register(&target, "sms.poll_now", true, move |_| {
        let d = d.clone();
        async move {
            d.poll_now.notify_one();
            Ok(Outcome::data(json!({"polling": d.cfg.poll_secs > 0})))
        }
    });
}

/// The numbers of `to`: an array of strings or one comma-separated string.
fn numbers(args: &Value) -> Result<Vec<String>, String> {
    match &args["to"] {
        Value::String(s) => Ok(s.split(',').map(|m| m.trim().to_string()).filter(|m| !m.is_empty()).collect()),
        Value::Array(list) => list
            .iter()
            .map(|m| m.as_str().map(|s| s.trim().to_string()).ok_or_else(|| format!("to: {m} is not a string")))
            .collect(),
        Value::Null => Err("to: missing".into()),
        other => Err(format!("to: {other} is neither a list nor a string")),
    }
}

/// A store failure in the middle of a send: the reason names what had gone out, so the
/// cloud never sends the whole again blindly.
fn partial(e: crate::store::StoreError, batches: &[Batch]) -> CommandError {
    let calls: Vec<Value> = batches.iter().map(|b| json!({"sendid": b.sendid, "state": b.state})).collect();
    CommandError::new("store", format!("{e}; calls so far: {}", Value::Array(calls)))
}

async fn send(d: &Driver, c: Command) -> Reply {
    let mobs = numbers(&c.args).map_err(CommandError::bad_args)?;
    let text = c.args["text"].as_str().ok_or_else(|| CommandError::bad_args("text: missing"))?.to_string();
    let extno = c.args["extno"].as_str().unwrap_or("").to_string();
    if !extno.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CommandError::bad_args("extno: digits only"));
    }
    let plan = request::plan(&mobs, &text).map_err(CommandError::bad_args)?;
    let (scope, cmd_id) = (d.scope().to_string(), c.id.clone());
    let store_err = |e: crate::store::StoreError| CommandError::new("store", e.to_string());
    // The sendids, committed before anything is sent (or found, when resumed).
    let mut batches = d
        .store
        .call(move |db| {
            let key = state::send_key(&cmd_id);
            if let Some(found) = key.get(db, &scope)? {
                return Ok(found.0);
            }
            let mut batches = Vec::new();
            for b in plan {
                let sendid = state::next_sendid(db, &scope)?;
                state::sendid_key(&sendid).put(db, &scope, &cmd_id)?;
                batches.push(Batch {
                    sendid,
                    post: b.method == Method::Post,
                    mobs: b.mobs,
                    state: SendState::Planned,
                    stat: None,
                });
            }
            key.put(db, &scope, &Json(batches.clone()))?;
            Ok(batches)
        })
        .await
        .map_err(store_err)?;
    let mut balance = None;
    let mut failure: Option<CommandError> = None;
    for i in 0..batches.len() {
        match batches[i].state {
            // Found mid-call after a restart: it may have gone out.
            SendState::Sending => batches[i].state = SendState::Uncertain,
            SendState::Planned if failure.is_none() => {}
            SendState::Planned => {
                batches[i].state = SendState::NotSent;
                continue;
            }
            // Resumed after a crash: a call refused or not sent before it fails the send now
            // as it did then (its result was never committed).
            SendState::Refused | SendState::NotSent => {
                failure = failure.or_else(|| Some(stored_failure(&batches[i])));
                continue;
            }
            SendState::Sent | SendState::Uncertain => continue,
        }
        if batches[i].state == SendState::Planned {
            batches[i].state = SendState::Sending;
            batches = save(d, &c.id, &batches).await.map_err(|e| partial(e, &batches))?;
            let b = &batches[i];
            let batch =
                request::Batch { method: if b.post { Method::Post } else { Method::Get }, mobs: b.mobs.clone() };
            let result = d
                .peer
                .retrying(|| {
                    let (batch, text, extno, sendid) = (&batch, &text, &extno, &b.sendid);
                    async move {
                        // Only a call that never reached the service is tried again.
                        match d.peer.call(d.service.send(batch, text, extno, sendid)).await {
                            Err(e) if e.maybe_sent() => Err(Attempt::Final(e)),
                            Err(e) => Err(Attempt::Again(e)),
                            Ok(r) => Ok(r),
                        }
                    }
                })
                .await
                .map_err(Attempt::into_inner);
            let _ = d.note_account(result.as_ref().map(|r| r.balance)).await;
            match result {
                Ok(reply) => {
                    batches[i].state = SendState::Sent;
                    batches[i].stat = Some(reply.stat.0);
                    balance = reply.balance.or(balance);
                }
                Err(ServiceError::Refused(code)) => {
                    batches[i].state = SendState::Refused;
                    batches[i].stat = Some(code.0);
                    failure = Some(CommandError::new(code.name(), format!("statCode {} ({})", code.0, code.meaning())));
                }
                Err(e) if e.maybe_sent() => {
                    batches[i].state = SendState::Uncertain;
                    failure = Some(peer::command_error(&e, "refused"));
                    batches = save(d, &c.id, &batches).await.map_err(|e| partial(e, &batches))?;
                    if batches[i].state == SendState::Sent {
                        // Its status report came first: it went out, the send goes on.
                        failure = None;
                    }
                    continue;
                }
                Err(e) => {
                    batches[i].state = SendState::NotSent;
                    failure = Some(peer::command_error(&e, "refused"));
                }
            }
        }
        batches = save(d, &c.id, &batches).await.map_err(|e| partial(e, &batches))?;
    }
    let summary: Vec<Value> = batches
        .iter()
        .map(|b| {
            json!({"sendid": b.sendid, "numbers": b.mobs.len(), "method": if b.post { "POST" } else { "GET" },
                   "state": b.state, "stat_code": b.stat})
        })
        .collect();
    let uncertain: Vec<&str> =
        batches.iter().filter(|b| b.state == SendState::Uncertain).map(|b| b.sendid.as_str()).collect();
    if !uncertain.is_empty() {
        return Err(CommandError::new(
            "send_uncertain",
            format!(
                "sendid {} may have been sent (no answer); never sent again — status reports settle it \
                 (sms.send_resolved). Calls: {}",
                uncertain.join(", "),
                Value::Array(summary)
            ),
        ));
    }
    if let Some(mut e) = failure {
        e.reason = format!("{}. Calls: {}", e.reason, Value::Array(summary));
        return Err(e);
    }
    let sendids: Vec<&str> = batches.iter().map(|b| b.sendid.as_str()).collect();
    Ok(Outcome::data(json!({"sendids": sendids, "calls": summary, "balance": balance})))
}

/// Why a stored call refused or not sent fails its send.
fn stored_failure(b: &Batch) -> CommandError {
    match (b.state, b.stat) {
        (SendState::Refused, Some(stat)) => {
            let code = super::protocol::codes::StatCode(stat);
            CommandError::new(code.name(), format!("statCode {stat} ({})", code.meaning()))
        }
        _ => CommandError::new("unreachable", format!("sendid {} was not sent", b.sendid)),
    }
}

/// Writes the calls' states, keeping what a status report settled meanwhile (a report
/// proves the call went out: `sent` is never turned back into `sending` or `uncertain`).
/// Returns the states as stored.
async fn save(d: &Driver, cmd_id: &str, batches: &[Batch]) -> Result<Vec<Batch>, crate::store::StoreError> {
    let (scope, key, mut ours) = (d.scope().to_string(), state::send_key(cmd_id), batches.to_vec());
    d.store
        .call(move |db| {
            if let Some(stored) = key.get(db, &scope)? {
                for (mine, theirs) in ours.iter_mut().zip(stored.0) {
                    let settled = theirs.state == SendState::Sent;
                    if settled && matches!(mine.state, SendState::Sending | SendState::Uncertain) {
                        *mine = theirs;
                    }
                }
            }
            key.put(db, &scope, &Json(ours.clone()))?;
            Ok(ours)
        })
        .await
}

/// One try of a call: `Again` only when nothing reached the service.
#[derive(Debug, thiserror::Error)]
enum Attempt {
    #[error(transparent)]
    Again(ServiceError),
    #[error(transparent)]
    Final(ServiceError),
}

impl Attempt {
    fn into_inner(self) -> ServiceError {
        match self {
            Attempt::Again(e) | Attempt::Final(e) => e,
        }
    }
}

impl crate::connectors::Classify for Attempt {
    fn class(&self) -> crate::connectors::ErrorClass {
        match self {
            Attempt::Again(e) => e.class(),
            Attempt::Final(_) => crate::connectors::ErrorClass::Refused,
        }
    }
}
