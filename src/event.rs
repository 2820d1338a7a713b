//! The event envelope every relayed item travels in, and its identifiers.
//!
//! An envelope is `{"id","seq","ts","agent","source","type","data"}` (plus `extra` when
//! the producer sent fields the agent does not know); `seq` is added when it is stored. `id` is a UUIDv7: unique (62 random
//! bits plus a per-millisecond counter), sortable by creation time, never re-used; the
//! cloud de-duplicates by it. The serialized form always starts with `{"id":"`.
//! Building is pure: the clock and the random bits are passed in.

pub mod json;

use serde::Serialize;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

/// Whether the store may evict an event when it is full (see docs/store.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    /// Messages, reports, faxes, CDRs, command results: never dropped.
    Critical,
    /// Periodic snapshots and stats: evicted oldest-first when the store is full.
    Telemetry,
}

impl Class {
    pub fn as_i64(self) -> i64 {
        match self {
            Class::Critical => 0,
            Class::Telemetry => 1,
        }
    }
}

/// An event before it gets its id and time.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// Where it comes from, e.g. `goip/gw1`: one or two topic levels.
    pub source: String,
    /// What it is, e.g. `sms.received`.
    pub kind: String,
    pub data: Value,
    pub class: Class,
    /// Producer-chosen key: a second event with the same key is recognised and dropped.
    pub dedup_key: Option<String>,
    /// Fields the producer sent that the agent does not interpret, kept as they came.
    pub extra: Map<String, Value>,
}

impl NewEvent {
    pub fn new(source: impl Into<String>, kind: impl Into<String>, data: Value, class: Class) -> Self {
        NewEvent { source: source.into(), kind: kind.into(), data, class, dedup_key: None, extra: Map::new() }
    }

    /// The outbox topic suffix, below `{prefix}/{agent}/`.
    pub fn topic_suffix(&self) -> String {
        // Every event's: without the formatting machinery.
        ["evt/", &self.source, "/", &self.kind].concat()
    }
}

/// Serializes the envelope of `event` with the given id and time.
pub fn encode_envelope(event: &NewEvent, id: &str, ts_ms: u64, agent: &str) -> Vec<u8> {
    let ts = format_rfc3339_ms(ts_ms);
    let data = crate::scrub::json(&event.data);
    // The device's own extra fields, names and values, are text from outside too.
    let needed = |(k, v): (&String, &Value)| matches!(crate::scrub::text(k), Cow::Owned(_)) || crate::scrub::needed(v);
    let scrubbed: Option<Map<String, Value>> = event.extra.iter().any(needed).then(|| {
        event
            .extra
            .iter()
            .map(|(k, v)| (crate::scrub::text(k).into_owned(), crate::scrub::json(v).into_owned()))
            .collect()
    });
    let extra = scrubbed.as_ref().unwrap_or(&event.extra);
    // Masking changes what a device or producer sent: the event says so (a short or numeric
    // secret can match ordinary text, an SMS code or a number).
    let masked = matches!(data, Cow::Owned(_)) || scrubbed.is_some();
    // Sized once for the usual envelope (growing the buffer step by step showed in profiles).
    let mut out = Vec::with_capacity(384);
    let fields: [(&[u8], &str); 5] = [
        (b"{\"id\":", id),
        (b",\"ts\":", &ts),
        (b",\"agent\":", agent),
        (b",\"source\":", &event.source),
        (b",\"type\":", &event.kind),
    ];
    for (key, value) in fields {
        out.extend_from_slice(key);
        json::push_str(&mut out, value);
    }
    out.extend_from_slice(b",\"data\":");
    json::push_value(&mut out, &data);
    if !extra.is_empty() {
        out.extend_from_slice(b",\"extra\":");
        json::push_object(&mut out, extra);
    }
    if masked {
        out.extend_from_slice(b",\"scrubbed\":true");
    }
    out.push(b'}');
    out
}

/// The most bytes [`with_seq`] adds: `"seq":`, an i64 and a comma.
pub const SEQ_FIELD_MAX: usize = 28;

/// The payload with `"seq":N` added after its `id` (or first, for an object without
/// one): the outbox sequence number, given when the row is stored.
pub fn with_seq(payload: &[u8], seq: i64) -> Vec<u8> {
    const ID: &[u8] = b"{\"id\":\"";
    let after_id = payload.starts_with(ID).then(|| payload[ID.len()..].windows(2).position(|w| w == b"\",")).flatten();
    let at = after_id.map(|i| ID.len() + i + 2).or_else(|| payload.starts_with(b"{").then_some(1));
    let Some(at) = at else { return payload.to_vec() };
    let mut out = Vec::with_capacity(payload.len() + SEQ_FIELD_MAX);
    out.extend_from_slice(&payload[..at]);
    out.extend_from_slice(b"\"seq\":");
    json::push_i64(&mut out, seq);
    if payload.get(at) != Some(&b'}') {
        out.push(b',');
    }
    out.extend_from_slice(&payload[at..]);
    out
}

/// Formats milliseconds since the epoch as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn format_rfc3339_ms(ms: u64) -> String {
    let secs = ms / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    if !(0..=9999).contains(&y) {
        return format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
            rem / 3600,
            rem % 3600 / 60,
            rem % 60,
            ms % 1000
        );
    }
    // Every event's timestamp: digits laid out directly (format! was a tenth of an event's
    // cost in the relay bench).
    let mut out = *b"0000-00-00T00:00:00.000Z";
    let mut put = |at: usize, width: usize, mut v: u64| {
        for i in (at..at + width).rev() {
            out[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, 4, y as u64);
    put(5, 2, u64::from(m));
    put(8, 2, u64::from(d));
    put(11, 2, rem / 3600);
    put(14, 2, rem % 3600 / 60);
    put(17, 2, rem % 60);
    put(20, 3, ms % 1000);
    String::from_utf8_lossy(&out).into_owned()
}

/// Reads `YYYY-MM-DDTHH:MM:SS[.mmm]Z` (what [`format_rfc3339_ms`] writes) as ms since the epoch.
pub fn parse_rfc3339_ms(s: &str) -> Option<u64> {
    // Digits only: no sign, no spaces (`str::parse` alone takes "-1" and "+1").
    let number = |p: &str| (!p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())).then(|| p.parse::<i64>().ok())?;
    let s = s.strip_suffix('Z')?;
    let (date, time) = s.split_once('T')?;
    let mut d = date.splitn(3, '-').map(number);
    let (y, mo, day) = (d.next()??, d.next()??, d.next()??);
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let mut t = hms.splitn(3, ':').map(number);
    let (h, mi, sec) = (t.next()??, t.next()??, t.next()??);
    let ms = number(format!("{frac:0<3}").get(..3)?)?;
    if !(1..=12).contains(&mo) || !(1..=31).contains(&day) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let days = days_from_civil(y, mo as u32, day as u32);
    // A day the month does not have (Feb 30) would roll over into the next month.
    if civil_from_days(days) != (y, mo as u32, day as u32) {
        return None;
    }
    u64::try_from(((days * 86_400 + h * 3600 + mi * 60 + sec) * 1000) + ms).ok()
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's method).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant's method).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Milliseconds since the epoch, by the system clock.
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// Fills `buf` from the OS random source.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    // The OS source failing is not recoverable in any useful way; ids then still differ
    // by their counter and time.
    let _ = getrandom::fill(&mut buf);
    buf
}

/// `N` random bytes as lower-case hex (nonces, generated secrets, simulator ids).
pub fn random_hex<const N: usize>() -> String {
    to_hex(&random_bytes::<N>())
}

/// Bytes as lower-case hex (on the hot path: every event id; no formatting machinery).
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    // Laid out as bytes (a String's push encodes a char each time).
    let mut hex = vec![0u8; bytes.len() * 2];
    for (pair, b) in hex.chunks_exact_mut(2).zip(bytes) {
        pair[0] = DIGITS[usize::from(b >> 4)];
        pair[1] = DIGITS[usize::from(b & 0x0f)];
    }
    String::from_utf8(hex).unwrap_or_default()
}

/// UUIDv7 generator state: monotonic even when the clock stands still or steps back.
#[derive(Debug, Default)]
pub struct IdClock {
    last_ms: u64,
    counter: u16,
}

impl IdClock {
    /// Never issue ids older than `floor_ms` (e.g. the last one issued before a restart).
    pub fn raise_floor(&mut self, floor_ms: u64) {
        if floor_ms > self.last_ms {
            self.last_ms = floor_ms;
            self.counter = 0;
        }
    }

    pub fn last_ms(&self) -> u64 {
        self.last_ms
    }

    /// The next id for the clock reading `now_ms` and 8 random bytes.
    pub fn next(&mut self, now_ms: u64, random: [u8; 8]) -> String {
        if now_ms > self.last_ms {
            self.last_ms = now_ms;
            self.counter = 0;
        } else if self.counter >= 0x0fff {
            self.last_ms += 1;
            self.counter = 0;
        } else {
            self.counter += 1;
        }
        format_uuid_v7(self.last_ms, self.counter, random)
    }
}

/// Lays out a UUIDv7: 48-bit ms, version 7, 12-bit counter, variant 10, 62 random bits.
pub fn format_uuid_v7(ms: u64, counter: u16, random: [u8; 8]) -> String {
    let mut b = [0u8; 16];
    b[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
    b[6] = 0x70 | ((counter >> 8) as u8 & 0x0f);
    b[7] = counter as u8;
    b[8..].copy_from_slice(&random);
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex = to_hex(&b);
    let mut id = String::with_capacity(36);
    for (i, range) in [0..8, 8..12, 12..16, 16..20, 20..32].into_iter().enumerate() {
        if i > 0 {
            id.push('-');
        }
        id.push_str(&hex[range]);
    }
    id
}

static CLOCK: Mutex<(IdClock, u64)> = Mutex::new((IdClock { last_ms: 0, counter: 0 }, 0));

/// splitmix64: the random bits of ids, seeded once from the OS. Uniqueness within the
/// process comes from the monotonic (ms, counter) pair; the random bits only have to
/// keep different agents and restarts apart.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A fresh event id from the process-wide clock.
pub fn new_id() -> String {
    let mut guard = CLOCK.lock().unwrap_or_else(|e| e.into_inner());
    let (clock, seed) = &mut *guard;
    if *seed == 0 {
        *seed = u64::from_le_bytes(random_bytes()) | 1;
    }
    let random = splitmix64(seed).to_le_bytes();
    clock.next(now_ms(), random)
}

/// Raises the process-wide id clock (called with the floor persisted in the store).
pub fn raise_id_floor(floor_ms: u64) {
    CLOCK.lock().unwrap_or_else(|e| e.into_inner()).0.raise_floor(floor_ms);
}

/// The newest millisecond an id was issued for, to persist as the next start's floor.
pub fn id_floor() -> u64 {
    CLOCK.lock().unwrap_or_else(|e| e.into_inner()).0.last_ms()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_outbox_sequence_number_goes_right_after_the_id() {
        let with = |p: &str| String::from_utf8(super::with_seq(p.as_bytes(), 42)).expect("utf-8");
        assert_eq!(with(r#"{"id":"a-1","ts":"t"}"#), r#"{"id":"a-1","seq":42,"ts":"t"}"#);
        assert_eq!(with(r#"{"id":"a-1"}"#), r#"{"seq":42,"id":"a-1"}"#);
        assert_eq!(with("{}"), r#"{"seq":42}"#);
        assert_eq!(with("[1]"), "[1]", "not an object: left alone");
        let v: serde_json::Value = serde_json::from_str(&with(r#"{"x":1}"#)).expect("still JSON");
        assert_eq!(v["seq"], 42);
    }

    use super::*;

    #[test]
    fn rfc3339_formatting_matches_known_instants() {
        assert_eq!(format_rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_rfc3339_ms(951_782_400_123), "2000-02-29T00:00:00.123Z");
        assert_eq!(format_rfc3339_ms(1_795_339_259_007), "2026-11-22T09:20:59.007Z");
    }

    #[test]
    fn rfc3339_parsing_reads_what_is_written_and_refuses_signs_and_impossible_days() {
        for ms in [0, 951_782_400_123, 1_795_339_259_007] {
            assert_eq!(parse_rfc3339_ms(&format_rfc3339_ms(ms)), Some(ms));
        }
        assert_eq!(parse_rfc3339_ms("2026-11-22T09:20:59Z"), Some(1_795_339_259_000));
        for bad in [
            "2026-02-30T00:00:00Z",
            "2026-11-22T-1:00:00Z",
            "2026-11-22T09:20:59.-5Z",
            "2026-+1-22T09:20:59Z",
            "2026-11-22 09:20:59Z",
            "2026-11-22T09:20:59",
        ] {
            assert_eq!(parse_rfc3339_ms(bad), None, "{bad}");
        }
    }

    #[test]
    fn hex_is_two_lower_case_digits_per_byte() {
        assert_eq!(to_hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        assert_eq!(to_hex(&[]), "");
    }

    #[test]
    fn uuid_v7_layout_has_version_variant_and_time() {
        let id = format_uuid_v7(0x0190_0000_0001, 0x0abc, [0xff; 8]);
        assert_eq!(id, "01900000-0001-7abc-bfff-ffffffffffff");
    }

    #[test]
    fn ids_stay_sorted_when_the_clock_stands_still_or_steps_back() {
        let mut clock = IdClock::default();
        let a = clock.next(1000, [0; 8]);
        let b = clock.next(1000, [0; 8]);
        let c = clock.next(900, [0; 8]);
        let d = clock.next(1001, [0; 8]);
        assert!(a < b && b < c && c < d, "{a} {b} {c} {d}");
    }

    #[test]
    fn a_raised_floor_keeps_ids_after_a_restart_newer() {
        let mut clock = IdClock::default();
        clock.raise_floor(5000);
        let id = clock.next(10, [0; 8]);
        assert!(id > format_uuid_v7(5000, 0, [0; 8]), "{id}");
    }

    #[test]
    fn process_ids_are_unique_and_increasing() {
        let ids: Vec<String> = (0..10_000).map(|_| new_id()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn a_secret_in_an_extra_field_is_masked_like_one_in_data() {
        let _one_at_a_time = crate::scrub::TEST_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        crate::scrub::add("extra-s3cret");
        let mut e = NewEvent::new("goip/gw1", "sms.status", serde_json::json!({"n": 1}), Class::Critical);
        e.extra.insert("echo".into(), serde_json::json!("GET /x?password=extra-s3cret"));
        let text = String::from_utf8(encode_envelope(&e, "id", 0, "a")).expect("utf8");
        assert!(!text.contains("extra-s3cret") && text.contains("password=***"), "{text}");
        assert!(text.ends_with(r#","scrubbed":true}"#), "the event says it was changed: {text}");
        let plain = NewEvent::new("goip/gw1", "sms.status", serde_json::json!({"n": 1}), Class::Critical);
        let text = String::from_utf8(encode_envelope(&plain, "id", 0, "a")).expect("utf8");
        assert!(!text.contains("scrubbed"), "{text}");
    }

    #[test]
    fn a_secret_used_as_a_key_is_masked_too() {
        let _one_at_a_time = crate::scrub::TEST_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        crate::scrub::add("key-s3cret");
        let data = serde_json::json!({"echo": {"key-s3cret": 1}, "n": [{"x=key-s3cret": true}]});
        let mut e = NewEvent::new("app/x", "t", data, Class::Critical);
        // A callback's form field without `=` becomes a key of `extra` as it came.
        e.extra.insert("password=key-s3cret".into(), serde_json::json!(""));
        let text = String::from_utf8(encode_envelope(&e, "id", 0, "a")).expect("utf8");
        assert!(!text.contains("key-s3cret") && text.contains(r#"{"***":1}"#), "{text}");
        assert!(text.contains(r#""extra":{"password=***":""}"#), "{text}");
    }

    #[test]
    fn the_envelope_is_what_serde_json_writes_for_each_field_in_order() {
        let mut e =
            NewEvent::new("app/\"x\"", "t\n1", serde_json::json!({"b": [1, "\u{1}é"], "a": null}), Class::Critical);
        e.extra.insert("z\\".into(), serde_json::json!({"q": "\"\u{7f}"}));
        let text = String::from_utf8(encode_envelope(&e, "id-1", 1_700_000_000_123, "site\t")).expect("utf8");
        let j = |v: Value| serde_json::to_string(&v).expect("json");
        let expected = format!(
            r#"{{"id":{},"ts":{},"agent":{},"source":{},"type":{},"data":{},"extra":{}}}"#,
            j("id-1".into()),
            j("2023-11-14T22:13:20.123Z".into()),
            j("site\t".into()),
            j(e.source.clone().into()),
            j(e.kind.clone().into()),
            j(e.data.clone()),
            j(Value::Object(e.extra.clone())),
        );
        assert_eq!(text, expected);
    }

    #[test]
    fn envelope_starts_with_the_id_and_keeps_extra_fields() {
        let mut e = NewEvent::new("app/x", "thing.done", serde_json::json!({"n": 1}), Class::Critical);
        e.extra.insert("vendor_field".into(), serde_json::json!("kept"));
        let bytes = encode_envelope(&e, "0190-id", 0, "site");
        let text = String::from_utf8(bytes).expect("utf8");
        assert!(text.starts_with("{\"id\":\"0190-id\",\"ts\":\"1970-01-01T00:00:00.000Z\""), "{text}");
        let v: Value = serde_json::from_str(&text).expect("json");
        assert_eq!(v["type"], "thing.done");
        assert_eq!(v["extra"]["vendor_field"], "kept");
        assert_eq!(e.topic_suffix(), "evt/app/x/thing.done");
    }
}
