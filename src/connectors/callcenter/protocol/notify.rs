//! The platform's notifications (digest "Notifications"): `{"authentication":{customer,
//! digest,seq,timestamp},"notify":{type,…},"param":{…}}`, verified like a request (the
//! digest, then the timestamp against a skew), answered `{"result":{"error":0,"msg":""}}`.
//! A platform retry repeats `seq` and `timestamp`: together they name the notification.

use super::auth;
use super::inferred::CALL_TYPE_ALIASES;
use crate::connectors::lenient::text_of;
use serde_json::{Map, Value, json};

/// A notification as it came.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub customer: String,
    pub digest: String,
    pub seq: String,
    pub timestamp: String,
    /// `notify.type` as sent (`None` when missing).
    pub kind: Option<String>,
    /// Every field of `notify`, `"call type"` kept as `call_type` (under its own name when
    /// both came).
    pub fields: Map<String, Value>,
    /// What else came, kept: the body's other members (`param`, unknown ones) and the
    /// `authentication` members besides the four read (the seed's example has `agent`).
    pub extra: Map<String, Value>,
}

/// The `authentication` members a notification is verified and named by.
const AUTH_READ: [&str; 4] = ["customer", "digest", "seq", "timestamp"];

/// Why a notification is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// Not this account's, or the digest does not match.
    Forged(String),
    /// The timestamp is further than the allowed skew from the agent's clock.
    Stale { skew_ms: i64 },
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::Forged(why) => write!(f, "{why}"),
            Refused::Stale { skew_ms } => write!(f, "timestamp {} s away from this agent's clock", skew_ms / 1000),
        }
    }
}

/// Reads a notification body.
pub fn parse(body: &Value) -> Result<Notification, String> {
    let auth = body.get("authentication").and_then(Value::as_object).ok_or("no authentication")?;
    let text = |k: &str| auth.get(k).and_then(text_of).filter(|s| !s.is_empty()).ok_or(format!("no {k}"));
    let notify = body.get("notify").and_then(Value::as_object).ok_or("no notify")?;
    let mut fields = notify.clone();
    if !fields.contains_key("call_type")
        && let Some((alias, v)) = CALL_TYPE_ALIASES.iter().skip(1).find_map(|a| fields.get(*a).map(|v| (*a, v.clone())))
    {
        fields.remove(alias);
        fields.insert("call_type".into(), v);
    }
    let mut extra: Map<String, Value> = body
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| !matches!(k.as_str(), "authentication" | "notify"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let auth_rest: Map<String, Value> =
        auth.iter().filter(|(k, _)| !AUTH_READ.contains(&k.as_str())).map(|(k, v)| (k.clone(), v.clone())).collect();
    if !auth_rest.is_empty() {
        extra.insert("authentication".into(), Value::Object(auth_rest));
    }
    Ok(Notification {
        customer: text("customer")?,
        digest: text("digest")?,
        seq: text("seq")?,
        timestamp: text("timestamp")?,
        kind: notify.get("type").and_then(text_of).filter(|s| !s.is_empty()),
        fields,
        extra,
    })
}

impl Notification {
    /// Checks the account and the digest (any letter case).
    pub fn verify(&self, customer: &str, apikey: &str) -> Result<(), Refused> {
        if self.customer != customer {
            return Err(Refused::Forged(format!("customer {:?} is not this account's", self.customer)));
        }
        if !auth::verify(&self.digest, &self.customer, &self.timestamp, &self.seq, apikey) {
            return Err(Refused::Forged("the digest does not match".into()));
        }
        Ok(())
    }

    /// Checks the timestamp (epoch ms) against `now_ms`: at most `max_ahead_ms` ahead of it
    /// (clocks differ), at most `max_age_ms` behind it (a platform retry after the agent
    /// could not be reached keeps the first attempt's timestamp).
    pub fn fresh(&self, now_ms: u64, max_ahead_ms: u64, max_age_ms: u64) -> Result<(), Refused> {
        let ts: i64 = self.timestamp.trim().parse().map_err(|_| Refused::Forged("timestamp is not epoch ms".into()))?;
        let skew_ms = now_ms as i64 - ts;
        let limit = if skew_ms < 0 { max_ahead_ms } else { max_age_ms };
        if skew_ms.unsigned_abs() > limit {
            return Err(Refused::Stale { skew_ms });
        }
        Ok(())
    }

    /// The event it becomes: `call.start`, `call.end`, `call.in`, `call.out`,
    /// `call.billing`, `task.info`, or `call.event` for an unknown or missing type.
    pub fn event_kind(&self) -> &'static str {
        match self.kind.as_deref().map(str::to_ascii_lowercase).as_deref() {
            Some("callstart") => "call.start",
            Some("callend") => "call.end",
            Some("callin") => "call.in",
            Some("callout") => "call.out",
            Some("billing") => "call.billing",
            Some("taskinfo") => "task.info",
            _ => "call.event",
        }
    }

    /// The event's data: every field of `notify`, with the notification's `seq` and
    /// `timestamp` (as `notify_seq`, `notify_timestamp`: `notify` has a `seq` of its own).
    pub fn data(&self) -> Value {
        let mut m = self.fields.clone();
        m.insert("notify_seq".into(), json!(self.seq));
        m.insert("notify_timestamp".into(), json!(self.timestamp));
        Value::Object(m)
    }
}

/// The answer to a notification: `error` 0 when taken (stored now or before).
pub fn answer(error: i64, msg: &str) -> Value {
    json!({"result": {"error": error, "msg": msg}})
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "E416D0F85DC0CB67C85E070A32D9F0123AFF4762";

    fn signed(ts: u64, notify: Value) -> Value {
        let d = auth::digest("C2", &ts.to_string(), "77", KEY);
        json!({"authentication": {"customer": "C2", "digest": d, "seq": 77, "timestamp": ts.to_string()}, "notify": notify})
    }

    #[test]
    fn what_a_notification_carries_besides_its_notify_is_kept() {
        let mut body = signed(1_000_000, json!({"type": "callin", "call type": "0", "call_type": "1"}));
        body["authentication"]["agent"] = json!("1000");
        body["param"] = json!({"debug": false, "lang": "en_US"});
        body["vendorTop"] = json!(7);
        let n = parse(&body).expect("parsed");
        assert_eq!(n.extra["param"]["lang"], "en_US");
        assert_eq!(n.extra["vendorTop"], 7);
        assert_eq!(n.extra["authentication"], json!({"agent": "1000"}), "not the digest");
        assert_eq!((&n.fields["call_type"], &n.fields["call type"]), (&json!("1"), &json!("0")), "both kept");
    }

    #[test]
    fn a_signed_notification_verifies_and_a_forged_or_stale_one_does_not() {
        let n = parse(&signed(1_000_000, json!({"type": "callstart", "call type": 1}))).expect("parsed");
        assert_eq!(n.verify("C2", KEY), Ok(()));
        assert_eq!(n.fields["call_type"], 1);
        assert_eq!(n.event_kind(), "call.start");
        assert!(n.fresh(1_000_000 + 300_000, 300_000, 300_000).is_ok());
        assert_eq!(n.fresh(1_000_000 + 300_001, 300_000, 300_000), Err(Refused::Stale { skew_ms: 300_001 }));
        // Late (a retry after an outage) within the age, not ahead beyond the skew.
        assert!(n.fresh(1_000_000 + 3_600_000, 300_000, 86_400_000).is_ok());
        assert_eq!(n.fresh(1_000_000 - 300_001, 300_000, 86_400_000), Err(Refused::Stale { skew_ms: -300_001 }));
        assert!(matches!(n.verify("C2", "other"), Err(Refused::Forged(_))));
        assert!(matches!(n.verify("C3", KEY), Err(Refused::Forged(_))));
    }

    #[test]
    fn an_untyped_notification_is_a_call_event_with_every_field() {
        let n = parse(&signed(5, json!({"agent": "1000", "number": "139", "vendorExtra": "x"}))).expect("parsed");
        assert_eq!(n.event_kind(), "call.event");
        assert_eq!(n.data()["vendorExtra"], "x");
        assert_eq!(n.data()["notify_seq"], "77");
    }
}
