//! What a QMsg account keeps in the store: the sendids of each `sms.send` (allocated and
//! committed before the first call), each send's state, and the account's alarms.

use crate::connectors::state::{Json, Key};
use crate::store::{Db, StoreError};
use serde::{Deserialize, Serialize};

/// The last sendid given out (they rise; the first is the clock in milliseconds).
pub const LAST_SENDID: Key<u64> = Key::new("last_sendid");
/// Whether `account.down` was raised last (not `account.up`).
pub const ACCOUNT_DOWN: Key<u64> = Key::new("account_down");
/// Whether `balance.low` was raised last.
pub const BALANCE_LOW: Key<u64> = Key::new("balance_low");

/// Where one sendSms call (one batch of numbers) stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SendState {
    /// Not tried yet: may be sent.
    Planned,
    /// Committed just before the call went out: if found at start, the outcome is unknown.
    Sending,
    /// The service accepted it (statCode 0).
    Sent,
    /// The service refused it (statCode in `stat`).
    Refused,
    /// It may have gone out; never sent again. Reports for its sendid settle it.
    Uncertain,
    /// Not sent (the service could not be reached, or an earlier batch failed).
    NotSent,
}

/// One batch of a send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch {
    pub sendid: String,
    pub post: bool,
    pub mobs: Vec<String>,
    pub state: SendState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stat: Option<i64>,
}

/// The batches of one `sms.send` command.
pub fn send_key(cmd_id: &str) -> Key<Json<Vec<Batch>>> {
    Key::item("send", cmd_id)
}

/// Which command a sendid belongs to (for status reports).
pub fn sendid_key(sendid: &str) -> Key<String> {
    Key::item("sendid", sendid)
}

/// The next sendid: above the last one and at least the clock, so a fresh store does not
/// re-use the sendids of an old one.
pub fn next_sendid(db: &mut Db<'_>, scope: &str) -> Result<String, StoreError> {
    let last = LAST_SENDID.get(db, scope)?.unwrap_or(0);
    let next = (last + 1).max(db.now_ms());
    LAST_SENDID.put(db, scope, &next)?;
    Ok(next.to_string())
}

/// Forgets the sends and sendids older than `cutoff_ms`.
pub fn prune(db: &mut Db<'_>, scope: &str, cutoff_ms: u64) -> Result<usize, StoreError> {
    crate::connectors::state::prune_items(db, scope, &["send", "sendid"], cutoff_ms)
}
