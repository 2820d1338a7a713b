//! Simulated phone calls through a binding (`POST /sim/call`), pure: who the callee is
//! and what number their phone shows, the call's times on the sim's clock, the release
//! direction, and the recording the sim serves at `/sim/recordings/{taskid}.wav` — bytes
//! made from the task id alone, so a test can recompute them.

use super::callback::Call;
use super::state::{Binding, Kind};
use sha2::{Digest, Sha256};

/// The recording's length when the call does not say (one second of 8 kHz 16-bit mono).
pub const DEFAULT_RECORDING_BYTES: u64 = 16_044;
/// At most this long (the server's reply limit is far above).
pub const MAX_RECORDING_BYTES: u64 = 32 << 20;

/// A call asked for by `/sim/call`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ask {
    pub caller: String,
    /// `answered` or a 5.2 cause.
    pub result: String,
    /// Talk seconds; only an answered call has any.
    pub duration: i64,
    /// `None`: recorded when the binding says `record=1` and the call was answered.
    pub recording: Option<bool>,
    pub releasedir: Option<String>,
}

/// What the callee's phone showed. AXB (seed line 144): the first digit of `display` is
/// for a→b (0 x, 1 a), the second for b→a (0 x, 1 b); XA (line 200): 0 x, 1 the caller.
pub fn shown_number(b: &Binding, caller: &str) -> String {
    let real = match b.kind {
        Kind::Xa => b.display == "1",
        Kind::Axb if caller == b.anum => b.display.starts_with('1'),
        Kind::Axb => b.display.ends_with('1'),
    };
    if real { caller.to_string() } else { b.x.clone() }
}

/// The call's record, `now_s` being the end of the call on the sim's clock. Answered: it
/// rang 2 s after it began, was answered after 5 s, and lasted `duration`; no answer (18,
/// 19) or a rejection (21): it rang for 30 s; any other cause ended it 2 s in, unrung.
/// `releasedir` (line 256): the caller hung up an answered call (1), the platform ended the
/// others (0), unless the ask says otherwise.
#[allow(clippy::too_many_arguments)]
pub fn call(
    devid: &str,
    appid: &str,
    b: &Binding,
    callee: &str,
    ask: &Ask,
    taskid: &str,
    now_s: i64,
    recording_url: Option<String>,
) -> Call {
    let answered = ask.result == "answered";
    let duration = if answered { ask.duration.max(0) } else { 0 };
    let (ring, answer, length) = match ask.result.as_str() {
        "answered" => (Some(2), Some(5), 5 + duration),
        "18" | "19" | "21" => (Some(2), None, 30),
        _ => (None, None, 2),
    };
    let begin = now_s - length;
    let bindtype = match b.kind {
        Kind::Axb => "axb",
        Kind::Xa => "xa",
    };
    Call {
        devid: devid.into(),
        appid: appid.into(),
        taskid: taskid.into(),
        subid: b.subid.clone(),
        caller: ask.caller.clone(),
        rcaller: b.x.clone(),
        callee: callee.into(),
        result: ask.result.clone(),
        begin,
        ring: ring.map(|r| begin + r),
        answer: answer.map(|a| begin + a),
        release: now_s,
        duration,
        recording: recording_url,
        user_data: b.user_data.clone(),
        releasedir: ask.releasedir.clone().unwrap_or_else(|| if answered { "1" } else { "0" }.into()),
        extras: vec![("bindtype".into(), bindtype.into()), ("calldisplay".into(), shown_number(b, &ask.caller))],
    }
}

/// Whether the call has a recording.
pub fn recorded(b: &Binding, ask: &Ask) -> bool {
    ask.recording.unwrap_or(b.record && ask.result == "answered")
}

/// The recording's bytes: a 44-byte WAV header (8 kHz, 16-bit, mono) whose sizes match
/// `size`, then SHA-256 blocks of `taskid` and a block counter (little-endian u64). A
/// `size` under 44 is that much of a header (of an empty recording).
pub fn recording(taskid: &str, size: u64) -> Vec<u8> {
    let size = usize::try_from(size.min(MAX_RECORDING_BYTES)).unwrap_or(0);
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
    let mut block = 0u64;
    while out.len() < size {
        let mut h = Sha256::new();
        h.update(taskid.as_bytes());
        h.update(block.to_le_bytes());
        out.extend_from_slice(&h.finalize());
        block += 1;
    }
    out.truncate(size);
    out
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    crate::util::hex(&Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding(kind: Kind, display: &str) -> Binding {
        Binding {
            kind,
            x: "17000000001".into(),
            anum: "13800000001".into(),
            bnum: (kind == Kind::Axb).then(|| "13900000002".into()),
            reqid: "r".into(),
            subid: "s".into(),
            ttl: 60,
            created_ms: 0,
            expires_ms: None,
            record: true,
            display: display.into(),
            anucode: None,
            ansanu: None,
            user_data: Some("dQ==".into()),
            released: false,
        }
    }

    fn ask(result: &str) -> Ask {
        Ask { caller: "13800000001".into(), result: result.into(), duration: 30, recording: None, releasedir: None }
    }

    #[test]
    fn the_callee_sees_x_or_the_real_number_as_display_says() {
        let (a, b) = ("13800000001", "13900000002");
        assert_eq!(shown_number(&binding(Kind::Axb, "0,0"), a), "17000000001");
        assert_eq!(shown_number(&binding(Kind::Axb, "1,0"), a), a);
        assert_eq!(shown_number(&binding(Kind::Axb, "1,0"), b), "17000000001");
        assert_eq!(shown_number(&binding(Kind::Axb, "0,1"), b), b);
        assert_eq!(shown_number(&binding(Kind::Xa, "1"), "anyone"), "anyone");
        assert_eq!(shown_number(&binding(Kind::Xa, "0"), "anyone"), "17000000001");
    }

    #[test]
    fn an_answered_call_has_ordered_times_and_a_busy_one_none_but_its_end() {
        let b = binding(Kind::Axb, "0,0");
        let c = call("d", "a", &b, "13900000002", &ask("answered"), "t", 1000, Some("u".into()));
        assert_eq!((c.begin, c.ring, c.answer, c.release, c.duration), (965, Some(967), Some(970), 1000, 30));
        assert_eq!((c.releasedir.as_str(), c.user_data.as_deref(), c.subid.as_str()), ("1", Some("dQ=="), "s"));
        let busy = call("d", "a", &b, "13900000002", &ask("17"), "t", 1000, None);
        assert_eq!((busy.ring, busy.answer, busy.duration, busy.releasedir.as_str()), (None, None, 0, "0"));
        assert!(recorded(&b, &ask("answered")) && !recorded(&b, &ask("17")));
    }

    #[test]
    fn a_recording_is_a_wav_made_from_its_task_id_alone() {
        let r = recording("t1", 300_000);
        assert_eq!(r.len(), 300_000);
        assert_eq!((&r[0..4], &r[8..16], &r[36..40]), (&b"RIFF"[..], &b"WAVEfmt "[..], &b"data"[..]));
        assert_eq!(u32::from_le_bytes([r[40], r[41], r[42], r[43]]), 300_000 - 44);
        assert_eq!(r, recording("t1", 300_000));
        assert_ne!(sha256_hex(&r), sha256_hex(&recording("t2", 300_000)));
        assert_eq!(recording("t1", 10), recording("t1", 44)[..10]);
        assert_eq!(r[44..76], *Sha256::digest(b"t1\0\0\0\0\0\0\0\0"));
    }
}
