//! The account's callbacks, `recvmsg` and `recvreport`, on the callback listener under the
//! shared rules (`connectors::callbacks`); answered `0` ("推送成功返回 0") after the commit.

use super::driver::Driver;
use super::protocol::push::{self, MO_FIELDS, REPORT_FIELDS};
use super::state::{self, SendState};
use crate::connectors::callbacks::{Endpoint, Fields, Handler, Refusal, Taken};
use crate::event::{Class, NewEvent};
use crate::http::{Response, Router, text_response};
use crate::store::{Enqueued, OutboxItem};
use hyper::StatusCode;
use serde_json::json;
use std::sync::Arc;

fn ok() -> Response {
    text_response(StatusCode::OK, "text/plain", "0".into())
}

fn taken(e: &Enqueued) -> Taken {
    match e {
        Enqueued::Duplicate(_) => Taken::Duplicate,
        _ => Taken::Stored,
    }
}

/// Adds the account's callback routes (none without a `callback_secret`).
pub fn routes(d: Arc<Driver>, router: &mut Router) {
    let secret = d.cfg.callback_secret.expose();
    if secret.is_empty() {
        return;
    }
    let ep = Arc::new(Endpoint::new(
        "qmsg",
        &d.cfg.name,
        secret,
        &d.cfg.allow_from,
        d.trust_forwarded_for,
        d.peer.metrics.clone(),
    ));
    let (mo_d, report_d) = (d.clone(), d);
    let mo: Handler = Arc::new(move |f: Fields| {
        let d = mo_d.clone();
        Box::pin(async move { received(&d, f).await })
    });
    let report: Handler = Arc::new(move |f: Fields| {
        let d = report_d.clone();
        Box::pin(async move { reported(&d, f).await })
    });
    ep.routes(router, ok, vec![("recvmsg", mo), ("recvreport", report)]);
}

async fn received(d: &Driver, f: Fields) -> Result<Taken, Refusal> {
    let mo = push::mo(&f).map_err(Refusal::Bad)?;
    let mut extra = f.kept(MO_FIELDS);
    if let Some(appid) = f.get("appid") {
        extra.insert("appid".into(), appid.into());
    }
    let item = d.mo_event(&mo, "push", extra);
    let stored = d.store.enqueue_past_bound(vec![item]).await?;
    Ok(stored.first().map_or(Taken::Stored, taken))
}

/// `sms.report`, joined to the command that sent it by sendid; the first report of a send
/// whose outcome was unknown also settles it (`sms.send_resolved`), in the same commit.
async fn reported(d: &Driver, f: Fields) -> Result<Taken, Refusal> {
    let r = push::report(&f).map_err(Refusal::Bad)?;
    let scope = d.scope().to_string();
    let source = scope.clone();
    let agent = d.peer.agent.clone();
    let extra = f.kept(REPORT_FIELDS);
    let stored = d
        .store
        .call(move |db| {
            let cmd_id = state::sendid_key(&r.sendid).get(db, &scope)?;
            let event = |kind: &str, data: serde_json::Value, key: Option<String>| {
                let mut e = NewEvent::new(source.clone(), kind, data, Class::Critical);
                e.dedup_key = key;
                e
            };
            let mut report = event(
                "sms.report",
                json!({"sendid": r.sendid, "to": r.mobile, "status": r.status, "delivered": r.delivered(), "cmd_id": cmd_id}),
                Some(format!("{scope}/report/{}/{}/{}", r.sendid, r.mobile, r.status)),
            );
            report.extra = extra;
            let first = db.enqueue_past_bound(&OutboxItem::from_event(&report, &agent))?;
            if let (Some(cmd_id), Enqueued::Stored(_)) = (&cmd_id, &first) {
                let key = state::send_key(cmd_id);
                // A report proves the call went out: an uncertain call is settled (with its
                // event); one still in flight is marked sent for the command to find.
                if let Some(mut batches) = key.get(db, &scope)?
                    && let Some(b) = batches.0.iter_mut().find(|b| {
                        b.sendid == r.sendid && matches!(b.state, SendState::Uncertain | SendState::Sending)
                    })
                {
                    if b.state == SendState::Uncertain {
                        let resolved = event(
                            "sms.send_resolved",
                            json!({"cmd_id": cmd_id, "sendid": r.sendid, "sent": true, "by": "report"}),
                            None,
                        );
                        db.enqueue_unbounded(&OutboxItem::from_event(&resolved, &agent))?;
                    }
                    b.state = SendState::Sent;
                    key.put(db, &scope, &batches)?;
                }
            }
            Ok(first)
        })
        .await?;
    Ok(taken(&stored))
}
