//! A simulated click-to-call's notifications and its recording file. `callstart` and
//! `callend` carry the seed's §17/§18 fields (`type, customer, agent, number, call_type,
//! seq, userData`); `billing` the §23 ones (`startTime, ringTime, answerTime, byeTime,
//! callee, caller, recordFile, service, session, timeLength, seq, userData`). `seq` and
//! `userData` are the CallNumber request's, as given (`userData` `""` when it had none).
//!
//! `call_type`: the seed's line reads "call_type Y L S Y 0 TR, 1 FoRIEH" (§17) and
//! "0 RARIEN, 1FRRIEH" (§21, callin) — two directions whose labels are unreadable; the sim
//! reads 0 as inbound (呼入) and 1 as outbound (呼出), so a click-to-call is `"1"`. The
//! field is spelt `call_type` as in the tables (the examples' `"call type"` is taken for
//! an OCR artefact). The billing times are written like getCdrList's `answerTime`
//! (`yyyy-MM-dd HH:mm:ss`, Beijing time; the seed's billing table gives no format).

use super::state::{ActiveCall, CLICK_TO_CALL_SERVICE, Cdr, Record};
use super::times::datetime;
use serde_json::{Value, json};

/// `callstart` or `callend` of `call`.
pub fn call_event(kind: &str, customer: &str, call: &ActiveCall) -> Value {
    json!({"type": kind, "customer": customer, "agent": call.agent, "number": call.callee, "call_type": "1",
        "seq": call.seq, "userData": call.user_data.clone().unwrap_or_default()})
}

/// `billing` of an ended call: it rang and was answered at its start (the sim does not
/// simulate ringing time) and ended `timeLength` seconds later.
pub fn billing(call: &ActiveCall, cdr: &Cdr, record: Option<&Record>, session: &str) -> Value {
    let start = datetime(cdr.answer_s);
    json!({"type": "billing", "startTime": start, "ringTime": start, "answerTime": start,
        "byeTime": datetime(cdr.answer_s + cdr.time_length), "callee": cdr.callee, "caller": cdr.caller,
        "recordFile": record.map(|r| r.filename.clone()).unwrap_or_default(), "service": CLICK_TO_CALL_SERVICE,
        "session": session, "timeLength": cdr.time_length.to_string(), "seq": call.seq,
        "userData": call.user_data.clone().unwrap_or_default()})
}

/// The recording of record `key`, `size` bytes: a 44-byte WAV header (8 kHz, 16-bit, mono)
/// whose sizes match, then the text `telbridge-sim record <key>\n` repeated. A `size`
/// under 44 is that much of the header.
pub fn recording(key: u32, size: u64) -> Vec<u8> {
    let size = usize::try_from(size).unwrap_or(usize::MAX).min(64 << 20);
    let data = u32::try_from(size.saturating_sub(44)).unwrap_or(0);
    let mut out = Vec::with_capacity(size.max(44));
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(data + 36).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&8000u32.to_le_bytes());
    out.extend_from_slice(&16_000u32.to_le_bytes()); // bytes per second
    out.extend_from_slice(&2u16.to_le_bytes()); // block align
    out.extend_from_slice(&16u16.to_le_bytes()); // bits per sample
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data.to_le_bytes());
    let pattern = format!("telbridge-sim record {key}\n");
    while out.len() < size {
        out.extend_from_slice(pattern.as_bytes());
    }
    out.truncate(size);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call() -> ActiveCall {
        ActiveCall {
            id: 1,
            agent: "1000".into(),
            caller: "15600001000".into(),
            callee: "13800000000".into(),
            seq: json!(77),
            user_data: Some("order-1".into()),
            started_ms: 1_536_561_560_000,
        }
    }

    #[test]
    fn events_carry_the_requests_seq_and_user_data() {
        let c = call();
        let start = call_event("callstart", "C2", &c);
        assert_eq!(
            (start["seq"].as_i64(), start["userData"].as_str(), start["number"].as_str()),
            (Some(77), Some("order-1"), Some("13800000000"))
        );
        let cdr = Cdr {
            key: 3,
            agent: "1000".into(),
            service_type: "5".into(),
            answer_s: 1_536_561_560,
            caller: c.caller.clone(),
            callee: c.callee.clone(),
            time_length: 7,
            fee: 0.06,
            release_cause: "200".into(),
            result: "1".into(),
            filename: String::new(),
        };
        let b = billing(&c, &cdr, None, "s1");
        assert_eq!(
            (b["startTime"].as_str(), b["byeTime"].as_str()),
            (Some("2018-09-10 14:39:20"), Some("2018-09-10 14:39:27"))
        );
        assert_eq!(
            (b["timeLength"].as_str(), b["recordFile"].as_str(), b["userData"].as_str()),
            (Some("7"), Some(""), Some("order-1"))
        );
    }

    #[test]
    fn recordings_are_wavs_made_from_the_key() {
        let r = recording(5, 65_536);
        assert_eq!(r.len(), 65_536);
        assert_eq!((&r[0..4], &r[36..40]), (&b"RIFF"[..], &b"data"[..]));
        assert_eq!(u32::from_le_bytes([r[40], r[41], r[42], r[43]]), 65_536 - 44);
        assert_eq!(&r[44..68], b"telbridge-sim record 5\nt");
        assert_eq!(recording(5, 10), recording(5, 44)[..10]);
    }
}
