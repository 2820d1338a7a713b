//! The call-center API's authentication (seed §1, digest "Transport"): the `digest` is
//! `md5hex(customer + "@" + timestamp + "@" + seq + "@" + apikey)` — seed:
//! `MD5(<customer> + "@" + <timestamp> + "@" + <seq> + "@" + …)` and its example
//! `C2@1471918933001@5271@E416D0F85DC0CB67C85E070A32D9F0123AFF4762`. The timestamp and
//! seq enter the digest as the text the client sent (a JSON number as its decimal text),
//! and the digest is compared without regard to case. A timestamp further than the
//! allowed skew from the sim's clock is refused (the seed's freshness line is unreadable;
//! the digest says "the timestamp is far off"). Also the lenient field reader shared by the
//! API: numbers given as strings and strings given as numbers.

use super::codes::{AUTH_FAILED, STALE_TIMESTAMP};
use serde_json::Value;

/// The account secret of the seed's example.
pub const SEED_APIKEY: &str = "E416D0F85DC0CB67C85E070A32D9F0123AFF4762";

/// Whether `customer` is a well-formed account id: the seed's `[A-Za-z0-9-_]` (§1
/// authentication table: "customer Y … [A-Za-z0-9-_]"), at least one character.
pub fn valid_customer(customer: &str) -> bool {
    !customer.is_empty() && customer.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `md5hex(customer@timestamp@seq@apikey)`, 32 lower-case hex characters.
pub fn digest(customer: &str, timestamp: &str, seq: &str, apikey: &str) -> String {
    use md5::{Digest, Md5};
    crate::util::hex(&Md5::digest(format!("{customer}@{timestamp}@{seq}@{apikey}").as_bytes()))
}

/// A field as text: a string as it is, a number as its decimal text. `None` when missing
/// or null; `Some(Err(()))` for a bool, array or object.
pub fn text(v: Option<&Value>) -> Option<Result<String, ()>> {
    match v? {
        Value::Null => None,
        Value::String(s) => Some(Ok(s.clone())),
        Value::Number(n) => Some(Ok(n.to_string())),
        _ => Some(Err(())),
    }
}

/// Why the whole HTTP call was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// [`AUTH_FAILED`] or [`STALE_TIMESTAMP`].
    pub code: i64,
    pub why: String,
}

impl Refusal {
    fn auth(why: impl Into<String>) -> Refusal {
        Refusal { code: AUTH_FAILED, why: why.into() }
    }
}

/// Checks `authentication` against the account at the sim's `now_ms`: all four fields
/// present, the customer, the digest, then the timestamp within `max_skew_ms` either way
/// (exactly `max_skew_ms` passes).
pub fn check(auth: &Value, customer: &str, apikey: &str, now_ms: i64, max_skew_ms: i64) -> Result<(), Refusal> {
    let field = |k: &str| match text(auth.get(k)) {
        Some(Ok(s)) if !s.is_empty() => Ok(s),
        _ => Err(Refusal::auth(format!("authentication.{k} is missing or not a string/number"))),
    };
    let (who, ts, seq, sent) = (field("customer")?, field("timestamp")?, field("seq")?, field("digest")?);
    if who != customer || !valid_customer(&who) {
        return Err(Refusal::auth(format!("unknown customer {who:?}")));
    }
    if !sent.eq_ignore_ascii_case(&digest(&who, &ts, &seq, apikey)) {
        return Err(Refusal::auth("digest does not match md5(customer@timestamp@seq@apikey)"));
    }
    let Ok(at) = ts.parse::<i64>() else {
        return Err(Refusal { code: STALE_TIMESTAMP, why: format!("timestamp {ts:?} is not epoch milliseconds") });
    };
    if (at - now_ms).abs() > max_skew_ms {
        let why = format!("timestamp {at} is {} ms from the platform's clock {now_ms}", at - now_ms);
        return Err(Refusal { code: STALE_TIMESTAMP, why });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_seed_example_digest_and_the_checks() {
        // Python: hashlib.md5(b"C2@1471918933001@5271@E416D0F85DC0CB67C85E070A32D9F0123AFF4762")
        let d = digest("C2", "1471918933001", "5271", SEED_APIKEY);
        assert_eq!(d, "ae62e11cab746436b64a26f4ed8e41a3");
        let now = 1_471_918_933_001;
        let ok = json!({"customer": "C2", "timestamp": "1471918933001", "seq": "5271", "digest": d});
        assert_eq!(check(&ok, "C2", SEED_APIKEY, now, 300_000), Ok(()));
        let numbers =
            json!({"customer": "C2", "timestamp": 1_471_918_933_001u64, "seq": 5271, "digest": d.to_uppercase()});
        assert_eq!(check(&numbers, "C2", SEED_APIKEY, now + 300_000, 300_000), Ok(()));
        assert_eq!(
            check(&numbers, "C2", SEED_APIKEY, now + 300_001, 300_000).map_err(|r| r.code),
            Err(STALE_TIMESTAMP)
        );
        let wrong = json!({"customer": "C2", "timestamp": "1471918933001", "seq": "5272", "digest": d});
        assert_eq!(check(&wrong, "C2", SEED_APIKEY, now, 300_000).map_err(|r| r.code), Err(AUTH_FAILED));
        assert_eq!(check(&ok, "C3", SEED_APIKEY, now, 300_000).map_err(|r| r.code), Err(AUTH_FAILED));
        assert_eq!(check(&json!({}), "C2", SEED_APIKEY, now, 300_000).map_err(|r| r.code), Err(AUTH_FAILED));
        assert_eq!(text(Some(&json!(true))), Some(Err(())));
        assert!(valid_customer("SCCC-test") && valid_customer("a_1") && !valid_customer("C 2") && !valid_customer(""));
        assert_eq!(text(Some(&json!(12))), Some(Ok("12".into())));
        assert_eq!(text(Some(&Value::Null)), None);
    }
}
