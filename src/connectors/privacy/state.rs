//! What an account keeps: each bind command's `reqid` (committed before the first try) and
//! how many tries used it, and the bindings made (recordings to fetch wait in the file
//! relay's queue, `files::fetch`).

use crate::connectors::state::{Json, Key};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A bind command's request id and the tries that used it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReqId {
    pub reqid: String,
    /// Tries sent (committed before each): above 1, or found after a restart, a 1004
    /// means an earlier try was taken.
    pub tries: u32,
}

pub fn reqid_key(cmd_id: &str) -> Key<Json<ReqId>> {
    Key::item("reqid", cmd_id)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Axb,
    Xa,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BindingState {
    Active,
    Released,
    Expired,
}

/// A binding the agent made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Binding {
    pub kind: Kind,
    pub x: String,
    pub a: String,
    #[serde(default)]
    pub b: Option<String>,
    /// AXB only; `None` when the platform answered a retry 1004 without it (the binding
    /// exists, cannot be released, ends by its TTL).
    #[serde(default)]
    pub subid: Option<String>,
    pub reqid: String,
    pub ttl: u64,
    /// 0: never (XA with ttl 0).
    pub expires_ms: u64,
    #[serde(default)]
    pub user_data: Option<String>,
    pub cmd_id: String,
    pub state: BindingState,
    pub created_ms: u64,
}

impl Binding {
    /// Its key: `axb/{subid}` (or `axb-reqid/{reqid}` without one), `xa/{x}`.
    pub fn key(&self) -> Key<Json<Binding>> {
        match (self.kind, &self.subid) {
            (Kind::Axb, Some(subid)) => binding_key(subid),
            (Kind::Axb, None) => Key::item("axb-reqid", &self.reqid),
            (Kind::Xa, _) => xa_key(&self.x),
        }
    }

    pub fn json(&self) -> Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

pub fn binding_key(subid: &str) -> Key<Json<Binding>> {
    Key::item("axb", subid)
}

pub fn xa_key(x: &str) -> Key<Json<Binding>> {
    Key::item("xa", x)
}
