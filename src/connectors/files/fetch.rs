//! Files that wait at a URL (call recordings named by a CDR or a records list): the event
//! that names one queues it **in its own commit** ([`queue`]), and the connector's
//! housekeeping downloads it later and hands it to the relay ([`FileRelay::fetch_queued`]):
//! a callback or a collection round never waits for a download, and a crash between the two
//! loses nothing (the queue entry stays until the file is spooled or relayed as metadata).

use super::FileRelay;
use crate::connectors::state::{Json, Key};
use crate::http::client::{ClientError, Url};
use crate::store::{Db, StoreError};
use rusqlite::params;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A file to fetch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pending {
    pub url: String,
    /// The announcement's data.
    pub meta: Value,
}

/// The queue entries live under `recording/{item}` in the connector's scope.
const PREFIX: &str = "recording";

fn key(item: &str) -> Key<Json<Pending>> {
    Key::item(PREFIX, item)
}

/// Queues `item`'s file at `url` (on the writer thread, in the caller's commit).
pub fn queue(db: &mut Db<'_>, scope: &str, item: &str, url: String, meta: Value) -> Result<(), StoreError> {
    key(item).put(db, scope, &Json(Pending { url, meta }))
}

impl FileRelay {
    /// Downloads each queued file (at most `max_bytes`) and spools it; a file too large or
    /// gone for good is relayed as metadata only, one that fails otherwise waits for the
    /// next round, and one the spool has no room for waits too.
    pub async fn fetch_queued(&self, max_bytes: usize) -> Result<(), StoreError> {
        let scope = self.source.clone();
        let pending: Vec<(String, Pending)> = self
            .store
            .call(move |db| {
                let mut stmt = db.conn().prepare(
                    "SELECT substr(key, length(?2) + 2), value FROM kv WHERE scope = ?1 AND substr(key, 1, length(?2) + 1) = ?2 || '/'",
                )?;
                let rows = stmt.query_map(params![scope, PREFIX], |r| Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?)))?;
                let mut out = Vec::new();
                for row in rows {
                    let (item, raw) = row?;
                    match serde_json::from_slice::<Pending>(&raw) {
                        Ok(p) => out.push((item, p)),
                        Err(e) => log::error!("{scope}: queued file {item} does not decode ({e}); left as it is"),
                    }
                }
                Ok(out)
            })
            .await?;
        for (item, p) in pending {
            if self.known(vec![item.clone()]).await?.is_empty() {
                let file = match self.download(&p.url, max_bytes).await {
                    Ok(data) => Ok(data),
                    Err((true, why)) => Err(why),
                    Err((false, why)) => {
                        log::warn!("{}: file of {item}: {why}; trying again", self.source);
                        continue;
                    }
                };
                if !self.spool(&item, p.meta.clone(), file).await? {
                    continue;
                }
            }
            let scope = self.source.clone();
            self.store
                .call(move |db| {
                    let key = format!("{PREFIX}/{item}");
                    db.conn().execute("DELETE FROM kv WHERE scope = ?1 AND key = ?2", params![scope, key])?;
                    Ok(())
                })
                .await?;
        }
        Ok(())
    }

    /// Downloads a file, at most `limit` bytes. An error says whether it is for good (too
    /// large, a bad URL, 4xx: `true`) or worth another try.
    async fn download(&self, url: &str, limit: usize) -> Result<Vec<u8>, (bool, String)> {
        let url = Url::parse(url).map_err(|e| (true, e.to_string()))?;
        let reply = self.client.get(&url, limit, self.settings.timeout).await.map_err(|e| match e {
            ClientError::TooLarge(n) => (true, format!("larger than max_file_bytes ({n})")),
            e => (false, e.to_string()),
        })?;
        match reply.status {
            200..=299 => Ok(reply.body.to_vec()),
            s @ 400..=499 => Err((true, format!("http status {s}"))),
            s => Err((false, format!("http status {s}"))),
        }
    }
}
