//! Inbox polling rules, pure: the window of each `getinfaxids` call, the high-water mark,
//! and the `fax.received` event data.
//!
//! The high-water mark is the newest `rcvtime` the agent has handled, on the server's own
//! clock, so a skew between the agent's clock and the server's does not open a gap. Each
//! window starts `overlap` before it (a fax the server files late is still seen) and ends a
//! day past the later of it and the agent's idea of the server's now. Faxes listed again
//! by overlapping windows are recognised by their id. The mark only moves when every new
//! fax of a round was handled, so a fax that failed is listed again next round. The "last
//! two" answer (no `timestart`) is never used.

use super::request::{format_time, parse_time};
use serde_json::{Map, Value, json};

/// `(timestart, timeend)` for a poll.
pub fn window(hwm: i64, now_local: i64, overlap_secs: u64) -> (String, String) {
    let start = hwm - i64::try_from(overlap_secs).unwrap_or(i64::MAX / 2);
    (format_time(start, 0), format_time(hwm.max(now_local) + 86_400, 0))
}

/// The mark after a round in which every new fax was handled: the newest `rcvtime`.
pub fn advance<'a>(hwm: i64, rcvtimes: impl IntoIterator<Item = &'a str>) -> i64 {
    rcvtimes.into_iter().filter_map(parse_time).fold(hwm, i64::max)
}

/// Ids in arrival order (numeric ids by value, others as text).
pub fn sort_ids(ids: &mut [String]) {
    ids.sort_by(|a, b| match (a.parse::<u64>(), b.parse::<u64>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        _ => a.cmp(b),
    });
}

/// The `fax.received` data: every field `getinfax` returned, as it came, plus `fax_id`
/// and `received_at` (RFC 3339 UTC, when `rcvtime` parses).
pub fn received_data(faxid: &str, fields: &Map<String, Value>, offset_minutes: i32) -> Value {
    let mut data = fields.clone();
    data.remove("code");
    data.remove("msg");
    data.insert("fax_id".into(), json!(faxid));
    let received_at = fields
        .get("rcvtime")
        .and_then(Value::as_str)
        .and_then(parse_time)
        .map(|local| local - i64::from(offset_minutes) * 60)
        .and_then(|utc| u64::try_from(utc).ok())
        .map(|utc| crate::event::format_rfc3339_ms(utc * 1000));
    data.insert("received_at".into(), json!(received_at));
    Value::Object(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_overlap_the_mark_and_reach_past_now() {
        let hwm = parse_time("20261124T100000").expect("time");
        let (start, end) = window(hwm, hwm + 60, 600);
        assert_eq!((start.as_str(), end.as_str()), ("20261124T095000", "20261125T100100"));
        // The server's clock ahead of the agent's: the window still reaches past the mark.
        let (_, end) = window(hwm, hwm - 7200, 600);
        assert_eq!(end, "20261125T100000");
    }

    #[test]
    fn the_mark_moves_to_the_newest_receive_time_and_ignores_bad_ones() {
        let hwm = parse_time("20261124T100000").expect("time");
        let moved = advance(hwm, ["20261124T093000", "20261124T101500", "garbage"]);
        assert_eq!(format_time(moved, 0), "20261124T101500");
        assert_eq!(advance(hwm, ["20261124T090000"]), hwm, "never backwards");
    }

    #[test]
    fn ids_sort_by_number_when_they_are_numbers() {
        let mut ids = vec!["1010".to_string(), "999".into(), "1002".into()];
        sort_ids(&mut ids);
        assert_eq!(ids, ["999", "1002", "1010"]);
    }

    #[test]
    fn received_data_keeps_every_server_field_and_adds_the_utc_time() {
        let fields: Map<String, Value> = serde_json::from_str(
            r#"{"code":0,"callerid":"+852 22222222","calleeid":"8000","fileid":"F7","rcvtime":"20261124T180000",
                "pages":2,"portname":"COM2","vendor_extra":"kept"}"#,
        )
        .expect("json");
        let d = received_data("1001", &fields, 480);
        assert_eq!(d["fax_id"], "1001");
        assert_eq!(d["received_at"], "2026-11-24T10:00:00.000Z");
        assert_eq!((d["vendor_extra"].as_str(), d["pages"].as_u64()), (Some("kept"), Some(2)));
        assert!(d.get("code").is_none());
    }
}
