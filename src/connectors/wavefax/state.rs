//! What the agent keeps about one fax server, typed, on the store's writer thread: outbound
//! faxes tracked until final (`fax_out`), the steps of each `fax.send` and the inbox's
//! high-water mark (`kv`, scope `wavefax/{name}`). Received faxes and their files live in
//! the shared file spool ([`crate::connectors::files`]).
//!
//! | kv key | value | pruned |
//! |---|---|---|
//! | `in_hwm` | the newest handled `rcvtime`, server time (`YYYYMMDDTHHNNSS`) | never |
//! | `cmd/{cmd_id}` | a `fax.send`'s [`Steps`] | after `dedup_ttl_secs` |

use super::protocol::request::{format_time, parse_time};
use crate::connectors::state::{Json, Key, Stored, prune_items};
use crate::store::{Db, OutboxItem, StoreError};
use rusqlite::params;
use serde::{Deserialize, Serialize};

/// A time on the server's clock, kept in the server's own format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerTime(pub i64);

impl Stored for ServerTime {
    fn encode(&self) -> Vec<u8> {
        format_time(self.0, 0).into_bytes()
    }
    fn decode(raw: &[u8]) -> Result<Self, String> {
        std::str::from_utf8(raw).ok().and_then(parse_time).map(ServerTime).ok_or_else(|| "not YYYYMMDDTHHNNSS".into())
    }
}

pub const IN_HWM: Key<ServerTime> = Key::new("in_hwm");

fn steps_key(cmd_id: &str) -> Key<Json<Steps>> {
    Key::item("cmd", cmd_id)
}

/// The persisted steps of one `fax.send`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Steps {
    pub fileids: Vec<Option<String>>,
    pub submit_started_ms: Option<u64>,
    pub faxids: Option<Vec<String>>,
    /// Mail jobs the submission makes (their ids come last).
    #[serde(default)]
    pub mail_count: usize,
    /// What the submit carried, to find the job again ([`super::protocol::recovery`]).
    #[serde(default)]
    pub faxnum: String,
    #[serde(default)]
    pub subject: String,
    #[serde(default)]
    pub recipient: String,
    /// The server refused the submit (its code and meaning): nothing was submitted.
    #[serde(default)]
    pub refused: Option<String>,
    /// The submit's `scheduletime` (server time, `YYYYMMDDTHHNNSS`): the job is listed
    /// only once sent, so not before then.
    #[serde(default)]
    pub schedule_time: Option<String>,
}

impl Steps {
    /// The submit went out and its answer never came.
    pub fn uncertain(&self) -> bool {
        self.submit_started_ms.is_some() && self.faxids.is_none() && self.refused.is_none()
    }

    /// When an uncertain submit's job may first be listed (epoch ms): at its start, or at
    /// its scheduled time on a server `offset_minutes` east of UTC.
    pub fn listed_from_ms(&self, offset_minutes: i32) -> u64 {
        let scheduled = self
            .schedule_time
            .as_deref()
            .and_then(parse_time)
            .map(|t| u64::try_from((t - i64::from(offset_minutes) * 60) * 1000).unwrap_or(0));
        self.submit_started_ms.unwrap_or(0).max(scheduled.unwrap_or(0))
    }
}

pub fn load_steps(db: &mut Db<'_>, scope: &str, cmd_id: &str) -> Result<Steps, StoreError> {
    Ok(steps_key(cmd_id).get(db, scope)?.map(|s| s.0).unwrap_or_default())
}

pub fn save_steps(db: &mut Db<'_>, scope: &str, cmd_id: &str, steps: Steps) -> Result<(), StoreError> {
    steps_key(cmd_id).put(db, scope, &Json(steps))
}

/// The sends of finished commands whose submit is still uncertain (a running or resumable
/// command is never raced).
pub fn uncertain_sends(db: &mut Db<'_>, scope: &str) -> Result<Vec<(String, Steps)>, StoreError> {
    let cmds: Vec<String> = {
        let mut stmt =
            db.conn().prepare_cached("SELECT substr(key, 5) FROM kv WHERE scope = ?1 AND key LIKE 'cmd/%'")?;
        let rows = stmt.query_map([scope], |r| r.get(0))?;
        rows.collect::<Result<_, _>>()?
    };
    let mut out = Vec::new();
    for cmd in cmds {
        let steps = match load_steps(db, scope, &cmd) {
            Ok(s) => s,
            // One corrupt row is reported and skipped; it never stops the others.
            Err(e @ StoreError::Corrupt { .. }) => {
                log::warn!("{scope}: {e}; that send is not settled");
                continue;
            }
            Err(e) => return Err(e),
        };
        if steps.uncertain() && db.command_finished(&cmd)? {
            out.push((cmd, steps));
        }
    }
    Ok(out)
}

/// Every fax id tracked for `server` (a recovery never adopts a job another command owns).
pub fn tracked_ids(db: &mut Db<'_>, server: &str) -> Result<Vec<String>, StoreError> {
    let mut stmt = db.conn().prepare_cached("SELECT faxid FROM fax_out WHERE server = ?1")?;
    let rows = stmt.query_map([server], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A fax to track, as committed with the send that made it.
#[derive(Debug, Clone)]
pub struct Tracked {
    pub faxid: String,
    pub kind: &'static str,
}

/// Inserts faxes to track (a known one is re-opened: a resend in place).
pub fn track(db: &mut Db<'_>, server: &str, cmd_id: &str, faxes: &[Tracked]) -> Result<(), StoreError> {
    for f in faxes {
        db.conn().execute(
            "INSERT INTO fax_out (server, faxid, cmd_id, kind, status, errcode, final, updated_ms)
             VALUES (?1, ?2, ?3, ?4, -1, 0, 0, ?5)
             ON CONFLICT (server, faxid) DO UPDATE SET cmd_id = ?3, status = -1, errcode = 0, final = 0, updated_ms = ?5",
            params![server, f.faxid, cmd_id, f.kind, db.now_ms() as i64],
        )?;
    }
    Ok(())
}

/// A tracked fax not yet final, as last seen.
#[derive(Debug, Clone)]
pub struct OpenFax {
    pub faxid: String,
    pub status: i64,
    pub errcode: i64,
    pub cmd_id: Option<String>,
    pub kind: String,
}

/// Every tracked fax of `server` not yet final, oldest first.
pub fn open_faxes(db: &mut Db<'_>, server: &str) -> Result<Vec<OpenFax>, StoreError> {
    let mut stmt = db.conn().prepare_cached(
        "SELECT faxid, status, errcode, cmd_id, kind FROM fax_out WHERE server = ?1 AND final = 0 ORDER BY rowid",
    )?;
    let rows = stmt.query_map([server], |r| {
        Ok(OpenFax { faxid: r.get(0)?, status: r.get(1)?, errcode: r.get(2)?, cmd_id: r.get(3)?, kind: r.get(4)? })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Compare-and-set of a tracked fax's `(status, errcode)` with its event; false if it had
/// moved meanwhile.
pub fn set_state(
    db: &mut Db<'_>,
    server: &str,
    faxid: &str,
    old: (i64, i64),
    new: (i64, i64, bool),
    item: &OutboxItem,
) -> Result<bool, StoreError> {
    let n = db.conn().execute(
        "UPDATE fax_out SET status = ?3, errcode = ?4, final = ?5, updated_ms = ?6
         WHERE server = ?1 AND faxid = ?2 AND status = ?7 AND errcode = ?8",
        params![server, faxid, new.0, new.1, new.2, db.now_ms() as i64, old.0, old.1],
    )?;
    if n == 1 {
        db.enqueue(item)?;
    }
    Ok(n == 1)
}

/// Forgets finished outbound faxes and old send steps; the spool prunes its own rows.
pub fn prune(db: &mut Db<'_>, server: &str, scope: &str, cutoff_ms: u64) -> Result<usize, StoreError> {
    let faxes = db.conn().execute(
        "DELETE FROM fax_out WHERE server = ?1 AND final = 1 AND updated_ms < ?2",
        params![server, cutoff_ms as i64],
    )?;
    Ok(faxes + prune_items(db, scope, &["cmd"], cutoff_ms)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scheduled_submit_is_listed_from_its_time_on_the_servers_clock() {
        // 2026-11-24 10:00 at UTC+8 is 02:00 UTC.
        let utc_2am = 1_795_485_600_000u64;
        let steps = Steps {
            submit_started_ms: Some(utc_2am - 3_600_000),
            schedule_time: Some("20261124T100000".into()),
            ..Steps::default()
        };
        assert_eq!(steps.listed_from_ms(480), utc_2am);
        assert_eq!(steps.listed_from_ms(0), utc_2am + 8 * 3_600_000);
        let unscheduled = Steps { submit_started_ms: Some(5), ..Steps::default() };
        assert_eq!(unscheduled.listed_from_ms(480), 5);
    }
}
