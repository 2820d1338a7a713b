//! Files that wait at a URL (call recordings named by a CDR or a records list): the event
//! that names one queues it **in its own commit** ([`queue`]), and the connector's
//! housekeeping downloads it later and hands it to the relay ([`FileRelay::fetch_queued`]):
//! a callback or a collection round never waits for a download, and a crash between the two
//! loses nothing (the queue entry stays until the file is spooled or relayed as metadata).

use super::{FileRelay, spooled_bytes};
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
    /// When it was queued (0: by an older release, unknown).
    #[serde(default)]
    pub queued_ms: u64,
}

/// How long a download refused as unauthorized or forbidden (401, 403: a vendor's passing
/// fault, or a signed URL that expired) is tried again before the file is relayed without it.
pub const REFUSED_FOR: u64 = 24 * 3600 * 1000;

/// What a download's HTTP status means for the file: `Some(true)` gone for good,
/// `Some(false)` worth another try, `None` a success. `age_ms`: since it was queued.
fn final_status(status: u16, age_ms: Option<u64>) -> Option<bool> {
    match status {
        200..=299 => None,
        // Timeout, too early, rate limited: the vendor asks for a later try.
        408 | 425 | 429 => Some(false),
        401 | 403 => Some(age_ms.is_none_or(|age| age >= REFUSED_FOR)),
        400..=499 => Some(true),
        _ => Some(false),
    }
}

/// The queue entries live under `recording/{item}` in the connector's scope.
const PREFIX: &str = "recording";

fn key(item: &str) -> Key<Json<Pending>> {
    Key::item(PREFIX, item)
}

/// Queues `item`'s file at `url` (on the writer thread, in the caller's commit).
pub fn queue(db: &mut Db<'_>, scope: &str, item: &str, url: String, meta: Value) -> Result<(), StoreError> {
    let queued_ms = db.now_ms();
    key(item).put(db, scope, &Json(Pending { url, meta, queued_ms }))
}

impl FileRelay {
    /// No room left in the spool at all: a file of any size would be refused.
    pub async fn spool_is_full(&self) -> Result<bool, StoreError> {
        let (source, quota) = (self.source.clone(), self.settings.spool_max_bytes);
        self.store
            .call(move |db| {
                let used = spooled_bytes(db, &source)?;
                Ok(used > 0 && used as u64 >= quota)
            })
            .await
    }

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
        if !pending.is_empty() && self.spool_is_full().await? {
            // Downloaded now, each would be thrown away: they wait at the vendor.
            return Ok(());
        }
        for (item, p) in pending {
            if self.known(vec![item.clone()]).await?.is_empty() {
                let age = (p.queued_ms != 0).then(|| crate::event::now_ms().saturating_sub(p.queued_ms));
                let file = match self.download(&p.url, max_bytes, age).await {
                    Ok(data) => Ok(data),
                    Err((true, why)) => Err(why),
                    Err((false, why)) => {
                        log::warn!("{}: file of {item}: {why}; trying again", self.source);
                        continue;
                    }
                };
                if !self.spool(&item, p.meta.clone(), file).await? {
                    // No room: the rest wait at the vendor too (downloaded now, each would be
                    // thrown away). One download a round finds out when there is room again.
                    break;
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
    /// large, a bad URL, a 4xx that says so: `true`) or worth another try ([`final_status`]).
    async fn download(&self, url: &str, limit: usize, age_ms: Option<u64>) -> Result<Vec<u8>, (bool, String)> {
        let url = Url::parse(url).map_err(|e| (true, e.to_string()))?;
        let reply = self.client.get(&url, limit, self.settings.timeout).await.map_err(|e| match e {
            ClientError::TooLarge(n) => (true, format!("larger than max_file_bytes ({n})")),
            e => (false, e.to_string()),
        })?;
        match final_status(reply.status, age_ms) {
            None => Ok(reply.body.to_vec()),
            Some(for_good) => Err((for_good, format!("http status {}", reply.status))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_status_that_says_the_file_is_gone_gives_it_up() {
        let hour = 3600 * 1000;
        assert_eq!(final_status(200, Some(0)), None);
        for gone in [400, 404, 410] {
            assert_eq!(final_status(gone, Some(0)), Some(true), "{gone}");
        }
        for later in [408, 425, 429, 500, 503] {
            assert_eq!(final_status(later, Some(48 * hour)), Some(false), "{later}");
        }
        // Refused: tried again for a day, then given up (at once for an entry of unknown age).
        assert_eq!(final_status(403, Some(hour)), Some(false));
        assert_eq!(final_status(401, Some(REFUSED_FOR)), Some(true));
        assert_eq!(final_status(403, None), Some(true));
    }
}
