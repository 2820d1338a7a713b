//! Outbound faxes: `fax.send` as persisted steps, and tracking until a final state.
//!
//! `fax.send` keeps its steps ([`Steps`], in `kv` as `cmd/{cmd_id}`): each uploaded document's
//! `fileid` as soon as the server returns it, then a "submit started" mark **before**
//! `submitfax`/`submitfaxmerge` is sent, then the fax ids. A send resumed after a crash (or
//! retried after a lost reply) skips what is done; when the mark is there but no ids, it
//! first looks for the job on the server (`getoutfaxids` since the mark, `getoutfax` whose
//! `fileid` names one of our uploads: fileids are unique per upload) and adopts it, so
//! the same fax is never submitted twice.
//!
//! Tracking: every fax in `fax_out` with `final = 0` is polled with `getoutfax`; a change
//! of `status` or `errcode` is written with a compare-and-set and its `fax.status` event
//! in one transaction, so each change is reported once.

use super::driver::{Driver, DriverError};
use super::protocol::args::{Document, SendPlan, Source};
use super::protocol::codes::PERMISSION_DENIED;
use super::protocol::recovery::{self, Submitted};
use super::protocol::reply::ReplyError;
use super::protocol::reply::{self, OutFax};
use super::protocol::request::{Call, format_time};
use super::server::ServerError;
use super::state::{self, OpenFax, Steps, Tracked};
use crate::connectors::files::chunks::sha256_hex;
use crate::event::now_ms;
use crate::store::{OutboxItem, StoreError};
use serde_json::{Value, json};

/// How far before the "submit started" mark the recovery looks (clock differences).
const RECOVERY_MARGIN_SECS: i64 = 3600;
/// Outbound faxes examined by one recovery, newest first.
const RECOVERY_MAX: usize = 500;

/// The jobs of a submission to track: fax ids first, then `mail_count` mail ids.
fn tracked_jobs(ids: &[String], mail_count: usize) -> Vec<Tracked> {
    let fax_count = ids.len().saturating_sub(mail_count);
    ids.iter()
        .enumerate()
        .map(|(i, id)| Tracked { faxid: id.clone(), kind: if i < fax_count { "fax" } else { "mail" } })
        .collect()
}

impl Driver {
    async fn load_steps(&self, cmd_id: &str) -> Result<Steps, StoreError> {
        let (scope, cmd) = (self.source.clone(), cmd_id.to_string());
        self.store.call(move |db| state::load_steps(db, &scope, &cmd)).await
    }

    async fn save_steps(&self, cmd_id: &str, steps: &Steps) -> Result<(), StoreError> {
        let (scope, cmd, steps) = (self.source.clone(), cmd_id.to_string(), steps.clone());
        self.store.call(move |db| state::save_steps(db, &scope, &cmd, steps)).await
    }

    /// Runs a `fax.send`, retrying an unreachable server for `command_retry_secs`. When
    /// the server stopped answering after the submit was sent, the outcome is
    /// [`DriverError::SubmitUncertain`]: the steps stay, and [`Driver::resolve_uncertain`]
    /// settles them once the server answers again.
    pub async fn send(&self, cmd_id: &str, plan: &SendPlan) -> Result<Value, DriverError> {
        let result = self.peer.retrying(|| self.send_once(cmd_id, plan)).await;
        match result {
            Err(e) if e.is_transient() => {
                let steps = self.load_steps(cmd_id).await?;
                if steps.uncertain() {
                    return Err(DriverError::SubmitUncertain(format!(
                        "{e}; the submit was sent and not answered, so the server may have the fax: the agent \
                         looks for it once the server answers and reports fax.submit_resolved"
                    )));
                }
                Err(e)
            }
            other => other,
        }
    }

    /// Settles the sends that ended `submit_uncertain`: looks for each job on the server and
    /// raises `fax.submit_resolved` (`submitted` with the fax ids, now tracked, or not: the
    /// cloud may then send again). Only finished commands are looked at, so a send that is
    /// running or will be resumed is never raced.
    pub async fn resolve_uncertain(&self) -> Result<usize, DriverError> {
        let scope = self.source.clone();
        let pending = self.store.call(move |db| state::uncertain_sends(db, &scope)).await?;
        let mut resolved = 0;
        let settle_ms = self.cfg.submit_settle_secs * 1000;
        for (cmd_id, mut steps) in pending {
            // A scheduled job is listed only once sent: nothing to look for before its time.
            if now_ms() < steps.listed_from_ms(self.cfg.utc_offset_minutes) {
                continue;
            }
            let found = self.find_submitted(&steps).await?;
            let age_ms = now_ms().saturating_sub(steps.listed_from_ms(self.cfg.utc_offset_minutes));
            if found.is_empty() && age_ms < settle_ms {
                // Not listed yet: a queued job shows once it is sent (a scheduled one not
                // before its time). Look again next round.
                continue;
            }
            log::info!("{}: the uncertain submit of {cmd_id} is settled: {found:?}", self.source);
            let tracked = tracked_jobs(&found, steps.mail_count);
            let item = self.event(
                "fax.submit_resolved",
                json!({"cmd_id": cmd_id, "submitted": !found.is_empty(), "faxids": found}),
            );
            steps.faxids = Some(found);
            let (scope, server) = (self.source.clone(), self.name.clone());
            self.store
                .call(move |db| {
                    state::save_steps(db, &scope, &cmd_id, steps)?;
                    state::track(db, &server, &cmd_id, &tracked)?;
                    db.enqueue_unbounded(&item).map(|_| ())
                })
                .await?;
            resolved += 1;
        }
        Ok(resolved)
    }

    async fn send_once(&self, cmd_id: &str, plan: &SendPlan) -> Result<Value, DriverError> {
        let mut steps = self.load_steps(cmd_id).await?;
        if let Some(ids) = &steps.faxids {
            return Ok(self.send_result(plan, ids, &steps, false));
        }
        if let Some(why) = &steps.refused {
            return Err(DriverError::Refused(why.clone()));
        }
        steps.fileids.resize(plan.documents.len(), None);
        for (i, doc) in plan.documents.iter().enumerate() {
            if steps.fileids[i].is_some() {
                continue;
            }
            let data = self.fetch_document(i, doc).await?;
            let r = self.call(&Call::PutFile { filename: doc.filename.clone(), data }).await?;
            steps.fileids[i] = Some(reply::field(&r, "fileid")?);
            self.save_steps(cmd_id, &steps).await?;
        }
        let fileids: Vec<String> = steps.fileids.iter().flatten().cloned().collect();
        if steps.submit_started_ms.is_some() {
            // The submit went out and its answer was lost: never submit again. A job not
            // listed yet may still come (the list holds sent faxes): look again while the
            // command's window lasts, then the answer is `submit_uncertain`.
            let found = self.find_submitted(&steps).await?;
            if found.is_empty() {
                return Err(DriverError::NotListedYet);
            }
            log::info!("{}: {cmd_id} was submitted before the interruption: adopting {found:?}", self.source);
            return self.commit_submitted(cmd_id, plan, steps, found, true).await;
        }
        steps.submit_started_ms = Some(now_ms());
        steps.mail_count = plan.mail_count;
        steps.faxnum = plan.faxnum.clone();
        steps.subject = plan.opts.subject.clone();
        steps.schedule_time = plan.opts.schedule_time.clone();
        // A merge sends no recipient (seed 1.1.1.8): the job then has none to match.
        steps.recipient = if plan.documents.len() > 1 { String::new() } else { plan.opts.recipient.clone() };
        self.save_steps(cmd_id, &steps).await?;
        let call = match fileids.as_slice() {
            [one] => Call::SubmitFax { faxnum: plan.faxnum.clone(), fileid: one.clone(), opts: plan.opts.clone() },
            _ => Call::SubmitFaxMerge { faxnum: plan.faxnum.clone(), fileids, opts: plan.opts.clone() },
        };
        // After the mark, only two answers are certain: the ids, or the server's refusal.
        // Anything else (an unreadable reply, an HTTP error) may hide a job the server took.
        let ids = match self.call(&call).await.map(|r| reply::fax_ids(&r)) {
            Ok(Ok(ids)) => ids,
            Err(ServerError::Reply(ReplyError::Server { code, name, msg })) => {
                steps.refused = Some(format!("code {code} ({name}) {msg}").trim().to_string());
                self.save_steps(cmd_id, &steps).await?;
                return Err(ServerError::Reply(ReplyError::Server { code, name, msg }).into());
            }
            Err(e) if e.is_transient() => return Err(e.into()),
            Ok(Err(e)) => return Err(self.uncertain(format!("the submit's reply could not be read ({e})"))),
            Err(e) => return Err(self.uncertain(format!("the submit was answered {e}"))),
        };
        self.commit_submitted(cmd_id, plan, steps, ids, false).await
    }

    fn uncertain(&self, why: String) -> DriverError {
        log::warn!("{}: {why}; the server may have the fax", self.source);
        DriverError::SubmitUncertain(format!(
            "{why}: the server may have the fax; the agent looks for it and reports fax.submit_resolved"
        ))
    }

    async fn commit_submitted(
        &self,
        cmd_id: &str,
        plan: &SendPlan,
        mut steps: Steps,
        ids: Vec<String>,
        recovered: bool,
    ) -> Result<Value, DriverError> {
        steps.faxids = Some(ids.clone());
        let tracked = tracked_jobs(&ids, plan.mail_count);
        let (scope, server, cmd, saved) = (self.source.clone(), self.name.clone(), cmd_id.to_string(), steps.clone());
        self.store
            .call(move |db| {
                state::save_steps(db, &scope, &cmd, saved)?;
                state::track(db, &server, &cmd, &tracked)
            })
            .await?;
        self.poll_soon();
        Ok(self.send_result(plan, &ids, &steps, recovered))
    }

    fn send_result(&self, plan: &SendPlan, ids: &[String], steps: &Steps, recovered: bool) -> Value {
        let fax_count = ids.len().saturating_sub(plan.mail_count);
        let mails: Vec<&str> = plan.opts.mail_address.as_deref().map(|m| m.split("; ").collect()).unwrap_or_default();
        let jobs: Vec<Value> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| match i.checked_sub(fax_count) {
                None => json!({"faxid": id, "kind": "fax", "to": plan.faxnum}),
                Some(m) => json!({"faxid": id, "kind": "mail", "to": mails.get(m)}),
            })
            .collect();
        json!({"faxids": ids, "jobs": jobs, "fileids": steps.fileids, "recovered": recovered})
    }

    /// A document's bytes: inline, or downloaded within `max_file_bytes`; checked
    /// against its `sha256` when one was given.
    async fn fetch_document(&self, i: usize, doc: &Document) -> Result<Vec<u8>, DriverError> {
        let data = match &doc.source {
            Source::Inline(bytes) => bytes.clone(),
            Source::Url(url) => self.server.download(url, self.cfg.max_file_bytes).await.map_err(|e| {
                if e.is_transient() {
                    DriverError::Server(e)
                } else {
                    DriverError::Document(format!("documents[{i}]: cannot download {url}: {e}"))
                }
            })?,
        };
        if let Some(expected) = &doc.sha256 {
            let got = sha256_hex(&data);
            if &got != expected {
                return Err(DriverError::Document(format!(
                    "documents[{i}]: sha256 is {got}, not the {expected} the command gave"
                )));
            }
        }
        Ok(data)
    }

    /// The jobs on the server that `steps`' submit made (see [`recovery`] for the rule),
    /// in id order; empty when none is listed (yet).
    async fn find_submitted(&self, steps: &Steps) -> Result<Vec<String>, DriverError> {
        let zone = self.cfg.utc_offset_minutes;
        let started_ms = steps.submit_started_ms.unwrap_or(0);
        let start = format_time((started_ms / 1000) as i64 - RECOVERY_MARGIN_SECS, zone);
        let end = format_time((now_ms() / 1000) as i64 + 86_400, zone);
        let listed = self.call(&Call::GetOutFaxIds { start, end }).await?;
        let mut ids = reply::fax_ids(&listed).unwrap_or_default();
        super::protocol::inbox::sort_ids(&mut ids);
        let fileids: Vec<String> = steps.fileids.iter().flatten().cloned().collect();
        let ours = Submitted {
            fileids: &fileids,
            faxnum: &steps.faxnum,
            subject: &steps.subject,
            recipient: &steps.recipient,
        };
        let server = self.name.clone();
        let owned = self.store.call(move |db| state::tracked_ids(db, &server)).await?;
        let mut found = Vec::new();
        for id in ids.into_iter().rev().filter(|id| !owned.contains(id)).take(RECOVERY_MAX) {
            let fax = match self.read_out_fax(&id).await {
                Ok(fax) => fax,
                // Gone, or another user's: not ours. Any other failure might hide ours, and
                // "not submitted" would have the cloud send it again: the round ends.
                Err(e) if e.is_unknown_fax() || e.server_code() == Some(PERMISSION_DENIED) => continue,
                Err(e) => return Err(e.into()),
            };
            if recovery::is_ours(&fax.fields, &ours) {
                found.push(id);
            }
        }
        // The newest matches, as many as the submit makes (a fax and its mail jobs).
        found.truncate(usize::from(!steps.faxnum.is_empty()) + steps.mail_count);
        super::protocol::inbox::sort_ids(&mut found);
        Ok(found)
    }

    /// Remembers whether tracked fax `faxid` could be read: a failure is warned about once
    /// (then at debug level, every round), and when it ends.
    fn note_unreadable(&self, faxid: &str, error: Option<&ServerError>) {
        let mut unreadable = self.unreadable.lock().unwrap_or_else(|e| e.into_inner());
        match error {
            None => {
                if unreadable.remove(faxid).is_some() {
                    log::info!("{}: fax {faxid} is readable again", self.source);
                }
            }
            // Gone from the server: no longer tracked, nothing to remember.
            Some(e) if e.is_unknown_fax() => {
                unreadable.remove(faxid);
            }
            Some(e) if e.is_transient() => {}
            Some(e) => {
                if unreadable.insert(faxid.to_string(), e.to_string()).is_none() {
                    log::warn!("{}: fax {faxid} cannot be read ({e}); asked again every round", self.source);
                } else {
                    log::debug!("{}: fax {faxid} still cannot be read: {e}", self.source);
                }
            }
        }
    }

    /// One `getoutfax`, once.
    async fn read_out_fax(&self, faxid: &str) -> Result<OutFax, ServerError> {
        let map = self.call(&Call::GetOutFax { faxid: faxid.to_string() }).await?;
        Ok(reply::out_fax(map)?)
    }

    /// The server's view of one outbound fax.
    pub async fn out_fax(&self, faxid: &str) -> Result<OutFax, DriverError> {
        let map = self.call_retrying(&Call::GetOutFax { faxid: faxid.to_string() }).await?;
        Ok(reply::out_fax(map)?)
    }

    /// Polls every unfinished fax once; returns how many changed.
    pub async fn poll_outbound(&self) -> Result<usize, DriverError> {
        let _round = self.rounds.lock().await;
        self.resolve_uncertain().await?;
        let server = self.name.clone();
        let open = self.store.call(move |db| state::open_faxes(db, &server)).await?;
        let mut changed = 0;
        for OpenFax { faxid, status, errcode, cmd_id, kind } in open {
            let read = self.read_out_fax(&faxid).await;
            self.note_unreadable(&faxid, read.as_ref().err());
            let (new_status, new_errcode, is_final, data) = match read {
                Ok(fax) => {
                    let mut data = json!({"faxid": faxid, "cmd_id": cmd_id, "kind": kind, "status": fax.status,
                            "state": fax.state.name(), "errcode": fax.errcode, "reason": fax.reason, "error": fax.error,
                            "final": fax.state.is_final()});
                    for (k, v) in fax.fields {
                        data[k.as_str()] = v;
                    }
                    (fax.status, fax.errcode, fax.state.is_final(), data)
                }
                Err(e) if e.is_unknown_fax() => {
                    let data = json!({"faxid": faxid, "cmd_id": cmd_id, "kind": kind, "status": null, "state": "gone",
                            "final": true, "error": "the server no longer knows this fax (deleted there?)"});
                    (-2, 0, true, data)
                }
                // The server or its login is the problem: the round ends, every fax waits.
                Err(e) if e.is_transient() || matches!(e, ServerError::Credentials(_)) => return Err(e.into()),
                // One fax the server cannot show (a per-fax error code, an odd reply) does not
                // hold up the others: it is asked again next round.
                Err(_) => continue,
            };
            if (new_status, new_errcode) == (status, errcode) {
                continue;
            }
            let item = self.event("fax.status", data);
            if self.commit_state(&faxid, (status, errcode), (new_status, new_errcode, is_final), item).await? {
                changed += 1;
            }
        }
        Ok(changed)
    }

    /// Compare-and-set of a tracked fax's state with its event; false if it had moved.
    async fn commit_state(
        &self,
        faxid: &str,
        old: (i64, i64),
        new: (i64, i64, bool),
        item: OutboxItem,
    ) -> Result<bool, StoreError> {
        let (server, faxid) = (self.name.clone(), faxid.to_string());
        self.store.call(move |db| state::set_state(db, &server, &faxid, old, new, &item)).await
    }
}
