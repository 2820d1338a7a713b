//! The account's notifications on the callback listener (`/callcenter/{name}/{secret}/notify`)
//! under the shared rules (`connectors::callbacks`), plus the platform's own: the digest
//! verified (forged → refused, nothing stored), then — in one store call — a notification
//! already stored (its `seq` and `timestamp`: a platform retry) is answered success again
//! and stores nothing, a new one whose timestamp is further than `max_skew_secs` ahead of
//! the agent's clock or `max_age_secs` behind it is refused, and any other becomes its
//! event, committed before the answer
//! `{"result":{"error":0,"msg":""}}`. Refusals answer `{"result":{"error":N,"msg":…}}`.

use super::driver::Driver;
use super::protocol::notify::{self, Refused};
use crate::connectors::callbacks::{Endpoint, Fields, Handler, Refusal, Taken};
use crate::event::Class;
use crate::http::{Response, Router, json_response};
use crate::store::Enqueued;
use hyper::StatusCode;
use std::sync::Arc;

/// The error numbers of our refusals (the platform only reads "non-zero").
const BAD: i64 = 1;
const UNAVAILABLE: i64 = 2;

fn ok() -> Response {
    json_response(StatusCode::OK, &notify::answer(0, ""))
}

fn refuse(status: StatusCode, why: &str) -> Response {
    let code = if status == StatusCode::BAD_REQUEST { BAD } else { UNAVAILABLE };
    json_response(status, &notify::answer(code, why))
}

/// Adds the account's notification route (none without a `callback_secret`).
pub fn routes(d: Arc<Driver>, router: &mut Router) {
    let secret = d.cfg.callback_secret.expose();
    if secret.is_empty() {
        return;
    }
    let ep = Endpoint::new(
        "callcenter",
        &d.cfg.name,
        secret,
        &d.cfg.allow_from,
        d.trust_forwarded_for,
        d.peer.metrics.clone(),
    )
    .refusing_with(refuse);
    let handler: Handler = Arc::new(move |f: Fields| {
        let d = d.clone();
        Box::pin(async move { take(&d, f).await })
    });
    Arc::new(ep).routes(router, ok, vec![("notify", handler)]);
}

/// What the store said of a verified notification.
enum Stored {
    New,
    Again,
    Stale(Refused),
}

async fn take(d: &Driver, f: Fields) -> Result<Taken, Refusal> {
    let body = f.json.as_ref().ok_or_else(|| Refusal::Bad("the notification is not JSON".into()))?;
    let n = notify::parse(body).map_err(Refusal::Bad)?;
    n.verify(&d.cfg.customer, d.cfg.apikey.expose()).map_err(|e| Refusal::Bad(e.to_string()))?;
    let fresh = n.fresh(crate::event::now_ms(), d.cfg.max_skew_secs * 1000, d.max_age_ms);
    let key = format!("{}/notify/{}/{}", d.scope(), n.seq, n.timestamp);
    let mut e = crate::event::NewEvent::new(d.scope(), n.event_kind(), n.data(), Class::Critical);
    (e.dedup_key, e.extra) = (Some(key.clone()), n.extra.clone());
    let event = crate::store::OutboxItem::from_event(&e, &d.peer.agent);
    let stored = d
        .store
        .call(move |db| {
            let seen = db.conn().query_row("SELECT 1 FROM dedup WHERE key = ?1", [&key], |_| Ok(())).is_ok();
            if seen {
                return Ok(Stored::Again);
            }
            if let Err(stale) = fresh {
                return Ok(Stored::Stale(stale));
            }
            Ok(match db.enqueue_past_bound(&event)? {
                Enqueued::Duplicate(_) => Stored::Again,
                _ => Stored::New,
            })
        })
        .await?;
    match stored {
        Stored::New => Ok(Taken::Stored),
        Stored::Again => Ok(Taken::Duplicate),
        Stored::Stale(why) => Err(Refusal::Bad(why.to_string())),
    }
}
