//! The hot path's JSON (each event's envelope, the ingest reply) written directly: byte for
//! byte what `serde_json::to_writer` writes
//! (compact; `"`, `\` and the control characters escaped as it escapes them, everything
//! else as it is), without its escape loop. In the size-optimized release builds that loop
//! calls out twice per byte (`split_at`, `split_first`): serializing the envelope was ~12,700
//! instructions of an event's ~85,000 in the batched relay bench. Here the text is scanned
//! eight bytes at a time and copied in runs.

use serde_json::{Map, Value};

/// Appends `v` as compact JSON.
pub fn push_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        // serde_json's own digits (itoa, ryu; a float that is not finite is `null`).
        Value::Number(n) => {
            let _ = serde_json::to_writer(&mut *out, n);
        }
        Value::String(s) => push_str(out, s),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                push_value(out, item);
            }
            out.push(b']');
        }
        Value::Object(map) => push_object(out, map),
    }
}

/// Appends `n` in decimal (every stored row's `seq`: without the formatting machinery).
pub fn push_i64(out: &mut Vec<u8>, n: i64) {
    if n < 0 {
        out.push(b'-');
    }
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = n.unsigned_abs();
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// Appends `map` as a compact JSON object, keys in the map's order (serde_json's too).
pub fn push_object(out: &mut Vec<u8>, map: &Map<String, Value>) {
    out.push(b'{');
    for (i, (key, value)) in map.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_str(out, key);
        out.push(b':');
        push_value(out, value);
    }
    out.push(b'}');
}

/// Appends `s` as a JSON string.
pub fn push_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let mut rest = s.as_bytes();
    loop {
        let plain = plain_prefix(rest);
        out.extend_from_slice(&rest[..plain]);
        let Some((&byte, after)) = rest[plain..].split_first() else { break };
        push_escape(out, byte);
        rest = after;
    }
    out.push(b'"');
}

/// How many bytes at the start of `bytes` go out as they are.
fn plain_prefix(bytes: &[u8]) -> usize {
    const ONES: u64 = u64::from_ne_bytes([1; 8]);
    const HIGH: u64 = ONES * 0x80;
    // Whether a byte of `w` is below 0x20, or is `"` or `\` (a byte equal to `b` is a zero
    // byte of `w ^ b`). Bytes of 0x80 and above (UTF-8 beyond ASCII) never count.
    let special = |w: u64| {
        let below = |x: u64, n: u8| x.wrapping_sub(ONES * u64::from(n)) & !x & HIGH;
        (below(w, 0x20) | below(w ^ (ONES * 0x22), 1) | below(w ^ (ONES * 0x5c), 1)) != 0
    };
    let mut at = 0;
    for chunk in bytes.chunks_exact(8) {
        let w = u64::from_ne_bytes([chunk[0], chunk[1], chunk[2], chunk[3], chunk[4], chunk[5], chunk[6], chunk[7]]);
        if special(w) {
            break;
        }
        at += 8;
    }
    at + bytes[at..].iter().position(|&b| b < 0x20 || b == b'"' || b == b'\\').unwrap_or(bytes.len() - at)
}

/// serde_json's escapes: the short forms, else `\u00XX` in lower-case hex.
fn push_escape(out: &mut Vec<u8>, byte: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let short = match byte {
        b'"' => b'"',
        b'\\' => b'\\',
        0x08 => b'b',
        0x0c => b'f',
        b'\n' => b'n',
        b'\r' => b'r',
        b'\t' => b't',
        _ => {
            out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(byte >> 4)],
                HEX[usize::from(byte & 0xf)],
            ]);
            return;
        }
    };
    out.extend_from_slice(&[b'\\', short]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ours(v: &Value) -> String {
        let mut out = Vec::new();
        push_value(&mut out, v);
        String::from_utf8(out).expect("utf8")
    }

    #[test]
    fn every_ascii_byte_is_written_as_serde_json_writes_it() {
        for b in 0u8..0x80 {
            let s = String::from(char::from(b));
            // At each offset of an eight-byte chunk, and past the last whole chunk.
            for pad in 0..19 {
                let v = Value::String(format!("{}{s}{}", "a".repeat(pad), "é".repeat(pad % 3)));
                assert_eq!(ours(&v), serde_json::to_string(&v).expect("json"), "byte {b:#x} after {pad}");
            }
        }
    }

    #[test]
    fn mixed_text_matches_serde_json_byte_for_byte() {
        // A fixed pseudo-random walk over escapes, ASCII and multi-byte characters.
        let alphabet = ['a', '"', '\\', '\n', '\u{1}', '\u{1f}', ' ', 'é', '中', '😀', '\u{7f}', '/', '\t', 'z'];
        let mut state = 0x2545_f491_u32;
        for len in 0..200 {
            let text: String = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    alphabet[state as usize % alphabet.len()]
                })
                .collect();
            let v = json!({ text.clone(): [text.clone(), {"k": text}] });
            assert_eq!(ours(&v), serde_json::to_string(&v).expect("json"));
        }
    }

    #[test]
    fn integers_are_written_as_serde_json_writes_them() {
        for n in [0, 1, -1, 9, 10, 42, 1_000_000, i64::MAX, i64::MIN, i64::MIN + 1] {
            let mut out = Vec::new();
            push_i64(&mut out, n);
            assert_eq!(String::from_utf8(out).expect("utf8"), serde_json::to_string(&n).expect("json"));
        }
    }

    #[test]
    fn every_kind_of_value_matches_serde_json() {
        let v = json!({
            "null": null, "t": true, "f": false, "n": [0, -1, u64::MAX, i64::MIN, 1.5, -0.0, 1e300, 2.5e-8],
            "empty": {}, "none": [], "nested": {"a": [{"b": [[]]}]}, "": "",
        });
        assert_eq!(ours(&v), serde_json::to_string(&v).expect("json"));
    }
}
