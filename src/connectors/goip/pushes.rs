//! The push receiver: `POST /goip/{name}/{secret}/{status|sr|sms}`, one route per gateway.
//!
//! An unknown device answers 404 (no route) and a wrong secret 401, both before the body is
//! looked at: nothing is stored. A body that does not parse answers 400 with the reason and
//! raises `push.rejected`. A good body's events (and the state they change) are
//! committed before the device gets its `{"code":0}`; if the store cannot take them the
//! device gets 503 and pushes again later.

use super::driver::Driver;
use super::protocol::ports::Port;
use super::protocol::push::{DevStatus, PortStatus, Push, parse_push, port_state_name};
use super::protocol::sms::{StatusReport, TaskProgress};
use super::state;
use crate::event::{Class, now_ms};
use crate::http::ingest::{constant_time_eq, store_unavailable};
use crate::http::{Request, Response, error, json_response};
use crate::store::{Enqueued, OutboxItem, StoreError};
use hyper::StatusCode;
use serde_json::{Value, json};

/// Longest excerpt of a rejected body kept in `push.rejected`.
const EXCERPT: usize = 512;

impl Driver {
    /// `POST /goip/{name}/{secret}/…` for this gateway: the secret is checked before the
    /// body is looked at.
    pub async fn route(&self, req: Request) -> Response {
        let path = req.uri().path();
        let secret = path.strip_prefix(&format!("/goip/{}/", self.name)).unwrap_or("").split('/').next().unwrap_or("");
        if !constant_time_eq(secret.as_bytes(), self.secret.as_bytes()) {
            self.peer.metrics.inc(&self.peer.metric("push_unauthorized_total"));
            return error(StatusCode::UNAUTHORIZED, "unauthorized", "wrong push secret");
        }
        self.handle(req.body()).await
    }
}

/// What a push's events change in the driver's memory once they are committed.
enum After {
    Nothing,
    Ports(Vec<(Port, u16)>, bool),
}

impl Driver {
    /// Handles one authenticated push body.
    pub async fn handle(&self, body: &[u8]) -> Response {
        let push = match parse_push(body) {
            Ok(p) => p,
            Err(e) => return self.reject(body, &e.to_string()).await,
        };
        self.peer.metrics.inc(&self.peer.metric("pushes_total"));
        let (items, after, reports) = match push {
            Push::DevStatus(d) => {
                let (items, after) = self.dev_status_events(&d);
                (items, after, None)
            }
            Push::PortStatus(p) => {
                let item = self.event("port.status", port_json(&p), Class::Critical, None);
                (vec![item], After::Ports(vec![(p.port, p.code)], false), None)
            }
            Push::RecvSms(list) => (list.iter().map(|m| self.sms_event(m, "push")).collect(), After::Nothing, None),
            Push::StatusReport(r) => (Vec::new(), After::Nothing, Some(r)),
        };
        let committed = match reports {
            None => self.store.enqueue(items).await.map(|_| ()),
            Some(r) => self.apply_reports(r).await,
        };
        if let Err(e) = committed {
            return store_unavailable(&e, &self.peer.metrics);
        }
        if let After::Ports(ports, full) = after {
            let mut obs = self.observed.lock().unwrap_or_else(|e| e.into_inner());
            obs.ports.extend(ports);
            if full {
                obs.last_status_ms = now_ms();
            }
        }
        json_response(StatusCode::OK, &json!({"code": 0, "reason": "OK"}))
    }

    async fn reject(&self, body: &[u8], reason: &str) -> Response {
        log::warn!("{}: rejected push: {reason}", self.source);
        let excerpt = String::from_utf8_lossy(&body[..body.len().min(EXCERPT)]).into_owned();
        // Telemetry: a device pushing garbage in a loop must not crowd messages out of the store.
        let item = self.event("push.rejected", json!({"reason": reason, "body": excerpt}), Class::Telemetry, None);
        if let Err(e) = self.store.enqueue(vec![item]).await {
            log::error!("{}: cannot record push.rejected: {e}", self.source);
        }
        error(StatusCode::BAD_REQUEST, "bad_push", reason)
    }

    /// `device.status` on a change (or the first after start) as critical, else as a
    /// telemetry snapshot every `snapshot_secs`; `port.status` for each port that changed.
    fn dev_status_events(&self, d: &DevStatus) -> (Vec<OutboxItem>, After) {
        let obs = self.observed.lock().unwrap_or_else(|e| e.into_inner());
        let first = obs.last_status_ms == 0;
        let changed: Vec<&PortStatus> = d.ports.iter().filter(|p| obs.ports.get(&p.port) != Some(&p.code)).collect();
        let snapshot_due = now_ms().saturating_sub(obs.last_status_ms) >= self.cfg.snapshot_secs * 1000;
        let mut items = Vec::new();
        for p in changed.iter().filter(|p| obs.ports.contains_key(&p.port)) {
            items.push(self.event("port.status", port_json(p), Class::Critical, None));
        }
        let reason = if first {
            Some(("first", Class::Critical))
        } else if !changed.is_empty() {
            Some(("change", Class::Critical))
        } else if snapshot_due {
            Some(("snapshot", Class::Telemetry))
        } else {
            None
        };
        drop(obs);
        if let Some((reason, class)) = reason {
            let mut data = Value::Object(d.extra.clone());
            data["mac"] = json!(d.mac);
            data["max_ports"] = json!(d.max_ports);
            data["max_slots"] = json!(d.max_slots);
            data["ports"] = Value::Array(d.ports.iter().map(port_json).collect());
            data["reason"] = json!(reason);
            items.push(self.event("device.status", data, class, None));
        }
        let ports = d.ports.iter().map(|p| (p.port, p.code)).collect();
        (items, After::Ports(ports, reason.is_some()))
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
        self.store
            .call(move |db| {
                for (r, dedup) in events {
                    let mut record = state::load_task(db, &scope, r.tid)?;
                    record.progress.apply(&r);
                    let mut data = progress_json(&record.progress, record.cmd_id.as_deref());
                    data["new_records"] = json!(r.records);
                    let mut e = crate::event::NewEvent::new(source.clone(), "sms.status", data, Class::Critical);
                    e.dedup_key = Some(dedup);
                    e.extra = r.extra.clone();
                    let fresh = !matches!(db.enqueue(&OutboxItem::from_event(&e, &agent))?, Enqueued::Duplicate(_));
                    if fresh && record.progress.finished() && !record.finished {
                        record.finished = true;
                        let mut e = crate::event::NewEvent::new(
                            source.clone(),
                            "sms.finished",
                            progress_json(&record.progress, record.cmd_id.as_deref()),
                            Class::Critical,
                        );
                        e.dedup_key = Some(format!("goip:{}:finished:{}", name, r.tid));
                        db.enqueue(&OutboxItem::from_event(&e, &agent))?;
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

/// A port status as events carry it: the device's fields plus port, code and meaning.
fn port_json(p: &PortStatus) -> Value {
    let mut data = Value::Object(p.extra.clone());
    data["port"] = json!(p.port.to_string());
    data["code"] = json!(p.code);
    data["state"] = json!(port_state_name(p.code));
    data["reason"] = json!(p.reason);
    data
}
