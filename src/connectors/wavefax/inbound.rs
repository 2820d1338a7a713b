//! Inbound faxes: the inbox poll, and the server's side of the file relay (deletes).
//!
//! A new fax (see [`super::protocol::inbox`] for the window rules) is read with `getinfax`,
//! its file fetched with `getfaxfile` and downloaded, then handed to the shared file relay
//! ([`crate::connectors::files`]), which commits the spool row, `fax.received` and every
//! `fax.file` chunk in one transaction. A crash leaves all or nothing; the fax is still on
//! the server and the next round finds it again. When the spool quota would be exceeded,
//! new faxes stay on the server until acknowledgements make room.
//!
//! A fax that cannot be read (an error about it, not about the server) is skipped for the
//! round, so it never holds up the faxes after it; after three rounds it is relayed as
//! metadata with `file_error` and left on the server.
//!
//! The file leaves the spool only when the cloud acknowledges it (`fax.file.ack`, or a
//! 2xx from `upload_url`); only then, if configured, is the fax deleted on the server
//! (`fax.deleted`). A file not acknowledged within `file_reoffer_secs` is offered again.

use super::driver::{Driver, DriverError};
use super::protocol::codes::NO_SUCH_FILE;
use super::protocol::inbox::{advance, received_data, sort_ids, window};
use super::protocol::reply;
use super::protocol::request::Call;
use super::server::ServerError;
use super::state::{IN_HWM, ServerTime};
use crate::connectors::files::SpoolState;
use crate::store::StoreError;
use serde_json::{Value, json};

/// A received fax read from the server, before it is spooled.
struct Fetched {
    faxid: String,
    rcvtime: String,
    meta: Value,
    /// The file, or why there is none.
    file: Result<Vec<u8>, String>,
}

/// Rounds in which one fax may fail to be read before it is relayed without its file.
const GIVE_UP_AFTER: u32 = 3;

/// Errors that end the whole round (the server, its login or the store are the problem,
/// not one fax); any other failure concerns one fax only.
fn aborts_round(e: &DriverError) -> bool {
    e.is_transient() || matches!(e, DriverError::Store(_) | DriverError::Server(ServerError::Credentials(_)))
}

/// Errors after which a fax is relayed without its file rather than retried.
/// Only "no such file id" (251658771) says the file will never be had; "cannot fetch
/// file" (251658772) and the rest may pass, so they follow the three-rounds rule.
fn file_unavailable(e: &ServerError) -> bool {
    match e {
        ServerError::TooLarge(_) => true,
        ServerError::Status(s) => matches!(s, 404 | 410),
        ServerError::Reply(reply::ReplyError::Server { code, .. }) => *code == NO_SUCH_FILE,
        _ => false,
    }
}

impl Driver {
    /// The high-water mark, set to `now - in_lookback_secs` (and kept) on a fresh store.
    async fn load_hwm(&self) -> Result<i64, StoreError> {
        let (scope, start) =
            (self.source.clone(), self.now_local() - i64::try_from(self.cfg.in_lookback_secs).unwrap_or(0));
        self.store
            .call(move |db| match IN_HWM.get(db, &scope)? {
                Some(ServerTime(t)) => Ok(t),
                None => IN_HWM.put(db, &scope, &ServerTime(start)).map(|_| start),
            })
            .await
    }

    /// Lists the inbox window and relays every fax not seen before; returns how many.
    /// (Called inside [`Driver::inbox_round`], which holds the round lock.)
    pub(super) async fn poll_inbox(&self) -> Result<usize, DriverError> {
        let hwm = self.load_hwm().await?;
        let (start, end) = window(hwm, self.now_local(), self.cfg.in_overlap_secs);
        let listed = self.call(&Call::GetInFaxIds { start, end, folder: None }).await?;
        let mut ids = reply::fax_ids(&listed).unwrap_or_default();
        sort_ids(&mut ids);
        ids.dedup();
        let known = self.files.known(ids.clone()).await?;
        let (mut relayed, mut complete, mut times) = (0, true, Vec::new());
        for faxid in ids.into_iter().filter(|id| !known.contains(id)) {
            let fetched = match self.fetch_fax(&faxid).await {
                Ok(Some(f)) => f,
                Ok(None) => continue,
                Err(e) if aborts_round(&e) => return Err(e),
                Err(e) => {
                    // This fax only: the others go on, the mark waits for it.
                    log::warn!("{}: fax {faxid}: {e}; trying again next round", self.source);
                    complete = false;
                    continue;
                }
            };
            let Fetched { faxid, rcvtime, meta, file } = fetched;
            match self.files.spool(&faxid, meta, file).await {
                Ok(true) => {
                    relayed += 1;
                    times.push(rcvtime);
                }
                Ok(false) => {
                    complete = false;
                    break;
                }
                Err(StoreError::Full) => {
                    complete = false;
                    log::warn!("{}: store full; fax {faxid} stays on the server for now", self.source);
                    break;
                }
                Err(e) => return Err(e.into()),
            }
        }
        let moved = advance(hwm, times.iter().map(String::as_str));
        if complete && moved > hwm {
            let scope = self.source.clone();
            self.store.call(move |db| IN_HWM.put(db, &scope, &ServerTime(moved))).await?;
        }
        if relayed > 0 {
            self.peer.metrics.add(&self.peer.metric("faxes_in_total"), relayed as u64);
        }
        Ok(relayed)
    }

    /// `getinfax`, `getfaxfile` and the download; `None` when the fax vanished meanwhile.
    async fn fetch_fax(&self, faxid: &str) -> Result<Option<Fetched>, DriverError> {
        let gone = |reason: String| Fetched {
            faxid: faxid.to_string(),
            rcvtime: String::new(),
            meta: json!({"fax_id": faxid, "received_at": null}),
            file: Err(reason),
        };
        let info = match self.call(&Call::GetInFax { faxid: faxid.to_string() }).await {
            Ok(m) => m,
            Err(e) if e.is_unknown_fax() => return Ok(None),
            Err(e) => return self.failed(faxid, e.into()).map(|reason| Some(gone(format!("getinfax: {reason}")))),
        };
        let rcvtime = info.get("rcvtime").and_then(reply::text).unwrap_or_default();
        let meta = received_data(faxid, &info, self.cfg.utc_offset_minutes);
        let file = match reply::field(&info, "fileid") {
            Err(_) => Err("the server named no file for this fax".to_string()),
            Ok(fileid) => match self.download_file(fileid).await {
                Ok(data) => Ok(data),
                Err(e) if file_unavailable(&e) => Err(e.to_string()),
                Err(e) => Err(self.failed(faxid, e.into())?),
            },
        };
        self.fetch_failures.lock().unwrap_or_else(|e| e.into_inner()).remove(faxid);
        Ok(Some(Fetched { faxid: faxid.to_string(), rcvtime, meta, file }))
    }

    /// Counts a failure to read one fax: the error itself until it has failed
    /// [`GIVE_UP_AFTER`] rounds, then the reason to relay it without its file.
    fn failed(&self, faxid: &str, e: DriverError) -> Result<String, DriverError> {
        if aborts_round(&e) {
            return Err(e);
        }
        let mut failures = self.fetch_failures.lock().unwrap_or_else(|e| e.into_inner());
        let n = failures.entry(faxid.to_string()).or_default();
        *n += 1;
        if *n < GIVE_UP_AFTER {
            return Err(e);
        }
        failures.remove(faxid);
        Ok(format!("{e} (after {GIVE_UP_AFTER} rounds)"))
    }

    async fn download_file(&self, fileid: String) -> Result<Vec<u8>, ServerError> {
        let r = self.call(&Call::GetFaxFile { fileid, pdf: self.cfg.pdf }).await?;
        let url = reply::field(&r, "fileurl")?;
        self.server.download(&url, self.cfg.max_file_bytes).await
    }

    /// The cloud's word on a file: `ok` releases it (and deletes the fax on the server
    /// when configured); not ok offers it again. `None` when the file is not this server's.
    pub async fn acknowledge(&self, file_id: &str, ok: bool, reason: &str) -> Result<Option<Value>, DriverError> {
        let Some(acked) = self.files.acknowledge(file_id, ok, reason).await? else { return Ok(None) };
        if acked.reoffered {
            return Ok(Some(json!({"file_id": file_id, "fax_id": acked.item, "state": "spooled", "reoffered": true})));
        }
        let deleted = acked.state == SpoolState::Acked && self.delete_received(&acked.item, file_id).await.is_ok();
        let state = if deleted { SpoolState::Done } else { acked.state };
        Ok(Some(json!({"file_id": file_id, "fax_id": acked.item, "state": state.as_sql(), "deleted": deleted})))
    }

    /// `deleteinfax` for an acknowledged fax, then `done` with a `fax.deleted` event.
    async fn delete_received(&self, faxid: &str, file_id: &str) -> Result<(), DriverError> {
        match self.call(&Call::DeleteInFax { faxid: faxid.to_string() }).await {
            Ok(_) => {}
            Err(e) if e.is_unknown_fax() => {}
            Err(e) => {
                log::warn!("{}: deleteinfax {faxid} failed ({e}); will retry", self.source);
                return Err(e.into());
            }
        }
        let item = self.event("fax.deleted", json!({"fax_id": faxid, "file_id": file_id}));
        Ok(self.files.finish(file_id, item).await?)
    }

    /// Deletes on the server every fax acknowledged whose delete is still to do.
    pub(super) async fn finish_acked(&self) -> Result<(), DriverError> {
        for (faxid, file_id) in self.files.pending_follow_ups().await? {
            if let Err(e) = self.delete_received(&faxid, &file_id).await
                && e.is_transient()
            {
                return Err(e);
            }
        }
        Ok(())
    }

    /// Spooled files due for another offer (uploads every round); a file an upload just
    /// delivered is deleted on the server at once.
    pub(super) async fn reoffer_due(&self) -> Result<(), DriverError> {
        if self.files.reoffer_due().await? > 0 {
            self.finish_acked().await?;
        }
        Ok(())
    }
}
