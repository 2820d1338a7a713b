//! The file relay, shared by every connector that relays files (received faxes today, call
//! recordings next): the spool, the offer as MQTT chunks or an upload, the cloud's
//! acknowledgement, re-offers, and the quota.
//!
//! A file enters with [`FileRelay::spool`]: in **one transaction** its `spool` row (the file
//! kept), the announcing event (`fax.received`, with `file` describing it) and, with MQTT
//! delivery, every chunk event ([`chunks`]). A crash leaves all or nothing, so the
//! connector finds the item again at its source and nothing is lost or relayed twice.
//! When the quota would be exceeded the file is not taken (the item waits at its source);
//! `spool.full` / `spool.recovered` say so once per change.
//!
//! The file leaves the spool only when the cloud acknowledges it ([`FileRelay::acknowledge`],
//! or a 2xx from `upload_url`). A connector with a follow-up at the source (WaveFax deletes
//! the fax) keeps the row `acked` until it calls [`FileRelay::finish`]. A file not
//! acknowledged within `reoffer_secs` is offered again (uploads: every round).
//!
//! States ([`SpoolState`]): `spooled → acked → done`, `spooled → done`, or `no_file` (relayed
//! as metadata only: too large or unavailable; left at the source).

pub mod ack;
pub mod chunks;
pub mod fetch;
mod upload;

use super::Peer;
use crate::event::{Class, NewEvent, new_id};
use crate::http::client::Client;
use crate::metrics::Metrics;
use crate::store::{Db, OutboxItem, Store, StoreError};
use chunks::{FileRef, chunk_at, chunk_count, sha256_hex};
use rusqlite::{OptionalExtension, params};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Where a spooled file is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpoolState {
    Spooled,
    Acked,
    Done,
    NoFile,
}

impl SpoolState {
    pub fn as_sql(self) -> &'static str {
        match self {
            SpoolState::Spooled => "spooled",
            SpoolState::Acked => "acked",
            SpoolState::Done => "done",
            SpoolState::NoFile => "no_file",
        }
    }

    fn from_sql(s: &str) -> Result<SpoolState, StoreError> {
        Ok(match s {
            "spooled" => SpoolState::Spooled,
            "acked" => SpoolState::Acked,
            "done" => SpoolState::Done,
            "no_file" => SpoolState::NoFile,
            other => {
                let reason = format!("unknown state {other:?}");
                return Err(StoreError::Corrupt { scope: "spool".into(), key: "state".into(), reason });
            }
        })
    }
}

/// The event kinds and names a connector relays its files under.
#[derive(Debug, Clone)]
pub struct Names {
    /// The event that announces an item and describes its file (`fax.received`).
    pub announce: &'static str,
    /// The chunk event (`fax.file`).
    pub chunk: &'static str,
    /// The event raised when an upload was acknowledged (`fax.file.uploaded`).
    pub uploaded: &'static str,
    /// The item's key in chunks and events (`fax_id`), and its upload header.
    pub item_key: &'static str,
    pub item_header: &'static str,
}

/// How files are relayed (from the connector's config).
#[derive(Debug, Clone)]
pub struct Settings {
    pub chunk_bytes: usize,
    pub spool_max_bytes: u64,
    /// An unacknowledged file is offered again after this long (0 = never).
    pub reoffer_secs: u64,
    /// Instead of MQTT chunks, POST each file here; a 2xx acknowledges it.
    pub upload_url: String,
    pub upload_token: String,
    pub timeout: Duration,
    /// The connector has a follow-up at the source after the ack (the row stays `acked`).
    pub follow_up: bool,
}

/// The [`Settings`] of a connector config that names its file keys like every file-relaying
/// table does (`chunk_bytes`, `spool_max_bytes`, `file_reoffer_secs`, `upload_url`,
/// `upload_token`, `timeout_ms`), with its follow-up flag.
#[cfg(any(feature = "wavefax", feature = "privacy", feature = "callcenter"))]
macro_rules! file_settings {
    ($cfg:expr, follow_up: $follow_up:expr) => {
        $crate::connectors::files::Settings {
            chunk_bytes: $cfg.chunk_bytes,
            spool_max_bytes: $cfg.spool_max_bytes,
            reoffer_secs: $cfg.file_reoffer_secs,
            upload_url: $cfg.upload_url.clone(),
            upload_token: $cfg.upload_token.expose().to_string(),
            timeout: std::time::Duration::from_millis($cfg.timeout_ms),
            follow_up: $follow_up,
        }
    };
}
#[cfg(any(feature = "wavefax", feature = "privacy", feature = "callcenter"))]
pub(crate) use file_settings;

/// One connector instance's file relay.
pub struct FileRelay {
    source: String,
    agent: String,
    names: Names,
    settings: Settings,
    store: Store,
    metrics: Metrics,
    /// `telbridge_{kind}_files_acked_total{…}`.
    acked_metric: String,
    client: Arc<Client>,
    /// The spool was full at the last look (an event is raised on each change).
    full: Mutex<bool>,
    /// Its `spool.full`/`spool.recovered` not yet stored (the peer's queue: one order).
    raised: Arc<crate::store::Raised>,
}

/// The cloud's word on a file, as applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acked {
    pub item: String,
    pub state: SpoolState,
    /// The file was refused and is offered again.
    pub reoffered: bool,
}

/// A spool row as the acknowledgement sees it.
struct Row {
    source: String,
    item: String,
    state: SpoolState,
}

/// Queues the announcing event and (MQTT delivery) every chunk, on the writer thread: one
/// chunk event is built at a time, so a large file is never held as JSON all at once.
struct Offer {
    source: String,
    agent: String,
    names: Names,
    chunk_bytes: usize,
    chunks: bool,
}

impl Offer {
    fn item(&self, kind: &str, data: Value) -> OutboxItem {
        OutboxItem::from_event(&NewEvent::new(self.source.clone(), kind, data, Class::Critical), &self.agent)
    }

    /// `data` is None for an item relayed without its file: then the announcement alone.
    fn enqueue(&self, db: &mut Db<'_>, meta: &Value, file_id: &str, data: Option<&[u8]>) -> Result<(), StoreError> {
        db.enqueue(&self.item(self.names.announce, meta.clone()))?;
        let Some(data) = data.filter(|_| self.chunks) else { return Ok(()) };
        let sha256 = meta["file"]["sha256"].as_str().unwrap_or_default();
        let item = meta[self.names.item_key].as_str().unwrap_or_default();
        let file = FileRef { file_id, item: (self.names.item_key, item), sha256 };
        for i in 0..chunk_count(data.len(), self.chunk_bytes) {
            db.enqueue(&self.item(self.names.chunk, chunk_at(&file, data, self.chunk_bytes, i)))?;
        }
        Ok(())
    }
}

/// A spooled file and its announcement's data, on the writer thread.
fn read_spooled(db: &mut Db<'_>, file_id: &str) -> Result<Option<(Value, Vec<u8>)>, StoreError> {
    let row: Option<(String, Vec<u8>)> = db
        .conn()
        .query_row(
            "SELECT meta, data FROM spool WHERE file_id = ?1 AND state = 'spooled' AND data IS NOT NULL",
            [file_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    row.map(|(meta, data)| {
        let meta = serde_json::from_str(&meta).map_err(|e| StoreError::Corrupt {
            scope: "spool".into(),
            key: file_id.to_string(),
            reason: e.to_string(),
        })?;
        Ok((meta, data))
    })
    .transpose()
}

fn touch(db: &mut Db<'_>, file_id: &str) -> Result<(), StoreError> {
    db.conn().execute("UPDATE spool SET offered_ms = ?2 WHERE file_id = ?1", params![file_id, db.now_ms() as i64])?;
    Ok(())
}

/// What a file's bytes look like, for the cloud.
fn content_type(data: &[u8]) -> &'static str {
    match data {
        [b'%', b'P', b'D', b'F', ..] => "application/pdf",
        [b'I', b'I', 42, 0, ..] | [b'M', b'M', 0, 42, ..] => "image/tiff",
        _ => "application/octet-stream",
    }
}

/// The bytes of `source`'s files in the spool.
pub(super) fn spooled_bytes(db: &Db<'_>, source: &str) -> Result<i64, StoreError> {
    let sql = "SELECT coalesce(sum(bytes), 0) FROM spool WHERE source = ?1 AND state = 'spooled'";
    Ok(db.conn().query_row(sql, [source], |r| r.get(0))?)
}

impl FileRelay {
    /// The file relay of `peer`'s instance; uploads go through `client`.
    pub fn new(peer: &Peer, names: Names, settings: Settings, store: Store, client: Arc<Client>) -> FileRelay {
        FileRelay {
            source: peer.source.clone(),
            agent: peer.agent.clone(),
            names,
            settings,
            store,
            metrics: peer.metrics.clone(),
            acked_metric: peer.metric("files_acked_total"),
            client,
            full: Mutex::new(false),
            raised: peer.raised.clone(),
        }
    }

    /// Files go out as MQTT chunks (not uploads).
    pub fn mqtt_delivery(&self) -> bool {
        self.settings.upload_url.is_empty()
    }

    fn offer(&self) -> Offer {
        Offer {
            source: self.source.clone(),
            agent: self.agent.clone(),
            names: self.names.clone(),
            chunk_bytes: self.settings.chunk_bytes,
            chunks: self.mqtt_delivery(),
        }
    }

    fn event(&self, kind: &str, data: Value) -> OutboxItem {
        self.offer().item(kind, data)
    }

    /// Which of `items` the spool already knows (relayed before: never again).
    pub async fn known(&self, items: Vec<String>) -> Result<Vec<String>, StoreError> {
        let source = self.source.clone();
        self.store
            .call(move |db| {
                let mut stmt = db.conn().prepare_cached("SELECT 1 FROM spool WHERE source = ?1 AND item = ?2")?;
                let mut known = Vec::new();
                for id in items {
                    if stmt.exists(params![source, id])? {
                        known.push(id);
                    }
                }
                Ok(known)
            })
            .await
    }

    /// Commits `item` with its announcement `meta` (which gains `file`, or `file_error`)
    /// and its file's offer; false when the spool has no room for it (nothing stored).
    pub async fn spool(&self, item: &str, mut meta: Value, file: Result<Vec<u8>, String>) -> Result<bool, StoreError> {
        let file_id = new_id();
        let (offer, chunk_bytes, mqtt) = (self.offer(), self.settings.chunk_bytes, self.mqtt_delivery());
        meta[self.names.item_key] = json!(item);
        let (state, data, sha) = match file {
            Ok(data) => {
                let sha = sha256_hex(&data);
                let count = if mqtt { chunk_count(data.len(), chunk_bytes) } else { 0 };
                meta["file"] = json!({"file_id": file_id, "bytes": data.len(), "sha256": sha,
                    "content_type": content_type(&data), "delivery": if mqtt { "mqtt" } else { "http" },
                    "chunks": count, "chunk_bytes": chunk_bytes});
                (SpoolState::Spooled, Some(data), sha)
            }
            Err(reason) => {
                log::warn!("{}: {item} relayed without its file: {reason}", self.source);
                meta["file"] = Value::Null;
                meta["file_error"] = json!(reason);
                (SpoolState::NoFile, None, String::new())
            }
        };
        let (source, quota, item, meta_text) =
            (self.source.clone(), self.settings.spool_max_bytes, item.to_string(), meta.to_string());
        let taken = self
            .store
            .call(move |db| {
                let bytes = data.as_ref().map_or(0, Vec::len) as i64;
                if data.is_some() {
                    let used = spooled_bytes(db, &source)?;
                    if used > 0 && (used + bytes) as u64 > quota {
                        return Ok(false);
                    }
                }
                let now = db.now_ms() as i64;
                let n = db.conn().execute(
                    "INSERT INTO spool (source, item, file_id, state, data, bytes, sha256, meta, offered_ms, updated_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9) ON CONFLICT (source, item) DO NOTHING",
                    params![source, item, file_id, state.as_sql(), data, bytes, sha, meta_text, now],
                )?;
                if n == 1 {
                    offer.enqueue(db, &meta, &file_id, data.as_deref())?;
                }
                Ok(true)
            })
            .await?;
        self.set_full(!taken).await;
        Ok(taken)
    }

    async fn set_full(&self, full: bool) {
        {
            let mut flag = self.full.lock().unwrap_or_else(|e| e.into_inner());
            if std::mem::replace(&mut *flag, full) != full {
                let kind = if full { "spool.full" } else { "spool.recovered" };
                let max = self.settings.spool_max_bytes;
                if full {
                    log::warn!("{}: spool full ({max} bytes): new files wait at their source", self.source);
                }
                self.raised.push(self.event(kind, json!({"max_bytes": max})));
            }
        }
        // A failure is logged; the events wait for the next flush.
        let _ = self.raised.flush(&self.store, &self.source).await;
    }

    async fn find(&self, file_id: &str) -> Result<Option<Row>, StoreError> {
        let file_id = file_id.to_string();
        self.store
            .call(move |db| {
                let row: Option<(String, String, String)> = db
                    .conn()
                    .query_row("SELECT source, item, state FROM spool WHERE file_id = ?1", [&file_id], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                    })
                    .optional()?;
                row.map(|(source, item, state)| Ok(Row { source, item, state: SpoolState::from_sql(&state)? }))
                    .transpose()
            })
            .await
    }

    /// The cloud's word on a file: `ok` releases it; not ok offers it again. `None` when
    /// the file is not this instance's.
    pub async fn acknowledge(&self, file_id: &str, ok: bool, reason: &str) -> Result<Option<Acked>, StoreError> {
        let Some(row) = self.find(file_id).await?.filter(|r| r.source == self.source) else { return Ok(None) };
        if !ok && row.state == SpoolState::Spooled {
            log::info!("{}: the cloud refused file {file_id} ({reason}); offering it again", self.source);
            self.offer_again(file_id).await?;
            return Ok(Some(Acked { item: row.item, state: SpoolState::Spooled, reoffered: true }));
        }
        let state = self.release(file_id, None).await?;
        Ok(Some(Acked { item: row.item, state, reoffered: false }))
    }

    /// Marks a file acknowledged — out of the spool, with `also` (an event) in the same
    /// commit. Returns its state after: `acked` when the connector has a follow-up.
    async fn release(&self, file_id: &str, also: Option<OutboxItem>) -> Result<SpoolState, StoreError> {
        let (id, hold) = (file_id.to_string(), self.settings.follow_up);
        let (changed, state) = self
            .store
            .call(move |db| {
                let n = db.conn().execute(
                    "UPDATE spool SET state = CASE WHEN ?2 AND state = 'spooled' THEN 'acked' ELSE 'done' END,
                     data = NULL, updated_ms = ?3 WHERE file_id = ?1 AND state IN ('spooled', 'no_file')",
                    params![id, hold, db.now_ms() as i64],
                )?;
                if let Some(item) = also.filter(|_| n == 1) {
                    db.enqueue_unbounded(&item)?;
                }
                let state: String =
                    db.conn().query_row("SELECT state FROM spool WHERE file_id = ?1", [&id], |r| r.get(0))?;
                Ok((n == 1, SpoolState::from_sql(&state)?))
            })
            .await?;
        if changed {
            self.metrics.inc(&self.acked_metric);
        }
        Ok(state)
    }

    /// The connector's follow-up for an acknowledged file is done: `done`, with `event` in
    /// the same commit (only the first time).
    pub async fn finish(&self, file_id: &str, event: OutboxItem) -> Result<(), StoreError> {
        let id = file_id.to_string();
        self.store
            .call(move |db| {
                let n = db.conn().execute(
                    "UPDATE spool SET state = 'done', updated_ms = ?2 WHERE file_id = ?1 AND state = 'acked'",
                    params![id, db.now_ms() as i64],
                )?;
                if n == 1 {
                    db.enqueue_unbounded(&event)?;
                }
                Ok(())
            })
            .await
    }

    /// Acknowledged files whose follow-up is still to do, as `(item, file_id)`.
    pub async fn pending_follow_ups(&self) -> Result<Vec<(String, String)>, StoreError> {
        let source = self.source.clone();
        self.store
            .call(move |db| {
                let mut stmt =
                    db.conn().prepare("SELECT item, file_id FROM spool WHERE source = ?1 AND state = 'acked'")?;
                let rows = stmt.query_map([&source], |r| Ok((r.get(0)?, r.get(1)?)))?;
                Ok(rows.collect::<Result<Vec<_>, _>>()?)
            })
            .await
    }

    /// Offers again every spooled file due (uploads: every round; MQTT: after
    /// `reoffer_secs` without an ack). Returns how many were acknowledged by an upload.
    pub async fn reoffer_due(&self) -> Result<usize, StoreError> {
        let upload = !self.mqtt_delivery();
        if !upload && self.settings.reoffer_secs == 0 {
            return Ok(0);
        }
        let wait_ms = if upload { 0 } else { self.settings.reoffer_secs * 1000 };
        let source = self.source.clone();
        let due: Vec<String> = self
            .store
            .call(move |db| {
                let cutoff = db.now_ms().saturating_sub(wait_ms) as i64;
                let mut stmt = db.conn().prepare(
                    "SELECT file_id, offered_ms FROM spool WHERE source = ?1 AND state = 'spooled' AND offered_ms <= ?2 \
                     ORDER BY rowid",
                )?;
                let rows = stmt.query_map(params![source, cutoff], |r| Ok((r.get::<_, String>(0)?, r.get(1)?)))?;
                let due = rows.collect::<Result<Vec<(String, i64)>, _>>()?;
                if upload {
                    return Ok(due.into_iter().map(|(id, _)| id).collect());
                }
                // An offer whose rows are still in the outbox (the uplink down, a backlog) is
                // not due: offered again it would only queue a second copy behind the first,
                // hour after hour. Its rows were committed with its `offered_ms` and name its
                // file id.
                let prefix = format!("evt/{source}/");
                let mut waiting = db.conn().prepare(
                    "SELECT 1 FROM outbox WHERE created_ms = ?1 AND substr(topic, 1, ?3) = ?2 \
                     AND instr(payload, ?4) > 0 LIMIT 1",
                )?;
                let mut out = Vec::new();
                for (file_id, offered_ms) in due {
                    let args = params![offered_ms, prefix, prefix.len() as i64, file_id.as_bytes()];
                    if waiting.query_row(args, |_| Ok(())).optional()?.is_none() {
                        out.push(file_id);
                    }
                }
                Ok(out)
            })
            .await?;
        let mut uploaded = 0;
        for file_id in due {
            if upload {
                uploaded += usize::from(self.upload(&file_id).await?);
            } else {
                log::info!("{}: file {file_id} not acknowledged in time; offering it again", self.source);
                self.offer_again(&file_id).await?;
            }
        }
        Ok(uploaded)
    }

    /// Queues a spooled file's announcement and chunks again (or uploads it again).
    async fn offer_again(&self, file_id: &str) -> Result<(), StoreError> {
        if !self.mqtt_delivery() {
            return self.upload(file_id).await.map(drop);
        }
        // Read, re-queue and stamp in one call on the writer: the file never leaves SQLite's
        // thread, and a re-offer is all or nothing.
        let (offer, id) = (self.offer(), file_id.to_string());
        self.store
            .call(move |db| {
                let Some((mut meta, data)) = read_spooled(db, &id)? else { return Ok(()) };
                meta["reoffered"] = json!(true);
                // Cut at today's `chunk_bytes` (changed since, e.g. for a broker's limit):
                // the announcement says how.
                if meta["file"].is_object() {
                    meta["file"]["chunks"] = json!(chunk_count(data.len(), offer.chunk_bytes));
                    meta["file"]["chunk_bytes"] = json!(offer.chunk_bytes);
                }
                touch(db, &id)?;
                offer.enqueue(db, &meta, &id, Some(&data))
            })
            .await
    }

    /// Forgets this instance's finished rows last changed before `cutoff_ms`.
    pub fn prune(&self, db: &mut Db<'_>, cutoff_ms: u64) -> Result<usize, StoreError> {
        Ok(db.conn().execute(
            "DELETE FROM spool WHERE source = ?1 AND state IN ('done', 'no_file') AND updated_ms < ?2",
            params![self.source, cutoff_ms as i64],
        )?)
    }
}
