//! Inbound faxes: the inbox poll, the spool, file offers, acknowledgements and deletes.
//!
//! A new fax (see [`super::protocol::inbox`] for the window rules) is read with `getinfax`, its file
//! fetched with `getfaxfile` and downloaded, then in **one transaction**: its `fax_in` row
//! (the file kept in the spool), its `fax.received` event and, with MQTT delivery, every
//! `fax.file` chunk. A crash leaves all or nothing; the fax is still on the server and the
//! next round finds it again. When the spool quota would be exceeded, new faxes stay on
//! the server until acknowledgements make room (`spool.full` / `spool.recovered`).
//!
//! A fax that cannot be read (an error about it, not about the server) is skipped for the
//! round, so it never holds up the faxes after it; after three rounds it is relayed as
//! metadata with `file_error` and left on the server.
//!
//! The file leaves the spool only when the cloud acknowledges it (`fax.file.ack`, or a
//! 2xx from `upload_url`); only then, if configured, is the fax deleted on the server.
//! A file not acknowledged within `file_reoffer_secs` is offered again.

use super::driver::{Driver, DriverError};
use super::protocol::chunks::{FileRef, chunk_at, chunk_count, sha256_hex};
use super::protocol::codes::{BAD_FILE_ID, CANNOT_FETCH_FILE, NO_SUCH_FILE};
use super::protocol::inbox::{advance, received_data, sort_ids, window};
use super::protocol::reply;
use super::protocol::request::Call;
use super::server::ServerError;
use super::state::{IN_HWM, ServerTime};
use crate::event::{Class, NewEvent, new_id};
use crate::http::client::{self, Url};
use crate::store::{Db, OutboxItem, StoreError};
use rusqlite::{OptionalExtension, params};
use serde_json::{Value, json};
use std::time::Duration;

/// A received fax read from the server, before it is spooled.
struct Fetched {
    faxid: String,
    rcvtime: String,
    meta: Value,
    /// The file, or why there is none.
    file: Result<Vec<u8>, String>,
}

/// A `fax_in` row as the acknowledgement sees it.
struct InRow {
    server: String,
    faxid: String,
    state: String,
}

/// Queues `fax.received` and (MQTT delivery) every `fax.file` chunk, on the writer thread:
/// one chunk event is built at a time, so a large file is never held as JSON all at once.
struct Offer {
    source: String,
    agent: String,
    chunk_bytes: usize,
    chunks: bool,
}

impl Offer {
    fn item(&self, kind: &str, data: Value) -> OutboxItem {
        OutboxItem::from_event(&NewEvent::new(self.source.clone(), kind, data, Class::Critical), &self.agent)
    }

    /// `data` is None for a fax relayed without its file: then `fax.received` alone.
    fn enqueue(&self, db: &mut Db<'_>, meta: &Value, file_id: &str, data: Option<&[u8]>) -> Result<(), StoreError> {
        db.enqueue(&self.item("fax.received", meta.clone()))?;
        let Some(data) = data.filter(|_| self.chunks) else { return Ok(()) };
        let sha256 = meta["file"]["sha256"].as_str().unwrap_or_default();
        let file = FileRef { file_id, fax_id: meta["fax_id"].as_str().unwrap_or_default(), sha256 };
        for i in 0..chunk_count(data.len(), self.chunk_bytes) {
            db.enqueue(&self.item("fax.file", chunk_at(&file, data, self.chunk_bytes, i)))?;
        }
        Ok(())
    }
}

/// Rounds in which one fax may fail to be read before it is relayed without its file.
const GIVE_UP_AFTER: u32 = 3;

/// Errors that end the whole round (the server, its login or the store are the problem,
/// not one fax); any other failure concerns one fax only.
fn aborts_round(e: &DriverError) -> bool {
    e.is_transient() || matches!(e, DriverError::Store(_) | DriverError::Server(ServerError::Credentials(_)))
}

/// A spooled file and its `fax.received` data, on the writer thread.
fn read_spooled(db: &mut Db<'_>, file_id: &str) -> Result<Option<(Value, Vec<u8>)>, StoreError> {
    let row: Option<(String, Vec<u8>)> = db
        .conn()
        .query_row(
            "SELECT meta, data FROM fax_in WHERE file_id = ?1 AND state = 'spooled' AND data IS NOT NULL",
            [file_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    Ok(row.map(|(meta, data)| (serde_json::from_str(&meta).unwrap_or_default(), data)))
}

/// Errors after which a fax is relayed without its file rather than retried.
fn file_unavailable(e: &ServerError) -> bool {
    match e {
        ServerError::TooLarge(_) => true,
        ServerError::Status(s) => matches!(s, 404 | 410),
        ServerError::Reply(reply::ReplyError::Server { code, .. }) => {
            matches!(*code, BAD_FILE_ID | NO_SUCH_FILE | CANNOT_FETCH_FILE)
        }
        _ => false,
    }
}

fn content_type(data: &[u8]) -> &'static str {
    match data {
        [b'%', b'P', b'D', b'F', ..] => "application/pdf",
        [b'I', b'I', 42, 0, ..] | [b'M', b'M', 0, 42, ..] => "image/tiff",
        _ => "application/octet-stream",
    }
}

impl Driver {
    fn mqtt_delivery(&self) -> bool {
        self.cfg.upload_url.is_empty()
    }

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
        let (server, candidates) = (self.name.clone(), ids.clone());
        let known: Vec<String> = self
            .store
            .call(move |db| {
                let mut stmt = db.conn().prepare_cached("SELECT 1 FROM fax_in WHERE server = ?1 AND faxid = ?2")?;
                let mut known = Vec::new();
                for id in candidates {
                    if stmt.exists(params![server, id])? {
                        known.push(id);
                    }
                }
                Ok(known)
            })
            .await?;
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
            let rcvtime = fetched.rcvtime.clone();
            match self.spool(fetched).await {
                Ok(true) => {
                    relayed += 1;
                    times.push(rcvtime);
                    self.set_spool_full(false).await;
                }
                Ok(false) => {
                    complete = false;
                    self.set_spool_full(true).await;
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

    /// What queues a file's offer inside a store call.
    fn offer(&self) -> Offer {
        Offer {
            source: self.source.clone(),
            agent: self.peer.agent.clone(),
            chunk_bytes: self.cfg.chunk_bytes,
            chunks: self.mqtt_delivery(),
        }
    }

    /// Commits a fetched fax with its events; false when the spool has no room for it.
    async fn spool(&self, f: Fetched) -> Result<bool, StoreError> {
        let file_id = new_id();
        let mut meta = f.meta;
        let offer = self.offer();
        let (state, data, sha) = match f.file {
            Ok(data) => {
                let sha = sha256_hex(&data);
                let count = if self.mqtt_delivery() { chunk_count(data.len(), self.cfg.chunk_bytes) } else { 0 };
                meta["file"] = json!({"file_id": file_id, "bytes": data.len(), "sha256": sha,
                    "content_type": content_type(&data), "delivery": if self.mqtt_delivery() { "mqtt" } else { "http" },
                    "chunks": count, "chunk_bytes": self.cfg.chunk_bytes});
                ("spooled", Some(data), sha)
            }
            Err(reason) => {
                log::warn!("{}: fax {} relayed without its file: {reason}", self.source, f.faxid);
                meta["file"] = Value::Null;
                meta["file_error"] = json!(reason);
                ("no_file", None, String::new())
            }
        };
        let (server, quota, faxid, meta_text) =
            (self.name.clone(), self.cfg.spool_max_bytes, f.faxid, meta.to_string());
        self.store
            .call(move |db| {
                let bytes = data.as_ref().map_or(0, Vec::len) as i64;
                if data.is_some() {
                    let used: i64 = db.conn().query_row(
                        "SELECT coalesce(sum(bytes), 0) FROM fax_in WHERE server = ?1 AND state = 'spooled'",
                        [&server],
                        |r| r.get(0),
                    )?;
                    if used > 0 && (used + bytes) as u64 > quota {
                        return Ok(false);
                    }
                }
                let now = db.now_ms() as i64;
                let n = db.conn().execute(
                    "INSERT INTO fax_in (server, faxid, file_id, state, data, bytes, sha256, meta, offered_ms, updated_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9) ON CONFLICT (server, faxid) DO NOTHING",
                    params![server, faxid, file_id, state, data, bytes, sha, meta_text, now],
                )?;
                if n == 1 {
                    offer.enqueue(db, &meta, &file_id, data.as_deref())?;
                }
                Ok(true)
            })
            .await
    }

    async fn set_spool_full(&self, full: bool) {
        let changed = {
            let mut flag = self.spool_full.lock().unwrap_or_else(|e| e.into_inner());
            std::mem::replace(&mut *flag, full) != full
        };
        if changed {
            let kind = if full { "spool.full" } else { "spool.recovered" };
            if full {
                log::warn!(
                    "{}: spool full ({} bytes): new faxes wait on the server",
                    self.source,
                    self.cfg.spool_max_bytes
                );
            }
            let item = self.event(kind, json!({"max_bytes": self.cfg.spool_max_bytes}));
            if let Err(e) = self.store.enqueue_unbounded(item).await {
                log::error!("{}: cannot record {kind}: {e}", self.source);
            }
        }
    }

    async fn find_file(&self, file_id: &str) -> Result<Option<InRow>, StoreError> {
        let file_id = file_id.to_string();
        self.store
            .call(move |db| {
                Ok(db
                    .conn()
                    .query_row("SELECT server, faxid, state FROM fax_in WHERE file_id = ?1", [&file_id], |r| {
                        Ok(InRow { server: r.get(0)?, faxid: r.get(1)?, state: r.get(2)? })
                    })
                    .optional()?)
            })
            .await
    }

    /// The cloud's word on a file: `ok` releases it (and deletes the fax on the server
    /// when configured); not ok offers it again. `None` when the file is not this server's.
    pub async fn acknowledge(&self, file_id: &str, ok: bool, reason: &str) -> Result<Option<Value>, DriverError> {
        let Some(row) = self.find_file(file_id).await?.filter(|r| r.server == self.name) else { return Ok(None) };
        if !ok && row.state == "spooled" {
            log::info!("{}: the cloud refused file {file_id} ({reason}); offering it again", self.source);
            self.offer_again(file_id).await?;
            return Ok(Some(json!({"file_id": file_id, "fax_id": row.faxid, "state": "spooled", "reoffered": true})));
        }
        self.release(file_id, &row.faxid, None).await.map(Some)
    }

    /// Marks a file acknowledged — out of the spool, with `also` (an event) in the same
    /// commit — then deletes the fax on the server when configured.
    async fn release(&self, file_id: &str, faxid: &str, also: Option<OutboxItem>) -> Result<Value, DriverError> {
        let (id, delete) = (file_id.to_string(), self.cfg.delete_after_ack);
        let (changed, state): (bool, String) = self
            .store
            .call(move |db| {
                let n = db.conn().execute(
                    "UPDATE fax_in SET state = CASE WHEN ?2 AND state = 'spooled' THEN 'acked' ELSE 'done' END,
                     data = NULL, updated_ms = ?3 WHERE file_id = ?1 AND state IN ('spooled', 'no_file')",
                    params![id, delete, db.now_ms() as i64],
                )?;
                if let Some(item) = also.filter(|_| n == 1) {
                    db.enqueue_unbounded(&item)?;
                }
                let state = db.conn().query_row("SELECT state FROM fax_in WHERE file_id = ?1", [&id], |r| r.get(0))?;
                Ok((n == 1, state))
            })
            .await?;
        if changed {
            self.peer.metrics.inc(&self.peer.metric("files_acked_total"));
        }
        let deleted = state == "acked" && self.delete_received(faxid, file_id).await.is_ok();
        let state = if deleted { "done".to_string() } else { state };
        Ok(json!({"file_id": file_id, "fax_id": faxid, "state": state, "deleted": deleted}))
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
        let id = file_id.to_string();
        self.store
            .call(move |db| {
                let n = db.conn().execute(
                    "UPDATE fax_in SET state = 'done', updated_ms = ?2 WHERE file_id = ?1 AND state = 'acked'",
                    params![id, db.now_ms() as i64],
                )?;
                if n == 1 {
                    db.enqueue_unbounded(&item)?;
                }
                Ok(())
            })
            .await?;
        Ok(())
    }

    /// Deletes on the server every fax acknowledged whose delete is still to do.
    pub(super) async fn finish_acked(&self) -> Result<(), DriverError> {
        let server = self.name.clone();
        let pending: Vec<(String, String)> = self
            .store
            .call(move |db| {
                let mut stmt =
                    db.conn().prepare("SELECT faxid, file_id FROM fax_in WHERE server = ?1 AND state = 'acked'")?;
                let rows = stmt.query_map([&server], |r| Ok((r.get(0)?, r.get(1)?)))?;
                Ok(rows.collect::<Result<Vec<_>, _>>()?)
            })
            .await?;
        for (faxid, file_id) in pending {
            if let Err(e) = self.delete_received(&faxid, &file_id).await
                && e.is_transient()
            {
                return Err(e);
            }
        }
        Ok(())
    }

    /// Spooled files due for another offer: with uploads every round, with MQTT after
    /// `file_reoffer_secs` without an ack.
    pub(super) async fn reoffer_due(&self) -> Result<(), DriverError> {
        let upload = !self.mqtt_delivery();
        if !upload && self.cfg.file_reoffer_secs == 0 {
            return Ok(());
        }
        let wait_ms = if upload { 0 } else { self.cfg.file_reoffer_secs * 1000 };
        let server = self.name.clone();
        let due: Vec<String> = self
            .store
            .call(move |db| {
                let cutoff = db.now_ms().saturating_sub(wait_ms) as i64;
                let mut stmt = db.conn().prepare(
                    "SELECT file_id FROM fax_in WHERE server = ?1 AND state = 'spooled' AND offered_ms <= ?2 ORDER BY rowid",
                )?;
                let rows = stmt.query_map(params![server, cutoff], |r| r.get(0))?;
                Ok(rows.collect::<Result<Vec<_>, _>>()?)
            })
            .await?;
        for file_id in due {
            if upload {
                self.upload(&file_id).await?;
            } else {
                log::info!("{}: file {file_id} not acknowledged in time; offering it again", self.source);
                self.offer_again(&file_id).await?;
            }
        }
        Ok(())
    }

    async fn spooled(&self, file_id: &str) -> Result<Option<(Value, Vec<u8>)>, StoreError> {
        let id = file_id.to_string();
        self.store.call(move |db| read_spooled(db, &id)).await
    }

    /// Queues a spooled file's `fax.received` and chunks again (or uploads it again).
    async fn offer_again(&self, file_id: &str) -> Result<(), DriverError> {
        if !self.mqtt_delivery() {
            return self.upload(file_id).await;
        }
        // Read, re-queue and stamp in one call on the writer: the file never leaves SQLite's
        // thread, and a re-offer is all or nothing.
        let (offer, id) = (self.offer(), file_id.to_string());
        self.store
            .call(move |db| {
                let Some((mut meta, data)) = read_spooled(db, &id)? else { return Ok(()) };
                meta["reoffered"] = json!(true);
                db.conn()
                    .execute("UPDATE fax_in SET offered_ms = ?2 WHERE file_id = ?1", params![id, db.now_ms() as i64])?;
                offer.enqueue(db, &meta, &id, Some(&data))
            })
            .await?;
        Ok(())
    }

    /// POSTs a spooled file to `upload_url`; a 2xx is the cloud's acknowledgement.
    async fn upload(&self, file_id: &str) -> Result<(), DriverError> {
        let Some((meta, data)) = self.spooled(file_id).await? else { return Ok(()) };
        let url = Url::parse(&self.cfg.upload_url).map_err(ServerError::from)?;
        let auth = format!("Bearer {}", self.cfg.upload_token.expose());
        let file = &meta["file"];
        let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
        let (sha, fax_id, ct) = (text(&file["sha256"]), text(&meta["fax_id"]), text(&file["content_type"]));
        let mut headers = vec![
            ("X-Telbridge-Agent", self.peer.agent.as_str()),
            ("X-Telbridge-Source", self.source.as_str()),
            ("X-Telbridge-File-Id", file_id),
            ("X-Telbridge-Fax-Id", fax_id.as_str()),
            ("X-Telbridge-Sha256", sha.as_str()),
        ];
        if !self.cfg.upload_token.is_empty() {
            headers.push(("Authorization", auth.as_str()));
        }
        let ex = client::Exchange {
            method: hyper::Method::POST,
            target: &url.target,
            content_type: Some(&ct),
            headers: &headers,
            body: Some(data),
            timeout: Duration::from_millis(self.cfg.timeout_ms),
            max_reply_bytes: 64 * 1024,
            tls: self.server.tls_for(&url).await.map_err(ServerError::from)?,
        };
        let id = file_id.to_string();
        let touch = move |db: &mut crate::store::Db<'_>| {
            db.conn()
                .execute("UPDATE fax_in SET offered_ms = ?2 WHERE file_id = ?1", params![id, db.now_ms() as i64])?;
            Ok(())
        };
        match client::exchange(&url, ex).await {
            Ok(r) if (200..300).contains(&r.status) => {
                let item =
                    self.event("fax.file.uploaded", json!({"file_id": file_id, "fax_id": fax_id, "status": r.status}));
                self.release(file_id, &fax_id, Some(item)).await?;
                Ok(())
            }
            Ok(r) => {
                log::warn!(
                    "{}: upload of {file_id} answered {}: {}",
                    self.source,
                    r.status,
                    String::from_utf8_lossy(&r.body)
                );
                self.store.call(touch).await?;
                Ok(())
            }
            Err(e) => {
                log::warn!("{}: upload of {file_id} failed: {e}", self.source);
                self.store.call(touch).await?;
                Ok(())
            }
        }
    }
}
