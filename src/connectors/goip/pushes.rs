//! The push receiver: `POST /goip/{name}/{secret}/{status|sr|sms}`, one route per gateway.
//!
//! An unknown device answers 404 (no route) and a wrong secret 401, both before the body is
//! looked at: nothing is stored. A body that does not parse answers 400 with the reason and
//! raises `push.rejected`. A good body's events (and the state they change) are
//! committed before the device gets its `{"code":0}`. They go past `store.max_bytes` (up
//! to twice it): the digest does not say a device pushes again after a refusal, and a
//! status report carries only the records since the previous one. A store that cannot take
//! them (a full disk, twice the bound) answers 503.

use super::driver::Driver;
use super::protocol::push::{Push, parse_push, shared_fields};
use super::protocol::sms::{StatusReport, TaskProgress};
use super::protocol::status::{Raise, Seen};
use super::state;
use crate::event::{Class, now_ms};
use crate::http::ingest::{constant_time_eq, store_unavailable};
use crate::http::router::Guard;
use crate::http::{Response, error, json_response};
use crate::store::{Enqueued, OutboxItem, StoreError};
use hyper::StatusCode;
use serde_json::{Value, json};

/// Longest excerpt of a rejected body kept in `push.rejected`.
const EXCERPT: usize = 512;

impl Driver {
    /// The secret check of `POST /goip/{name}/{secret}/…`, run on the request line before
    /// the body is read.
    pub fn guard(self: std::sync::Arc<Self>) -> Guard {
        std::sync::Arc::new(move |parts: &hyper::http::request::Parts| {
            let prefix = format!("/goip/{}/", self.name);
            let secret = parts.uri.path().strip_prefix(&prefix).unwrap_or("").split('/').next().unwrap_or("");
            if constant_time_eq(secret.as_bytes(), self.secret.as_bytes()) {
                return None;
            }
            self.peer.metrics.inc(&self.peer.metric("push_unauthorized_total"));
            Some(error(StatusCode::UNAUTHORIZED, "unauthorized", "wrong push secret"))
        })
    }
}

impl Driver {
    /// Handles one authenticated push body.
    pub async fn handle(&self, body: &[u8]) -> Response {
        let push = match parse_push(body) {
            Ok(p) => p,
            Err(e) => return self.reject(body, &e.to_string()).await,
        };
        self.peer.metrics.inc(&self.peer.metric("pushes_total"));
        let committed = match push {
            Push::DevStatus(d) => {
                let snapshot_ms = self.cfg.snapshot_secs * 1000;
                let odd = self.odd_events("dev-status", &d.odd);
                self.step_seen(odd, |seen| seen.dev_status(&d, now_ms(), snapshot_ms)).await
            }
            Push::PortStatus(p) => self.step_seen(Vec::new(), |seen| seen.port_status(&p)).await,
            Push::RecvSms(list, odd, extra) => {
                let mut items: Vec<OutboxItem> = list
                    .iter()
                    .enumerate()
                    .map(|(i, m)| self.sms_event(m, "push", &shared_fields(&extra, i)))
                    .collect();
                items.extend(self.odd_events("recv-sms", &odd));
                self.store.enqueue_past_bound(items).await.map(drop)
            }
            Push::StatusReport(r) => self.apply_reports(r).await,
        };
        if let Err(e) = committed {
            return store_unavailable(&e, &self.peer.metrics);
        }
        json_response(StatusCode::OK, &json!({"code": 0, "reason": "OK"}))
    }

    async fn reject(&self, body: &[u8], reason: &str) -> Response {
        log::warn!("{}: rejected push: {reason}", self.source);
        let excerpt = crate::scrub::excerpt(body, EXCERPT);
        // Telemetry: a device pushing garbage in a loop must not crowd messages out of the store.
        let item = self.event("push.rejected", json!({"reason": reason, "body": excerpt}), Class::Telemetry, None);
        if let Err(e) = self.store.enqueue(vec![item]).await {
            log::error!("{}: cannot record push.rejected: {e}", self.source);
        }
        error(StatusCode::BAD_REQUEST, "bad_push", reason)
    }

    /// Runs a pure status step on what was seen, commits its events, and keeps the new
    /// state only once they are stored (one push at a time per device).
    async fn step_seen(
        &self,
        mut items: Vec<OutboxItem>,
        step: impl FnOnce(&Seen) -> (Vec<Raise>, Seen),
    ) -> Result<(), StoreError> {
        let mut seen = self.seen.lock().await;
        let (raised, next) = step(&seen);
        items.extend(
            raised
                .into_iter()
                .map(|r| self.event(r.kind, r.data, if r.critical { Class::Critical } else { Class::Telemetry }, None)),
        );
        self.store.enqueue_past_bound(items).await?;
        *seen = next;
        Ok(())
    }

    /// Folds each task's report into its stored progress and raises `sms.status` (and
    /// `sms.finished` once), all in one transaction.
    async fn apply_reports(&self, report: StatusReport) -> Result<(), StoreError> {
        let (scope, name) = (self.source.clone(), self.name.clone());
        let events: Vec<_> = report
            .reports
            .iter()
            .map(|r| {
                let key = serde_json::to_string(&(r.tid, r.sending, r.sent, r.failed, r.unsent, &r.records))
                    .unwrap_or_default();
                let dedup = format!("goip:{name}:sr:{}:{}", r.tid, super::protocol::crypto::md5_hex(&[&key]));
                (r.clone(), dedup)
            })
            .collect();
        let (source, agent) = (self.source.clone(), self.peer.agent.clone());
        let mut odd = self.odd_events("status-report", &report.odd);
        for r in &report.reports {
            odd.extend(self.odd_events("status-report", &r.odd));
        }
        self.store
            .call(move |db| {
                for item in &odd {
                    db.enqueue_past_bound(item)?;
                }
                for (i, (r, dedup)) in events.into_iter().enumerate() {
                    let mut record = state::load_task(db, &scope, r.tid)?;
                    record.progress.apply(&r);
                    let mut data = progress_json(&record.progress, record.cmd_id.as_deref());
                    data["new_records"] = json!(r.records);
                    let mut e = crate::event::NewEvent::new(source.clone(), "sms.status", data, Class::Critical);
                    e.dedup_key = Some(dedup);
                    e.extra = shared_fields(&report.extra, i);
                    e.extra.extend(r.extra.clone());
                    let fresh =
                        !matches!(db.enqueue_past_bound(&OutboxItem::from_event(&e, &agent))?, Enqueued::Duplicate(_));
                    if fresh && record.progress.finished() && !record.finished {
                        record.finished = true;
                        let mut e = crate::event::NewEvent::new(
                            source.clone(),
                            "sms.finished",
                            progress_json(&record.progress, record.cmd_id.as_deref()),
                            Class::Critical,
                        );
                        e.dedup_key = Some(format!("goip:{}:finished:{}", name, r.tid));
                        db.enqueue_past_bound(&OutboxItem::from_event(&e, &agent))?;
                    }
                    state::save_task(db, &scope, r.tid, record)?;
                }
                Ok(())
            })
            .await
    }
}

fn progress_json(p: &TaskProgress, cmd_id: Option<&str>) -> Value {
    json!({
        "tid": p.tid, "cmd_id": cmd_id,
        "sending": p.sending, "sent": p.sent, "failed": p.failed, "unsent": p.unsent,
        "finished": p.finished(),
        "records": p.records.values().collect::<Vec<_>>(),
    })
}
