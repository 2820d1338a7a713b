//! The account's callbacks, `cdr` and `call_start`, on the callback listener under the
//! shared rules (`connectors::callbacks`). A callback must name this account's
//! `devid`/`appid` (else 400, nothing stored); it becomes `call.cdr` / `call.started`
//! carrying the binding's `userData` and the command id that made the binding, committed
//! before the answer `{"error":0}`. The same callback again (a platform retry) is answered
//! the same and stored once. A CDR's recording is queued in the same commit and fetched
//! after (the callback does not wait for the download).

use super::driver::{Driver, ok_json};
use super::protocol::callback::{self, CDR_FIELDS, START_FIELDS};
use super::state;
use crate::connectors::callbacks::{Endpoint, Fields, Handler, Refusal, Taken};
use crate::event::{Class, NewEvent};
use crate::http::{Response, Router, json_response};
use crate::store::{Enqueued, OutboxItem};
use hyper::StatusCode;
use serde_json::{Map, Value, json};
use std::sync::Arc;

fn ok() -> Response {
    json_response(StatusCode::OK, &ok_json())
}

/// Adds the account's callback routes (none without a `callback_secret`).
pub fn routes(d: Arc<Driver>, router: &mut Router) {
    let secret = d.cfg.callback_secret.expose();
    if secret.is_empty() {
        return;
    }
    let ep = Arc::new(Endpoint::new(
        "privacy",
        &d.cfg.name,
        secret,
        &d.cfg.allow_from,
        d.trust_forwarded_for,
        d.peer.metrics.clone(),
    ));
    let handler = |cdr: bool| -> Handler {
        let d = d.clone();
        Arc::new(move |f: Fields| {
            let d = d.clone();
            Box::pin(async move { take(&d, f, cdr).await })
        })
    };
    ep.routes(router, ok, vec![("cdr", handler(true)), ("call_start", handler(false))]);
}

async fn take(d: &Driver, f: Fields, cdr: bool) -> Result<Taken, Refusal> {
    callback::check_account(&f, &d.cfg.devid, &d.cfg.appid).map_err(Refusal::Bad)?;
    let (mut data, kind, known, time_key) = if cdr {
        (callback::cdr(&f).map_err(Refusal::Bad)?, "call.cdr", CDR_FIELDS, "beginTime")
    } else {
        (callback::call_start(&f).map_err(Refusal::Bad)?, "call.started", START_FIELDS, "callTime")
    };
    let text = |k: &str| f.get(k).unwrap_or("").to_string();
    let key = format!("{}/{kind}/{}/{}/{}", d.scope(), text("subid"), text("taskid"), text(time_key));
    let extra = f.kept(known);
    let recording = (cdr && d.cfg.fetch_recordings).then(|| text("recording")).filter(|u| !u.is_empty());
    let (scope, source, agent, taskid) =
        (d.scope().to_string(), d.scope().to_string(), d.peer.agent.clone(), text("taskid"));
    let (subid, x) = (text("subid"), text("rcaller"));
    let stored = d
        .store
        .call(move |db| {
            // The binding that carried the call: its command id and its userData as bound.
            let binding = match state::binding_key(&subid).get(db, &scope)? {
                Some(b) => Some(b.0),
                None => state::xa_key(&x).get(db, &scope)?.map(|b| b.0),
            };
            data.insert("cmd_id".into(), binding.as_ref().map_or(Value::Null, |b| json!(b.cmd_id)));
            data.insert("binding".into(), binding.as_ref().map_or(Value::Null, |b| json!(b.kind)));
            let mut e = NewEvent::new(source, kind, Value::Object(data.clone()), Class::Critical);
            e.dedup_key = Some(key);
            e.extra = extra;
            let first = db.enqueue_past_bound(&OutboxItem::from_event(&e, &agent))?;
            if let (Some(url), Enqueued::Stored(_)) = (recording, &first) {
                let meta: Map<String, Value> = ["taskid", "subid", "caller", "callee", "rcaller", "cmd_id"]
                    .iter()
                    .map(|k| (k.to_string(), data.get(*k).cloned().unwrap_or(Value::Null)))
                    .collect();
                crate::connectors::files::fetch::queue(db, &scope, &taskid, url, Value::Object(meta))?;
            }
            Ok(first)
        })
        .await?;
    if matches!(stored, Enqueued::Stored(_)) && cdr {
        d.wake.notify_one();
    }
    Ok(match stored {
        Enqueued::Duplicate(_) => Taken::Duplicate,
        _ => Taken::Stored,
    })
}
