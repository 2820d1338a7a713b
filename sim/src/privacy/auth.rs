//! Keytime authentication (seed section 2.1, lines 71-97): the header
//! `Authorization: Keytime <devid>,<ts_ms>,<sig>` with
//! `sig = sha256_lower_hex(authkey + ts_ms).substring(24, 40)`, and the three-minute
//! freshness rule, judged on the sim's clock.
//!
//! The digest's formula (`lowercase_hex(sha256(authkey + ts_ms))[24..40]`) is the seed's:
//! line 79 "sha256(开发者认证 key+时间戳).substring(24,40)", line 81 "sha256 生成小写的字符串",
//! and the Java example (line 93) `SHA256(authKey + ts).substring(24, 40)` with `ts` the
//! decimal `System.currentTimeMillis()`. The seed's example header (line 85, `Keytime
//! 10000000,1622020210513,afc1b805b6d7fb21`) comes without its key, so it fixes the shape
//! (16 lower-case hex characters, a 13-digit millisecond time) but cannot be recomputed.

use sha2::{Digest, Sha256};

/// Seed line 75 "时间戳需要保证为三分钟内的时间戳".
pub const FRESH_MS: i64 = 3 * 60 * 1000;

/// The signature for `authkey` at `ts_ms` (the decimal text of the header).
pub fn sign(authkey: &str, ts_ms: &str) -> String {
    let digest = Sha256::digest(format!("{authkey}{ts_ms}").as_bytes());
    crate::util::hex(&digest)[24..40].to_string()
}

/// The whole header value a correct client sends.
pub fn header(devid: &str, authkey: &str, ts_ms: u64) -> String {
    let ts = ts_ms.to_string();
    format!("Keytime {devid},{ts},{}", sign(authkey, &ts))
}

/// A parsed `Keytime` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keytime {
    pub devid: String,
    pub ts: String,
    pub sig: String,
}

/// Parses `Keytime devid,ts,sig`. The scheme name is matched without regard to case (HTTP
/// auth schemes are case-insensitive); the three parts must be there, `ts` all digits.
pub fn parse(value: &str) -> Option<Keytime> {
    let value = value.trim();
    let (scheme, rest) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("keytime") {
        return None;
    }
    let mut parts = rest.trim().split(',');
    let (devid, ts, sig) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || devid.is_empty() || ts.is_empty() || !ts.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(Keytime { devid: devid.into(), ts: ts.into(), sig: sig.into() })
}

/// Why a request was refused with 401.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Missing,
    Malformed,
    UnknownDevid,
    BadSignature,
    /// Older, or newer, than three minutes by the sim's clock.
    Stale,
}

impl Refusal {
    pub fn why(self) -> &'static str {
        match self {
            Refusal::Missing => "no Authorization header",
            Refusal::Malformed => "not `Keytime devid,ts_ms,sig`",
            Refusal::UnknownDevid => "unknown devid",
            Refusal::BadSignature => "wrong signature",
            Refusal::Stale => "timestamp not within three minutes",
        }
    }
}

/// Checks a header against the one account at `now_ms` (the sim's clock). "三分钟内"
/// (within three minutes, line 75) is read both ways: a time more than 3 minutes in the
/// past or in the future is refused; exactly 3 minutes is still within. The signature is
/// compared as the seed writes it, lower case, exactly.
pub fn check(value: Option<&str>, devid: &str, authkey: &str, now_ms: i64) -> Result<(), Refusal> {
    let k = parse(value.ok_or(Refusal::Missing)?).ok_or(Refusal::Malformed)?;
    if k.devid != devid {
        return Err(Refusal::UnknownDevid);
    }
    if k.sig != sign(authkey, &k.ts) {
        return Err(Refusal::BadSignature);
    }
    let ts: i64 = k.ts.parse().map_err(|_| Refusal::Malformed)?;
    if (now_ms - ts).abs() > FRESH_MS {
        return Err(Refusal::Stale);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Known answer computed with Python's hashlib (tests/vectors/make_privacy_vectors.py):
    // sha256("key11622020210513") = 607fc65a29d89480406a97bd87a031df0dff3659…
    const SEED_TS: &str = "1622020210513";

    #[test]
    fn the_signature_is_characters_24_to_40_of_the_lower_case_sha256() {
        assert_eq!(sign("key1", SEED_TS), "87a031df0dff3659");
        assert_eq!(header("10000000", "key1", 1_622_020_210_513), "Keytime 10000000,1622020210513,87a031df0dff3659");
    }

    #[test]
    fn the_seeds_example_header_parses_and_has_the_signatures_shape() {
        let k = parse("Keytime 10000000,1622020210513,afc1b805b6d7fb21").expect("seed line 85");
        assert_eq!((k.devid.as_str(), k.ts.as_str()), ("10000000", SEED_TS));
        assert_eq!(k.sig.len(), sign("any", SEED_TS).len());
        assert!(k.sig.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        // Its key is not given: none of the sim's keys makes it.
        assert_eq!(
            check(Some("Keytime 10000000,1622020210513,afc1b805b6d7fb21"), "10000000", "key1", 1_622_020_210_513),
            Err(Refusal::BadSignature)
        );
    }

    #[test]
    fn a_fresh_correct_header_passes_and_each_fault_is_refused() {
        let now = 1_700_000_000_000;
        let good = header("10000000", "key1", 1_700_000_000_000);
        assert_eq!(check(Some(&good), "10000000", "key1", now), Ok(()));
        assert_eq!(check(Some(&good.replacen("Keytime", "keytime", 1)), "10000000", "key1", now), Ok(()));
        assert_eq!(check(None, "10000000", "key1", now), Err(Refusal::Missing));
        assert_eq!(check(Some("Basic abc"), "10000000", "key1", now), Err(Refusal::Malformed));
        assert_eq!(check(Some("Keytime 10000000,17x,ab"), "10000000", "key1", now), Err(Refusal::Malformed));
        assert_eq!(check(Some(&good), "10000001", "key1", now), Err(Refusal::UnknownDevid));
        assert_eq!(check(Some(&good), "10000000", "key2", now), Err(Refusal::BadSignature));
        assert_eq!(
            check(Some(&good.to_uppercase().replacen("KEYTIME", "Keytime", 1)), "10000000", "key1", now).ok(),
            None
        );
    }

    #[test]
    fn a_timestamp_older_than_three_minutes_is_stale() {
        let ts = 1_700_000_000_000;
        let h = header("10000000", "key1", ts);
        let at = |now: i64| check(Some(&h), "10000000", "key1", now);
        assert_eq!(at(1_700_000_180_000), Ok(()), "exactly three minutes is within");
        assert_eq!(at(1_700_000_180_001), Err(Refusal::Stale));
        assert_eq!(at(1_699_999_820_000), Ok(()));
        assert_eq!(at(1_699_999_819_999), Err(Refusal::Stale), "three minutes ahead of the sim too");
    }
}
