//! Typed connector state in the store's `kv` table: each key says what it holds, and a
//! value that does not decode is an error ([`StoreError::Corrupt`]), never a silent reset
//! to a default — a reset tid counter or cursor would re-send or skip what the device holds.
//!
//! A connector names its keys once (`const NEXT_TID: Key<u64> = Key::new("next_tid")`, or
//! [`Key::item`] for per-item keys such as `tid/{tid}`) and reads and writes them on the
//! store's writer thread, inside the same commit as the events they go with.

use crate::store::{Db, StoreError};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::marker::PhantomData;

/// How a value is kept in `kv`.
pub trait Stored: Sized {
    fn encode(&self) -> Vec<u8>;
    fn decode(raw: &[u8]) -> Result<Self, String>;
}

impl Stored for u64 {
    fn encode(&self) -> Vec<u8> {
        self.to_string().into_bytes()
    }
    fn decode(raw: &[u8]) -> Result<Self, String> {
        std::str::from_utf8(raw).ok().and_then(|s| s.parse().ok()).ok_or_else(|| "not a whole number".to_string())
    }
}

impl Stored for String {
    fn encode(&self) -> Vec<u8> {
        self.as_bytes().to_vec()
    }
    fn decode(raw: &[u8]) -> Result<Self, String> {
        String::from_utf8(raw.to_vec()).map_err(|_| "not UTF-8".to_string())
    }
}

/// A value kept as JSON.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Json<T>(pub T);

impl<T: Serialize + DeserializeOwned> Stored for Json<T> {
    fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(&self.0).unwrap_or_default()
    }
    fn decode(raw: &[u8]) -> Result<Self, String> {
        serde_json::from_slice(raw).map(Json).map_err(|e| e.to_string())
    }
}

/// A key of a connector's scope and the type of its value.
#[derive(Debug)]
pub struct Key<T> {
    name: std::borrow::Cow<'static, str>,
    _value: PhantomData<fn() -> T>,
}

impl<T: Stored> Key<T> {
    pub const fn new(name: &'static str) -> Key<T> {
        Key { name: std::borrow::Cow::Borrowed(name), _value: PhantomData }
    }

    /// A per-item key, `{prefix}/{item}` (pruned by the connector once old).
    pub fn item(prefix: &str, item: impl std::fmt::Display) -> Key<T> {
        Key { name: std::borrow::Cow::Owned(format!("{prefix}/{item}")), _value: PhantomData }
    }

    /// The value under `scope`, `None` when absent; an undecodable value is an error.
    pub fn get(&self, db: &mut Db<'_>, scope: &str) -> Result<Option<T>, StoreError> {
        let Some(raw) = db.kv_get(scope, &self.name)? else { return Ok(None) };
        T::decode(&raw).map(Some).map_err(|reason| StoreError::Corrupt {
            scope: scope.to_string(),
            key: self.name.to_string(),
            reason,
        })
    }

    pub fn put(&self, db: &mut Db<'_>, scope: &str, value: &T) -> Result<(), StoreError> {
        db.kv_put(scope, &self.name, &value.encode())
    }
}

/// Forgets `scope`'s per-item keys under `prefixes` last changed before `cutoff_ms`.
pub fn prune_items(db: &mut Db<'_>, scope: &str, prefixes: &[&str], cutoff_ms: u64) -> Result<usize, StoreError> {
    let mut n = 0;
    for prefix in prefixes {
        n += db.conn().execute(
            "DELETE FROM kv WHERE scope = ?1 AND updated_ms < ?2 AND substr(key, 1, length(?3)) = ?3",
            rusqlite::params![scope, cutoff_ms as i64, format!("{prefix}/")],
        )?;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::open_temp;

    const COUNTER: Key<u64> = Key::new("counter");

    #[tokio::test]
    async fn a_typed_value_round_trips_and_a_corrupt_one_is_an_error_naming_its_key() {
        let (store, _writer) = open_temp("state");
        let got = store
            .call(|db| {
                COUNTER.put(db, "goip/gw1", &41)?;
                COUNTER.get(db, "goip/gw1")
            })
            .await
            .expect("round trip");
        assert_eq!(got, Some(41));
        let err = store
            .call(|db| {
                db.kv_put("goip/gw1", "counter", b"forty-two")?;
                COUNTER.get(db, "goip/gw1")
            })
            .await
            .expect_err("corrupt");
        assert!(matches!(&err, StoreError::Corrupt { key, .. } if key == "counter"), "{err}");
        assert!(err.to_string().contains("goip/gw1") && err.to_string().contains("counter"), "{err}");
    }

    #[tokio::test]
    async fn pruning_forgets_only_old_item_keys_of_the_scope() {
        let (store, _writer) = open_temp("state");
        let n = store
            .call(|db| {
                Key::<u64>::item("tid", 7).put(db, "goip/a", &1)?;
                Key::<u64>::item("tid", 8).put(db, "goip/b", &1)?;
                COUNTER.put(db, "goip/a", &5)?;
                let n = prune_items(db, "goip/a", &["tid"], db.now_ms() + 1000)?;
                assert_eq!(COUNTER.get(db, "goip/a")?, Some(5), "counters stay");
                assert_eq!(Key::<u64>::item("tid", 8).get(db, "goip/b")?, Some(1), "other scopes stay");
                Ok(n)
            })
            .await
            .expect("prune");
        assert_eq!(n, 1);
    }

    #[tokio::test]
    async fn a_retired_instance_s_finished_state_is_pruned_and_a_live_one_s_is_not() {
        let (store, _writer) = open_temp("retired");
        let n = store
            .call(|db| {
                Key::<u64>::item("tid", 1).put(db, "goip/old", &1)?;
                Key::<u64>::item("tid", 1).put(db, "goip/live", &1)?;
                COUNTER.put(db, "goip/old", &5)?;
                let n = crate::connectors::prune_retired(db, &["goip/live".to_string()], db.now_ms() + 1000)?;
                assert_eq!(Key::<u64>::item("tid", 1).get(db, "goip/live")?, Some(1), "live state stays");
                assert_eq!(COUNTER.get(db, "goip/old")?, Some(5), "counters are never pruned");
                Ok(n)
            })
            .await
            .expect("prune");
        assert_eq!(n, 1);
    }
}
